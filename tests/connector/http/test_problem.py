"""Every error becomes an RFC 9457 problem document; unexpected ones reveal nothing."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.testclient import TestClient

from connector.errors import Conflict, FieldError
from connector.http.problem import install_problem_handlers


def _app() -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app)

    @app.get("/conflict")
    def conflict() -> None:
        raise Conflict("already there", errors=[FieldError("@id", "taken")], log_detail="secret")

    @app.get("/crash")
    def crash() -> None:
        raise RuntimeError("database password is hunter2")

    @app.get("/typed/{number}")
    def typed(number: int) -> dict[str, int]:
        return {"number": number}

    return app


def test_connector_errors_render_as_problems() -> None:
    with TestClient(_app()) as client:
        response = client.get("/conflict")
    assert response.status_code == 409
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json() == {
        "type": "urn:etds:problem:conflict",
        "title": "Conflict",
        "status": 409,
        "detail": "already there",
        "instance": "/conflict",
        "errors": [{"location": "@id", "message": "taken"}],
    }


def test_unexpected_errors_are_generic_500s() -> None:
    with TestClient(_app(), raise_server_exceptions=False) as client:
        response = client.get("/crash")
    assert response.status_code == 500
    assert response.json()["type"] == "urn:etds:problem:internal-error"
    assert "hunter2" not in response.text


def test_validation_errors_are_400_with_locations() -> None:
    with TestClient(_app()) as client:
        response = client.get("/typed/not-a-number")
    assert response.status_code == 400
    assert response.json()["errors"][0]["location"] == "path.number"


def test_unknown_routes_and_methods_are_problems() -> None:
    with TestClient(_app()) as client:
        assert client.get("/nowhere").json()["status"] == 404
        response = client.post("/conflict")
    assert response.status_code == 405
    assert response.headers["content-type"] == "application/problem+json"

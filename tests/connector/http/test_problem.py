"""Every error becomes an RFC 9457 problem document; unexpected ones reveal nothing."""

from __future__ import annotations

import logging

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pg_cluster import connect_where_nothing_listens

from connector.errors import Conflict, FieldError
from connector.http.problem import install_problem_handlers
from connector.http.requestlog import RequestLogMiddleware


def _app() -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app)
    app.add_middleware(RequestLogMiddleware)

    @app.get("/conflict")
    def conflict() -> None:
        raise Conflict("already there", errors=[FieldError("@id", "taken")], log_detail="secret")

    @app.get("/crash")
    def crash() -> None:
        raise RuntimeError("database password is hunter2")

    @app.get("/store-down")
    def store_down() -> None:
        connect_where_nothing_listens()

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


def test_unexpected_errors_are_generic_500s_logged_with_the_request_id(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    with TestClient(_app()) as client:
        response = client.get("/crash", headers={"X-Request-Id": "req-42"})
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["x-request-id"] == "req-42"
    assert response.json()["type"] == "urn:etds:problem:internal-error"
    assert "hunter2" not in response.text
    errors = [r for r in caplog.records if r.getMessage() == "unhandled error"]
    assert errors[0].request_id == "req-42"  # type: ignore[attr-defined]
    assert "hunter2" in str(errors[0].exc_info[1])  # type: ignore[index]
    access = [r for r in caplog.records if r.name == "etds.access"]
    assert access[-1].status == 500  # type: ignore[attr-defined]


def test_a_database_outage_is_a_503_problem_with_retry_after(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    with TestClient(_app()) as client:
        response = client.get("/store-down")
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["retry-after"] == "2"
    assert response.json()["type"] == "urn:etds:problem:service-unavailable"
    assert "127.0.0.1" not in response.text
    logged = [r for r in caplog.records if r.getMessage() == "database unavailable"]
    assert logged[0].levelno == logging.WARNING
    assert [r.status for r in caplog.records if r.name == "etds.access"] == [503]  # type: ignore[attr-defined]


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

"""The application factory's wiring: what every route costs before its own code runs."""

from __future__ import annotations

import inspect
from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from starlette.routing import BaseRoute

from connector.app import create_app
from connector.settings import load_settings
from connector.store.database import Database


def _api_routes(routes: Iterable[BaseRoute]) -> Iterator[APIRoute]:
    """Every APIRoute, also inside included routers (FastAPI keeps those as one entry each,
    holding the router it included: ``original_router``)."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        included = getattr(route, "original_router", None)
        if included is not None:
            yield from _api_routes(included.routes)


def _dependencies(dependant: Dependant) -> Iterator[Dependant]:
    for sub in dependant.dependencies:
        yield sub
        yield from _dependencies(sub)


def test_every_route_dependency_runs_on_the_event_loop(database: Database, tmp_path: Path) -> None:
    """FastAPI runs a plain-function dependency in a worker thread: a thread hand-off per
    request for what is a lookup (the node, the participant, the body)."""
    app = create_app(load_settings(storage={"data_roots": [str(tmp_path)]}), database=database)
    routes = list(_api_routes(app.routes))
    assert any(route.path.endswith("/negotiations/{pid}/agreement") for route in routes)
    plain = {
        f"{route.path}: {dependency.call.__qualname__}"
        for route in routes
        for dependency in _dependencies(route.dependant)
        if dependency.call is not None and not inspect.iscoroutinefunction(dependency.call)
    }
    assert plain == set()


def test_the_node_database_uses_the_configured_worker_threads(tmp_path: Path) -> None:
    settings = load_settings(
        database={"url": f"sqlite:///{tmp_path / 'etds.db'}", "worker_threads": 3},
        storage={"data_roots": [str(tmp_path)]},
    )
    app = create_app(settings)
    assert app.state.node.database.worker_threads == 3
    assert app.state.node.database.runs_on_loop  # SQLite, by default
    app.state.node.database.dispose()


@pytest.mark.parametrize("setting", [False, "never"])
def test_sqlite_work_can_be_kept_off_the_event_loop(tmp_path: Path, setting: object) -> None:
    settings = load_settings(
        database={"url": f"sqlite:///{tmp_path / 'etds.db'}", "run_on_loop": setting},
        storage={"data_roots": [str(tmp_path)]},
    )
    assert settings.database.run_on_loop == "never"
    app = create_app(settings)
    assert not app.state.node.database.runs_on_loop
    app.state.node.database.dispose()


@pytest.mark.parametrize(
    ("setting", "on_loop"), [(None, False), (True, False), ("auto", False), ("always", True)]
)
def test_postgresql_work_runs_on_the_event_loop_only_when_asked(
    tmp_path: Path, setting: object, on_loop: bool
) -> None:
    """Even for a server on 127.0.0.1 (a URL cannot tell it from a proxy to one far away).
    ``create_app`` does not connect: no server is needed."""
    database: dict[str, object] = {"url": "postgresql+psycopg://u:p@127.0.0.1:5432/etds"}
    if setting is not None:
        database["run_on_loop"] = setting
    app = create_app(load_settings(database=database, storage={"data_roots": [str(tmp_path)]}))
    assert app.state.node.database.runs_on_loop is on_loop
    app.state.node.database.dispose()

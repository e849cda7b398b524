"""The throwaway PostgreSQL cluster: loopback only, fast settings, cleaned up on stop."""

from __future__ import annotations

import pytest
from pg_cluster import PostgresCluster, find_bindir
from sqlalchemy import text

from connector.store.database import Database


@pytest.mark.postgres
def test_cluster_listens_on_loopback_with_speed_settings(pg_cluster: PostgresCluster) -> None:
    database = Database.from_url(pg_cluster.url())
    try:
        with database.read() as session:
            settings = {
                name: session.execute(text(f"SHOW {name}")).scalar()
                for name in ("listen_addresses", "fsync", "synchronous_commit", "full_page_writes")
            }
    finally:
        database.dispose()
    assert settings == {
        "listen_addresses": "127.0.0.1",
        "fsync": "off",
        "synchronous_commit": "off",
        "full_page_writes": "off",
    }
    assert pg_cluster.root is not None
    assert (pg_cluster.root / "postgres.log").exists()


@pytest.mark.postgres
@pytest.mark.slow
def test_a_cluster_of_its_own_is_deleted_on_stop() -> None:
    bindir = find_bindir()
    if bindir is None:
        pytest.skip("PostgreSQL binaries not installed")
    cluster = PostgresCluster(bindir)
    cluster.start()
    try:
        root = cluster.root
        assert root is not None
        url = cluster.create_database("scratch")
        database = Database.from_url(url)
        with database.read() as session:
            assert session.execute(text("SELECT current_database()")).scalar() == "scratch"
        database.dispose()
        cluster.drop_database("scratch")
        with pytest.raises(ValueError, match="identifier"):
            cluster.create_database("x; DROP")
    finally:
        cluster.stop()
    assert not root.exists()
    cluster.stop()  # idempotent

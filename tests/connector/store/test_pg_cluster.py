"""The throwaway PostgreSQL cluster: loopback only, fast settings, cleaned up on stop."""

from __future__ import annotations

import pg_cluster as cluster_module
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
def test_cluster_uses_a_utf8_locale_unless_it_says_why_not(pg_cluster: PostgresCluster) -> None:
    database = Database.from_url(pg_cluster.url())
    try:
        with database.read() as session:
            settings = {
                name: session.execute(text(f"SHOW {name}")).scalar()
                for name in ("server_encoding", "lc_ctype", "lc_collate")
            }
            folded = session.execute(text("SELECT lower('ÉTÉ ΩΜΈΓΑ ДОМ')")).scalar()
    finally:
        database.dispose()
    assert settings["server_encoding"] == "UTF8"
    if pg_cluster.locale_note is not None:
        assert settings["lc_ctype"] == "C"
        pytest.skip(pg_cluster.locale_note)
    assert settings == {"server_encoding": "UTF8", "lc_ctype": "C.UTF-8", "lc_collate": "C.UTF-8"}
    assert folded == "été ωμέγα дом"


@pytest.mark.postgres
@pytest.mark.slow
def test_without_the_utf8_locale_the_cluster_falls_back_to_no_locale_with_a_note(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    bindir = find_bindir()
    if bindir is None:
        pytest.skip("PostgreSQL binaries not installed")
    monkeypatch.setattr(cluster_module, "LOCALE", "xx_XX.UTF-8")  # a locale no system has
    cluster = PostgresCluster(bindir)
    cluster.start()
    try:
        database = Database.from_url(cluster.url())
        with database.read() as session:
            ctype = session.execute(text("SHOW lc_ctype")).scalar()
            encoding = session.execute(text("SHOW server_encoding")).scalar()
        database.dispose()
    finally:
        cluster.stop()
    assert (ctype, encoding) == ("C", "UTF8")
    assert cluster.locale_note is not None
    assert "xx_XX.UTF-8 locale is not installed" in cluster.locale_note


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

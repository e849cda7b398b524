"""``make demo``'s scenario, end to end, with a small barometer."""

from __future__ import annotations

from pathlib import Path

import pytest

from etds_examples import demo

pytestmark = pytest.mark.e2e


def test_demo_plays_the_dataspace_scenario_twice(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "200")  # one line per message in the captured output
    assert demo.main(["--workdir", str(tmp_path), "--rows", "20000"]) == 0
    output = capsys.readouterr().out
    for asset_id in ("booking-barometer", "sustainable-tourism-indicators", "visitor-presence"):
        assert f"{asset_id}: asset, policies" in output
    assert "registered: did:web:occitanie.demo (regional_agency)" in output
    assert "it sees: sustainable-tourism-indicators, visitor-presence" in output
    assert "public-sector agencies only): booking-barometer" in output
    assert "every process stopped cleanly" in output
    # A second run reuses the data, the keys and the registrations, and replaces what the
    # provider registered through the management API.
    assert demo.main(["--workdir", str(tmp_path), "--rows", "20000"]) == 0
    again = capsys.readouterr().out
    assert "barometer: reusing" in again
    assert "already registered: did:web:atout-france.demo" in again
    assert "every process stopped cleanly" in again

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
    # the regional agency's contract for the barometer, agreed by the contract policy
    assert "request for booking-barometer (purpose: official statistics): FINALIZED" in output
    assert "did:web:atout-france.demo → did:web:occitanie.demo, kept by both nodes" in output
    assert "etds:rowRegion" in output
    assert "etds:aggregationThreshold" in output
    assert (
        "the same request without a purpose: TERMINATED — did:web:atout-france.demo: denied: "
        "odrl:purpose"
    ) in output
    # the company's request for an offer its access policy hides
    assert "contract request for the barometer's offer: HTTP 400 — unknown offer" in output
    assert "every process stopped cleanly" in output
    # A second run reuses the data, the keys and the registrations, and replaces what the
    # provider registered through the management API.
    assert demo.main(["--workdir", str(tmp_path), "--rows", "20000"]) == 0
    again = capsys.readouterr().out
    assert "barometer: reusing" in again
    assert "already registered: did:web:atout-france.demo" in again
    assert "(purpose: official statistics): FINALIZED" in again
    assert "every process stopped cleanly" in again

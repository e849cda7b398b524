"""``make demo``'s scenario, end to end, with a small barometer."""

from __future__ import annotations

from pathlib import Path

import pytest

from etds_examples import demo

pytestmark = pytest.mark.e2e


def test_demo_registers_and_lists_the_three_datasets(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert demo.main(["--workdir", str(tmp_path), "--rows", "20000"]) == 0
    output = capsys.readouterr().out
    for asset_id in ("booking-barometer", "sustainable-tourism-in", "visitor-presence"):
        assert asset_id in output
    assert "stopped cleanly" in output
    # A second run reuses the data and updates the assets already registered.
    assert demo.main(["--workdir", str(tmp_path), "--rows", "20000"]) == 0
    assert "reusing" in capsys.readouterr().out

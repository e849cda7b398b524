"""Peak memory of the barometer generator stays bounded (measured in a fresh process)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

_SCRIPT = """
import json, sys
from pathlib import Path
from etds_examples.barometer import generate_barometer
report = generate_barometer(Path(sys.argv[1]), seed=3, rows=2_000_000, row_group_rows=500_000)
# VmHWM is this process's own peak; ru_maxrss would include the forking parent's RSS.
status = Path("/proc/self/status").read_text()
peak_kib = int(next(l for l in status.splitlines() if l.startswith("VmHWM:")).split()[1])
print(json.dumps({"rows": report.rows, "peak_mib": peak_kib / 1024}))
"""


@pytest.mark.slow
def test_two_million_rows_stay_under_400_mib(tmp_path: Path) -> None:
    examples = Path(__file__).resolve().parents[2] / "examples"
    completed = subprocess.run(
        [sys.executable, "-c", _SCRIPT, str(tmp_path / "out")],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONPATH": str(examples), "PATH": "/usr/bin:/bin"},
    )
    result = json.loads(completed.stdout)
    assert result["rows"] == 2_000_000
    assert result["peak_mib"] < 400, result

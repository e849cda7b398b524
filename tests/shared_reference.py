"""Where the reference material (official DSP 2025-1 contexts, schemas, examples; DCAT-AP SHACL
shapes) lives: ``../shared`` beside the checkout, or ``$ETDS_SHARED``. It is data for tests to
check against, never copied into the project; tests that need it skip when it is absent."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

SHARED = Path(os.environ.get("ETDS_SHARED", Path(__file__).resolve().parents[2] / "shared"))
DSP = SHARED / "dsp"
DCAT_AP = SHARED / "dcat-ap"


def require(path: Path) -> Path:
    """``path``, or skip the test saying what is missing."""
    if not path.exists():
        pytest.skip(f"reference material {path} is absent (set ETDS_SHARED to its folder)")
    return path

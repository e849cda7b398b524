"""What every generator returns, and the progress callback they accept."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

Progress = Callable[[int], None]
"""Called with the number of rows just written (not a running total), e.g. to advance a bar."""


@dataclass(frozen=True, slots=True)
class GenerationReport:
    """Summary of one generator run: rows and files written, their size and the elapsed time."""

    dataset: str
    rows: int
    files: tuple[Path, ...]
    bytes_written: int
    seconds: float

    @property
    def rows_per_second(self) -> float:
        """Throughput of the run (0 when the run took no measurable time)."""
        return self.rows / self.seconds if self.seconds > 0 else 0.0

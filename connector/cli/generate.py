"""``etds generate {barometer,indicators,presence}``: write the tourism sample datasets."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import Any

import click

from etds_examples.report import GenerationReport, Progress


@contextmanager
def _progress_bar(label: str, total: int | None) -> Iterator[Progress]:
    """A progress bar on stderr showing rows written and rows per second."""
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        TextColumn,
        TimeElapsedColumn,
    )
    from rich.progress import (
        Progress as ProgressBar,
    )

    columns = [
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn() if total else TextColumn("{task.completed:,} rows"),
        TextColumn("{task.fields[rate]}"),
        TimeElapsedColumn(),
    ]
    with ProgressBar(*columns, console=Console(stderr=True), transient=False) as bar:
        task = bar.add_task(label, total=total, rate="")

        def advance(rows: int) -> None:
            bar.advance(task, rows)
            elapsed = bar.tasks[task].elapsed or 0.0
            if elapsed > 0:
                bar.update(task, rate=f"{bar.tasks[task].completed / elapsed:,.0f} rows/s")

        yield advance


def _run(label: str, total: int | None, generate: Callable[[Progress], GenerationReport]) -> None:
    try:
        with _progress_bar(label, total) as progress:
            report = generate(progress)
    except (ValueError, FileExistsError) as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(
        f"{report.dataset}: {report.rows:,} rows in {len(report.files)} file(s), "
        f"{report.bytes_written / 1e6:,.1f} MB, {report.seconds:.1f} s"
    )


def _date(_ctx: click.Context, _param: click.Parameter, value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date (YYYY-MM-DD)") from None


out_option = click.option(
    "--out",
    "out_dir",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Output folder (must be absent or empty).",
)
seed_option = click.option("--seed", type=int, default=0, show_default=True, help="Random seed.")


@click.group()
def generate() -> None:
    """Generate the tourism sample datasets (deterministic for a seed)."""


@generate.command("barometer")
@out_option
@seed_option
@click.option(
    "--rows",
    type=click.IntRange(1),
    default=1_000_000,
    show_default=True,
    help="Rows per weekly snapshot (a real snapshot has 8 to 10 million).",
)
@click.option("--weeks", type=click.IntRange(1, 52), default=1, show_default=True)
@click.option("--campsites", type=click.IntRange(10, 20_000), default=1_400, show_default=True)
@click.option(
    "--first-snapshot",
    callback=_date,
    default=None,
    help="Monday of the first snapshot (YYYY-MM-DD; default 2025-05-05).",
)
@click.option(
    "--key-file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="Secret HMAC key of the campsite pseudonyms (≥ 16 bytes); "
    "default: derived from the seed, for sample data only.",
)
def generate_barometer_command(
    out_dir: Path,
    seed: int,
    rows: int,
    weeks: int,
    campsites: int,
    first_snapshot: date | None,
    key_file: Path | None,
) -> None:
    """Weekly campsite booking barometer (zstd Parquet, one folder per snapshot)."""
    from etds_examples.barometer import generate_barometer

    options: dict[str, Any] = {"seed": seed, "rows": rows, "weeks": weeks, "campsites": campsites}
    if first_snapshot is not None:
        options["first_snapshot"] = first_snapshot
    if key_file is not None:
        options["key"] = key_file.read_bytes().strip()
    _run(
        "barometer",
        rows * weeks,
        lambda progress: generate_barometer(out_dir, progress=progress, **options),
    )


@generate.command("indicators")
@out_option
@seed_option
@click.option("--years", type=click.IntRange(1, 50), default=5, show_default=True)
@click.option("--last-year", type=click.IntRange(1990, 2100), default=2024, show_default=True)
@click.option(
    "--format",
    "file_format",
    type=click.Choice(["parquet", "csv"]),
    default="parquet",
    show_default=True,
)
def generate_indicators_command(
    out_dir: Path, seed: int, years: int, last_year: int, file_format: str
) -> None:
    """Sustainable tourism dashboard indicators (long format, NUTS 2/3, monthly and annual)."""
    from etds_examples.indicators import generate_indicators

    fmt: Any = file_format
    _run(
        "indicators",
        None,
        lambda progress: generate_indicators(
            out_dir, seed=seed, years=years, last_year=last_year, format=fmt, progress=progress
        ),
    )


@generate.command("presence")
@out_option
@seed_option
@click.option("--days", type=click.IntRange(1, 3660), default=31, show_default=True)
@click.option(
    "--start", callback=_date, default=None, help="First day (YYYY-MM-DD; default 2024-07-01)."
)
def generate_presence_command(out_dir: Path, seed: int, days: int, start: date | None) -> None:
    """Visitor presence from mobile networks (counts under 20 suppressed)."""
    from etds_examples.presence import generate_presence

    options: dict[str, Any] = {"seed": seed, "days": days}
    if start is not None:
        options["start"] = start
    _run(
        "presence", None, lambda progress: generate_presence(out_dir, progress=progress, **options)
    )

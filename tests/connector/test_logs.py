"""JSON log lines carry the message, level and the fields passed with ``extra``."""

from __future__ import annotations

import json
import logging

import pytest

from connector.logs import JsonFormatter, configure_logging


def test_json_formatter_includes_extra_fields_and_exceptions() -> None:
    record = logging.LogRecord("etds.test", logging.WARNING, __file__, 1, "hello %s", ("x",), None)
    record.request_id = "abc"
    line = json.loads(JsonFormatter().format(record))
    assert line["msg"] == "hello x"
    assert line["level"] == "WARNING"
    assert line["logger"] == "etds.test"
    assert line["request_id"] == "abc"
    assert line["ts"].endswith("+00:00")
    try:
        raise ValueError("boom")
    except ValueError:
        import sys

        record = logging.LogRecord(
            "etds.test", logging.ERROR, __file__, 1, "failed", (), sys.exc_info()
        )
    assert "ValueError: boom" in json.loads(JsonFormatter().format(record))["exc"]


def test_configured_logs_are_json_lines_on_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    """Neither format shows the caller, the thread or the process: records skip those lookups."""
    root = logging.getLogger()
    flags = ("_srcfile", "logThreads", "logProcesses", "logMultiprocessing")
    saved_flags = {name: getattr(logging, name) for name in flags}
    saved = (root.handlers[:], root.level)
    records: list[logging.LogRecord] = []
    keep = logging.Handler()
    keep.emit = records.append  # type: ignore[method-assign]
    try:
        configure_logging("INFO", "json")
        root.addHandler(keep)
        logging.getLogger("etds.test").info("started", extra={"negotiation": "urn:uuid:1"})
        logging.getLogger("etds.test").debug("not shown")
    finally:
        root.handlers[:], root.level = saved
        for name, value in saved_flags.items():
            setattr(logging, name, value)
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    assert [(line["msg"], line["level"], line["negotiation"]) for line in lines] == [
        ("started", "INFO", "urn:uuid:1")
    ]
    (record,) = records
    assert (record.lineno, record.threadName, record.process) == (0, None, None)

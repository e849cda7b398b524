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
    root = logging.getLogger()
    saved = (root.handlers[:], root.level, logging._srcfile, logging.logThreads)
    try:
        configure_logging("INFO", "json")
        logging.getLogger("etds.test").info("started", extra={"negotiation": "urn:uuid:1"})
        logging.getLogger("etds.test").debug("not shown")
    finally:
        root.handlers[:], root.level = saved[0], saved[1]
        logging._srcfile, logging.logThreads = saved[2], saved[3]
        logging.logProcesses = logging.logMultiprocessing = True
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    assert [(line["msg"], line["level"], line["negotiation"]) for line in lines] == [
        ("started", "INFO", "urn:uuid:1")
    ]

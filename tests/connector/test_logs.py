"""JSON log lines carry the message, level and the fields passed with ``extra``."""

from __future__ import annotations

import json
import logging

from connector.logs import JsonFormatter


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

"""Library warnings reach the terminal as one line each, once."""

from __future__ import annotations

import logging

import pytest

from twin.cli._console import WarningHandler


def test_warnings_one_line_and_once(capsys: pytest.CaptureFixture[str]) -> None:
    log = logging.getLogger("twin.test_warnings")
    log.propagate = False
    handler = WarningHandler()
    log.addHandler(handler)
    try:
        long = "rows skipped: " + "; ".join(f"line {i}: unknown category" for i in range(30))
        for _ in range(3):  # e.g. once per replication of a comparison
            log.warning("%s", long)
        log.info("progress details are not warnings")
        log.error("a second message")
    finally:
        log.removeHandler(handler)
    err = capsys.readouterr().err
    lines = [x for x in err.splitlines() if x.strip()]
    assert lines == [f"warning: {long}", "error: a second message"]

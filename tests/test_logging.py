"""The library logs (``logging.getLogger("abm...")``), it never prints; the command line shows
what it logs as its one-line messages (issue 21, item 9)."""

from __future__ import annotations

import ast
import logging
from pathlib import Path

from abm.cli import main

ABM = Path(__file__).resolve().parents[1] / "abm"


def test_no_print_in_the_library_outside_the_command_line():
    printing = [f"{path.relative_to(ABM.parent)}:{node.lineno}"
                for path in sorted(ABM.rglob("*.py")) if "cli" not in path.relative_to(ABM).parts
                for node in ast.walk(ast.parse(path.read_text()))
                if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "print"]
    assert printing == []


def test_the_command_line_shows_logged_warnings_as_one_line_and_restores_logging(
        monkeypatch, capsys):
    log = logging.getLogger("abm.market.run")

    def command(args):
        log.warning("%s: not written by abm run, left alone: %s", "out", "'notes.txt'")
        log.info("an info line")
        log.error("an error line")
        return 0

    monkeypatch.setattr("abm.cli.handler", lambda name: command)
    before = (logging.getLogger("abm").level, logging.getLogger("abm").propagate,
              list(logging.getLogger("abm").handlers))
    assert main(["check"]) == 0
    out, err = capsys.readouterr()
    assert err.splitlines() == ["warning: out: not written by abm run, left alone: 'notes.txt'",
                                "error: an error line"]
    assert out.splitlines() == ["an info line"]
    abm_log = logging.getLogger("abm")
    assert (abm_log.level, abm_log.propagate, list(abm_log.handlers)) == before

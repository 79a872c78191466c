"""Progress when the output is no terminal (a CI log, nohup, a pipe): plain lines, never silence."""

from __future__ import annotations

import io
import time

from rich.console import Console

from pldc.progress import RichProgress


def test_a_stage_prints_plain_start_periodic_and_done_lines_when_the_output_is_no_terminal():
    out = io.StringIO()
    progress = RichProgress(Console(file=out, width=200), every=0.05)

    with progress.stage("search", total=4) as stage:
        stage.advance(status="best 0.41")
        time.sleep(0.06)
        stage.advance(status="best 0.52")  # past `every`: a periodic line
        stage.advance(2)

    lines = out.getvalue().splitlines()
    assert lines[0] == "[start] search: 0/4 in 0 s"
    assert lines[1].startswith("[…] search: 2/4 in 0 s, eta ")
    assert lines[1].endswith(" best 0.52")
    assert lines[2].startswith("[done] search: 4/4 in 0 s")
    assert len(lines) == 3
    assert "\x1b" not in out.getvalue()  # no terminal control codes in a log


def test_a_terminal_gets_the_live_display_not_plain_lines():
    out = io.StringIO()
    progress = RichProgress(Console(file=out, width=200, force_terminal=True), every=0.0)

    with progress.stage("search", total=2) as stage:
        stage.advance(2)

    assert "[start]" not in out.getvalue() and "search" in out.getvalue()

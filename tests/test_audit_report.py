"""`pldc report` (issue 22 item 4): a self-contained HTML audit report, rendered in headless
Chromium (Debian's `chromium`, which .ci/run installs) for a screenshot that must not be blank
and a page that logs nothing to the console."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

import pldc
from pldc.audit import render_report
from pldc.cli import main

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = [
    ROOT / "compiled" / "legal_intake.json",
    ROOT / "compiled" / "legal_intake-rules_only.json",
]


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        if os.environ.get("PLDC_REQUIRE_BROWSER"):
            pytest.fail(
                "chromium is not installed, and PLDC_REQUIRE_BROWSER (set by .ci/run) asks for it"
            )
        pytest.skip("chromium is not installed (apt-get install chromium)")
    return found


def render_in_chromium(page: Path, screenshot: Path) -> list[str]:
    """Screenshot `page` headless; the console messages it logged."""
    done = subprocess.run(
        [
            chromium(),
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--window-size=1200,2400",
            f"--screenshot={screenshot}",
            "--enable-logging=stderr",
            "--v=0",
            page.resolve().as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return [line for line in done.stderr.splitlines() if ":CONSOLE" in line]


@pytest.mark.parametrize("path", ARTIFACTS, ids=lambda p: p.stem)
def test_the_report_holds_every_section_and_no_network_reference(path):
    artifact = pldc.load_artifact(path)
    page = render_report(artifact)
    for heading in (
        "Scores: Macro-F1 [95% interval]",
        "Confusion matrices of the shipped prompt",
        "Rules in prompt order",
        "Demonstrations",
        "Rules dropped before the search",
        "Conflict resolution",
        "The search",
    ):
        assert f"<h2>{heading}" in page
    assert page.count("<svg") >= 4  # two heatmaps, the trial history, the front
    import html

    for rule in artifact.rules:
        assert html.escape(rule.text) in page
    assert html.escape(artifact.gate.reason[1:]) in page  # its first letter is capitalised
    assert artifact.content_hash in page
    assert "<script" not in page and "<link" not in page
    assert not re.search(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", page)


def test_pldc_report_writes_the_file_and_refuses_another_suffix(tmp_path, capsys):
    out = tmp_path / "report.html"
    assert main(["report", str(ARTIFACTS[0]), "-o", str(out)]) == 0
    assert out.read_text().startswith("<!DOCTYPE html>")
    assert main(["report", str(ARTIFACTS[0]), "-o", str(tmp_path / "report.pdf")]) == 2
    assert "give an .html file" in capsys.readouterr().err


def test_the_console_check_catches_a_page_that_logs(tmp_path):
    page = tmp_path / "noisy.html"
    page.write_text('<p>x</p><script>console.error("boom")</script>')
    assert any("boom" in line for line in render_in_chromium(page, tmp_path / "noisy.png"))


@pytest.mark.parametrize("path", ARTIFACTS, ids=lambda p: p.stem)
def test_the_report_renders_in_headless_chromium_not_blank_and_silent(tmp_path, path):
    import matplotlib.image

    page = tmp_path / "report.html"
    page.write_text(render_report(pldc.load_artifact(path)), encoding="utf-8")
    screenshot = tmp_path / "report.png"

    assert render_in_chromium(page, screenshot) == []
    pixels = matplotlib.image.imread(screenshot)[..., :3]
    not_white = (pixels < 0.95).any(axis=-1).mean()
    assert pixels.std() > 0.05 and not_white > 0.02, (pixels.std(), not_white)

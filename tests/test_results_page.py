"""The demo class's results pages and class report, measured in headless Chromium at 1300x900 (issue 22):
every picture at least as wide as the smaller of its natural width and 900 px, the first part to fix in view
without scrolling, no sideways scroll of the page. With COURSE_SCREENSHOTS set, a screenshot of each page is
kept there (CI uploads them; they are never committed)."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
from test_report import CHROMIUM, chromium

from autograder import cli, demo

WIDTH, HEIGHT = 1300, 900
PICTURE_FLOOR = 900
MEASURE = """<script>
window.addEventListener("load", () => {
  const pictures = [...document.querySelectorAll(".picture img")].map(i => (
    {rendered: i.getBoundingClientRect().width, natural: i.naturalWidth}));
  const first = document.querySelector("section.part h3");
  const page = document.documentElement;
  page.setAttribute("data-measured", JSON.stringify({
    pictures, firstFailureTop: first ? first.getBoundingClientRect().bottom : null,
    viewport: [window.innerWidth, window.innerHeight], scrollWidth: page.scrollWidth}));
});
</script>"""


def measured(page: Path, tmp_path: Path) -> dict:
    copy = page.with_name(f"measure-{page.name}")
    copy.write_text(page.read_text().replace("</body>", MEASURE + "</body>"))
    dom, _ = chromium(copy, tmp_path, "--dump-dom", f"--window-size={WIDTH},{HEIGHT}", "--hide-scrollbars")
    found = re.search(r'data-measured="([^"]*)"', dom)
    assert found, f"the measuring script did not run on {page.name}"
    return json.loads(found[1].replace("&quot;", '"'))


@pytest.fixture(scope="module")
def graded(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("demo-pages")
    demo.generate_class(root / "class")
    assert cli.main(["grade", str(root / "class"), "--out", str(root / "results"), "--format", "html",
                     "--report", str(root / "report"), "--quiet"]) == 0
    return root


def pages(graded: Path) -> list[Path]:
    return [*sorted((graded / "results").glob("*.html")), graded / "report" / "index.html",
            *sorted((graded / "report" / "submissions").glob("*.html"))]


def keep_screenshot(page: Path, tmp_path: Path) -> None:
    folder = os.environ.get("COURSE_SCREENSHOTS")
    if folder:
        target = Path(folder) / f"{page.parent.name}-{page.stem}.png"
        target.parent.mkdir(parents=True, exist_ok=True)
        chromium(page, tmp_path, f"--screenshot={target}", f"--window-size={WIDTH},{HEIGHT * 3}")


@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium (apt-get install -y chromium)")
def test_every_demo_page_reads_at_its_size(graded: Path, tmp_path: Path):
    checked = pages(graded)
    assert len(checked) == 2 * len(demo.STUDENTS) + 1
    pictures = 0
    for page in checked:
        found = measured(page, tmp_path)
        width, height = found["viewport"]  # the window's 1300x900 less what the browser's frame takes
        assert width == WIDTH and height > HEIGHT / 2, found["viewport"]
        assert found["scrollWidth"] <= width, f"{page.name} scrolls sideways: {found['scrollWidth']} px"
        for picture in found["pictures"]:
            assert picture["natural"] > 0, f"{page.name}: a picture did not load"
            assert picture["rendered"] >= min(picture["natural"], PICTURE_FLOOR) - 1, (page.name, picture)
        pictures += len(found["pictures"])
        if found["firstFailureTop"] is not None:
            assert found["firstFailureTop"] <= height, f"{page.name}: the first part to fix starts below the fold"
        keep_screenshot(page, tmp_path)
    assert pictures >= 10  # the demo's graph mistakes are drawn: the measure saw real pictures

"""The demo class's results pages and class report, measured in headless Chromium at 1300x900 (issue 22):
every picture at least as wide as the smaller of its natural width and 900 px, the first part to fix in view
without scrolling, no sideways scroll of the page. With COURSE_SCREENSHOTS set, a screenshot of each page is
kept there (CI uploads them; they are never committed)."""

from __future__ import annotations

import html
import json
import os
import re
from pathlib import Path

import pytest
from test_report import CHROMIUM, chromium

from autograder import cli
from autograder.frontends import demo
from autograder.outcome.results import load_results
from autograder.render import formats

WIDTH, HEIGHT = 1300, 900
# Mermaid's browser build, as GitHub draws a comment's ```mermaid blocks (`make test` installs it from npm)
MERMAID_JS = Path(os.environ.get("COURSE_MERMAID_JS", Path(__file__).parents[1] / ".cache/mermaid/node_modules/mermaid/"
                                                                                  "dist/mermaid.min.js"))
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
    assert len(checked) == 2 * len(demo.demo_class().students) + 1
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


RENDER = """<!doctype html><html><body>
<script src="%s"></script>
<script>
const diagrams = %s;
mermaid.initialize({startOnLoad: false, securityLevel: "strict"});
(async () => {
  const drawn = [];
  for (const [i, text] of diagrams.entries()) {
    try {
      const {svg} = await mermaid.render("d" + i, text);
      const box = document.createElement("div");
      box.innerHTML = svg;
      document.body.appendChild(box);
      const nodes = [...box.querySelectorAll("g.node")];
      drawn.push({texts: nodes.map(n => n.textContent),
                  marked: nodes.filter(n => ((n.querySelector("rect, path, polygon") || n).getAttribute("style")
                                             || "").includes("#ff5a4f")).length,
                  edges: [...new Set([...box.querySelectorAll(".edgeLabel")].map(e => e.textContent).filter(t => t))]});
    } catch (error) { drawn.push({error: String(error)}); }
  }
  document.documentElement.setAttribute("data-drawn", JSON.stringify(drawn));
})();
</script></body></html>"""


def graphviz_drawing(svg: str) -> dict:
    """What Graphviz drew, read from its SVG: each node's text, the nodes filled with the mark, the edge labels."""
    nodes = re.findall(r'<g id="node\d+" class="node">(.*?)</g>', svg, re.DOTALL)
    texts = [" | ".join(re.findall(r"<text[^>]*>([^<]*)</text>", node)) if "<polyline" in node
             else "".join(re.findall(r"<text[^>]*>([^<]*)</text>", node)) for node in nodes]
    edges = [text for edge in re.findall(r'<g id="edge\d+" class="edge">(.*?)</g>', svg, re.DOTALL)
             for text in re.findall(r"<text[^>]*>([^<]*)</text>", edge)]
    return {"texts": [html.unescape(t) for t in texts], "marked": sum('fill="#ff5a4f"' in n for n in nodes),
            "edges": sorted({html.unescape(e) for e in edges})}


@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium (apt-get install -y chromium)")
@pytest.mark.skipif(not MERMAID_JS.is_file(), reason=f"needs Mermaid's browser build at {MERMAID_JS} (make test)")
def test_github_draws_every_picture_of_the_demo_comments_as_graphviz_did(graded: Path, tmp_path: Path):
    """Every picture in the demo class's Markdown (the PR comment's feedback) drawn by Mermaid, as GitHub draws it:
    no diagram it cannot read, the same nodes with the same text, the same marked nodes and edge labels."""
    diagrams, drawings = [], []
    for results in load_results(graded / "results"):
        markdown = formats.to_markdown(results)
        found = re.findall(r"```mermaid\n(.*?)\n```", markdown, re.DOTALL)
        drawn = [t.picture for t in results.tests if t.picture and t.visibility == "visible"]
        assert len(found) == len(drawn), results.submission
        diagrams += found
        drawings += [graphviz_drawing(svg) for svg in drawn]
    assert len(diagrams) >= 10
    page = tmp_path / "mermaid.html"
    page.write_text(RENDER % (MERMAID_JS.as_uri(), json.dumps(diagrams)))
    dom, _ = chromium(page, tmp_path, "--dump-dom")
    found = re.search(r'data-drawn="([^"]*)"', dom)
    assert found, "the page did not finish drawing"
    for mermaid, graphviz in zip(json.loads(html.unescape(found[1])), drawings, strict=True):
        assert "error" not in mermaid, mermaid
        assert mermaid["texts"] == graphviz["texts"] and mermaid["marked"] == graphviz["marked"] >= 1
        assert sorted(mermaid["edges"]) == graphviz["edges"]

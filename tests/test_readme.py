"""README's generated speed table (bench/benchmark.py --readme) and its install story (pyproject.toml)."""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path

import pytest
from checkout import REPO_ROOT

sys.path.insert(0, str(REPO_ROOT / "bench"))
import benchmark  # noqa: E402

README = REPO_ROOT / "README.md"


def test_the_readme_has_one_speed_table_between_its_markers():
    head, tail = benchmark.readme_around_table(README)
    table = README.read_text()[len(head):-len(tail)]
    assert head.endswith(benchmark.BEGIN) and tail.startswith(benchmark.END)
    assert any(line.startswith("| ") for line in table.splitlines())


def test_the_benchmark_replaces_the_speed_table_and_nothing_else(tmp_path: Path):
    readme = tmp_path / "README.md"
    readme.write_text(f"# Course\n\n## Speed\n\nWhat is measured.\n\n{benchmark.BEGIN}\nold table\n"
                      f"{benchmark.END}\n\n## More\n")
    for table in ("| new | table |", "| newer | table |"):
        benchmark.replace_readme_table(table, readme)
        assert readme.read_text() == (f"# Course\n\n## Speed\n\nWhat is measured.\n\n{benchmark.BEGIN}\n{table}\n"
                                      f"{benchmark.END}\n\n## More\n")


@pytest.mark.parametrize("text", ["no markers\n", f"{benchmark.END}\n{benchmark.BEGIN}\n",
                                  f"{benchmark.BEGIN}\n{benchmark.BEGIN}\n{benchmark.END}\n"])
def test_a_readme_without_one_pair_of_markers_is_left_alone(tmp_path: Path, text: str):
    readme = tmp_path / "README.md"
    readme.write_text(text)
    with pytest.raises(SystemExit, match="needs one"):
        benchmark.replace_readme_table("| table |", readme)
    assert readme.read_text() == text


def test_each_row_is_divided_by_our_batch_and_one_process_time_of_its_kind():
    table = benchmark.Table("load average before the run 0.50")
    table.batch = {"module": 0.1, "notebook": 0.05}
    table.single = {"module": 1.0, "notebook": 2.0}
    table.add(benchmark.Row("cold single", "module", 1, 1.5, 300, 250))
    table.add(benchmark.Row("nbgrader autograde", "notebook", 12, 3.0, 400, 380))
    table.add(benchmark.Row("otter grade", "notebook", 0, None, note="not run: no Docker | daemon"))
    table.notes.append("load average after the run 0.70")
    lines = table.markdown("python bench/benchmark.py").splitlines()
    assert lines[0] == "`python bench/benchmark.py`; load average before the run 0.50."
    assert lines[-1] == "- load average after the run 0.70"
    assert "| cold single | 1 | 1.500 | 300 / 250 | 15.0x | 1.5x |  |" in lines
    assert "| nbgrader autograde | 12 | 3.000 | 400 / 380 | 60.0x | 1.5x |  |" in lines
    assert "| otter grade | - | - | - | - | - | not run: no Docker \\| daemon |" in lines
    header, rule, *_ = (line for line in lines if line.startswith("|"))
    assert header.count("|") == rule.count("|")


def test_grading_installs_no_torch_and_the_torch_extra_is_in_dev():
    """What README's install story says: torch only through the `torch` extra, which `make` (.[dev]) installs."""
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]
    assert not [d for d in project["dependencies"] if d.startswith("torch")]
    extras = project["optional-dependencies"]
    assert [d for d in extras["torch"] if d.startswith("torch")] == ["torch==2.13.0"]
    assert f"{project['name']}[torch]" in extras["dev"]
    assert "pip install -e '.[dev]'" in (REPO_ROOT / "Makefile").read_text()
    assert "`pip install -e '.[torch]'`" in README.read_text()

"""Tabulate real code graded by two checkouts beside the independent judge (issue 20's real-code measure).

    python bench/realcode/table.py JUDGE.json BEFORE_RESULTS_DIR AFTER_RESULTS_DIR > table.md

JUDGE.json is judge.py's output; each results folder is `course grade ... --out DIR` of the adapted code
(adapt.py). Per implementation: what the judge found wrong (policy checks apart), both scores, the parts
lost after, and the headline of each failing test's feedback after, for a reader to decide whether it
names the real fault.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

POLICY = "policy: "


def results(folder: Path) -> dict[str, dict]:
    return {p.stem: json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))}


def lost(result: dict) -> str:
    parts = result["parts"]
    return ", ".join(f"{p['name']} {p['max_score'] - p['score']:.1f}" for p in parts
                     if p["max_score"] - p["score"] > 1e-6) or "-"


def headlines(result: dict) -> str:
    seen = []
    for test in result["tests"]:
        if test["status"] != "passed":
            line = test["output"].split("\n", 1)[0][:110].replace("|", "\\|")
            entry = f"{test['name'].rsplit('::', 1)[-1]}: {line}"
            if line not in " ".join(seen):
                seen.append(entry)
    return "<br>".join(seen) or "-"


def main() -> int:
    judge = json.loads(Path(sys.argv[1]).read_text())
    before, after = results(Path(sys.argv[2])), results(Path(sys.argv[3]))
    print("| implementation | judge: wrong, error or absent (policies apart) | policy checks | before | after | "
          "parts lost after | failing tests after: headline |")
    print("|---|---|---|---|---|---|---|")
    for name in sorted(after):
        verdict = judge.get(name, {})
        faults = ", ".join(f"{k} ({v['status']})" for k, v in verdict.items()
                           if v["status"] != "ok" and not k.startswith(POLICY)) or "none"
        policy = ", ".join(f"{k[len(POLICY):]} ({v['status']})" for k, v in verdict.items()
                           if v["status"] != "ok" and k.startswith(POLICY)) or "-"
        print(f"| {name} | {faults} | {policy} | {before[name]['score']:.1f} | {after[name]['score']:.1f} | "
              f"{lost(after[name])} | {headlines(after[name])} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())

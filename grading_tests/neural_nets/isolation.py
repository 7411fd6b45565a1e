"""The isolation mode of the neural-nets notebook's suite (autograder/isolation.py): every part runs
the student's nn.py on the reference engine.py ("reference_engine"), so an edit to the engine cell
handed out with the notebook cannot cost (or earn) points here."""

from pathlib import Path

from autograder.isolation import Mode

SOLUTIONS = Path(__file__).resolve().parents[2] / "solutions"

MODES = {"reference_engine": Mode(replaced=(("micrograd/engine.py", SOLUTIONS / "micrograd" / "engine.py"),))}

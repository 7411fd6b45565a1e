"""The isolation mode of the backprop-by-hand notebook's suite (autograder/isolation.py): the
gradients filled in by hand (part by_hand) are read with the student's by_hand.py on the reference
engine.py ("reference_engine"), so a mistake in Value's + or * costs points in value_ops only."""

from pathlib import Path

from autograder.isolation import Mode

SOLUTIONS = Path(__file__).resolve().parents[2] / "solutions"

MODES = {"reference_engine": Mode(replaced=(("micrograd/engine.py", SOLUTIONS / "micrograd" / "engine.py"),))}

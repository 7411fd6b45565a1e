"""The isolation mode of the backprop-by-hand notebook's suite (autograder/core/isolation.py): the
gradients filled in by hand (part by_hand) are read with the student's by_hand.py on the reference
engine.py ("reference_engine"), so a mistake in Value's + or * costs points in value_ops only.

The reference engine is the one this notebook builds (its Value cell's solution: + and *, no
backward()), not the course's full engine: with a backward() at hand, a by_hand.py that calls
L.backward() would earn the hand-filled gradients only inside the grader.
"""

from pathlib import Path

from autograder.core.isolation import Mode
from autograder.inputs.notebooks import load_recipe, recipes_dir, solution_files

ENGINE = "micrograd/engine.py"

COURSE = Path(__file__).resolve().parents[2]  # the course this suite belongs to
MODES = {"reference_engine": Mode(replaced=((ENGINE, solution_files(load_recipe("backprop_by_hand",
                                                                                  recipes_dir(COURSE)))[ENGINE]),))}

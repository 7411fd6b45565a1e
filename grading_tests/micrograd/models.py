"""Questioning nn models: parameter values for a model, and diagnoses of parameter counts."""

import functools
import json
import random

import checks
import expected
from diagnose import PITFALLS, Tolerance

from autograder.suite import Mistake, ModelObservation, Submission

MODELS = [("Neuron", [3]), ("Layer", [3, 4]), ("Layer", [3, 1]), ("MLP", [3, [4, 4, 1]]), ("MLP", [2, [16, 16, 1]])]
LECTURE_MLP = ("MLP", [3, [4, 4, 1]])


def describe(cls: str, args: list) -> str:
    return f"{cls}({', '.join(map(str, args))})"


@functools.cache
def _parameters(key: str) -> tuple[float, ...]:
    rng = random.Random(key)
    return tuple(round(rng.uniform(-1, 1), 4) for _ in range(expected.parameter_count(*json.loads(key))))


def parameters(cls: str, args: list) -> list[float]:
    """Fixed parameter values for this model (weights then bias, neuron by neuron, layer by layer)."""
    return list(_parameters(json.dumps([cls, args])))


def count_variants(cls: str, args: list) -> dict[str, set[int]]:
    """Parameter counts that known mistakes produce, by pitfall (computed, not observed).

    A mistake that does not change this model (a skipped layer in a Neuron) gives its right count."""
    sizes = expected.layer_sizes(cls, args)
    per_layer = [nout * (nin + 1) for nin, nout in sizes]
    right = {sum(per_layer)}
    variants = {"parameters-missing-bias": {sum(nin * nout for nin, nout in sizes)},
                "parameters-skip-layer": right, "mlp-layer-sizes": right}
    if cls == "MLP":
        variants["parameters-skip-layer"] = {sum(per_layer) - skipped for skipped in per_layer}
        variants["mlp-layer-sizes"] = {sum(nout * (args[0] + 1) for _, nout in sizes)}
    return variants


def check_counts(submission: Submission) -> None:
    """Every model's parameter count; when any is wrong, the mistake consistent with all of them is named."""
    counts = {(cls, json.dumps(args)): submission.model(cls, args, doing=f"building {describe(cls, args)}").n_parameters
              for cls, args in MODELS}
    wrong = [(cls, json.loads(args), n) for (cls, args), n in counts.items()
             if n != expected.parameter_count(cls, json.loads(args))]
    if not wrong:
        return
    consistent = [pitfall for pitfall in count_variants("Neuron", [3])
                  if all(n in count_variants(cls, json.loads(args))[pitfall] for (cls, args), n in counts.items())]
    pitfall = consistent[0] if consistent else "parameter-count"
    shown = "; ".join(f"{describe(cls, args)}.parameters() has {n} values" for cls, args, n in wrong)
    raise Mistake(pitfall, f"{PITFALLS[pitfall]}.\nYour {shown}.")


def observe(submission: Submission, cls: str, args: list, steps: list, *, doing: str) -> ModelObservation:
    """Run steps on the model with our parameter values set through parameters(). When that fails, a wrong
    parameter count or a broken operator is named before anything else."""
    try:
        return submission.model(cls, args, params=parameters(cls, args), steps=steps, doing=doing)
    except Mistake as mistake:
        if mistake.pitfall != "error":
            raise
        check_counts(submission)
        explained = checks.explain_error(submission, mistake)
        if explained is not mistake:
            raise explained from None
        check_single_output(submission, cls, args)
        raise


FORWARD_VARIANTS = {"bias-first": "parameters-order", "no-activation": "activation-missing",
                    "no-bias": "bias-not-in-forward", "linear-last-layer": "mlp-linear-last-layer"}
INPUTS = {3: expected.LECTURE_XS, 2: [[0.5, -1.0], [1.5, 0.25], [-0.75, 2.0]]}


def _matches(outputs, reference, tolerance: Tolerance) -> bool:
    return all(len(o) == len(r) and all(tolerance.close(a, b) for a, b in zip(o, r, strict=True))
               for o, r in zip(outputs, reference, strict=True))


def _forward_mistake(cls, args, xs, outputs, tolerance) -> Mistake:
    """Name the nn mistake whose torch model gives the student's outputs (bias first, no tanh, no bias)."""
    params = parameters(cls, args)
    pitfall = next((pitfall for variant, pitfall in FORWARD_VARIANTS.items()
                    if _matches(outputs, expected.forward(cls, args, params, xs, variant), tolerance)),
                   "nn-forward-wrong")
    shown = "; ".join(f"{x} -> {', '.join(f'{v:.6g}' for v in o)}" for x, o in zip(xs, outputs, strict=True))
    return Mistake(pitfall, f"{PITFALLS[pitfall]}.\nYour {describe(cls, args)} with the parameters "
                   f"set in parameters() order gives: {shown}.")


def check_forward(submission: Submission, tolerance: Tolerance, cls: str, args: list) -> None:
    """The model's outputs with our parameters against torch with the same weights."""
    xs = INPUTS[args[0]]
    observed = observe(submission, cls, args, [["forward", xs]], doing=f"calling {describe(cls, args)}").forward[0]
    single = expected.layer_sizes(cls, args)[-1][1] == 1
    if single and any(isinstance(o, list) for o in observed):
        check_single_output(submission, cls, args)
    if not single and not all(isinstance(o, list) for o in observed):
        raise Mistake("nn-forward-wrong", f"{describe(cls, args)}(x) must return a list of Values, one per neuron.")
    outputs = [o if isinstance(o, list) else [o] for o in observed]
    if not _matches(outputs, expected.forward(cls, args, parameters(cls, args), xs), tolerance):
        raise _forward_mistake(cls, args, xs, outputs, tolerance)


def check_single_output(submission: Submission, cls: str, args: list) -> None:
    """A model ending in one neuron returns a Value, not a list of one Value."""
    if expected.layer_sizes(cls, args)[-1][1] != 1:
        return
    xs = [[0.5] * args[0]]
    outputs = submission.model(cls, args, steps=[["forward", xs]], doing=f"calling {describe(cls, args)}").forward[0]
    if any(isinstance(o, list) for o in outputs):
        pitfall = "layer-single-output-list"
        raise Mistake(pitfall, f"{PITFALLS[pitfall]}.\nYour {describe(cls, args)}(x) returned a list.")

"""Questioning nn models: parameter values for a model, and the checks that name nn mistakes.

Each nn mistake is named from evidence: parameter counts against the counts each mistake gives,
the parameters as built (before the grader sets any), which neurons were built with what, and
the student's outputs against torch models of each mistake (another parameters() order, another
activation, no bias, unchained layers).
"""

import functools
import itertools
import json
import random
import re

from autograder.core import expectations
from autograder.core.suite import Mistake

from . import checks, drawing, expected, student_code
from .diagnose import PITFALLS, Tolerance
from .observations import MicrogradSubmission, ModelObservation

MODELS = [("Neuron", [3]), ("Layer", [3, 4]), ("Layer", [3, 1]), ("MLP", [3, [4, 4, 1]]), ("MLP", [2, [16, 16, 1]])]
LECTURE_MLP = ("MLP", [3, [4, 4, 1]])
LINEAR = {"nonlin": False}


def describe(cls: str, args: list, kwargs: dict | None = None) -> str:
    shown = [*map(str, args), *(f"{k}={v}" for k, v in (kwargs or {}).items())]
    return f"{cls}({', '.join(shown)})"


def mistake(pitfall: str, evidence: str) -> Mistake:
    return Mistake(pitfall, f"{PITFALLS[pitfall]}.\n{evidence}")


@functools.cache
def _parameters(key: str) -> tuple[float, ...]:
    rng = random.Random(key)
    return tuple(round(rng.uniform(-1, 1), 4) for _ in range(expected.parameter_count(*json.loads(key))))


def parameters(cls: str, args: list) -> list[float]:
    """Fixed parameter values for this model (weights then bias, neuron by neuron, layer by layer)."""
    return list(_parameters(json.dumps([cls, args])))


# -- parameter counts -----------------------------------------------------------------------------
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


def check_counts(submission: MicrogradSubmission) -> None:
    """Every model's parameter count; when any is wrong, the mistake consistent with all of them is named.
    parameters() must give the same Values every time it is called (the lecture calls it at every step)."""
    observed = {(cls, json.dumps(args)): model_of(submission, cls, args, doing=f"building {describe(cls, args)}")
                for cls, args in MODELS}
    for (cls, args), obs in observed.items():
        if obs.n_parameters_again != obs.n_parameters or not obs.same_again:
            changed = (f"{obs.n_parameters} values the first time and {obs.n_parameters_again} the second"
                       if obs.n_parameters_again != obs.n_parameters else "other Values the second time")
            raise Mistake("parameters-change", (
                f"your {cls}.parameters() changes the model or is used up: {describe(cls, json.loads(args))}."
                f"parameters() returned {changed}. The training loop calls parameters() at every step, so it must "
                "return the same Values each time, without appending to the model's own lists (build a new list, "
                "e.g. self.w + [self.b])."))
    counts = {key: obs.n_parameters for key, obs in observed.items()}
    wrong = [(cls, json.loads(args), n) for (cls, args), n in counts.items()
             if n != expected.parameter_count(cls, json.loads(args))]
    if not wrong:
        return
    consistent = [pitfall for pitfall in count_variants("Neuron", [3])
                  if all(n in count_variants(cls, json.loads(args))[pitfall] for (cls, args), n in counts.items())]
    pitfall = consistent[0] if consistent else "parameter-count"
    shown = "; ".join(f"{describe(cls, args)}.parameters() has {n} values" for cls, args, n in wrong)
    built = [built_neurons(cls, args, observed[(cls, json.dumps(args))].neurons) for cls, args, _ in wrong]
    found = next(((cls, args, text) for (cls, args, _), text in zip(wrong, built, strict=True) if text), None)
    if found and pitfall == "parameters-skip-layer":  # the layers themselves are missing, not their parameters
        pitfall = "parameter-count"
    headline = (f"your {found[0]}.__init__ builds the wrong neurons: {found[2]}" if found else PITFALLS[pitfall])
    raise Mistake(pitfall, f"{headline}.\nYour {shown}.")


def built_neurons(cls: str, args: list, neurons: list) -> str:
    """What a model's constructor built, when its neurons (count or input sizes) are not the model's; else ""."""
    sizes = expected.layer_sizes(cls, args)
    wanted = [nin for nin, nout in sizes for _ in range(nout)]
    got = [nin for nin, _ in neurons]
    if not neurons or got == wanted:
        return ""
    def grouped(nins: list) -> str:
        return ", ".join(f"{len(list(g))} of {nin} inputs" for nin, g in itertools.groupby(nins))
    return (f"{describe(cls, args)} built {len(got)} neurons ({grouped(got)}) where it needs {len(wanted)} "
            f"({grouped(wanted)}): a Layer(nin, nout) has nout neurons of nin inputs each, and an MLP one Layer per "
            "entry of nouts")


# -- parameters as built --------------------------------------------------------------------------
def neuron_blocks(cls: str, args: list, values: list) -> list[list]:
    """values split per neuron (nin weights and a bias each), in parameters() order."""
    sizes = [nin + 1 for nin, nout in expected.layer_sizes(cls, args) for _ in range(nout)]
    starts = list(itertools.accumulate([0, *sizes]))
    return [values[a:b] for a, b in zip(starts, starts[1:], strict=False)]


def sharing_mistake(cls: str, args: list, same_as: list[int]) -> Mistake | None:
    """Several entries of parameters() that are one Value object: one neuron repeated, or one weight."""
    repeats = [(i, first) for i, first in enumerate(same_as) if first != i]
    if not repeats:
        return None
    blocks = neuron_blocks(cls, args, list(range(len(same_as))))
    block_of = {i: k for k, block in enumerate(blocks) for i in block}
    whole_neuron = all(block_of.get(i) != block_of.get(first) for i, first in repeats)
    pitfall = "layer-repeats-neuron" if whole_neuron else "parameters-shared-object"
    i, first = repeats[0]
    return mistake(pitfall, f"In your {describe(cls, args)}, parameters()[{i}] is the same Value object as "
                   f"parameters()[{first}] ({len(repeats)} of {len(same_as)} entries repeat an earlier one).")


INIT_MODELS = [("Neuron", [3], 1), ("Layer", [3, 4], 2), ("MLP", [2, [16, 16, 1]], 3)]


def _shown(values: list[float], limit: int = 6) -> str:
    return ", ".join(f"{v:.4g}" for v in values[:limit]) + (", ..." if len(values) > limit else "")


def init_mistake(cls: str, args: list, fresh: list[float]) -> Mistake | None:
    """Fresh parameters must look drawn from random.uniform(-1, 1): in range, both signs, not all equal,
    weights differing within a neuron, neurons differing from each other."""
    yours = f"Your {describe(cls, args)} starts with parameters {_shown(fresh)}"
    blocks = neuron_blocks(cls, args, fresh)
    if any(abs(p) > 1 for p in fresh):
        outside = next(p for p in fresh if abs(p) > 1)
        return mistake("init-out-of-range", f"{yours} ({outside:.4g} is outside [-1, 1]).")
    if len(set(fresh)) == 1:
        return mistake("init-constant", f"{yours}.")
    if len(fresh) >= 16 and all(p >= 0 for p in fresh):
        return mistake("init-not-symmetric", f"{yours}: all {len(fresh)} are >= 0.")
    if all(len(set(block[:-1])) == 1 for block in blocks if len(block) > 2):
        return mistake("init-one-draw-per-neuron", f"{yours}: each neuron's weights are all equal.")
    if len(blocks) > 1 and len({tuple(block) for block in blocks}) < len(blocks):
        return mistake("init-neurons-identical", f"{yours}: several neurons start with exactly the same "
                       "weights and bias.")
    return None


def check_fresh_parameters(submission: MicrogradSubmission) -> None:
    """Look at the parameters as built, before the grader sets any."""
    for cls, args, seed in INIT_MODELS:
        obs = model_of(submission, cls, args, seed=seed, doing=f"building {describe(cls, args)}")
        found = sharing_mistake(cls, args, obs.same_as) or (
            init_mistake(cls, args, obs.fresh) if obs.n_parameters == expected.parameter_count(cls, args) else None)
        if found:
            raise found


def model_of(submission: MicrogradSubmission, cls: str, args: list, **options) -> ModelObservation:
    """submission.model, with a parameters() that lists something other than Values named as such."""
    try:
        return submission.model(cls, args, **options)
    except Mistake as failure:
        if failure.pitfall == "error":
            not_values(submission, failure)
        raise


NOT_AN_OUTPUT = re.compile(r"the output is an? (\w+), not a Value")
NOT_VALUES = re.compile(r"(\w+)\.parameters\(\) returned a list holding an? (\w+), not only Values")


def not_values(submission: MicrogradSubmission, failure: Mistake) -> None:
    """parameters() listed something that is not a Value: named for the smallest class whose parameters() does."""
    found = NOT_VALUES.search(failure.error.message) if failure.error else None
    if found is None:
        return
    for cls, args in MODELS[:3]:  # Neuron, then Layer: the class the others take their parameters from
        if cls == found[1]:
            break
        try:
            submission.model(cls, args, doing=f"building {describe(cls, args)}")
        except Mistake as smaller:
            if smaller.error is not None and NOT_VALUES.search(smaller.error.message):
                failure, found = smaller, NOT_VALUES.search(smaller.error.message)
                break
    cls, kind = found.groups()
    why = {"list": "a list inside the list: add lists together (+ or extend), do not put one in another",
           "float": "plain numbers: the weights and the bias must be Value objects, or they get no gradient",
           "int": "plain numbers: the weights and the bias must be Value objects, or they get no gradient"}
    raise Mistake("parameters-not-values", (
        f"your {cls}.parameters() returns a list holding a {kind}: it must be a flat list of Values (the weights, "
        f"then the bias){': ' + why[kind] if kind in why else ''}.\n{failure.feedback}"), error=failure.error)


# -- running a model with our parameters ----------------------------------------------------------
def observe(submission: MicrogradSubmission, cls: str, args: list, steps: list, *, doing: str,
            kwargs: dict | None = None) -> ModelObservation:
    """Run steps on the model with our parameter values set through parameters(). When that fails, a wrong
    parameter count or a broken operator is named before anything else; parameters that are one shared
    object (so setting one sets another) are named before any output is compared."""
    try:
        obs = model_of(submission, cls, args, params=parameters(cls, args), steps=steps, doing=doing, kwargs=kwargs)
    except Mistake as failure:
        if failure.pitfall != "error":
            raise
        not_values(submission, failure)
        returned = NOT_AN_OUTPUT.search(failure.error.message) if failure.error else None
        if returned:
            kind = returned[1]
            hint = (": a method itself, not its result (call it: act.tanh())" if kind == "method" else
                    ": is its `return` missing?" if kind == "NoneType" else "")
            raise Mistake("output-not-value", f"your {cls}.__call__ returns a {kind}, not a Value (or a list of "
                          f"Values, one per neuron){hint}.\n{failure.feedback}" + their_code(submission.sources, cls),
                          error=failure.error) from None
        check_counts(submission)
        explained = checks.explain_error(submission, failure)
        if explained is not failure:
            raise explained from None
        check_single_output(submission, cls, args)
        raise
    shared = sharing_mistake(cls, args, obs.same_as)
    if shared:
        raise shared
    return obs


INPUTS = {3: expected.LECTURE_XS, 2: [[0.5, -1.0], [1.5, 0.25], [-0.75, 2.0]]}
FORWARD_VARIANTS = {"no-activation": "activation-missing", "relu": "activation-not-tanh",
                    "no-bias": "bias-not-in-forward", "linear-last-layer": "mlp-linear-last-layer",
                    "not-chained": "mlp-layers-not-chained", "ignores-nonlin": "neuron-ignores-nonlin"}


def _slots(cls: str, args: list) -> list[tuple[int, int, int]]:
    """(layer, neuron, slot) of each parameter in the right order; slot nin is the bias."""
    return [(layer, neuron, slot) for layer, (nin, nout) in enumerate(expected.layer_sizes(cls, args))
            for neuron in range(nout) for slot in range(nin + 1)]


ORDERS = {  # another parameters() order students write, as a sort key on (layer, neuron, slot)
    "each neuron's bias comes before its weights": lambda s, nin: (s[0], s[1], -1 if s[2] == nin else s[2]),
    "the neurons of a layer come last to first": lambda s, nin: (s[0], -s[1], s[2]),
    "the layers come last to first": lambda s, nin: (-s[0], s[1], s[2]),
}


def reordered(cls: str, args: list, params: list[float], order: str) -> list[float]:
    """The parameters as the model uses them when parameters() lists them in this other order."""
    slots = _slots(cls, args)
    nins = [nin for nin, _ in expected.layer_sizes(cls, args)]
    listed = sorted(slots, key=lambda s: ORDERS[order](s, nins[s[0]]))
    position = {slot: i for i, slot in enumerate(slots)}
    used = [0.0] * len(params)
    for value, slot in zip(params, listed, strict=True):
        used[position[slot]] = value
    return used


def _matches(outputs, reference, tolerance: Tolerance) -> bool:
    return all(len(o) == len(r) and all(tolerance.close(a, b) for a, b in zip(o, r, strict=True))
               for o, r in zip(outputs, reference, strict=True))


def _forward_mistake(cls, args, xs, outputs, tolerance, kwargs=None, sources=None) -> Mistake:
    """Name the nn mistake whose torch model gives the student's outputs."""
    params, nonlin = parameters(cls, args), not kwargs
    shown = "; ".join(f"{x} -> {', '.join(f'{v:.6g}' for v in o)}" for x, o in zip(xs, outputs, strict=True))
    evidence = f"Your {describe(cls, args, kwargs)} with the parameters set in parameters() order gives: {shown}."
    for order in ORDERS:
        if _matches(outputs, expected.forward(cls, args, reordered(cls, args, params, order), xs, nonlin=nonlin),
                    tolerance):
            found = mistake("parameters-order", f"{evidence}\nThat is what a model gives when {order} "
                            "in parameters().")
            return drawing.with_parameter_order(found, xs[0], params, reordered(cls, args, params, order),
                                                expected.layer_sizes(cls, args)[0][1], order, nonlin)
    found = mistake(*_variant_of(cls, args, params, xs, outputs, tolerance, nonlin, evidence))
    return Mistake(found.pitfall, found.feedback + their_code(sources, cls), found.flags, picture=found.picture)


def _variant_of(cls, args, params, xs, outputs, tolerance, nonlin, evidence) -> tuple[str, str]:
    """The known mistake, or two at once, whose torch model gives these outputs: (pitfall, evidence), the second
    mistake's wording added to the evidence. Without torch to model them (a grader installed without it and a
    model nobody precomputed), the mistake is not named."""
    combos = [(v,) for v in FORWARD_VARIANTS] + list(itertools.combinations(FORWARD_VARIANTS, 2))
    try:
        for combo in combos:
            if _matches(outputs, expected.forward(cls, args, params, xs, "+".join(combo), nonlin), tolerance):
                also = "".join(f"\nAlso: {PITFALLS[FORWARD_VARIANTS[v]]}." for v in combo[1:])
                return FORWARD_VARIANTS[combo[0]], evidence + also
    except expectations.ExpectationUnavailable:
        pass
    return "nn-forward-wrong", evidence


MAX_QUOTED_LINES = 8


def their_code(sources, cls: str) -> str:
    """The student's cls.__init__ signature and cls.__call__ (nn.py, read not run), for a wrong output of cls."""
    code = student_code.StudentCode(sources, student_code.NN)
    lines = []
    init = code.method("__init__", cls)
    if init is not None:
        lines.append(code.line(init))
    call = code.method("__call__", cls)
    if call is not None:
        lines += [code.line(node) for node in call.body][:MAX_QUOTED_LINES]
    if not lines:
        return ""
    return "\n" + student_code.shown_lines(lines, f"Your {cls}.__call__ (and the __init__ it relies on)")


def check_forward(submission: MicrogradSubmission, tolerance: Tolerance, cls: str, args: list,
                  kwargs: dict | None = None) -> ModelObservation:
    """The model's outputs with our parameters against torch with the same weights."""
    xs = INPUTS[args[0]]
    obs = observe(submission, cls, args, [["forward", xs]], doing=f"calling {describe(cls, args, kwargs)}",
                  kwargs=kwargs)
    observed = obs.forward[0]
    single = expected.layer_sizes(cls, args)[-1][1] == 1
    if single and any(isinstance(o, list) for o in observed):
        check_single_output(submission, cls, args)
    if not single and not all(isinstance(o, list) for o in observed):
        raise Mistake("nn-forward-wrong", f"{describe(cls, args)}(x) must return a list of Values, one per neuron.")
    outputs = [o if isinstance(o, list) else [o] for o in observed]
    if not _matches(outputs, expected.forward(cls, args, parameters(cls, args), xs, nonlin=not kwargs), tolerance):
        raise _forward_mistake(cls, args, xs, outputs, tolerance, kwargs, submission.sources)
    return obs


def check_single_output(submission: MicrogradSubmission, cls: str, args: list) -> None:
    """A model ending in one neuron returns a Value, not a list of one Value; an MLP returns its last
    layer's output."""
    sizes = expected.layer_sizes(cls, args)
    if sizes[-1][1] != 1:
        return
    xs = [[0.5] * args[0]]
    outputs = model_of(submission, cls, args, steps=[["forward", xs]],
                       doing=f"calling {describe(cls, args)}").forward[0]
    if not any(isinstance(o, list) for o in outputs):
        return
    if cls == "MLP" and len(outputs[0]) == sizes[0][1] != 1:
        raise mistake("mlp-returns-inside-loop", f"Your {describe(cls, args)}(x) returned {len(outputs[0])} values, "
                      "as many as its first layer has neurons.")
    layer = model_of(submission, "Layer", [args[0], 1], steps=[["forward", xs]], doing="calling Layer(3, 1)").forward[0]
    if cls == "MLP" and not any(isinstance(o, list) for o in layer):
        raise mistake("mlp-output-list", f"Your {describe(cls, args)}(x) returned a list.")
    raise mistake("layer-single-output-list", f"Your {describe(cls, args)}(x) returned a list.")


# -- nonlin=False -----------------------------------------------------------------------------------
def check_linear_neuron(submission: MicrogradSubmission, tolerance: Tolerance) -> None:
    """Neuron(3, nonlin=False) computes w·x + b with no tanh."""
    check_forward(submission, tolerance, "Neuron", [3], LINEAR)


def check_layer_passes_kwargs(submission: MicrogradSubmission, tolerance: Tolerance) -> None:
    """Layer(3, 2, nonlin=False) computes linear outputs, however it achieves them. Building every neuron with
    nonlin=False passes too, so a Neuron that ignores nonlin costs points only in its own test; the neurons as
    built word the mistake when the outputs are not linear."""
    cls, args = "Layer", [3, 2]
    doing = f"building {describe(cls, args, LINEAR)}"
    built = model_of(submission, cls, args, kwargs=LINEAR, doing=doing).neurons
    if built and all(nonlin is False for _, nonlin in built):
        return
    try:
        check_forward(submission, tolerance, cls, args, LINEAR)
    except Mistake:
        if built and len(built) == args[1]:
            shown = ", ".join("Neuron(3)" if nonlin is None else f"Neuron(3, nonlin={nonlin})" for _, nonlin in built)
            raise mistake("layer-drops-kwargs", f"Your {describe(cls, args, LINEAR)} built its neurons as: {shown}, "
                          "and its outputs are not linear.") from None
        raise


# -- gradients --------------------------------------------------------------------------------------
def check_gradients(submission: MicrogradSubmission, tolerance: Tolerance) -> None:
    """The lecture's MLP(3, [4, 4, 1]) and loss: every parameter's gradient after loss.backward()."""
    cls, args = LECTURE_MLP
    xs, ys = expected.LECTURE_XS, expected.LECTURE_YS
    loss, grads = expected.backward_loss(cls, args, parameters(cls, args), xs, ys)
    try:
        observed = observe(submission, cls, args, [["backward_loss", xs, ys]], doing="loss.backward() on an MLP")
    except Mistake:
        for model in MODELS:  # name what is wrong with the smallest model, if that is it
            check_forward(submission, tolerance, *model)
        raise
    if not tolerance.close(observed.losses[0], loss):
        for model in MODELS:
            check_forward(submission, tolerance, *model)
        raise mistake("nn-forward-wrong", f"Your loss on the lecture's four samples is {observed.losses[0]:.6g}.")
    wrong = [i for i, (a, b) in enumerate(zip(observed.grads, grads, strict=True)) if not tolerance.close(a, b)]
    if wrong:
        shown = ", ".join(f"parameters()[{i}].grad = {observed.grads[i]:.6g}" for i in wrong[:checks.MAX_SHOWN])
        raise mistake(detached(cls, args, observed.grads, wrong), f"After loss.backward() on the lecture's four "
                      f"samples: your {shown}.")


def detached(cls: str, args: list, grads: list[float], wrong: list[int]) -> str:
    """The forward is right but some gradients are wrong: are exactly the biases (or the weights) left at 0,
    because the forward used their .data (a plain number) instead of the Value?"""
    biases = set(expected.bias_indices(cls, args))
    if all(grads[i] == 0 for i in wrong):
        if set(wrong) <= biases and len(wrong) > len(biases) // 2:
            return "bias-detached"
        if not set(wrong) & biases:
            return "weights-detached"
    return "nn-gradient"

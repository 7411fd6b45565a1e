"""Hidden tests of the neural-nets notebook: modules, the squared-error loss, the training loop.

Expected values come from torch (float64) with the submission's own initial parameters. The
training part is graded on the student's own model and loss when those are right, and otherwise on
the reference ones (isolation mode "reference_modules", which holds neither train() nor zero_grad):
a modules or loss mistake costs points in its own part only.
"""

import pytest

from autograder.core.suite import Mistake, number, numbers

from ..micrograd import diagnose, models
from ..micrograd.student_code import NN, StudentCode, TrainingCode
from ..micrograd.zero_grad import zero_grad_mistake

XS = [[2.0, 3.0, -1.0], [3.0, -1.0, 0.5], [0.5, 1.0, 1.0], [1.0, 1.0, -1.0]]
YS = [1.0, -1.0, -1.0, 1.0]
MODE = "reference_engine"  # every part: the student's nn.py on the reference engine (isolation.py)
PITFALLS = {  # the module suite's wording where the mistake is the same
    **{key: diagnose.PITFALLS[key] for key in (
        "parameters-missing-bias", "parameters-skip-layer", "parameter-count", "parameters-order",
        "activation-missing", "mlp-linear-last-layer", "mlp-output-list", "nn-forward-wrong")},
    "loss": "mse_loss is not the sum of the squared differences (ypred - y)**2",
    "loss-gradient": "the loss's gradient with respect to a prediction p is 2 * (p - y): build the loss from Values",
    "steps": "train(model, xs, ys, steps, lr) returns one loss per step",
    "missing-zero-grad": ("your losses match training without zero_grad(): each backward() adds to the previous "
                          "step's gradients. Call model.zero_grad() before loss.backward()"),
    "training": "a training step goes wrong: each step is forward, zero_grad, backward, then p.data -= lr * p.grad",
    "update-sign": "each step moves a parameter against its gradient: p.data -= lr * p.grad (or += -lr * p.grad)",
    "losses-not-numbers": "train() returns the loss of each step as a number: append loss.data, not the Value loss",
}


def _bias_first(params, nin, nouts):
    """The parameters as a model uses them when parameters() lists each neuron's bias first."""
    reordered, i = [], 0
    for n_in, n_out in zip([nin] + nouts, nouts, strict=False):
        for _ in range(n_out):
            block = params[i:i + n_in + 1]
            reordered += block[1:] + block[:1]
            i += n_in + 1
    return reordered


def _layers(params, nin, nouts, variant="correct"):
    """Weights and biases per layer from parameters(): layer by layer, neuron by neuron, weights then bias
    (or, for the "bias-first" variant, the order that mistake lists them in)."""
    import torch  # the expectations depend on the student's own parameters: computed at grade time

    params = _bias_first(list(params), nin, nouts) if variant == "bias-first" else params
    layers, i = [], 0
    for n_in, n_out in zip([nin] + nouts, nouts, strict=False):
        rows = [params[i + k * (n_in + 1): i + (k + 1) * (n_in + 1)] for k in range(n_out)]
        i += n_out * (n_in + 1)
        w = torch.tensor([r[:-1] for r in rows], dtype=torch.float64, requires_grad=True)
        b = torch.tensor([r[-1] for r in rows], dtype=torch.float64, requires_grad=True)
        layers.append((w, b))
    return layers


def _forward(layers, x, variant="correct"):
    """The MLP's output; a variant models a known modules mistake (no tanh, a linear last layer)."""
    import torch

    h = torch.tensor(x, dtype=torch.float64)
    for k, (w, b) in enumerate(layers):
        h = w @ h + b
        if variant != "no-activation" and not (variant == "linear-last-layer" and k == len(layers) - 1):
            h = torch.tanh(h)
    return h


def torch_training(params, nin, nouts, steps, lr, zero_grad=True):
    import torch

    layers = _layers(params, nin, nouts)
    tensors = [t for layer in layers for t in layer]
    losses = []
    for _ in range(steps):
        loss = sum((_forward(layers, x)[0] - y) ** 2 for x, y in zip(XS, YS, strict=True))
        if zero_grad:
            for t in tensors:
                t.grad = None
        loss.backward()
        with torch.no_grad():
            for t in tensors:
                t -= lr * t.grad
        losses.append(loss.item())
    return losses


def _mistake(pitfall: str, evidence: str) -> Mistake:
    return Mistake(pitfall, f"{PITFALLS[pitfall]}.\n{evidence}")


SMALLER_MODELS = [("Neuron", [3]), ("Layer", [3, 4]), ("Layer", [3, 1])]
FORWARD_VARIANTS = {"bias-first": "parameters-order", "no-activation": "activation-missing",
                    "linear-last-layer": "mlp-linear-last-layer"}


def model_variant(params: list[float], outputs: list, tolerance) -> str | None:
    """Which model gives the student's outputs with their own parameters: "correct", a known mistake, or None."""
    for variant in ("correct", *FORWARD_VARIANTS):
        layers = _layers(params, 3, [4, 4, 1], variant)
        if all(not isinstance(got, list) and tolerance.close(got, _forward(layers, x, variant)[0].item())
               for x, got in zip(XS, outputs, strict=True)):
            return variant
    return None


def modules_mistake(submission, seed: int, tolerance) -> tuple[str, Mistake | None]:
    """The model the student's MLP(3, [4, 4, 1]) is (built after random.seed(seed)), and the Mistake if it is
    not the right one."""
    models.check_counts(submission)  # the module suite's check: a wrong count localised to the class and its neurons
    for cls, args in SMALLER_MODELS:  # a wrong output named in the smallest model that gives one, with its code
        models.check_forward(submission, tolerance, cls, args)
    obs = submission.model("MLP", [3, [4, 4, 1]], seed=seed, steps=[["forward", XS]],
                           doing="calling MLP(3, [4, 4, 1])")
    outputs = obs.forward[0]
    if any(isinstance(o, list) for o in outputs):
        return "unknown", _mistake("mlp-output-list", f"Your MLP(3, [4, 4, 1])({XS[0]}) returned a list.")
    variant = model_variant(obs.params, outputs, tolerance)
    if variant == "correct":
        return variant, None
    pitfall = FORWARD_VARIANTS.get(variant, "nn-forward-wrong")
    shown = "; ".join(f"{x} -> {got:.6g}" for x, got in zip(XS, outputs, strict=True))
    return variant or "unknown", _mistake(pitfall, (
        f"Your MLP(3, [4, 4, 1]), built after random.seed({seed}), with its own parameters (parameters()[:4] = "
        f"{', '.join(f'{p:.4g}' for p in obs.params[:4])}, ...) gives: {shown}."))


@pytest.mark.part("modules")
def test_mlp_parameters_and_forward(submission, tolerance):
    _, mistake = modules_mistake(submission.isolated(MODE), seed=1, tolerance=tolerance)
    if mistake:
        raise mistake


def loss_mistake(submission, tolerance) -> Mistake | None:
    """mse_loss's value and gradients on two batches of predictions, or the Mistake (an exception included)."""
    try:
        for ypred, ys in (([0.5, -1.0], [1.0, 1.0]), ([0.2, -0.7, 0.9, 0.1], YS)):
            value = submission.ask("calling mse_loss", "nb_mse", ypred=ypred, ys=ys)
            loss = number(value.get("loss"), "the loss")
            grads = numbers(value.get("grads"), "the gradients", len(ypred))
            want = sum((p - y) ** 2 for p, y in zip(ypred, ys, strict=True))
            call = f"loss = mse_loss([{', '.join(f'Value({p})' for p in ypred)}], {ys})"
            if not tolerance.close(loss, want):
                return _mistake("loss", f"Your {call} gives loss.data = {loss:.6g}.")
            if not all(tolerance.close(g, 2 * (p - y)) for p, y, g in zip(ypred, ys, grads, strict=True)):
                shown = ", ".join(f"Value({p}).grad = {g:.6g}" for p, g in zip(ypred, grads, strict=True))
                return _mistake("loss-gradient", f"Your {call}, then loss.backward(), gives {shown}.")
    except Mistake as failure:
        return failure
    return None


@pytest.mark.part("loss")
def test_squared_error_loss(submission, tolerance):
    mistake = loss_mistake(submission.isolated(MODE), tolerance)
    if mistake:
        raise mistake


TRAINING_MODE = "reference_modules"  # the reference modules and loss, the student's train() and zero_grad


def wrong_elsewhere(submission, tolerance) -> bool:
    """Whether the student's modules or loss are wrong (those cost points in their own parts)."""
    if loss_mistake(submission, tolerance) is not None:
        return True
    try:
        _, mistake = modules_mistake(submission, seed=3, tolerance=tolerance)
    except Mistake:
        return True
    return mistake is not None


def trained(submission, tolerance) -> tuple[dict, str]:
    """train(MLP(3, [4, 4, 1]), ...) as the probe saw it, and how the call is shown. On the student's own modules
    and loss, or, when those are wrong, on the reference ones (TRAINING_MODE): a modules or loss mistake then
    costs nothing here."""
    own = submission.isolated(MODE)
    elsewhere = wrong_elsewhere(own, tolerance)
    worker = submission.isolated(TRAINING_MODE) if elsewhere else own
    value = worker.ask(f"calling train(model, xs, ys, {STEPS}, {LR})", "nb_train", nin=3, nouts=[4, 4, 1], seed=3,
                       xs=XS, ys=YS, steps=STEPS, lr=LR, given_modules="reference_modules" if elsewhere else None)
    model = "a correct MLP(3, [4, 4, 1]) and mse_loss" if elsewhere else "MLP(3, [4, 4, 1])"
    return value, f"train({model}, xs, ys, steps={STEPS}, lr={LR}) on the lecture's four samples"


STEPS, LR = 6, 0.05


@pytest.mark.part("training")
def test_training_loop_with_zero_grad(submission, tolerance):
    check_training(submission, tolerance, *trained(submission, tolerance))


def check_training(submission, tolerance, value: dict, call: str) -> None:
    """The losses of the student's train() against torch's training of the same model; a wrong one named."""
    initial = numbers(value.get("initial"), "the initial parameters")
    losses = numbers(value.get("losses"), "the losses")
    if len(losses) != STEPS:
        raise _mistake("steps", f"Your {call} returned {len(losses)} losses.")
    want = torch_training(initial, 3, [4, 4, 1], STEPS, LR)
    if all(tolerance.close(g, w) for g, w in zip(losses, want, strict=True)):
        return
    shown = f"Your {call} gives the losses {', '.join(f'{g:.6g}' for g in losses)}."
    step = next(i for i, (g, w) in enumerate(zip(losses, want, strict=True)) if not tolerance.close(g, w))
    # zero_grad alone first (no forward, no backward): a mistake there is named there, wherever it shows.
    broken = zero_grad_mistake(submission.isolated(MODE))
    if broken:
        raise Mistake(broken.pitfall, f"{broken.feedback}\n{shown}")
    without = torch_training(initial, 3, [4, 4, 1], STEPS, LR, zero_grad=False)
    if all(tolerance.close(g, w) for g, w in zip(losses, without, strict=True)):
        raise _mistake("missing-zero-grad", shown)
    code = TrainingCode(StudentCode(submission.sources, NN))
    # Where the loop's own statements say what is out of order, that is the name (read from their train()).
    found = code.mistake()
    if found:
        raise Mistake("training-order", f"{found}.\n{shown} Step {step + 1} is the first that goes wrong.")
    update = code.update()
    uphill = torch_training(initial, 3, [4, 4, 1], STEPS, -LR)
    if all(tolerance.close(g, w) for g, w in zip(losses, uphill, strict=True)):
        raise _mistake("update-sign", f"Your update ({update or 'in train'}) moves each parameter along its "
                                      f"gradient, so the loss grows. {shown}")
    where = f" Your update: {update}." if update else ""
    raise _mistake("training", f"{shown} Step {step + 1} is the first that goes wrong.{where}")


@pytest.mark.part("training")
def test_train_returns_the_losses_as_numbers(submission, tolerance):
    """Only a loop that trains right earns this share: a train() that just returns numbers earns nothing."""
    value, call = trained(submission, tolerance)
    check_training(submission, tolerance, value, call)
    if value.get("numbers") is not True:
        raise _mistake("losses-not-numbers", f"Your {call} returns its losses as Values.")

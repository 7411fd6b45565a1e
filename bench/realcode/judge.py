"""Judge adapted micrograd implementations against torch (float64), independently of the grader.

    python bench/realcode/judge.py ADAPTED_DIR [--out judge.json]

ADAPTED_DIR holds one folder per implementation in the template layout (written by adapt.py).
Each implementation runs in its own subprocess with a timeout (its code may hang or exit); the
parent collects one JSON verdict per implementation: every check's outcome (ok / wrong / error /
absent) with the numbers that disagree. The deep chain (recursion) is reported on its own: a
recursive sort failing it is a documented course policy, not a fault.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

TIMEOUT_SECONDS = 60
REL, ABS = 1e-6, 1e-9


def _close(a: float, b: float) -> bool:
    return abs(a - b) <= ABS + REL * abs(b)


def _checks() -> dict:  # runs inside the child, with the implementation first on sys.path
    import math
    import random

    import torch
    from micrograd import engine

    Value = engine.Value
    results: dict[str, dict] = {}

    def t(x: float) -> torch.Tensor:
        return torch.tensor(x, dtype=torch.float64, requires_grad=True)

    def record(name: str, fn) -> None:
        try:
            outcome = fn()
        except AttributeError as e:
            outcome = {"status": "absent" if "has no attribute" in str(e) else "error", "detail": repr(e)[:200]}
        except RecursionError as e:
            outcome = {"status": "recursion", "detail": repr(e)[:120]}
        except Exception as e:  # their code: any exception is an outcome
            outcome = {"status": "error", "detail": repr(e)[:200]}
        results[name] = outcome

    def compare(build, leaves: list[float]) -> dict:
        """build(*inputs) with their Values and with torch tensors: output and leaf gradients."""
        mine = [Value(x) for x in leaves]
        out = build(*mine)
        out.backward()
        ref_leaves = [t(x) for x in leaves]
        ref = build(*ref_leaves)
        ref.backward()
        got = [float(out.data)] + [float(v.grad) for v in mine]
        want = [ref.item()] + [0.0 if v.grad is None else v.grad.item() for v in ref_leaves]
        ok = all(_close(g, w) for g, w in zip(got, want, strict=True))
        return {"status": "ok" if ok else "wrong", "got": got, "want": want}

    a, b = 1.7, -0.6
    exprs = {
        "reuse a+a": (lambda x: x + x, [a]),
        "reuse b*b": (lambda x: x * x, [b]),
        "reuse a*b+a": (lambda x, y: x * y + x, [a, b]),
        "add": (lambda x, y: x + y, [a, b]),
        "mul": (lambda x, y: x * y, [a, b]),
        "pow 3": (lambda x: x**3, [b]),
        "pow -2": (lambda x: x**-2, [a]),
        "pow 0.5": (lambda x: x**0.5, [a]),
        "neg": (lambda x: -x, [a]),
        "sub": (lambda x, y: x - y, [a, b]),
        "truediv": (lambda x, y: x / y, [a, b]),
        "radd": (lambda x: 2.5 + x, [a]),
        "rmul": (lambda x: 2.5 * x, [a]),
        "rsub": (lambda x: 2.5 - x, [a]),
        "rtruediv": (lambda x: 2.5 / x, [b]),
        "add const": (lambda x: x + 2.5, [a]),
        "mul const": (lambda x: x * 2.5, [a]),
        "sub const": (lambda x: x - 2.5, [a]),
        "div const": (lambda x: x / 2.5, [a]),
        "exp": (lambda x: x.exp(), [b]),
        "tanh": (lambda x: x.tanh(), [b]),
        "relu +": (lambda x: x.relu(), [a]),
        "relu -": (lambda x: x.relu(), [b]),
        "tanh chain": (lambda x, y: (x * y + 0.3).tanh() * x, [a, b]),
        "lecture neuron": (lambda x1, x2, w1, w2: (x1 * w1 + x2 * w2 + 6.8813735870195432).tanh(),
                           [2.0, 0.0, -3.0, 1.0]),
    }
    for name, (fn, leaves) in exprs.items():
        record(name, lambda fn=fn, leaves=leaves: compare(fn, leaves))

    def big_tanh() -> dict:  # the lecture's exp formula overflows near |x| = 355: a documented policy
        v = Value(400.0)
        out = v.tanh()
        out.backward()
        ok = _close(float(out.data), 1.0) and _close(float(v.grad), 0.0)
        return {"status": "ok" if ok else "wrong", "got": [float(out.data), float(v.grad)]}
    record("policy: tanh(400)", big_tanh)

    def diamond(levels: int = 16) -> dict:  # each level reuses the node twice: 2**levels paths
        x = Value(0.5)
        v = x
        for _ in range(levels):
            v = (v * 0.9 + v * 1.1) * 0.5
        v.backward()
        rx = t(0.5)
        rv = rx
        for _ in range(levels):
            rv = (rv * 0.9 + rv * 1.1) * 0.5
        rv.backward()
        ok = _close(float(x.grad), rx.grad.item()) and _close(float(v.data), rv.item())
        return {"status": "ok" if ok else "wrong", "got": float(x.grad), "want": rx.grad.item()}
    record("diamond ladder", diamond)

    def backward_twice() -> dict:  # course README: a second backward() adds the same gradients to the leaves
        x, y = Value(a), Value(b)
        out = x * y  # no intermediate node: what those keep between calls is not graded
        out.backward()
        out.backward()
        got = [float(x.grad), float(y.grad)]
        want = [2 * b, 2 * a]
        return {"status": "ok" if all(map(_close, got, want)) else "wrong", "got": got, "want": want}
    record("backward twice accumulates", backward_twice)

    def chain(n: int) -> dict:
        x = Value(0.1)
        v = x
        for _ in range(n):
            v = v + 0.001
        v.backward()
        return {"status": "ok" if _close(float(x.grad), 1.0) else "wrong", "got": float(x.grad)}
    record("chain 500", lambda: chain(500))
    record("policy: deep chain 10000", lambda: chain(10000))

    try:
        from micrograd import nn
    except Exception as e:
        results["nn import"] = {"status": "error", "detail": repr(e)[:200]}
        return results

    def set_params(params, seed: int) -> list[float]:
        rng = random.Random(seed)
        vals = [rng.uniform(-1, 1) for _ in params]
        for p, v in zip(params, vals, strict=True):
            p.data = v
        return vals

    xs = [[2.0, 3.0, -1.0], [3.0, -1.0, 0.5], [0.5, 1.0, 1.0], [1.0, 1.0, -1.0]]
    ys = [1.0, -1.0, -1.0, 1.0]

    def torch_mlp(vals: list[float], sizes: list[int], tanh_last: bool = True):
        params = [t(v) for v in vals]
        it = iter(params)
        layers = []
        nin = 3
        for nout in sizes:
            layers.append([([next(it) for _ in range(nin)], next(it)) for _ in range(nout)])
            nin = nout
        def forward(x):
            h = [torch.tensor(v, dtype=torch.float64) for v in x]
            for i, layer in enumerate(layers):
                acts = [sum((w * xi for w, xi in zip(ws, h, strict=True)), bias) for ws, bias in layer]
                h = [act.tanh() if (tanh_last or i < len(layers) - 1) else act for act in acts]
            return h
        return params, forward

    def neuron() -> dict:
        n = nn.Neuron(3)
        ps = list(n.parameters())
        if len(ps) != 4:
            return {"status": "wrong", "detail": f"{len(ps)} parameters"}
        vals = set_params(ps, 1)
        out = n([2.0, 3.0, -1.0])
        want = math.tanh(sum(w * x for w, x in zip(vals[:3], [2.0, 3.0, -1.0], strict=True)) + vals[3])
        return {"status": "ok" if _close(float(out.data), want) else "wrong", "got": float(out.data), "want": want}
    record("Neuron(3) tanh", neuron)

    def linear_neuron() -> dict:
        n = nn.Neuron(3, nonlin=False)
        vals = set_params(list(n.parameters()), 2)
        out = n([2.0, 3.0, -1.0])
        want = sum(w * x for w, x in zip(vals[:3], [2.0, 3.0, -1.0], strict=True)) + vals[3]
        return {"status": "ok" if _close(float(out.data), want) else "wrong", "got": float(out.data), "want": want}
    record("Neuron(3, nonlin=False) linear", linear_neuron)

    def layer() -> dict:
        two = nn.Layer(3, 2)(xs[0])
        one = nn.Layer(3, 1)(xs[0])
        lin = nn.Layer(3, 2, nonlin=False)
        vals = set_params(list(lin.parameters()), 3)
        out = lin(xs[0])
        want = [sum(w * x for w, x in zip(vals[k * 4:k * 4 + 3], xs[0], strict=True)) + vals[k * 4 + 3]
                for k in range(2)]
        problems = []
        if not (isinstance(two, list) and len(two) == 2):
            problems.append(f"Layer(3,2) returned {type(two).__name__}")
        if not isinstance(one, Value):
            problems.append(f"Layer(3,1) returned {type(one).__name__}")
        if not (isinstance(out, list) and all(_close(float(o.data), w) for o, w in zip(out, want, strict=True))):
            problems.append("Layer(3,2,nonlin=False) is not linear")
        return {"status": "wrong" if problems else "ok", "detail": "; ".join(problems)}
    record("Layer", layer)

    def mlp() -> dict:
        net = nn.MLP(3, [4, 4, 1])
        ps = list(net.parameters())
        if len(ps) != 41:
            return {"status": "wrong", "detail": f"{len(ps)} parameters"}
        vals = set_params(ps, 4)
        tparams, forward = torch_mlp(vals, [4, 4, 1])
        loss = sum((net(x) - y) ** 2 for x, y in zip(xs, ys, strict=True))
        loss.backward()
        tloss = sum((forward(x)[0] - y) ** 2 for x, y in zip(xs, ys, strict=True))
        tloss.backward()
        got = [float(loss.data)] + [float(p.grad) for p in ps]
        want = [tloss.item()] + [p.grad.item() for p in tparams]
        bad = [i for i, (g, w) in enumerate(zip(got, want, strict=True)) if not _close(g, w)]
        if not bad:
            return {"status": "ok"}
        # tell a repo-style MLP (linear last layer) from a wrong one
        _, fwd_lin = torch_mlp(vals, [4, 4, 1], tanh_last=False)
        lin = sum((fwd_lin(x)[0] - y) ** 2 for x, y in zip(xs, ys, strict=True)).item()
        return {"status": "wrong", "loss": got[0], "want": want[0], "linear_last_loss": lin,
                "bad_params": len(bad) - (0 in bad), "loss_wrong": 0 in bad}
    record("MLP(3,[4,4,1]) forward+backward (all tanh)", mlp)

    def zero_grad() -> dict:
        net = nn.MLP(3, [4, 1])
        sum((net(x) - y) ** 2 for x, y in zip(xs, ys, strict=True)).backward()
        net.zero_grad()
        nonzero = sum(1 for p in net.parameters() if float(p.grad) != 0.0)
        return {"status": "ok" if nonzero == 0 else "wrong", "detail": f"{nonzero} nonzero after zero_grad"}
    record("zero_grad", zero_grad)

    def parameters_twice() -> dict:
        net = nn.MLP(3, [4, 1])
        first, second = list(net.parameters()), list(net.parameters())
        same = len(first) == len(second) == 21 and all(p is q for p, q in zip(first, second, strict=True))
        return {"status": "ok" if same else "wrong", "detail": f"{len(first)} then {len(second)}"}
    record("parameters() stable", parameters_twice)

    def training() -> dict:  # the lecture's loop: zero_grad, backward, step; the loss must fall
        random.seed(0)
        net = nn.MLP(3, [4, 4, 1])
        losses = []
        for _ in range(30):
            loss = sum((net(x) - y) ** 2 for x, y in zip(xs, ys, strict=True))
            net.zero_grad()
            loss.backward()
            for p in net.parameters():
                p.data += -0.05 * p.grad
            losses.append(float(loss.data))
        return {"status": "ok" if losses[-1] < 0.5 * losses[0] else "wrong", "got": [losses[0], losses[-1]]}
    record("training loop", training)
    return results


def _child(folder: str) -> None:
    sys.path.insert(0, folder)
    sys.setrecursionlimit(1000)  # Python's default, as a student has it
    print("JUDGE-RESULT " + json.dumps(_checks()))


def judge(folder: Path) -> dict:
    try:
        run = subprocess.run([sys.executable, __file__, "--child", str(folder)], capture_output=True, text=True,
                             timeout=TIMEOUT_SECONDS, cwd=folder)
    except subprocess.TimeoutExpired:
        return {"_run": {"status": "timeout"}}
    for line in run.stdout.splitlines():
        if line.startswith("JUDGE-RESULT "):
            return json.loads(line[len("JUDGE-RESULT "):])
    return {"_run": {"status": "error", "detail": (run.stderr or run.stdout)[-300:]}}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("adapted", type=Path)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--only", nargs="*", help="implementation folder names")
    args = parser.parse_args()
    if args.child:
        _child(str(args.adapted))
        return 0
    verdicts = {}
    for folder in sorted(p for p in args.adapted.iterdir() if p.is_dir()):
        if args.only and folder.name not in args.only:
            continue
        verdicts[folder.name] = judge(folder.resolve())
        bad = {k: v["status"] for k, v in verdicts[folder.name].items() if v["status"] != "ok"}
        print(f"{folder.name:42s} {bad or 'all ok'}")
    if args.out:
        args.out.write_text(json.dumps(verdicts, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The student's failing graph drawn as the lecture's draw_dot draws it, the first wrong node marked.

Drawn in the trusted process from observations only: the graph description the test built and
the data and gradients the student's worker sent back. Each Value is a record (name | data |
grad), each operation a small node. The marked node is, walking from the output, the first one
whose gradient is wrong while the gradients of the nodes using it are right: the edges from it to
its users' operations carry the operation whose _backward sent the wrong gradient. Right values are
never drawn for a wrong node: a picture holds the student's numbers only. A picture is bounded (nodes,
label lengths, the DOT source) whatever the student's graph or calls; a picture that cannot be drawn
is left out with a note, the mistake stands.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from functools import partial

from graphviz import Digraph

from autograder.core.suite import Mistake
from autograder.outcome import pictures

from . import diagnose, operations
from .diagnose import Tolerance
from .observations import GraphObservation
from .writing import node_name

MARK = "#ff5a4f"  # the first wrong node (and its legend)
MAX_NODES = 40  # Values drawn; bigger graphs are cut to the marked node's neighbourhood
MAX_LABEL_CHARS = 160  # a label's characters (`dot` refuses a string over 16384); longer ones end in "..."
MAX_CALLS_SHOWN = 6  # _backward call positions written on one node (a backward() may call it thousands of times)
log = logging.getLogger("autograder")


def short(text: str) -> str:
    """A label cut to MAX_LABEL_CHARS."""
    return text if len(text) <= MAX_LABEL_CHARS else text[:MAX_LABEL_CHARS - 3] + "..."


def record(fields: Iterable[str]) -> str:
    """A record node's label, each field cut short."""
    return "{ " + " | ".join(short(field) for field in fields) + " }"


def number(value: float) -> str:
    """As draw_dot writes it (4 decimals), short for a student's huge or broken value (1e+300, nan)."""
    return f"{value:.4f}" if abs(value) < 1e6 else f"{value:.4g}"


def users(graph: dict) -> dict[int, list[int]]:
    """Per node, the op nodes that read it (each once)."""
    found: dict[int, list[int]] = {node: [] for node in range(diagnose.size(graph))}
    for node in range(len(graph["leaves"]), diagnose.size(graph)):
        for child in dict.fromkeys(diagnose.inputs(graph, node)):
            found[child].append(node)
    return found


def first_wrong(graph: dict, wrong: Iterable[int]) -> int | None:
    """Walking from the output (users before what they use), the first wrong node whose users are all right."""
    wrong = set(wrong)
    used_by = users(graph)
    for node in reversed(diagnose.topological(graph, diagnose.size(graph) - 1)):
        if node in wrong and not wrong & set(used_by[node]):
            return node
    return min(wrong, default=None)


def suspect_users(graph: dict, marked: int, op: str | None) -> list[int]:
    """The users of the marked node whose _backward may have sent it the wrong gradient: those of the
    blamed operation (or built from it) when there are any, else all."""
    n_leaves = len(graph["leaves"])
    found = users(graph)[marked]
    blamed = [u for u in found if op in (graph["ops"][u - n_leaves][0], *operations.COMPOSITES.get(
        graph["ops"][u - n_leaves][0], ()))]
    return blamed or found


def backward_label(op: str, blamed: str | None) -> str:
    """'mul's _backward', or 'sub's _backward (its mul)' when sub is built from the blamed operation."""
    inner = f" (its {blamed})" if blamed in operations.COMPOSITES.get(op, ()) else ""
    return f"{op}'s _backward{inner}"


def op_label(graph: dict, node: int) -> str:
    """The operation as a short label; plain numbers and pow's exponent are written in it ('* 0.5', '**2')."""
    op, *refs = graph["ops"][node - len(graph["leaves"])]
    values, parameters = operations.operands([op, *refs])
    constants = [repr(r["c"]) for r in values if isinstance(r, dict)] + [repr(p) for p in parameters]
    symbol = operations.OPERATIONS[op].drawn
    return " ".join([symbol, *constants]) if constants else symbol


def canvas() -> Digraph:
    """An empty drawing laid out as the lecture's draw_dot: left to right, inputs first."""
    return Digraph(graph_attr={"rankdir": "LR", "fontname": "Helvetica"},
                   node_attr={"fontname": "Helvetica", "fontsize": "11"}, edge_attr={"fontname": "Helvetica"})


def neighbourhood(graph: dict, centre: int, limit: int, among: set[int]) -> set[int]:
    """The `limit` nodes of `among` nearest to `centre` along edges in either direction (breadth first)."""
    used_by = users(graph)
    kept, frontier = {centre}, [centre]
    while frontier and len(kept) < limit:
        ahead = []
        for node in frontier:
            for other in (*diagnose.inputs(graph, node), *used_by[node]):
                if other in among and other not in kept and len(kept) < limit:
                    kept.add(other)
                    ahead.append(other)
        frontier = ahead
    return kept


def shown_nodes(graph: dict, marked: int | None) -> tuple[set[int], int]:
    """The nodes a picture shows: the MAX_NODES nearest to the marked node (else the output) among those the
    output or it is computed from (diagnose.computed_from); and how many of those there are in all."""
    centre = marked if marked is not None else diagnose.size(graph) - 1
    drawable = diagnose.computed_from(graph, centre)
    return neighbourhood(graph, centre, MAX_NODES, drawable), len(drawable)


def dot(graph: dict, data: Sequence[float], grad: Sequence[float] | None, marked: int | None, *,
        suspect: str = "", legend: str = "", names: Sequence[str] = (), suspect_op: str | None = None) -> str:
    """DOT source of the graph with the student's data and gradients (grad None: not observed);
    names: of the first nodes (default x0, x1, ... for leaves, v2, ... for the rest); suspect_op: the operation
    the diagnosis blames (only the edges to its nodes are labelled), None: every user of the marked node."""
    names = [*names, *(node_name(graph, node) for node in range(len(names), diagnose.size(graph)))]
    shown, total = shown_nodes(graph, marked)
    drawing = canvas()
    n_leaves = len(graph["leaves"])
    for node in sorted(shown):
        fields = [names[node], f"data {number(data[node])}"] + ([f"grad {number(grad[node])}"] if grad else [])
        style = {"style": "filled", "fillcolor": MARK} if node == marked else {}
        drawing.node(f"n{node}", record(fields), shape="record", **style)
        if node >= n_leaves:
            drawing.node(f"n{node}op", short(op_label(graph, node)), shape="ellipse")
            drawing.edge(f"n{node}op", f"n{node}")
    suspects = suspect_users(graph, marked, suspect_op) if marked is not None else []
    for node in sorted(shown):
        for child in dict.fromkeys(diagnose.inputs(graph, node)):
            if child in shown:
                label = {"label": short(suspect or backward_label(graph["ops"][node - n_leaves][0], suspect_op)),
                         "color": MARK, "fontcolor": MARK, "penwidth": "2"} \
                    if child == marked and node in suspects else {}
                drawing.edge(f"n{child}", f"n{node}op", **label)
    if len(shown) < total:
        drawing.node("more", f"... {total - len(shown)} more nodes", shape="plaintext")
    if marked is not None:
        drawing.node("legend", short(legend or f"{names[marked]}: the first wrong gradient from the output "
                     "(the gradients of the nodes using it are right)"), shape="box", style="filled", fillcolor=MARK)
    return drawing.source


def illustrated(mistake: Mistake, draw: Callable[[], str]) -> Mistake:
    """The mistake with a picture (the grader renders it only for the verdict, autograder.outcome.pictures); without
    one, saying so, when drawing it fails or gives more DOT than `dot` is given: the mistake stands."""
    try:
        source = draw()
        if len(source) > pictures.MAX_DOT_CHARS:
            raise ValueError(f"{len(source)} characters of DOT")
    except Exception:
        log.exception("no picture for %s", mistake.pitfall)
        return Mistake(mistake.pitfall, f"{mistake.feedback}\n{pictures.NOT_DRAWN_NOTE}", mistake.flags)
    return Mistake(mistake.pitfall, mistake.feedback, mistake.flags, picture=source)


def gradient_dot(graph: dict, observation: GraphObservation, wrong: Iterable[int], names: Sequence[str] = (),
                 pitfall: str = "") -> str:
    """pitfall: the diagnosis; one naming an operation ("overwrite-grad:mul") picks the edge to label."""
    op = pitfall.rpartition(":")[2] if ":" in pitfall else None
    return dot(graph, observation.data, observation.grad, first_wrong(graph, wrong), names=names, suspect_op=op)


def with_gradients(mistake: Mistake, graph: dict, observation: GraphObservation, wrong: Iterable[int],
                   names: Sequence[str] = ()) -> Mistake:
    """The mistake illustrated by the student's graph, data and gradients, the first wrong node marked."""
    return illustrated(mistake, lambda: gradient_dot(graph, observation, wrong, names, mistake.pitfall))


def replay_wrong(graph: dict, steps: Sequence, observation: GraphObservation, tolerance: Tolerance,
                 leaves_only: bool) -> list[int]:
    """The nodes whose gradient differs from the model engine replaying the student's own walk."""
    engine = diagnose.Engine(graph).run(steps, observation.calls)
    nodes = range(len(graph["leaves"]) if leaves_only else diagnose.size(graph))
    return [i for i in nodes if not tolerance.close(observation.grad[i], engine.grad[i])]


# -- nn: one neuron as the student's parameters() order wired it ------------------------------------
def neuron_graph(x: Sequence[float], weights: Sequence[float], bias: float, nonlin: bool) -> dict:
    """The lecture's Neuron forward, sum((wi*xi for ...), b) then tanh, as a graph description:
    leaves x0.., w0.., b."""
    nin = len(x)
    leaves = [*x, *weights, bias]
    ops: list[list] = [["mul", nin + i, i] for i in range(nin)]
    total = 2 * nin  # the bias
    for i in range(nin):
        ops.append(["add", total, 2 * nin + 1 + i])
        total = 2 * nin + 1 + nin + i
    if nonlin:
        ops.append(["tanh", total])
    return {"leaves": leaves, "ops": ops}


def parameter_order_dot(x: Sequence[float], set_values: Sequence[float], used: Sequence[float], order: str,
                        nonlin: bool = True, neuron: int = 0) -> str:
    """One neuron (weights then bias, as parameters() lists them) with the values the student's model used:
    the parameter nearest the output whose value is not the one set at its place in parameters() is marked."""
    graph = neuron_graph(x, used[:-1], used[-1], nonlin)
    nin = len(x)
    misplaced = [nin + i for i, (a, b) in enumerate(zip(used, set_values, strict=True)) if a != b]
    names = [*(f"x{i}" for i in range(nin)), *(f"w{i}" for i in range(nin)), "b"]
    return dot(graph, diagnose.Engine(graph).data, None, first_wrong(graph, misplaced), suspect="parameters() order",
               legend=f"neuron {neuron} of the first layer, as your model used its parameters: a parameter "
               f"holding another one's value ({order} in parameters())", names=names)


def with_parameter_order(mistake: Mistake, x: Sequence[float], set_values: Sequence[float], used: Sequence[float],
                         neurons: int, order: str, nonlin: bool = True) -> Mistake:
    """The mistake pictured by the first neuron of the first layer (`neurons` of them, inputs x) whose
    parameters are not the ones set at its places in parameters(); as it is when there is none."""
    width = len(x) + 1
    for start in range(0, neurons * width, width):
        mine, theirs = used[start:start + width], set_values[start:start + width]
        if list(mine) != list(theirs):
            return illustrated(mistake, partial(parameter_order_dot, x, theirs, mine, order, nonlin, start // width))
    return mistake


# -- the order of the _backward calls ------------------------------------------------------------
def out_of_order(graph: dict, calls: Sequence[int]) -> tuple[int | None, list[int]]:
    """Walking from the output, the first op node whose _backward ran twice, never, or before the
    _backward of a node using it (and those users)."""
    n_leaves = len(graph["leaves"])
    times: dict[int, list[int]] = {}
    for position, node in enumerate(calls):
        times.setdefault(node, []).append(position)
    used_by = users(graph)
    for node in reversed(diagnose.topological(graph, diagnose.size(graph) - 1)):
        if node < n_leaves:
            continue
        if len(times.get(node, [])) != 1:
            return node, []
        early = [u for u in used_by[node] if times.get(u) and min(times[u]) > times[node][0]]
        if early:
            return node, early
    return None, []


def calls_label(positions: Sequence[str]) -> str:
    """'_backward #3' or, for a node whose _backward ran many times, the first few and how many."""
    shown = ", ".join(positions[:MAX_CALLS_SHOWN])
    more = f", ... ({len(positions)} calls)" if len(positions) > MAX_CALLS_SHOWN else ""
    return f"_backward {shown}{more}"


def call_dot(graph: dict, calls: Sequence[int]) -> str:
    """The graph with, on each node, when its _backward ran in the student's backward() (no values)."""
    marked, early = out_of_order(graph, calls)
    positions: dict[int, list[str]] = {}
    for position, node in enumerate(calls, start=1):
        positions.setdefault(node, []).append(f"#{position}")
    n_leaves = len(graph["leaves"])
    drawing = canvas()
    shown, total = shown_nodes(graph, marked)
    for node in sorted(shown):
        called = calls_label(positions[node]) if node in positions else \
            ("leaf" if node < n_leaves else "_backward never called")
        style = {"style": "filled", "fillcolor": MARK} if node == marked else {}
        drawing.node(f"n{node}", record([node_name(graph, node), called]), shape="record", **style)
        if node >= n_leaves:
            drawing.node(f"n{node}op", short(op_label(graph, node)), shape="ellipse")
            drawing.edge(f"n{node}op", f"n{node}")
    for node in sorted(shown):
        for child in dict.fromkeys(diagnose.inputs(graph, node)):
            if child in shown:
                label = {"label": f"ran before {node_name(graph, node)}'s _backward", "color": MARK, "fontcolor": MARK,
                         "penwidth": "2"} if child == marked and node in early else {}
                drawing.edge(f"n{child}", f"n{node}op", **label)
    if len(shown) < total:
        drawing.node("more", f"... {total - len(shown)} more nodes", shape="plaintext")
    if marked is not None:
        drawing.node("legend", f"{node_name(graph, marked)}: the first node from the output whose _backward ran "
                     "too early, twice or never (the topological sort)", shape="box", style="filled", fillcolor=MARK)
    return drawing.source


def with_calls(mistake: Mistake, graph: dict, calls: Sequence[int]) -> Mistake:
    """The mistake illustrated by the order of the student's _backward calls on the graph."""
    return illustrated(mistake, lambda: call_dot(graph, calls))

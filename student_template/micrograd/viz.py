"""Draws a Value's computation graph with Graphviz: a record per Value, a small node per operation."""

import shutil

from graphviz import Digraph


class GraphvizMissing(RuntimeError):
    pass


def trace(root):
    """Every Value reachable from root, and every (child, parent) edge between them."""
    nodes, edges, stack = set(), set(), [root]
    while stack:
        v = stack.pop()
        if v not in nodes:
            nodes.add(v)
            for child in v._prev:
                edges.add((child, v))
                stack.append(child)
    return nodes, edges


def draw_dot(root, format='svg', rankdir='LR'):
    """A graphviz.Digraph of root's graph; display it in Jupyter or call .render()/.pipe()."""
    if shutil.which('dot') is None:
        raise GraphvizMissing(
            "draw_dot needs Graphviz's `dot` program: install it with "
            "`sudo apt-get install graphviz` (Debian/Ubuntu), `brew install graphviz` (macOS) "
            "or `conda install graphviz`, then restart Python."
        )
    dot = Digraph(format=format, graph_attr={'rankdir': rankdir})
    nodes, edges = trace(root)
    for n in nodes:
        uid = str(id(n))
        dot.node(name=uid, label=f"{{ {n.label} | data {n.data:.4f} | grad {n.grad:.4f} }}", shape='record')
        if n._op:
            dot.node(name=uid + n._op, label=n._op)
            dot.edge(uid + n._op, uid)
    for n1, n2 in edges:
        dot.edge(str(id(n1)), str(id(n2)) + n2._op)
    return dot

# %% [markdown]
# # Assignment 1 — Derivatives by nudging
#
# A neural network is a big mathematical expression, and training it needs one thing: how the
# output changes when each input changes a little. That is the derivative. Before any machinery,
# we measure it directly: nudge an input by a tiny `h` and watch the output.
#
# Run the cells from top to bottom. Cells that say `raise NotImplementedError` are yours to fill in;
# the cells after them check your work.

# %% [given] id=setup
import math

import matplotlib.pyplot as plt


def course_part_score(part):
    """Hidden test cells call this; at autograde the course's trusted grader supplies the real score."""
    return 0.0

# %% [markdown]
# ## A function of one variable
#
# Take $f(x) = 3x^2 - 4x + 5$. At $x = 3$ it is $27 - 12 + 5 = 20$. Its graph is a parabola:

# %% [code]
def f(x):
    return 3 * x**2 - 4 * x + 5


xs = [i / 4 for i in range(-20, 20)]
plt.plot(xs, [f(x) for x in xs])
f(3.0)

# %% [markdown]
# ## The slope, measured
#
# Calculus says $f'(x) = 6x - 4$, so $f'(3) = 14$. A network's expression is far too large to
# differentiate on paper, so instead we use the definition: push $x$ up by a tiny $h$ and divide the
# rise by the run,
#
# $$f'(x) \approx \frac{f(x + h) - f(x)}{h}.$$
#
# At $x = 3$ the function responds upwards (slope about 14); at $x = -3$ downwards (about -22); near
# $x = 2/3$ it hardly responds at all (slope 0, the bottom of the parabola).
#
# **Your turn:** write `slope(f, x, h)` returning that forward difference.

# %% [solution] id=slope_code export=derivatives.py
def slope(f, x, h=1e-6):
    """The numeric slope of f at x: rise over run for a nudge of h."""
    ### BEGIN SOLUTION: nudge x by h and divide the change in f by h
    return (f(x + h) - f(x)) / h
    ### END SOLUTION

# %% [code]
print(slope(f, 3.0), slope(f, -3.0), slope(f, 2 / 3))

# %% [test] part=slope
assert abs(slope(f, 3.0) - 14) < 1e-3, "f'(3) should be about 14"
assert abs(slope(f, 2 / 3)) < 1e-3, "f is flat at x = 2/3"

# %% [markdown]
# ## Several inputs: partial derivatives
#
# Now $d = a \cdot b + c$ with $a = 2$, $b = -3$, $c = 10$, so $d = 4$. Nudge one input at a time,
# keeping the others where they were:
#
# - nudging $a$ changes $d$ by $b \cdot h$: $\partial d/\partial a = b = -3$ (a grows, but it is
#   multiplied by a negative number, so $d$ shrinks);
# - nudging $b$: $\partial d/\partial b = a = 2$;
# - nudging $c$: $d$ grows by exactly $h$, so $\partial d/\partial c = 1$.
#
# **Your turn:** `partials(a, b, c, h)` returns the three numeric partial derivatives of
# `a*b + c` as a tuple `(dd_da, dd_db, dd_dc)`. Nudge one input at a time and measure each from the
# un-nudged $d$.

# %% [solution] id=partials_code export=derivatives.py
def partials(a, b, c, h=1e-4):
    """Numeric (dd/da, dd/db, dd/dc) of d = a*b + c, nudging one input at a time."""
    ### BEGIN SOLUTION: d1 = a*b + c; then for each input, d2 with only that input nudged by h, (d2 - d1) / h
    d1 = a * b + c
    dd_da = ((a + h) * b + c - d1) / h
    dd_db = (a * (b + h) + c - d1) / h
    dd_dc = (a * b + (c + h) - d1) / h
    return dd_da, dd_db, dd_dc
    ### END SOLUTION

# %% [code]
partials(2.0, -3.0, 10.0)

# %% [test] part=partials
dd_da, dd_db, dd_dc = partials(2.0, -3.0, 10.0)
assert abs(dd_da - -3) < 1e-3 and abs(dd_db - 2) < 1e-3 and abs(dd_dc - 1) < 1e-3

# %% [markdown]
# ## A better estimate: the central difference
#
# The forward difference leans to one side, so its error shrinks only like $h$. Nudging both ways,
#
# $$f'(x) \approx \frac{f(x + h) - f(x - h)}{2h},$$
#
# cancels the leading error term, which then shrinks like $h^2$. This is the estimate used later to
# check gradients computed by backpropagation (a *gradient check*).
#
# **Your turn:** write `central_difference(f, x, h)`.

# %% [solution] id=central_difference_code export=derivatives.py
def central_difference(f, x, h=1e-5):
    """The slope of f at x from a nudge of h to each side."""
    ### BEGIN SOLUTION: evaluate f at x + h and at x - h; the run between them is 2 * h
    return (f(x + h) - f(x - h)) / (2 * h)
    ### END SOLUTION

# %% [code]
for h in (0.1, 0.01, 0.001):
    print(f"h={h}: forward error {abs(slope(f, 3.0, h) - 14):.2e}, central error {abs(central_difference(f, 3.0, h) - 14):.2e}")

# %% [test] part=central_difference
assert abs(central_difference(f, 3.0) - 14) < 1e-6
assert abs(central_difference(lambda x: x**3, 2.0, 1e-3) - 12) < 1e-5

# %% [markdown]
# ## What comes next
#
# Nudging needs one extra evaluation per input: hopeless for a network with millions of weights.
# Backpropagation gets every derivative from one backward pass through the expression; the next
# assignment builds the data structure it needs, and you will use `central_difference` to check it.

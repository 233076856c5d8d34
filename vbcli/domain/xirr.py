"""A bracketing root finder for the IRR equation Σ a_i·x^p_i = 0 over x = 1+r > 0, in Decimal.

Illinois regula falsi (a bracketing secant) that falls back to a bisection step whenever a
step fails to halve the bracket, so it always converges, superlinearly on smooth equations.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Context, Decimal, localcontext

TOLERANCE = Decimal("1e-15")  # on x = 1+r
MAX_ITERATIONS = 400
GROWTH_LIMIT = Decimal("1e12")  # x is searched in [1/GROWTH_LIMIT, GROWTH_LIMIT]
_ONE = Decimal(1)


def solve_growth(weights: Sequence[tuple[Decimal, Decimal]], context: Context) -> Decimal | None:
    """The root x > 0 of Σ amount·x^power nearest x = 1, or None when none is bracketed."""
    def f(x: Decimal) -> Decimal:
        return sum((amount * x ** power for amount, power in weights), Decimal(0))

    with localcontext(context):
        return _solve(f)


def _bracket(f: Callable[[Decimal], Decimal]) -> tuple[Decimal, Decimal] | None:
    """A pair around a sign change of f, expanding geometrically outward from x = 1."""
    lo = hi = _ONE
    f_one = f(_ONE)
    if f_one == 0:
        return _ONE, _ONE
    step = Decimal(2)
    while lo > 1 / GROWTH_LIMIT or hi < GROWTH_LIMIT:
        lo, hi = lo / step, hi * step
        if (f(hi) > 0) != (f_one > 0):
            return hi / step, hi
        if (f(lo) > 0) != (f_one > 0):
            return lo, lo * step
    return None


def _solve(f: Callable[[Decimal], Decimal]) -> Decimal | None:
    """Illinois regula falsi inside a bracket, bisecting whenever a step shrinks it too little."""
    bracket = _bracket(f)
    if bracket is None:
        return None
    a, b = bracket
    fa, fb = f(a), f(b)
    if fa == 0 or fb == 0:
        return a if fa == 0 else b
    a_positive, kept = fa > 0, 0  # kept: +1 when b was kept last step, −1 when a was
    for _ in range(MAX_ITERATIONS):
        if b - a < TOLERANCE:
            break
        width = b - a
        c = (a * fb - b * fa) / (fb - fa)
        if not a < c < b:
            c = (a + b) / 2
        fc = f(c)
        if fc == 0:
            return c
        if (fc > 0) == a_positive:
            a, fa = c, fc
            fb, kept = (fb / 2 if kept == 1 else fb), 1
        else:
            b, fb = c, fc
            fa, kept = (fa / 2 if kept == -1 else fa), -1
        if b - a > width / 2:
            mid = (a + b) / 2
            fm = f(mid)
            if fm == 0:
                return mid
            if (fm > 0) == a_positive:
                a, fa = mid, fm
            else:
                b, fb = mid, fm
            kept = 0
    return (a + b) / 2

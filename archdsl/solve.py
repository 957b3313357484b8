"""`solve(LHS == RHS, VAR)`: LHS - RHS as a polynomial of degree 1 to 4 in VAR, and its
smallest positive real root.

The function is sampled at integer points and interpolated exactly (with Fractions), then
checked at extra points, so it works as well for `flops(...)` of a block whose widths depend
on the unknown as for a written polynomial like the seed's 9Gc^2 + 8GCc - 17C^2.
"""
from __future__ import annotations

from fractions import Fraction

import numpy as np

from .errors import ArchError

SAMPLES = (1, 2, 3, 4, 5)
CHECKS = (6, 7, 9)


def _interpolate(points):
    """Coefficients (lowest degree first) of the polynomial through the points, exactly."""
    n = len(points)
    rows = [[Fraction(x) ** j for j in range(n)] + [Fraction(y)] for x, y in points]
    for col in range(n):
        pivot = next(r for r in range(col, n) if rows[r][col] != 0)
        rows[col], rows[pivot] = rows[pivot], rows[col]
        for r in range(n):
            if r != col and rows[r][col] != 0:
                factor = rows[r][col] / rows[col][col]
                rows[r] = [a - factor * b for a, b in zip(rows[r], rows[col])]
    return [rows[i][n] / rows[i][i] for i in range(n)]


def _evaluate(coeffs, x):
    return sum(c * Fraction(x) ** i for i, c in enumerate(coeffs))


def format_polynomial(coeffs, var: str) -> str:
    terms = []
    for power in range(len(coeffs) - 1, -1, -1):
        c = coeffs[power]
        if c == 0:
            continue
        mag = abs(c)
        num = f"{float(mag):g}" if mag.denominator != 1 else str(mag.numerator)
        body = {0: num, 1: f"{num}*{var}"}.get(power, f"{num}*{var}^{power}")
        if mag == 1 and power:
            body = var if power == 1 else f"{var}^{power}"
        sign = "-" if c < 0 else "+"
        terms.append((sign, body))
    if not terms:
        return "0"
    text = ("-" if terms[0][0] == "-" else "") + terms[0][1]
    for sign, body in terms[1:]:
        text += f" {sign} {body}"
    return text


def solve_polynomial(f, var: str, span) -> float:
    points = [(x, _exact(f(x))) for x in SAMPLES]
    coeffs = _interpolate(points)
    for x in CHECKS:
        got = _exact(f(x))
        want = _evaluate(coeffs, x)
        if abs(got - want) > 1e-9 * max(1, abs(want)):
            raise ArchError(f"solve: the equation is not a polynomial of degree 1 to 4 in {var}",
                            span)
    while coeffs and coeffs[-1] == 0:
        coeffs.pop()
    if len(coeffs) < 2:
        raise ArchError(f"solve: the equation does not depend on {var} "
                        f"(LHS - RHS = {format_polynomial(coeffs or [Fraction(0)], var)})", span)
    roots = np.roots([float(c) for c in reversed(coeffs)])
    scale = max(1.0, max(abs(r) for r in roots))
    positive = sorted(r.real for r in roots if abs(r.imag) <= 1e-9 * scale and r.real > 0)
    if not positive:
        raise ArchError(f"solve: {format_polynomial(coeffs, var)} = 0 has no positive real "
                        f"root", span)
    return float(positive[0])


def _exact(v) -> Fraction:
    return Fraction(v) if isinstance(v, int) else Fraction(v).limit_denominator(10**12)

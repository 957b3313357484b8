"""`solve(LHS == RHS, VAR)`: LHS - RHS as a polynomial of degree 1 to 4 in VAR, and its
smallest positive real root.

The function is sampled at five points and interpolated exactly (with Fractions), then checked
at three more, so it works as well for `flops(...)` of a block whose widths depend on the
unknown as for a written polynomial like the seed's 9Gc^2 + 8GCc - 17C^2.

Scale: sampled at 1..5 only, floating-point arithmetic hides whatever is small there
(`c - 1e18` is -1e18 at every sample; `1e-20*c^4` vanishes beside `c`; `9e18*c^4 - 1` loses
the 1). So a root is computed at its own scale: the positive reals are cut into windows
[s, 16s) for s = 16^k, and the polynomial is fitted again at s, 2s, ..., 9s, where its terms
have the sizes they have near the roots of that window. When every sample at 1..9 is an
integer, the interpolated polynomial is exact and its windows are searched without evaluating
the function again (the bounds of its roots say which windows can hold one). Otherwise the
function is fitted at every scale a float can reach, from the smallest up (about 4,000
evaluations: 0.1 s for a written polynomial); a scale where it cannot be evaluated (an
overflow; an integer-only width at a fraction) is skipped and named in the error should no
root be found. A root must make the function vanish to within rounding (so rounding noise
never becomes an answer) and is then refined by bisection on the function itself.
"""
from __future__ import annotations

import math
from fractions import Fraction

import numpy as np

from .errors import ArchError

SAMPLES = (1, 2, 3, 4, 5)
CHECKS = (6, 7, 9)
STEP = 16  # ratio of neighbouring scales
WINDOW = (0.9, STEP * 1.05)  # roots y = x / s taken at scale s (overlapping the neighbours)
FLOAT_SCALES = range(-256, 256)  # 16^-256 .. 16^255: every positive float
NOISE = 1e-11  # at a scale, coefficients below this share of the largest are rounding
REAL = 1e-7  # a root whose imaginary part is below this share of its size is real


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
        num = f"{float(mag):g}" if mag.denominator != 1 or mag >= 10 ** 15 \
            else str(mag.numerator)
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
    points = [(x, f(x)) for x in SAMPLES + CHECKS]
    base = _through([Fraction(v) for _, v in points])
    if base is None:
        raise ArchError(f"solve: the equation is not a polynomial of degree 1 to 4 in {var}",
                        span)
    skipped = None
    if all(isinstance(v, int) for _, v in points):
        found, estimate = _exact_roots(base), list(base)
    else:
        found, estimate, skipped = _float_roots(f, base)
    if found:
        return min(found)
    estimate = _trim(estimate)
    unknown = ""
    if skipped is not None:
        x, err = skipped
        unknown = (f"; it cannot be evaluated at {var} = {x:g} ({err.message.splitlines()[0]})"
                   f" and may have a root where it cannot be evaluated")
    if len(estimate) < 2:
        raise ArchError(f"solve: the equation does not depend on {var} (LHS - RHS = "
                        f"{format_polynomial(estimate or [Fraction(0)], var)}){unknown}", span)
    raise ArchError(f"solve: {format_polynomial(estimate, var)} = 0 has no positive real "
                    f"root{unknown}", span)


def _trim(coeffs) -> list:
    coeffs = list(coeffs)
    while coeffs and coeffs[-1] == 0:
        coeffs.pop()
    return coeffs


def _lagrange():
    """The polynomials through (y_j, [j == i]) for the samples y_j = 1..5: their coefficients
    and their values at the checks, so that a fit is a few exact products."""
    basis = [_interpolate([(y, int(i == j)) for j, y in enumerate(SAMPLES)])
             for i in range(len(SAMPLES))]
    at_checks = [[_evaluate(b, y) for b in basis] for y in CHECKS]
    return basis, at_checks


_BASIS, _AT_CHECKS = _lagrange()


def _through(values):
    """Exact coefficients in y of the polynomial through the samples at y = 1..5, or None
    when the samples at y = 6, 7, 9 are off it by more than rounding (relative to the largest
    sample): not a polynomial of degree 4 or less."""
    head = values[:len(SAMPLES)]
    size = max(abs(v) for v in values)
    for weights, v in zip(_AT_CHECKS, values[len(SAMPLES):]):
        if abs(v - sum(w * h for w, h in zip(weights, head))) > 1e-9 * size:
            return None
    return [sum(b[i] * h for b, h in zip(_BASIS, head)) for i in range(len(SAMPLES))]


def _exact_roots(coeffs) -> list:
    """Positive real roots of an exactly known polynomial, from the lowest window that holds
    any (the bounds of its roots say where to start and stop)."""
    lower, upper = _root_bounds(_trim(coeffs))
    scales = range(math.floor(_log16(lower)) - 1, math.ceil(_log16(upper)) + 1)
    for k in scales:
        scale = Fraction(STEP) ** k
        scaled = [c * scale ** i for i, c in enumerate(coeffs)]
        roots = _window_roots(scaled, True, k == scales[0], k == scales[-1])
        if roots:
            return [math.ldexp(_refine(scaled, y), 4 * k) for y in roots]
    return []


def _single_term(values: list):
    """The degree m when the samples at y = 1..5 are b*y^m (to 1e-12): one term carries the
    function at this scale, so its window holds no root; else None."""
    for m in range(len(SAMPLES)):
        ratios = [v / y ** m for v, y in zip(values, SAMPLES)]
        if ratios[0] != 0 and all(abs(r - ratios[0]) <= 1e-12 * abs(ratios[0])
                                  for r in ratios):
            return m
    return None


def _fit(f, scale: Fraction) -> tuple:
    """The function at one scale: (coefficients in y = x / scale, exact, or None where it
    cannot be evaluated or is no polynomial of degree 4 or less there; the degree of the one
    term that carries it, or None; the error it raised, or None). Integer points are tried
    first (a width must be an integer), then floats (an integer overflows past 2^63)."""
    ys = SAMPLES + CHECKS
    tries = [[int(scale * y) for y in ys]] if scale.denominator == 1 else []
    tries.append([float(scale * y) for y in ys])
    error = None
    for xs in tries:
        try:
            head = [float(f(x)) for x in xs[:len(SAMPLES)]]
            single = _single_term(head)
            if single is not None:  # no root here: spare the checks and the exact fit
                coeffs = [Fraction(0)] * len(SAMPLES)
                coeffs[single] = Fraction(head[0])
                return coeffs, single, None
            values = [Fraction(v) for v in head] + [Fraction(f(x))
                                                    for x in xs[len(SAMPLES):]]
        except ArchError as e:
            error = error or e
            continue
        except (OverflowError, ValueError):  # a value the language cannot hold
            continue
        coeffs = _through(values)
        if coeffs is not None:
            return coeffs, None, None
    return None, None, error


def _float_roots(f, base) -> tuple:
    """(positive roots, coefficient estimates, (x, error) where the function first could not
    be evaluated, or None) for a function with float values, fitted scale by scale.

    Below a scale carried by the constant term alone, every other term only shrinks: no
    root there, so the search starts at that scale (found going down from 1); above one
    carried by the x^4 term, likewise: it stops there. Should f(0) be 0, the constant
    term is 0 and the x term plays its part."""
    fits = {0: (base, _single_term([float(_evaluate(base, y)) for y in SAMPLES]), None)}

    def fit(k):
        if k not in fits:
            fits[k] = _fit(f, Fraction(STEP) ** k)
        return fits[k]
    try:
        lowest = 0 if f(0.0) == 0 else None
    except (ArchError, OverflowError, ValueError):
        lowest = None
    start, carrier = FLOAT_SCALES.start, 0 if lowest is None else 1
    for k in range(0, FLOAT_SCALES.start - 1, -1):
        single = fit(k)[1]
        if single is not None and single <= carrier:
            start = k
            break
    best, skipped = {}, None
    for k in range(start, FLOAT_SCALES.stop):
        coeffs, single, error = fit(k)
        scale = Fraction(STEP) ** k
        if coeffs is None:
            if skipped is None and error is not None:
                skipped = (float(scale), error)
            continue
        _note_weights(best, coeffs, scale)
        if single is None:
            roots = _window_roots(coeffs, False, k == FLOAT_SCALES.start,
                                  k == FLOAT_SCALES.stop - 1)
            if roots:  # the windows go upwards: the first roots found are the smallest
                return [math.ldexp(_refine(coeffs, y), 4 * k) for y in roots], [], skipped
        elif single == len(SAMPLES) - 1:
            break
    estimate = [best[i][1] if i in best else Fraction(0) for i in range(len(SAMPLES))]
    return [], estimate, skipped


def _note_weights(best: dict, coeffs, scale: Fraction) -> None:
    """Keep, per power i, the estimate a_i = b_i / s^i from the scale where b_i weighs most
    next to the other coefficients (for the message when no root is found)."""
    size = max(abs(c) for c in coeffs)
    for i, c in enumerate(coeffs):
        if c != 0 and abs(c) / size > NOISE:
            share = abs(c) / size
            if share > best.get(i, (Fraction(-1), None))[0]:
                best[i] = (share, c / scale ** i)


def _window_roots(coeffs, exact: bool, first: bool, last: bool) -> list:
    """The positive real roots y of a scaled polynomial (lowest degree first) that lie in its
    scale's window (below it too at the first scale, above it too at the last)."""
    size = max(abs(c) for c in coeffs)
    if size == 0:
        return []
    scaled = [float(c / size) for c in coeffs]
    if not exact:  # what rounding left of terms too small to matter at this scale
        scaled = [c if abs(c) >= NOISE else 0.0 for c in scaled]
    scaled = _trim(scaled)
    if len(scaled) < 2:
        return []
    low, high = WINDOW
    found = []
    for r in np.roots(scaled[::-1]):
        if abs(r.imag) > REAL * abs(r) or r.real <= 0:
            continue
        y = float(r.real)
        if (first or y >= low) and (last or y < high):
            found.append(y)
    return found


def _root_bounds(coeffs) -> tuple:
    """Lower and upper bounds of the absolute values of the nonzero roots (Cauchy)."""
    nonzero = [c for c in coeffs if c != 0]
    if len(nonzero) < 2:
        return Fraction(1), Fraction(1)
    upper = 1 + max(abs(c / nonzero[-1]) for c in nonzero[:-1])
    lower = abs(nonzero[0]) / (abs(nonzero[0]) + max(abs(c) for c in nonzero[1:]))
    return lower, upper


def _log16(x: Fraction) -> float:
    return (math.log2(x.numerator) - math.log2(x.denominator)) / 4


def _sign(v) -> int:
    return (v > 0) - (v < 0)


def _refine(coeffs, y: float) -> float:
    """The root near y of the exact polynomial, as exact as a float allows: where it changes
    sign within a relative distance of 2^-20 of y (the nearer side first, the lower one on a
    tie), by bisection; else (a double root) y itself."""
    def p(v):
        return _evaluate(coeffs, Fraction(v))
    at = p(y)
    if at == 0:
        return y
    for e in range(52, 19, -1):
        for side in (-1, 1):
            other = y * (1 + side * 2.0 ** -e)
            there = p(other)
            if there == 0:
                return other
            if _sign(there) != _sign(at):
                return _bisect(p, *sorted((y, other)))
    return y


def _bisect(p, lo: float, hi: float) -> float:
    s_lo = _sign(p(lo))
    while True:
        mid = (lo + hi) / 2
        if mid in (lo, hi):
            return lo if abs(p(lo)) <= abs(p(hi)) else hi
        s_mid = _sign(p(mid))
        if s_mid == 0:
            return mid
        if s_mid == s_lo:
            lo = mid
        else:
            hi = mid

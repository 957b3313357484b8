"""Suggestions for mistyped names: `unknown op or block 'Conv'; did you mean 'conv'?`, as
Python 3.12 and rustc say it. One rule for ops, blocks, parameters, names in scope, zoo
networks and search spaces, Python's own (Python/suggestions.c): the candidate at the
smallest edit distance, where a change of case costs half an edit, within about one edit
in three characters. A name that differs only in case comes first; at equal cost, one that
extends what was typed, then the first in alphabetical order."""
from __future__ import annotations

MOVE = 2  # an insertion, deletion or substitution
CASE = 1  # a substitution that changes only the case
MAX_NAME = 100  # longer names get no suggestion (the work is the product of the lengths)
MAX_CANDIDATES = 10_000


def _cost(a: str, b: str, limit: int) -> int:
    """The edit cost from a to b (limit + 1 as soon as it must exceed limit)."""
    row = list(range(0, (len(b) + 1) * MOVE, MOVE))
    for i, ca in enumerate(a, 1):
        prev, row[0] = row[0], i * MOVE
        best = row[0]
        for j, cb in enumerate(b, 1):
            sub = 0 if ca == cb else (CASE if ca.lower() == cb.lower() else MOVE)
            prev, row[j] = row[j], min(row[j] + MOVE, row[j - 1] + MOVE, prev + sub)
            best = min(best, row[j])
        if best > limit:
            return limit + 1
    return row[-1]


def closest(name: str, candidates) -> str | None:
    """The candidate `name` most likely mistypes, or None."""
    if not isinstance(name, str) or not name or len(name) > MAX_NAME:
        return None
    names = sorted({c for c in candidates if isinstance(c, str) and c and c != name
                    and len(c) <= MAX_NAME})[:MAX_CANDIDATES]
    folded = [c for c in names if c.lower() == name.lower()]
    if folded:  # CONV for conv: only the case differs
        return folded[0]
    best, found = None, None
    for c in names:
        limit = (len(name) + len(c) + 3) * MOVE // 6
        cost = _cost(name, c, limit)
        # at equal cost, a name that extends what was typed (resnet5: resnet50, not resnet)
        rank = (cost, not c.startswith(name))
        if cost <= limit and (best is None or rank < best):
            best, found = rank, c
    return found


def did_you_mean(name: str, candidates) -> str:
    """"; did you mean 'conv'?" to follow the unknown name in a message, or ""."""
    c = closest(name, candidates)
    return f"; did you mean '{c}'?" if c is not None else ""

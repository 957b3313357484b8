"""What a search trial records and how it is read back: the constraints every trial stores
(one per `require`, by its source text, and the dashboard's list), the training configuration
line of the .arch files a search writes, and the source text of a definition. Shared by the
study, its reports and re-training, and importing none of them."""
from __future__ import annotations

import json
from pathlib import Path

from .. import syntax
from ..elaborate import VALID
from ..errors import registered_source, source_text

TRAIN_CONFIG = "train_config"  # the trial's user attr holding the training configuration
CONFIG_LINE = "# train-config: "  # best.arch's machine-readable copy of it (JSON)


def source_slice(span) -> str:
    text = registered_source(span.file)
    if text is None:
        text = Path(span.file).read_text(encoding="utf-8")
    lines = text.splitlines()
    first, last = span.line - 1, (span.end_line or span.line) - 1
    if first == last:
        return lines[first][span.col - 1:(span.end_col or len(lines[first]) + 1) - 1]
    body = [lines[first][span.col - 1:]] + lines[first + 1:last] + \
        [lines[last][:(span.end_col or len(lines[last]) + 1) - 1]]
    return "\n".join(body)


def read_train_config(text: str) -> dict:
    """The training configuration in an .arch file written by a search ({} without one)."""
    for line in text.splitlines():
        if line.startswith(CONFIG_LINE):
            return json.loads(line[len(CONFIG_LINE):])
    return {}


def constraint_keys(space) -> list:
    """The constraints every trial of `space` records, in order: one per `require` (its
    source text), those inside an `if` included, and `valid` (1 when the network could not be
    built). Every trial records all of them, whichever branch it took, so that samplers that
    model each constraint (GP) see the same number in every trial."""
    keys = []
    pending = list(getattr(space.defn, "body", ()))
    while pending:
        stmt = pending.pop(0)
        if isinstance(stmt, syntax.Require):
            key = source_text(stmt.cond.span)
            if key not in keys:
                keys.append(key)
        elif isinstance(stmt, syntax.If):
            pending[:0] = list(stmt.then) + list(stmt.other or ())
    return keys + [VALID]


CONSTRAINTS_LIST = "constraints"  # the system attr optuna-dashboard reads (a list of floats)


def named_constraints(trial) -> dict:
    """A trial's constraints by name (Optuna 5's `constraints:NAME` system attrs), without
    the positional copies of the `constraints` list."""
    prefix = CONSTRAINTS_LIST + ":"
    return {k[len(prefix):]: v for k, v in trial.system_attrs.items() if k.startswith(prefix)}

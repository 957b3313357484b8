"""`archdsl check FILE...`: parse and elaborate every network of each file that can be built
without arguments; print the first error of each file."""
from __future__ import annotations

import sys

from ..elaborate import Elaborator
from ..errors import ArchError
from ..loader import Loader, resolve_file_argument
from ..network import networks_in
from ..values import DefValue


def check_file(path: str, max_nodes=None) -> int:
    """Number of networks elaborated; raises ArchError on the first error."""
    scope = Loader().load_path(resolve_file_argument(path))
    count = 0
    for defn in networks_in(scope):
        params = getattr(defn, "params", ())
        if any(p.default is None for p in params):
            continue  # a parametric family: checked through the networks that bind it
        Elaborator(max_nodes).network(DefValue(defn, scope), defn.span)
        count += 1
    return count


def run(args) -> int:
    failed = 0
    for path in args.files:
        try:
            n = check_file(path, getattr(args, "max_nodes", None))
        except ArchError as err:
            sys.stderr.write(err.format() + "\n")
            failed += 1
            continue
        print(f"{path}: ok ({n} network{'s' if n != 1 else ''})")
    return 1 if failed else 0

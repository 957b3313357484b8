"""A disk cache of the parsed files shipped with the package (the standard library, the zoo,
the search spaces), so that a command does not parse them again with Lark in every process:
parsing the ~20 files `summary zoo:resnet152` reads was most of its start-up after the
imports (bench/bench_startup.py).

An entry is a pickled `syntax.Module`, named by the SHA-256 of everything the parse depends
on: the file's path and text, the grammar, the source of the modules that build and define the
syntax records (`syntax.py`, `lark_ast.py`, `syntax_tree.py`, `records.py`, `errors.py`'s
`Span`), the archdsl and Python versions. So an entry is never used for another text or
another parser; a missing, unreadable or corrupt entry means parsing again, and a cache that
cannot be written means no cache, never an error. Entries are written atomically (a
temporary file renamed), into `$ARCHDSL_CACHE_DIR`, else `$XDG_CACHE_HOME/archdsl`, else
`~/.cache/archdsl` (`ARCHDSL_CACHE_DIR=` empty turns the cache off). Only shipped files are
kept: a user's files change as they are written, and are few.
"""
from __future__ import annotations

import functools
import hashlib
import os
import pickle
import shutil
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent
SHIPPED = tuple(str(PACKAGE / d) + os.sep for d in ("stdlib", "zoo", "spaces"))


def cache_root() -> Path | None:
    where = os.environ.get("ARCHDSL_CACHE_DIR")
    if where is not None:
        return Path(where) if where else None
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "archdsl"


@functools.cache
def parser_key() -> str:
    """What every parse depends on besides the file: a new grammar, parser, syntax class or
    version makes a new key, so entries of another parser are never read."""
    from . import __version__, syntax
    h = hashlib.sha256()
    for part in (__version__, sys.version, str(pickle.HIGHEST_PROTOCOL)):
        h.update(part.encode() + b"\0")
    for source in (syntax.GRAMMAR_PATH, PACKAGE / "syntax.py", PACKAGE / "syntax_tree.py",
                   PACKAGE / "lark_ast.py", PACKAGE / "records.py", PACKAGE / "errors.py"):
        h.update(source.read_bytes() + b"\0")
    return h.hexdigest()[:24]


def is_shipped(path: str) -> bool:
    return os.path.abspath(path).startswith(SHIPPED)


def parsed(text: str, path: str, parse: Callable):
    """`parse(text, path)`, read from the cache when a shipped file was parsed before."""
    root = cache_root()
    if root is None or not is_shipped(path):
        return parse(text, path)
    folder = root / f"parsed-{parser_key()}"
    entry = folder / (hashlib.sha256(f"{path}\0{text}".encode()).hexdigest() + ".pickle")
    try:
        with open(entry, "rb") as f:
            return pickle.load(f)
    except FileNotFoundError:
        pass
    except Exception:  # noqa: BLE001, S110 unreadable, truncated, of another build: parse
        pass
    module = parse(text, path)  # a syntax error raises here, before anything is written
    _store(folder, entry, module)
    return module


def _store(folder: Path, entry: Path, module) -> None:
    try:
        if not folder.is_dir():
            folder.mkdir(parents=True, exist_ok=True)
            _drop_other_parsers(folder)
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=".pickle")
        try:
            with os.fdopen(fd, "wb") as f:
                pickle.dump(module, f, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(tmp, entry)
        except BaseException:
            os.unlink(tmp)
            raise
    except (OSError, pickle.PicklingError, RecursionError):
        pass  # no cache: the next process parses again


def _drop_other_parsers(keep: Path) -> None:
    """Entries of an older grammar or archdsl can never be read again: remove them when the
    first entry of a new parser is written (once per parser, not per process)."""
    for other in keep.parent.glob("parsed-*"):
        if other != keep and other.is_dir():
            shutil.rmtree(other, ignore_errors=True)

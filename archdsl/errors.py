"""User errors: a located message (`FILE:LINE:COL: error: ...`) with the source line, a caret,
and, for errors inside blocks, the chain of call sites that led there.

Every mistake a user can make raises `ArchError`; the CLI prints it and exits 1. Any other
exception is a bug in archdsl.
"""
from __future__ import annotations

from typing import Optional

from .records import Record

# Source text per file name, so that a message can quote the offending line.
_SOURCES: dict[str, str] = {}
MAX_NOTES = 6  # call-site notes shown under an error
QUOTE_WIDTH = 120  # longer source lines are quoted as a window around the error's column
MESSAGE_WIDTH = 2000  # longer messages (a value of a million items) keep their two ends


def register_source(file: str, text: str) -> None:
    _SOURCES[file] = text


def forget_source(file: str) -> None:
    """The file can no longer be read as text: never quote what it held before."""
    _SOURCES.pop(file, None)


def registered_source(file: str) -> Optional[str]:
    """The text a file had when it was parsed (None if it was not)."""
    return _SOURCES.get(file)


def source_text(span: "Span") -> str:
    """The source text a span covers (one line's worth when it spans several)."""
    text = _SOURCES.get(span.file)
    if text is None:
        try:
            with open(span.file, encoding="utf-8") as f:
                text = f.read()
        except (OSError, ValueError):
            return f"line {span.line}"
    lines = text.splitlines()
    if not 1 <= span.line <= len(lines):
        return f"line {span.line}"
    if span.end_line is None:
        return lines[span.line - 1].strip()
    if span.end_line == span.line:
        return lines[span.line - 1][span.col - 1:span.end_col - 1]
    chunk = [lines[span.line - 1][span.col - 1:]] + lines[span.line:span.end_line - 1] + \
        [lines[span.end_line - 1][:span.end_col - 1]]
    return " ".join(s.strip() for s in chunk)


class Span(Record):
    file: str
    line: int
    col: int
    end_line: Optional[int] = None
    end_col: Optional[int] = None

    def __str__(self) -> str:
        if self.line <= 0:  # a whole file (missing, unreadable): no position to show
            return self.file
        return f"{self.file}:{self.line}:{self.col}"


class ArchError(Exception):
    """A mistake in user input. `span` locates it; `chain` lists enclosing call sites."""

    def __init__(self, message: str, span: Optional[Span] = None, chain: tuple = ()):
        message = shorten(message)
        super().__init__(message)
        self.message = message
        self.span = span
        self.chain = tuple(chain)

    def with_span(self, span: Optional[Span]) -> "ArchError":
        if self.span is None and span is not None:
            self.span = span
        return self

    def with_chain(self, chain: tuple) -> "ArchError":
        if not self.chain and chain:
            self.chain = tuple(chain)
        return self

    def format(self) -> str:
        return format_error(self.message, self.span, self.chain)

    def __str__(self) -> str:
        return self.format()


def shorten(message: str) -> str:
    """A message of at most about MESSAGE_WIDTH characters: a long one keeps its start (what
    went wrong) and its end (what was expected) around a note of what was left out."""
    if len(message) <= MESSAGE_WIDTH:
        return message
    head, tail = MESSAGE_WIDTH * 2 // 3, MESSAGE_WIDTH // 6
    return (f"{message[:head]} ... ({len(message) - head - tail:,} characters left out) ... "
            f"{message[-tail:]}")


def _quote(span: Span) -> list[str]:
    text = _SOURCES.get(span.file)
    if text is None:
        return []
    line = _line(text, span.line)
    if line is None:
        return []
    src = line.rstrip("\r")
    col = span.col
    width = 1
    if span.end_line == span.line and span.end_col and span.end_col > span.col:
        width = span.end_col - span.col
    if len(src) > QUOTE_WIDTH:  # a very long line: a window around the column
        start = max(0, min(col - 1 - QUOTE_WIDTH // 3, len(src) - QUOTE_WIDTH))
        shown = src[start:start + QUOTE_WIDTH]
        pre, post = ("..." if start else ""), ("..." if start + QUOTE_WIDTH < len(src) else "")
        src = pre + shown + post
        col = col - start + len(pre)
        width = max(1, min(width, len(pre) + len(shown) - col + 1))
    # Control characters and line separators would move the caret or break the message into
    # more lines; show them as spaces.
    src = "".join(ch if ch.isprintable() else " " for ch in src)
    return [f"  {src}", "  " + " " * (col - 1) + "^" + "~" * (width - 1)]


def _line(text: str, number: int) -> Optional[str]:
    """Line `number` (from 1) of `text`, split at "\n" only, as the parser counts lines
    (splitlines also splits at \f, \x1c, ...). Found by bisection on counts of newlines, so
    that quoting a 60 MB file makes no list of its lines."""
    if number < 1 or number > text.count("\n") + 1:
        return None
    lo, hi = 0, len(text)  # the smallest offset with number - 1 newlines before it
    while lo < hi:
        mid = (lo + hi) // 2
        if text.count("\n", 0, mid) < number - 1:
            lo = mid + 1
        else:
            hi = mid
    end = text.find("\n", lo)
    return text[lo:] if end < 0 else text[lo:end]


def format_error(message: str, span: Optional[Span], chain: tuple = ()) -> str:
    if span is None:
        return f"archdsl: error: {message}"
    out = [f"{span}: error: {message}", *_quote(span)]
    sites = list(reversed(chain))
    if len(sites) > MAX_NOTES:  # deep recursion: the innermost and outermost calls tell enough
        hidden = len(sites) - MAX_NOTES
        sites = sites[:MAX_NOTES - 2] + [(None, hidden)] + sites[-2:]
    for site_name, site in sites:
        if site_name is None:
            out.append(f"... {site} more calls ...")
            continue
        out.append(f"{site}: note: in call of '{site_name}' here")
        out.extend(_quote(site))
    return "\n".join(out)

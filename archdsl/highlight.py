"""Syntax highlighting: a Pygments lexer for `.arch` files.

Registered as the Pygments plugin `archdsl` (aliases `archdsl`, `arch`; files `*.arch`), so
`pygmentize -l archdsl FILE`, Sphinx and anything else built on Pygments colour the language.
Its lexical rules are those of `grammars/archdsl.lark` (the number, name and comment
terminals are copied from it, and a test checks they stay equal): whatever the grammar's lexer
accepts lexes without an `Error` token. The words it colours specially come from where the
language defines them: reserved words from the parser, op names and aliases from the op
registry, builtin functions from the evaluator. They are read on first use, not at import,
because Pygments imports every lexer plugin whenever it looks a lexer up by file name.

The VS Code grammar (`editors/vscode/syntaxes/archdsl.tmLanguage.json`) gives the same spans
the same classes; its word lists are written from `words()` by `editors/vscode/update_words.py`,
and tests compare the two engines.
"""
from __future__ import annotations

import functools
import re

from pygments.lexer import RegexLexer, bygroups
from pygments.token import (Comment, Error, Keyword, Name, Number, Operator, Punctuation,
                            String, Whitespace)

from .records import Record

# The grammar's terminals (grammars/archdsl.lark), verbatim.
NAME = r"[A-Za-z_][A-Za-z0-9_]*"
NUMBER = r"([0-9]+\.[0-9]*|\.[0-9]+|[0-9]+)([eE][+-]?[0-9]+)?[kMG]?(?![A-Za-z0-9_])"
COMMENT = r"#[^\n]*"

# Special forms the evaluator handles before its BUILTINS table (`solve`, and the cost
# functions that also stand alone in a space: `require flops <= budget`).
SPECIAL_FORMS = frozenset({"solve", "flops", "params", "macs"})
CONSTANTS = frozenset({"true", "false", "none"})
DECLARATIONS = frozenset({"block", "network", "space", "let", "param"})


class Words(Record):
    """The names the highlighters colour, each set disjoint from the others."""
    keywords: frozenset  # reserved words other than the constants
    constants: frozenset  # true, false, none
    ops: frozenset  # primitive ops and their aliases
    builtins: frozenset  # functions of the expression language


def op_names() -> frozenset:
    """Every primitive op's name and alias, from the op registry."""
    from . import ops
    return frozenset(ops.OPS) | frozenset(ops.ALIASES)


def builtin_names() -> frozenset:
    """The expression language's functions, from the evaluator."""
    from . import evaluate
    return frozenset(evaluate.BUILTINS) | SPECIAL_FORMS


def reserved_words() -> frozenset:
    from . import syntax
    return syntax.RESERVED


@functools.lru_cache(maxsize=None)
def words() -> Words:
    reserved = reserved_words()
    builtins = builtin_names() - reserved
    return Words(keywords=reserved - CONSTANTS, constants=reserved & CONSTANTS,
                 ops=op_names() - reserved - builtins, builtins=builtins)


def name_token(word: str):
    """The token type of a NAME-shaped word."""
    w = words()
    if word in w.constants:
        return Keyword.Constant
    if word in w.keywords:
        if word == "use":
            return Keyword.Namespace
        return Keyword.Declaration if word in DECLARATIONS else Keyword
    if word in w.ops or word in w.builtins:
        return Name.Builtin
    return Name


def _name(lexer, match):
    yield match.start(), name_token(match.group()), match.group()


def _number(lexer, match):
    text = match.group()
    kind = Number.Float if re.search(r"[.eE]", text) else Number.Integer
    yield match.start(), kind, text


def _definition(lexer, match):
    """`block NAME`, `network NAME`, `space NAME`: the name is the thing defined (or, in a
    space, the network called)."""
    yield match.start(1), Keyword.Declaration, match.group(1)
    yield match.start(2), Whitespace, match.group(2)
    yield match.start(3), Name.Function, match.group(3)


def _label(lexer, match):
    """`NAME:` names the statement after it (a module path component)."""
    kind = name_token(match.group(1))
    yield match.start(1), kind if kind in Keyword else Name.Label, match.group(1)
    if match.group(2):
        yield match.start(2), Whitespace, match.group(2)
    yield match.start(3), Punctuation, match.group(3)


_EXPRESSION = [
    (r"[ \t\f]+", Whitespace),
    # A path part after a dot (`in.c`, `features.pool0`, `layer1.0`): not an op, not `.0`.
    (rf"(\.)({NAME})", bygroups(Punctuation, Name)),
    (r"(?<=[A-Za-z0-9_])(\.)([0-9]+)", bygroups(Punctuation, Number.Integer)),
    (NUMBER, _number),
    (r"[0-9]+", Number.Integer),  # the grammar's INT, where NUMBER's look-ahead fails (`3x`)
    (NAME, _name),
    (r"\*\*|//|==|!=|<=|>=|[-+*/%^<>=]", Operator),
    (r"[()\[\],.]", Punctuation),
]


class ArchdslLexer(RegexLexer):
    """Lexer for archdsl's `.arch` network descriptions."""

    name = "archdsl"
    aliases = ["archdsl", "arch"]
    filenames = ["*.arch"]
    mimetypes = ["text/x-archdsl"]

    tokens = {
        "root": [
            (COMMENT, Comment.Single),
            (r"\n", Whitespace),
            (r"\\\r?\n", Punctuation),  # line continuation
            (r'"', String.Double, "string"),
            (rf"(block|network|space)([ \t\f]+)({NAME})", _definition),
            (rf"({NAME})([ \t\f]*)(:)", _label),
            (r"[{};:]", Punctuation),
            *_EXPRESSION,
        ],
        # STRING: /"([^"\\\n]|\\.)*"/, whose `{expr}` parts are name templates (labels).
        "string": [
            (r'"', String.Double, "#pop"),
            (r"\\.", String.Escape),
            (r'\{(?=(?:[^{}"\\\n]|\\.)*\})', String.Interpol, "hole"),
            (r'[^"\\\n{]+', String.Double),
            (r"\{", String.Double),
            (r"\n", Error, "#pop"),  # unterminated: the line ends the damage
        ],
        "hole": [
            (r"\}", String.Interpol, "#pop"),
            (r"\\.", String.Escape),
            *_EXPRESSION,
            (r"[^}\\]", String.Other),  # no expression, but still string text to the grammar
        ],
    }

"""Fuzzing `archdsl check`: every input gets exit 0 or a located user error, never a traceback.

Two sources of cases, both Hypothesis strategies:

- **mutations** of the files the project ships (zoo networks and examples, the standard
  library, the search spaces), at character level (delete, insert, replace, duplicate,
  truncate, a byte order mark, raw bytes that are not UTF-8) and at token level (delete,
  duplicate, swap, replace with a token of the same file or an awkward one: `1e400`, `}`, a
  reserved word, a 300-character name, `"zoo:../../x"`, a non-ASCII digit, ...). A
  mutated file is checked together with a file that uses it (`resnet.arch` with
  `resnet18.arch`, a standard-library file with a zoo network built from its blocks), so the
  mutation reaches elaboration, not only the parser. The files live in a sandbox copy; the
  standard library is swapped for the sandbox's copy while a case runs.
- **generated programs**: random well-formed programs from the grammar (blocks with
  parameters, networks, aliases, spaces; every statement form; expressions with every
  operator and builtin, `solve`, `flops`, templates, `from`, `x N`). Each must parse; its
  elaboration may fail, but only with a located error.

A third, smaller source: **runaway work** (issue 16's resource attacks at random sizes:
repetitions past the node limit, dense loops, shared lists printed or compared, cost
functions in loops).

The contract checked for every case: exit 0 and `FILE: ok (...)` lines, or exit 1 and stderr
whose first line is `FILE:LINE:COL: error: ...` with the position inside that file; never
another exit code, never a traceback, never an exception out of `archdsl.cli.main`.

The quick runs here (about 500 cases, derandomized so CI is reproducible) are part of the
normal suite; `bench/fuzz_long.py` runs the same strategies for 100,000 cases.
"""
from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
import sys
from contextlib import contextmanager, redirect_stderr, redirect_stdout
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from archdsl import loader, ops, syntax
from archdsl.cli import main

ROOT = Path(__file__).resolve().parent.parent
# archdsl.cli.main raises the recursion limit; raising it here first keeps Hypothesis from
# warning that a test changed it.
sys.setrecursionlimit(max(sys.getrecursionlimit(), 20000))
FUZZ_MAX_NODES = 20_000  # `check --max-nodes`: keeps a case that grows a network fast
LOCATED = re.compile(r"^(?P<file>.+?):(?P<line>\d+):(?P<col>\d+): error: \S")
OK_LINE = re.compile(r"^.+: ok \(\d+ networks?(, \d+ spaces?)?\)$")

# ============================================================================ the corpus


def corpus_files() -> list:
    """Relative paths of every .arch file the project ships (and tests/data, if any)."""
    found = []
    for pattern in ("zoo/*.arch", "zoo/examples/*.arch", "archdsl/stdlib/*.arch",
                    "search/*.arch", "tests/data/*.arch"):
        found += sorted(p.relative_to(ROOT).as_posix() for p in ROOT.glob(pattern))
    return found


CORPUS = corpus_files()
ORIGINAL = {rel: (ROOT / rel).read_text(encoding="utf-8") for rel in CORPUS}
_USE = re.compile(r'^use "([^"]+)"', re.M)
_DEF = re.compile(r"^(?:block|network)\s+([A-Za-z_]\w*)", re.M)


def _closure(rel: str, seen=None) -> str:
    """A file's text and that of the files it uses (relative `use` only)."""
    seen = set() if seen is None else seen
    if rel in seen:
        return ""
    seen.add(rel)
    text = ORIGINAL[rel]
    base = rel.rsplit("/", 1)[0]
    for used in _USE.findall(text):
        dep = f"{base}/{used}"
        if dep in ORIGINAL:
            text += "\n" + _closure(dep, seen)
    return text


def _dependents() -> dict:
    """For each corpus file, the network files whose check runs through its definitions."""
    networks = [r for r in CORPUS if r.startswith("zoo/")
                and re.search(r"^network\s+\w+\s*(=|\{|\(\s*\))", ORIGINAL[r], re.M)]
    closures = {r: _closure(r) for r in networks}
    deps = {}
    for rel in CORPUS:
        if rel.startswith("archdsl/stdlib/"):
            names = _DEF.findall(ORIGINAL[rel])
            pattern = re.compile(r"\b(" + "|".join(map(re.escape, names)) + r")\b") \
                if names else None
            deps[rel] = [n for n in networks if pattern and pattern.search(closures[n])]
        else:
            name = rel.rsplit("/", 1)[1]
            deps[rel] = [n for n in networks if n != rel
                         and re.search(rf'^use "{re.escape(name)}"', ORIGINAL[n], re.M)]
        # Smallest first: Hypothesis shrinks toward the start of a sampled list.
        deps[rel].sort(key=lambda n: len(closures[n]))
    return deps


DEPENDENTS = _dependents()

# ============================================================================ the sandbox


class Sandbox:
    """A copy of the corpus in a temporary directory. `case(rel, text)` writes one mutated
    file into it, points the loader's standard library (and zoo) at the copy, and restores
    both afterwards, so cases never touch the checkout and never see one another."""

    def __init__(self, root: Path):
        self.root = Path(root)
        for rel in CORPUS:
            dest = self.root / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(ROOT / rel, dest)
        self.stdlib = self.root / "archdsl" / "stdlib"
        self.zoo = self.root / "zoo"

    def path(self, rel: str) -> str:
        return str(self.root / rel)

    @contextmanager
    def case(self, rel: str, data, patch_stdlib: bool = True):
        """Write `data` (str or bytes) as the sandbox's `rel` for the duration of the case."""
        target = self.root / rel
        saved = (loader.STDLIB, loader.ZOO)
        try:
            if isinstance(data, bytes):
                target.write_bytes(data)
            else:
                target.write_text(data, encoding="utf-8", newline="")
            if patch_stdlib:
                loader.STDLIB, loader.ZOO = self.stdlib, self.zoo
            yield
        finally:
            loader.STDLIB, loader.ZOO = saved
            if rel in ORIGINAL:
                target.write_text(ORIGINAL[rel], encoding="utf-8", newline="")
            else:
                target.unlink(missing_ok=True)


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory):
    return Sandbox(tmp_path_factory.mktemp("fuzz"))

# ============================================================================ running a case


def run_check(paths, max_nodes: int = FUZZ_MAX_NODES):
    """`archdsl check --max-nodes N PATHS...` in-process: (exit code, stdout, stderr).
    Any exception other than a user error propagates: that is what the fuzzer hunts."""
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        try:
            code = main(["check", "--max-nodes", str(max_nodes), *map(str, paths)])
        except SystemExit as e:  # argparse
            code = e.code
    return code, out.getvalue(), err.getvalue()


def assert_clean(code, out: str, err: str, texts: dict | None = None) -> None:
    """The contract: exit 0 with `ok` lines, or exit 1 with located errors inside the file."""
    assert code in (0, 1), f"exit {code}\n{err}"
    assert "Traceback" not in err, err
    if code == 0:
        assert err == "", err
        assert out and all(OK_LINE.match(l) for l in out.splitlines()), out
        return
    # One message line per "\n": no other line separator (U+2028, \x85, \x0c, ...) may come
    # from the user's text into a message.
    assert not set(err) & set("\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"), repr(err)
    lines = err.rstrip("\n").split("\n")
    assert lines != [""], "exit 1 without a message"
    for line in lines:
        if line.startswith("  ") or ": note: " in line or line.startswith("... "):
            continue  # a quoted source line, a caret, a call-site note
        m = LOCATED.match(line)
        assert m, f"an error that is not located as FILE:LINE:COL: error:\n{err}"
        file, row, col = m["file"], int(m["line"]), int(m["col"])
        assert "#template" not in file, err
        text = (texts or {}).get(file)
        if text is None and Path(file).is_file():
            text = Path(file).read_bytes().decode("utf-8", "replace")
        if text is not None:
            rows = text.split("\n")
            assert 1 <= row <= len(rows), f"line {row} of a {len(rows)}-line file\n{err}"
            assert 1 <= col <= len(rows[row - 1]) + 1, f"column {col} past the line\n{err}"

# ============================================================================ mutations

TOKEN = re.compile(r'"(?:[^"\\\n]|\\.)*"|#[^\n]*|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?[kMG]?'
                   r"|[A-Za-z_]\w*|\*\*|//|==|!=|<=|>=|[ \t]+|\r?\n|.", re.S)
AWKWARD_TOKENS = (
    "{", "}", "(", ")", "[", "]", ",", ";", ":", "=", ".", "\n", "#", "\\\n", "x", "in", "from",
    "use", "let", "for", "if", "else", "parallel", "residual", "shortcut", "dense", "aux",
    "block", "network", "space", "param", "require", "input", "true", "false", "none", "and",
    "or", "not", "0", "-1", "0.0", "1e400", "1e308", "9223372036854775808", "99999999999999999999",
    "1000000", "4.1G", "1e-400", "2 ** 64", "10 ** 1000", "1 / 0", "sqrt(-1)", "0 ** -1",
    "1e308 * 10", '"same"', '"{i}"', '"{"', '"}"', '"{1/0}"', '"a.b"', '"zoo:nope"',
    '"../x.arch"', '"x.py"', '"/dev/null"', "in.c", "in.q", "in.w", "range(1000000)",
    "solve(c == 1, c)", "solve(c ^ 2 + 1 == 0, c)", "flops(conv(4), in=[3, 8, 8])",
    "params(relu, in=[0])", "relu", "conv", "concat", "add", "mul", "mean", "fc", "flatten",
    "gap", "bn", "x 0", "x 1000000", "x -1", "from in", "from nope", "from a.b.0",
    # issue 16: names past the OS limit, zoo names that are paths, digits that are not ASCII
    '"' + "a" * 300 + '.arch"', '"zoo:' + "a" * 300 + '"', '"zoo:../../x"', '"zoo:/etc/passwd"',
    "a" * 300, "١e٣", "４",
    # issue 16.5 and 16.19-20: values the backend rejects, torch.nn.Module's attributes as
    # names, counts past 64 bits, huge values in messages; issue 11.6: names mistyped
    "subsample(0)", "bn(eps=-1)", "rbf(-2)", "lrn(size=0)", "rbf(0)", "forward", "training",
    "__class__", '"abc"[10]', "[0] * 1000000", "2 ** 62", "Conv", "rellu", "botleneck",
)
AWKWARD_TEXT = AWKWARD_TOKENS + ("\t", "\r", "\f", "\x00", "\x0b", "é", "\u2028", "\ufeff", "𝔵",
                                 "'", "`", "$", "@", "\\", "\"", "{{", "}}", "١", "٣", "０")


def tokens(text: str) -> list:
    return TOKEN.findall(text)


@st.composite
def char_mutation(draw, text: str) -> str:
    kind = draw(st.sampled_from(("delete", "insert", "replace", "duplicate", "truncate",
                                 "swap", "bom")))
    i = draw(st.integers(0, len(text)))
    if kind == "bom":  # a UTF-8 byte order mark at the start, as some editors write one
        return "\ufeff" + text
    if kind == "delete":
        return text[:i] + text[i + draw(st.integers(1, 12)):]
    if kind == "truncate":
        return text[:i]
    if kind in ("insert", "replace"):
        piece = draw(st.one_of(st.sampled_from(AWKWARD_TEXT), st.text(min_size=1, max_size=3)))
        return text[:i] + piece + text[i + (kind == "replace"):]
    j = draw(st.integers(0, len(text)))
    a, b = sorted((i, j))
    if kind == "duplicate":
        return text[:b] + text[a:b][:200] + text[b:]
    return text[:a] + text[b:b + 1] + text[a + 1:b] + text[a:a + 1] + text[b + 1:]  # swap


@st.composite
def token_mutation(draw, text: str) -> str:
    toks = tokens(text)
    solid = [k for k, t in enumerate(toks) if not t.isspace()]
    if not solid:
        return text + draw(st.sampled_from(AWKWARD_TOKENS))
    k = solid[draw(st.integers(0, len(solid) - 1))]
    kind = draw(st.sampled_from(("delete", "duplicate", "swap", "replace", "insert",
                                 "replace_same_file")))
    if kind == "delete":
        toks[k] = ""
    elif kind == "duplicate":
        toks[k] = toks[k] + " " + toks[k]
    elif kind == "swap":
        m = solid[draw(st.integers(0, len(solid) - 1))]
        toks[k], toks[m] = toks[m], toks[k]
    elif kind == "replace":
        toks[k] = draw(st.sampled_from(AWKWARD_TOKENS))
    elif kind == "insert":
        toks[k] = draw(st.sampled_from(AWKWARD_TOKENS)) + " " + toks[k]
    else:
        toks[k] = toks[solid[draw(st.integers(0, len(solid) - 1))]]
    return "".join(toks)


@st.composite
def mutated_case(draw, files=None):
    """(file to mutate, its new content (str or bytes), files to check)."""
    rel = draw(st.sampled_from(files or CORPUS))
    text = ORIGINAL[rel]
    for _ in range(draw(st.integers(1, 4))):
        text = draw(st.one_of(char_mutation(text), token_mutation(text)))
    data = text
    if draw(st.integers(0, 19)) == 0:  # sometimes bytes that are not UTF-8
        raw = text.encode("utf-8")
        i = draw(st.integers(0, len(raw)))
        data = raw[:i] + draw(st.sampled_from((b"\xff", b"\xc3", b"\xed\xa0\x80", b"\x80"))) \
            + raw[i:]
    deps = DEPENDENTS.get(rel) or []
    check = [rel] + ([draw(st.sampled_from(deps))] if deps else [])
    return rel, data, check

# ============================================================================ generated programs

VARS = ("a", "b", "c", "n", "w", "k", "width", "depth", "growth")
# The last ones are attributes of torch.nn.Module, refused at the statement (issue 16.5).
LABELS = ("stem", "head", "feat", "conv1", "layer1", "branch", "pool", "fc", "forward",
          "training")
BUILTINS = ("int", "round", "ceil", "floor", "min", "max", "abs", "sqrt", "len", "range", "sum")
STD_BLOCKS = ("basic", "bottleneck", "se", "fire", "projection", "conv_relu", "basic_conv",
              "transition", "dense_layer", "plain")
OP_NAMES = tuple(sorted(n for n in ops.OPS if n not in syntax.RESERVED)) + ("linear",)
PLAUSIBLE = {"out": st.sampled_from((4, 8, 16)), "k": st.sampled_from((1, 2, 3)),
             "s": st.sampled_from((1, 2)), "p": st.sampled_from((0, 1, '"same"')),
             "groups": st.sampled_from((1, 2)), "h": st.sampled_from((1, 2, 4)),
             "n": st.sampled_from((1, 2)), "bias": st.sampled_from(("true", "false"))}


class Ctx:
    """What a generated body may refer to: variables, labels, blocks, loop variables."""

    def __init__(self, names=(), blocks=(), labels=()):
        self.names, self.blocks, self.labels = list(names), list(blocks), list(labels)

    def child(self):
        return Ctx(self.names, self.blocks, self.labels)


@st.composite
def number(draw) -> str:
    return draw(st.one_of(
        st.integers(0, 8).map(str), st.sampled_from(("16", "32", "64", "0.5", "1e-5", "2.0",
                                                     ".25", "1k", "4.1G", "3M", "007")),
        st.sampled_from(("1000000", "9223372036854775807", "1e308", "1e-300", "123456789"))))


@st.composite
def expr(draw, ctx: Ctx, depth: int = 2) -> str:
    """An expression; compound ones come parenthesised (`-not 0` or `a * not b` would not
    parse), except sometimes at the top, where precedence gets exercised."""
    text = draw(_expr(ctx, depth))
    return f"({text})" if " " in text and draw(st.integers(0, 4)) else text


@st.composite
def operand(draw, ctx: Ctx, depth: int) -> str:
    """An expression inside an operator: always parenthesised when compound."""
    text = draw(_expr(ctx, depth))
    return f"({text})" if " " in text else text


@st.composite
def _expr(draw, ctx: Ctx, depth: int) -> str:
    if depth <= 0 or draw(st.integers(0, 2)) == 0:
        kind = draw(st.sampled_from(("num", "num", "num", "var", "var", "str", "const", "in",
                                     "list")))
        if kind == "num":
            return draw(number())
        if kind == "var":
            pool = ctx.names or list(VARS)
            return draw(st.sampled_from(pool if draw(st.integers(0, 5)) else list(VARS)))
        if kind == "str":
            return draw(st.sampled_from(('"same"', '"bilinear"', '"x{1}"', '""', '"a\\tb"',
                                         '"\\u00e9"', '"zoo:resnet18"')))
        if kind == "const":
            return draw(st.sampled_from(("true", "false", "none")))
        if kind == "in":
            return "in." + draw(st.sampled_from("chwx"))
        return "[" + ", ".join(draw(st.lists(number(), max_size=3))) + "]"
    sub = lambda: operand(ctx, depth - 1)  # noqa: E731
    kind = draw(st.sampled_from(("bin", "bin", "unary", "cmp", "bool", "tern", "call", "call",
                                 "index", "paren", "list", "solve", "cost", "partial")))
    if kind == "bin":
        op = draw(st.sampled_from(("+", "-", "*", "/", "//", "%", "**", "^")))
        return f"{draw(sub())} {op} {draw(sub())}"
    if kind == "unary":
        return draw(st.sampled_from(("-", "+", "not "))) + draw(sub())
    if kind == "cmp":
        ops_ = draw(st.lists(st.sampled_from(("==", "!=", "<", "<=", ">", ">=")), min_size=1,
                             max_size=2))
        return draw(sub()) + "".join(f" {o} {draw(sub())}" for o in ops_)
    if kind == "bool":
        return f"{draw(sub())} {draw(st.sampled_from(('and', 'or')))} {draw(sub())}"
    if kind == "tern":
        return f"{draw(sub())} if {draw(sub())} else {draw(sub())}"
    if kind == "call":
        fn = draw(st.sampled_from(BUILTINS))
        return f"{fn}({', '.join(draw(st.lists(sub(), min_size=0, max_size=3)))})"
    if kind == "index":
        return f"[{draw(sub())}, {draw(sub())}][{draw(sub())}]"
    if kind == "paren":
        return f"({draw(sub())})"
    if kind == "list":
        return "[" + ", ".join(draw(st.lists(sub(), max_size=3))) + "]"
    if kind == "solve":
        return f"solve({draw(expr(Ctx(ctx.names + ['c']), depth - 1))} == {draw(sub())}, c)"
    if kind == "cost":
        what = draw(st.sampled_from(("flops", "params", "macs")))
        shape = draw(st.sampled_from(("3, 8, 8", "4, 4, 4", "8")))
        return f"{what}({draw(call_text(ctx, 0))}, in=[{shape}])"
    return draw(call_text(ctx, depth - 1))  # a block or op as a value


@st.composite
def call_text(draw, ctx: Ctx, depth: int) -> str:
    """`name` or `name(args)` for an op, a generated block or a standard-library block."""
    kind = draw(st.sampled_from(("op", "op", "op", "block", "std")))
    if kind == "block" and ctx.blocks:
        name = draw(st.sampled_from(ctx.blocks))
    elif kind == "std":
        name = draw(st.sampled_from(STD_BLOCKS))
    else:
        name = draw(st.sampled_from(OP_NAMES))
    op = ops.lookup(name)
    args = []
    if op is not None and op.params and draw(st.booleans()):
        positional = True  # positional arguments bind in schema order, so only a prefix
        for p in op.params:
            if p.default is not ops.REQUIRED and draw(st.integers(0, 3)):
                positional = False
                continue
            value = draw(PLAUSIBLE[p.name]) if p.name in PLAUSIBLE and draw(
                st.integers(0, 3)) else draw(expr(ctx, depth))
            positional = positional and draw(st.booleans())
            args.append(str(value) if positional else f"{p.name}={value}")
    elif draw(st.integers(0, 2)):
        args = [str(draw(PLAUSIBLE["out"])) if draw(st.booleans()) else draw(expr(ctx, depth))
                for _ in range(draw(st.integers(0, 3)))]
    if not args and draw(st.booleans()):
        return name
    return f"{name}({', '.join(args)})"


@st.composite
def label(draw, ctx: Ctx) -> str:
    if draw(st.integers(0, 3)) == 0:
        return draw(st.sampled_from(('"layer{i}"', '"b{n + 1}"', '"x{1}"', '"x"', '"a.b"',
                                     '"{w}"')))
    return draw(st.sampled_from(LABELS)) + draw(st.sampled_from(("", "", "2", "_a")))


@st.composite
def body(draw, ctx: Ctx, depth: int, size: int = 4) -> str:
    stmts = []
    for _ in range(draw(st.integers(0 if depth < 2 else 1, size))):
        stmts.append(draw(statement(ctx, depth)))
    sep = draw(st.sampled_from(("\n", "; ", "\n  # a comment\n", ";\n")))
    inner = sep.join(stmts)
    return "{ " + inner + " }" if draw(st.booleans()) else "{\n" + inner + "\n}"


@st.composite
def statement(draw, ctx: Ctx, depth: int) -> str:
    kinds = ["let", "apply", "apply", "apply", "apply"]
    if depth > 0:
        kinds += ["group", "parallel", "residual", "dense", "for", "if", "aux"]
    kind = draw(st.sampled_from(kinds))
    sub = lambda c=ctx: body(c.child(), depth - 1, 3)  # noqa: E731
    if kind == "let":
        name = draw(st.sampled_from(VARS))
        value = draw(expr(ctx, 2))
        ctx.names.append(name)
        return f"let {name} = {value}"
    lab = ""
    if kind in ("apply", "group") and draw(st.integers(0, 2)) == 0:
        text = draw(label(ctx))
        lab = f"{text}: "
        if not text.startswith('"'):
            ctx.labels.append(text)
    rep = ""
    if kind in ("apply", "group") and draw(st.integers(0, 3)) == 0:
        rep = " x " + draw(st.sampled_from(("0", "1", "2", "3", "(n - 1)", "n", "1000000",
                                             "(-1)", "2.0", "true")))
    if kind == "apply":
        refs = ""
        if draw(st.integers(0, 4)) == 0:
            pool = ctx.labels + ["in", "nope", "stem.0"]
            refs = " from " + ", ".join(draw(st.lists(st.sampled_from(pool), min_size=1,
                                                      max_size=3)))
        return lab + draw(call_text(ctx, 1)) + refs + rep
    if kind == "group":
        return lab + draw(sub()) + rep
    if kind == "parallel":
        merge = draw(st.sampled_from(("concat", "add", "mul", "mean", "concat", "sum")))
        return f"parallel {merge} " + draw(sub())
    if kind == "residual":
        text = "residual " + draw(sub())
        if draw(st.booleans()):
            text += " shortcut " + draw(sub())
        return text
    if kind in ("dense", "for"):
        var = draw(st.sampled_from(("i", "j", "n")))
        inner = ctx.child()
        inner.names.append(var)
        it = draw(st.one_of(st.sampled_from(("range(2)", "range(3)", "[1, 2]", "range(0)",
                                              "range(1, 4, 2)", "[]", "3")), expr(ctx, 1)))
        return (f"{'dense ' if kind == 'dense' else ''}for {var} in {it} "
                + draw(body(inner, depth - 1, 3)))
    if kind == "if":
        text = f"if {draw(expr(ctx, 1))} " + draw(sub())
        choice = draw(st.integers(0, 2))
        if choice == 1:
            text += " else " + draw(sub())
        elif choice == 2:
            text += f" else if {draw(expr(ctx, 1))} " + draw(sub())
        return text
    # aux NAME: CALL-or-GROUP from REF
    target = draw(call_text(ctx, 1)) if draw(st.booleans()) else draw(sub())
    ref = draw(st.sampled_from(ctx.labels + ["in"]))
    return f"aux {draw(label(ctx))}: {target} from {ref}"


@st.composite
def params_text(draw, ctx: Ctx, all_defaults: bool) -> str:
    names = draw(st.lists(st.sampled_from(VARS), max_size=3, unique=True))
    parts = []
    for k, name in enumerate(names):
        if all_defaults or k or draw(st.booleans()):
            parts.append(f"{name}={draw(expr(ctx, 1))}")
        else:
            parts.append(name)
        ctx.names.append(name)
    return ", ".join(parts)


@st.composite
def wild_program(draw) -> str:
    """Anything the grammar allows: most of these fail in elaboration, in every way."""
    items = []
    top = Ctx()
    if draw(st.integers(0, 3)) == 0:
        items.append("use " + draw(st.sampled_from(('"resnet_blocks.arch"', '"se.arch"',
                                                     '"zoo:resnet18"', '"zoo:vgg"',
                                                     '"nowhere.arch"', '"notes.txt"',
                                                     '"zoo:nope"', '"a\\u0000.arch"'))))
    for k in range(draw(st.integers(0, 2))):
        name = f"blk{k}"
        ctx = Ctx(blocks=top.blocks + [name])  # a block may call itself
        params = draw(params_text(ctx, all_defaults=False))
        items.append(f"block {name}({params}) " + draw(body(ctx, 2)))
        top.blocks.append(name)
    nets = []
    for k in range(draw(st.integers(1, 2))):
        name = f"net{k}"
        ctx = Ctx(blocks=top.blocks)
        params = draw(params_text(ctx, all_defaults=True))
        shape = draw(st.sampled_from(("[3, 8, 8]", "[3, 16, 16]", "[1, 4, 4]", "[8]",
                                      "[3, 32, 32]", "[3, 16, 16]", "[8, 8, 8]", "[0, 8, 8]",
                                      "[3, 8]", "[3, 8, 8] + [1]")))
        stmts = draw(body(ctx, 2, 5))
        head = f"input {shape}" if draw(st.integers(0, 9)) else "relu"
        items.append(f"network {name}({params}) {{\n{head}\n{stmts[1:-1].strip()}\n}}")
        nets.append(name)
    if draw(st.integers(0, 3)) == 0:
        items.append(f"network alias = {draw(st.sampled_from(nets))}"
                     f"({', '.join(draw(st.lists(expr(top, 1), max_size=2)))})")
    if draw(st.integers(0, 4)) == 0:
        items.append("space s(budget=1M) {\n  param width in [4, 8]\n  let w = width * 2\n"
                     f"  require {draw(expr(Ctx(['width', 'w']), 1))}\n"
                     f"  network {draw(st.sampled_from(nets))}\n}}")
    return "\n\n".join(items) + "\n"


# Tame programs: every statement keeps TAME_W channels and the spatial size, so most of them
# elaborate without error and the fuzzer reaches the end of elaboration, not only its checks.
TAME_W = 8
TAME_OPS = (f"conv({TAME_W}, k=1)", f"conv({TAME_W}, k=3, p=1)", "bn", "relu", "identity",
            f"conv({TAME_W}, k=3, p=1, groups=2, bias=false)", f'conv({TAME_W}, k=3, p="same")',
            "dropout(0.1)", "sigmoid", "tanh", "relu(inplace=false)", "se(4)", "drop_path(0.1)",
            f"basic_conv({TAME_W}, k=1)", f"conv_relu({TAME_W}, k=3, p=1)",
            f"pad_channels({TAME_W})", "scaled_tanh")


class Tame:
    def __init__(self, names=(), blocks=(), loop=False, counter=None):
        self.names, self.blocks, self.loop = list(names), list(blocks), loop
        self.labels = []  # labels of this body, for `from`
        self.counter = counter if counter is not None else [0]

    def child(self, loop=False):
        return Tame(self.names, self.blocks, self.loop or loop, self.counter)

    def fresh(self, prefix="l") -> str:
        self.counter[0] += 1
        return f"{prefix}{self.counter[0]}"


@st.composite
def tame_int(draw, t: Tame) -> str:
    """An expression whose value is a small positive integer (every name holds one)."""
    atoms = st.sampled_from([str(k) for k in (1, 2, 3)] + t.names)
    a, b = draw(atoms), draw(atoms)
    return draw(st.sampled_from((a, f"{a} + {b}", f"max({a}, {b})", f"min({a}, {b}) + 1",
                                 f"int({a} * 1.5)", f"({a} if {a} > {b} else {b})",
                                 f"len([{a}, {b}])", f"sum([{a}, {b}])", f"ceil({a} / 2)")))


@st.composite
def tame_stmt(draw, t: Tame, depth: int) -> str:
    kinds = ["let", "op", "op", "op", "block"]
    if depth > 0:
        kinds += ["group", "parallel", "concat", "residual", "dense", "for", "if", "aux"]
    kind = draw(st.sampled_from(kinds))
    sub = lambda loop=False: tame_body(t.child(loop), depth - 1)  # noqa: E731
    lab = ""
    if not t.loop and kind in ("op", "block", "group") and draw(st.integers(0, 2)) == 0:
        name = t.fresh()
        t.labels.append(name)
        lab = f"{name}: "
    rep = ""
    if kind in ("op", "block", "group") and draw(st.integers(0, 4)) == 0:
        rep = f" x {draw(st.integers(0, 3))}"
    if kind == "let":
        name = draw(st.sampled_from(VARS))
        value = draw(tame_int(t))
        t.names.append(name)
        return f"let {name} = {value}"
    if kind == "op":
        refs = ""
        if t.labels and draw(st.integers(0, 3)) == 0:
            refs = f" from {draw(st.sampled_from(t.labels + ['in']))}"
        return lab + draw(st.sampled_from(TAME_OPS)) + refs + rep
    if kind == "block":
        if not t.blocks:
            return lab + "relu" + rep
        name = draw(st.sampled_from(t.blocks))
        return lab + (name if draw(st.booleans()) else f"{name}(n={draw(tame_int(t))})") + rep
    if kind == "group":
        return lab + draw(sub(loop=bool(rep) and not lab)) + rep
    if kind == "parallel":
        merge = draw(st.sampled_from(("add", "mean", "mul")))
        return f"parallel {merge} " + draw(sub())
    if kind == "concat":
        return "parallel concat " + draw(sub()) + f"; conv({TAME_W}, k=1)"
    if kind == "residual":
        text = "residual " + draw(sub())
        return text + (" shortcut " + draw(sub()) if draw(st.booleans()) else "")
    if kind == "dense":
        return (f"dense for i in range({draw(st.integers(0, 3))}) "
                f"{{ conv({TAME_W}, k=3, p=1) }}; conv({TAME_W}, k=1)")
    if kind == "for":
        var = draw(st.sampled_from(("i", "j")))
        inner = t.child(loop=True)
        inner.names.append(var)
        seq = draw(st.sampled_from(("range(1, 3)", "[1, 2]", "range(1, 4, 2)", "[]")))
        return f"for {var} in {seq} " + draw(tame_body(inner, depth - 1))
    if kind == "if":
        cond = f"{draw(tame_int(t))} {draw(st.sampled_from(('>', '<=', '==', '!=')))} 2"
        text = f"if {cond} " + draw(sub())
        return text + (" else " + draw(sub()) if draw(st.booleans()) else "")
    if t.loop:  # an aux head in a loop would be named twice
        return "relu"
    src = draw(st.sampled_from(t.labels + ["in"]))
    return f"aux {t.fresh('head')}: {{ gap; flatten; fc(10) }} from {src}"


@st.composite
def tame_body(draw, t: Tame, depth: int) -> str:
    stmts = [draw(tame_stmt(t, depth)) for _ in range(draw(st.integers(0, 3)))]
    return "{ " + draw(st.sampled_from(("; ", "\n"))).join(stmts) + " }"


@st.composite
def tame_program(draw) -> str:
    """Well-formed and, mostly, well-typed: blocks, networks, an alias."""
    items, blocks = [], []
    for k in range(draw(st.integers(0, 2))):
        name = f"blk{k}"
        t = Tame(names=["n"], blocks=list(blocks))
        items.append(f"block {name}(n=1) " + draw(tame_body(t, 2)))
        blocks.append(name)
    t = Tame(names=["n", "w"], blocks=blocks)
    stmts = draw(tame_body(t, 2))[1:-1]
    tail = "; gap; flatten; fc(10)" if draw(st.booleans()) else ""
    items.append(f"network net(n=2, w=3) {{\n  input [{TAME_W}, 16, 16]\n  {stmts}{tail}\n}}")
    if draw(st.integers(0, 3)) == 0:
        items.append(f"network alias = net(n={draw(st.integers(1, 3))})")
    return "\n\n".join(items) + "\n"


def program():
    """A random well-formed program: tame (mostly elaborates) or wild (mostly fails)."""
    return st.one_of(tame_program(), wild_program())


# ============================================================================ runaway work

# Issue 16's resource attacks (items 9, 10, 12) and issue 11's (item 5), at random sizes:
# repetitions past what is left of the node limit, dense loops, lists sharing their items
# printed or compared, cost functions in loops and recursions. Each must stop with a located
# error (or build) within the budget of `--max-nodes`, never hang.
RUNAWAY_BODIES = (
    "relu x {n}", "{{ conv(4); relu }} x {n}", "for i in range({n}) {{ bn; relu }}",
    "dense for i in range({n}) {{ conv(1, k=1) }}", "stage(bottleneck, {n}, 8, 1)",
    "for i in range({n}) {{ let a = flops(stage(basic, {k}, 4 + i, 1), in=[8, 8, 8]) }}",
    "for i in range({n}) {{ if i == 0 {{ relu x {k} }} }}",
    'let l = [[0] * {n}] * {k}\n  "x{{l}}": relu', "let l = [[0] * {n}] * {k}\n  conv(l)",
)
RUNAWAY_SINKS = ("conv(l)", '"x{l}": relu', "let e = l == [l]; relu",
                 "let e = [l] == [l, l]; relu",
                 "let a = flops(conv(8, table=l), in=[3, 8, 8]); relu")


@st.composite
def runaway_program(draw) -> str:
    if draw(st.booleans()):
        body = draw(st.sampled_from(RUNAWAY_BODIES)).format(
            n=draw(st.sampled_from((0, 1, 7, 300, 5000, 20_000, 10 ** 6))),
            k=draw(st.sampled_from((0, 1, 3, 50, 1000))))
        return "network m {\n  input [8, 8, 8]\n  " + body + "\n}\n"
    sink = draw(st.sampled_from(RUNAWAY_SINKS))
    depth = draw(st.integers(0, 45))
    return (f"block r(l, n) {{ if n > 0 {{ r([l, l], n - 1) }} else {{ {sink} }} }}\n"
            f"network m {{ input [3, 8, 8]; r([0], {depth}) }}\n")


# ============================================================================ file names

# Names a file argument, a `use` or a `zoo:` may carry (issue 16): past the OS's limit of 255
# bytes per component, paths out of the zoo, devices, a NUL, anything.
ODD_NAME = st.one_of(
    st.text(st.sampled_from("ab_."), min_size=256, max_size=3000),
    st.integers(1, 12).map(lambda n: "../" * n + "etc/passwd"),
    st.sampled_from(("/etc/passwd", "/dev/zero", "/dev/stdin", "/proc/self/mem", "a\x00b",
                     ".", "..", "", "/", "x/../..", "zoo:resnet18")),
    st.text(min_size=1, max_size=20),
)


def literal(text: str) -> str:
    """`text` as a string literal of the language."""
    out = []
    for ch in text:
        if ch in '"\\':
            out.append("\\" + ch)
        elif not ch.isprintable() or ch in "\u2028\u2029":
            out.append(f"\\U{ord(ch):08x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


FILE_ERROR = re.compile(r"^(?:.+: |archdsl: )error: \S")

# ============================================================================ the tests

QUICK = settings(max_examples=250, deadline=None, derandomize=True, database=None,
                 suppress_health_check=list(HealthCheck),
                 phases=(Phase.explicit, Phase.generate, Phase.shrink))


@QUICK
@given(case=mutated_case())
def test_mutated_files_get_a_located_error_or_pass(sandbox, case):
    rel, data, check = case
    with sandbox.case(rel, data):
        code, out, err = run_check([sandbox.path(r) for r in check])
    text = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
    assert_clean(code, out, err, {sandbox.path(rel): text})


@settings(QUICK, max_examples=100)
@given(text=program())
def test_generated_programs_parse_and_check_cleanly(sandbox, text):
    syntax.parse(text, "generated.arch")  # the generator writes only the grammar's language
    path = sandbox.root / "generated.arch"
    path.write_text(text, encoding="utf-8")
    code, out, err = run_check([path])
    assert_clean(code, out, err, {str(path): text})


@settings(QUICK, max_examples=100)
@given(text=program(), cut=st.data())
def test_generated_programs_mutated(sandbox, text, cut):
    """Generated programs, then mutated: reach statement forms the zoo does not use."""
    for _ in range(cut.draw(st.integers(1, 3))):
        text = cut.draw(st.one_of(char_mutation(text), token_mutation(text)))
    path = sandbox.root / "generated.arch"
    path.write_text(text, encoding="utf-8")
    code, out, err = run_check([path])
    assert_clean(code, out, err, {str(path): text})


@settings(QUICK, max_examples=25)
@given(text=runaway_program())
def test_runaway_work_stops_with_a_located_error(sandbox, text):
    path = sandbox.root / "runaway.arch"
    path.write_text(text, encoding="utf-8")
    code, out, err = run_check([path])
    assert_clean(code, out, err, {str(path): text})


ZOO_ONLY = [r for r in CORPUS if r.startswith("zoo/") and DEPENDENTS.get(r)]


@settings(QUICK, max_examples=4)
@given(case=mutated_case(ZOO_ONLY))
def test_mutated_files_as_a_subprocess(sandbox, case):
    """The real command line agrees with the in-process run, character for character."""
    rel, data, check = case
    paths = [sandbox.path(r) for r in check]
    with sandbox.case(rel, data, patch_stdlib=False):
        code, out, err = run_check(paths)
        env = dict(os.environ, PYTHONPATH=str(ROOT))
        proc = subprocess.run([sys.executable, "-m", "archdsl", "check", "--max-nodes",
                               str(FUZZ_MAX_NODES), *paths], capture_output=True, text=True,
                              env=env, timeout=120)
    # the mutated text, as the run read it (the sandbox holds the original again by now)
    text = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
    assert_clean(proc.returncode, proc.stdout, proc.stderr, {sandbox.path(rel): text})
    assert (proc.returncode, proc.stdout, proc.stderr) == (code, out, err)


def test_the_corpus_checks_cleanly_before_mutation(sandbox):
    """The mutations start from valid files: the sandbox's copy of every shipped file checks."""
    assert len([r for r in CORPUS if r.startswith("zoo/")]) >= 20
    assert DEPENDENTS["zoo/resnet.arch"] and DEPENDENTS["archdsl/stdlib/resnet_blocks.arch"]
    with sandbox.case(CORPUS[0], ORIGINAL[CORPUS[0]]):
        code, out, err = run_check([sandbox.path(r) for r in CORPUS], max_nodes=10**6)
    assert (code, err) == (0, ""), err
    assert len(out.splitlines()) == len(CORPUS)


@settings(QUICK, max_examples=80)
@given(name=ODD_NAME, how=st.sampled_from(("use", "use zoo", "argument", "zoo argument")))
def test_odd_file_names_get_a_clean_error(sandbox, name, how):
    """A file named on the command line or by `use`, plain or as zoo:NAME: exit 0, or one
    clean error (located at the `use`, or naming the file), never an exception."""
    if how.startswith("use"):
        target = ("zoo:" + name) if how == "use zoo" else name + ".arch"
        text = f"use {literal(target)}\nnetwork m {{\n  input [3, 8, 8]\n  relu\n}}\n"
        path = sandbox.root / "names.arch"
        path.write_text(text, encoding="utf-8")
        code, out, err = run_check([path])
        assert_clean(code, out, err, {str(path): text})
        return
    code, out, err = run_check([("zoo:" + name) if how == "zoo argument" else name + ".arch"])
    assert code in (0, 1) and "Traceback" not in err, err
    if code == 1:
        lines = [l for l in err.splitlines() if not l.startswith("  ")]
        assert len(lines) == 1 and FILE_ERROR.match(lines[0]), err
        assert "\x00" not in err and len(err) < 2000, err



# ============================================================================ arguments
# Issue 16, items 6 and 8: what a user types as a command's arguments, or passes to the
# Python API, gets the same contract as a file: a result, or one clean error.

ARG_TEXT = st.one_of(
    st.sampled_from(("nan", "inf", "-inf", "1e400", "-1", "0", "-0", "1", "3", "0.5", "1e-400",
                     "99999999999999999999999", "2**64", "", " ", "=", "=3", "1=3", "a b=3",
                     "true=3", "in=1", "x=1", "a=", "a=1 +", "a=[0]*1000000", "cpu:1", "cuda:9",
                     "meta", "tpu", "-", "--", "-D", "0x10", "1_000", "1,000", "١")),
    st.integers(-2 ** 70, 2 ** 70).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.text(max_size=12),
)


def run_cli(argv) -> tuple:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        try:
            code = main([str(a) for a in argv])
        except SystemExit as e:  # argparse
            code = e.code
    return code, out.getvalue(), err.getvalue()


@settings(QUICK, max_examples=150)
@given(value=ARG_TEXT, where=st.sampled_from(("summary --depth", "check --max-nodes",
                                               "eval -D", "render --depth", "summary --input",
                                               "summary --network", "eval EXPR")))
def test_command_arguments_get_one_clean_error(sandbox, value, where):
    tiny = sandbox.root / "tiny.arch"
    tiny.write_text("network tiny {\n  input [3, 8, 8]\n  conv(4); relu; gap; flatten; fc(2)\n}\n")
    argv = {"summary --depth": ["summary", tiny, "--depth", value],
            "check --max-nodes": ["check", "--max-nodes", value, tiny],
            "eval -D": ["eval", "1", "-D", value],
            "render --depth": ["render", tiny, "-o", "-", "--depth", value],
            "summary --input": ["summary", tiny, "--input", value],
            "summary --network": ["summary", tiny, "--network", value],
            "eval EXPR": ["eval", "--", value]}[where]
    code, out, err = run_cli(argv)
    assert code in (0, 1) and "Traceback" not in err, err
    if code == 1:
        errors = [line for line in err.splitlines() if "error:" in line]
        assert len(errors) == 1 and len(err) < 4000, err


@settings(QUICK, max_examples=100)
@given(memory=ARG_TEXT, seed=ARG_TEXT, params=ARG_TEXT)
def test_compile_limits_parse_to_a_limit_or_one_error(memory, seed, params):
    """compile's --max-memory, --seed and --max-params as argparse reads them (the run needs
    torch; what matters is that no value reaches it that turns a limit off or overflows)."""
    from archdsl.cli import build_parser
    err = io.StringIO()
    with redirect_stderr(err):
        try:
            args = build_parser().parse_args(["compile", "f.arch", "--max-memory", memory,
                                              "--seed", seed, "--max-params", params])
        except SystemExit as e:
            assert e.code == 1 and "error:" in err.getvalue()
            return
    assert isinstance(args.max_memory, int) and 0 < args.max_memory < 2 ** 63
    assert isinstance(args.seed, int) and 0 <= args.seed < 2 ** 64
    assert isinstance(args.max_params, int) and args.max_params >= 0


PY_VALUE = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-2 ** 70, 2 ** 70), st.floats(),
              st.text(max_size=5), st.binary(max_size=5)),
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.tuples(inner, inner, inner)),
    max_leaves=6)


@settings(QUICK, max_examples=150)
@given(shape=PY_VALUE, nodes=PY_VALUE, width=PY_VALUE, text=st.one_of(
    st.just("network t(w=4) {\n  input [3, 8, 8]\n  conv(w); relu\n}\n"), PY_VALUE))
def test_load_arguments_give_a_network_or_an_arch_error(shape, nodes, width, text):
    import archdsl
    from archdsl.errors import ArchError
    try:
        n = archdsl.load(text=text, input_shape=shape, max_nodes=nodes, w=width)
    except ArchError as e:
        assert e.message and len(e.message) < 4000
        return
    assert all(isinstance(v, int) and 0 <= v < 2 ** 63 for v in n.totals().values())

"""Robustness: bad input of every kind gets one clear error, nothing crashes, nothing is lost.

One test (or one parameter) per guard: the node limit, the recursion limit, the work budget,
deep nesting, the parameter limit of the torch backend; no code execution; numeric overflow;
atomic writers and --force; every command-line error path; --help for every command.
"""
from __future__ import annotations

import ast
import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

import archdsl
from archdsl import files
from archdsl.cli import build_parser
from archdsl.elaborate import MAX_CALL_DEPTH, Elaborator
from archdsl.errors import ArchError

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "archdsl"
LOCATED = re.compile(r"^.+:\d+:\d+: error: \S")
TINY = "network tiny {\n  input [3, 8, 8]\n  conv(4, k=3, p=1); relu; gap; flatten; fc(2)\n}\n"


def write(tmp_path: Path, name: str, text: str) -> Path:
    p = tmp_path / name
    p.write_text(textwrap.dedent(text) if text.startswith("\n") else text, encoding="utf-8")
    return p


def net(body: str) -> str:
    return "network m {\n  input [3, 8, 8]\n  " + body + "\n}\n"


def one_error(code, err: str) -> str:
    """Exit 1 and exactly one error message (argparse's usage line aside); returns it."""
    assert code == 1, err
    assert "Traceback" not in err, err
    errors = [line for line in err.splitlines() if "error:" in line]
    assert len(errors) == 1, err
    return errors[0]


def subprocess_check(*paths, timeout=300):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-m", "archdsl", "check", *map(str, paths)],
                          capture_output=True, text=True, env=env, timeout=timeout)

# =============================================================================== guards


def test_node_limit_default_is_a_million_and_load_takes_max_nodes():
    assert Elaborator().max_nodes == 1_000_000  # the figure of the issue
    with pytest.raises(ArchError, match=r"more than 10 ops.*--max-nodes"):
        archdsl.load(text=net("relu x 11"), max_nodes=10)
    assert archdsl.load(text=net("relu x 9"), max_nodes=10).graph.number_of_nodes() == 10


def test_node_limit_stops_before_creating_more_nodes():
    """`relu x 1000000` under a limit of 100: the error comes at node 101, in milliseconds."""
    from archdsl.loader import Loader
    from archdsl.network import choose_network
    from archdsl.values import DefValue
    scope = Loader().load_text(net("relu x 1000000"), "m.arch")
    defn, where = choose_network(scope, None)
    elab = Elaborator(max_nodes=100)
    started = time.perf_counter()
    with pytest.raises(ArchError, match="more than 100 ops"):
        elab.network(DefValue(defn, where), defn.span)
    assert elab.graph.number_of_nodes() == 100
    assert time.perf_counter() - started < 10


@pytest.mark.parametrize("command", ["check", "summary", "render", "compile"])
def test_max_nodes_flag(run_cli, tmp_path, command):
    f = write(tmp_path, "m.arch", net("conv(4) x 3; relu x 3"))
    argv = [command, "--max-nodes", "5", f]
    if command == "render":
        argv += ["-o", tmp_path / "m.dot"]
    code, out, err = run_cli(*argv)
    msg = one_error(code, err)
    assert LOCATED.match(msg) and "more than 5 ops" in msg and "--max-nodes" in msg
    assert not (tmp_path / "m.dot").exists()
    code, out, err = run_cli(command, "--max-nodes", "0", f)
    assert "--max-nodes: expected a positive integer" in one_error(code, err)


@pytest.mark.parametrize("text, chain", [
    ("block r(n) { relu; r(n + 1) }\nnetwork m { input [3, 8, 8]; r(0) }\n", "r"),
    ("block a() { relu; b }\nblock b() { a }\nnetwork m { input [3, 8, 8]; a }\n", "a"),
    # recursion through a block passed as a value
    ("block b(f) { relu; f(f) }\nnetwork m { input [3, 8, 8]; b(b) }\n", "b"),
    ("block b(f) { relu; f(f) }\nnetwork m(u=b) { input [3, 8, 8]; u(u) }\n", "b"),
])
def test_recursion_limit(run_cli, tmp_path, text, chain):
    f = write(tmp_path, "m.arch", text)
    code, out, err = run_cli("check", f)
    msg = one_error(code, err)
    assert f"more than {MAX_CALL_DEPTH} nested block calls" in msg and LOCATED.match(msg)
    assert f"note: in call of '{chain}'" in err
    assert "more calls ..." in err  # the 200 call sites are elided, not all printed
    assert len(err.splitlines()) < 40


@pytest.mark.parametrize("body", [
    "{ {} x 1000000 } x 1000000",  # loops that add no op
    "for i in range(1000000) { for j in range(1000000) { } }",
    "for i in range(1000000) { let a = sum(range(1000000)) }",  # work inside expressions
    "parallel add { for i in range(1000000) { for j in range(1000000) { } } }",
])
def test_work_budget_stops_loops_that_add_no_ops(run_cli, tmp_path, body):
    f = write(tmp_path, "m.arch", net(body))
    started = time.perf_counter()
    code, out, err = run_cli("check", "--max-nodes", "1000", f)
    msg = one_error(code, err)
    assert "a loop runs too long" in msg and "--max-nodes" in msg and LOCATED.match(msg)
    assert time.perf_counter() - started < 30


@pytest.mark.parametrize("text, message", [
    ("block r(l) { relu; r(l + l) }\nnetwork m { input [3, 8, 8]; r([1]) }\n", "list too large"),
    ('block r(s) { relu; r(s + s) }\nnetwork m { input [3, 8, 8]; r("ab") }\n',
     "string too large"),
    (net("let a = [1] * 10000000"), "list too large"),
    (net("for i in range(10000000) { relu }"), "loop too large"),
    (net("relu x 10000000"), "loop too large"),
])
def test_memory_growth_is_an_error(run_cli, tmp_path, text, message):
    f = write(tmp_path, "m.arch", text)
    code, out, err = run_cli("check", f)
    assert message in one_error(code, err)


# Deep nesting that must simply work: Lark's tree transform used to recurse once per level.
DEEP_OK = {
    "5000 nested groups": net("{ " * 5000 + "relu" + " }" * 5000),
    "2000 nested named groups": net("".join(f"g{i}: {{ " for i in range(2000)) + "relu"
                                    + " }" * 2000),
    "5000 nested parentheses": net("let a = " + "(" * 5000 + "1" + ")" * 5000),
    "a sum of 20000 terms": net("let a = " + " + ".join(["1"] * 20000)),
    "20000 terms of and/or": net("let a = " + " and ".join(["true"] * 10000) + " or "
                                 + " or ".join(["false"] * 10000)),
    "2000 nested lists": net("let a = " + "[" * 2000 + "1" + "]" * 2000),
    "2000 nested not": net("let a = " + "not " * 2000 + "true"),
    "2000 unary minus": net("let a = " + "-" * 2000 + "1"),
    "1000 else-ifs": net("if false { relu }" + " else if false { relu }" * 1000
                         + " else { tanh }"),
    "1000 nested residuals": net("residual { " * 1000 + "relu" + " }" * 1000),
}


@pytest.mark.parametrize("name", list(DEEP_OK))
def test_deep_nesting_works(run_cli, tmp_path, name):
    f = write(tmp_path, "m.arch", DEEP_OK[name])
    code, out, err = run_cli("check", f)
    assert (code, err) == (0, ""), err


def test_nesting_past_the_limit_is_a_located_error_not_a_crash(tmp_path):
    """Far deeper than any network: a clear error, in a real process (a C-stack overflow
    would kill it with a signal, which a test in this process could not report)."""
    n = 20000
    cases = {
        "groups.arch": (net("{ " * n + "relu" + " }" * n), "nesting too deep"),
        "minus.arch": (net("let a = " + "-" * n + "1"), "expression nested too deeply"),
        "lists.arch": (net("conv(" + "[" * n + "1" + "]" * n + ")"),
                       "expression nested too deeply"),
    }
    paths = [write(tmp_path, name, text) for name, (text, _) in cases.items()]
    proc = subprocess_check(*paths)
    assert proc.returncode == 1, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
    firsts = [line for line in proc.stderr.splitlines() if ": error: " in line]
    assert len(firsts) == len(cases)
    for line, (name, (_, message)) in zip(firsts, cases.items()):
        assert LOCATED.match(line) and name in line and message in line, line


def test_torch_backend_refuses_too_many_parameters_before_allocating(run_cli, tmp_path):
    """fc(20000) on a 3x224x224 image: 3.0e9 parameters (12 GB). The default limit (2^31)
    refuses it at once; allocating first would take minutes or run out of memory."""
    pytest.importorskip("torch")
    big = archdsl.load(text="network big {\n  input [3, 224, 224]\n  flatten; fc(20000)\n}\n")
    started = time.perf_counter()
    with pytest.raises(ArchError) as e:
        big.to_torch()
    assert time.perf_counter() - started < 5
    assert "3,010,580,000 parameters" in e.value.message  # 150528 * 20000 + 20000
    assert f"{2 ** 31:,}" in e.value.message and "--max-params" in e.value.message
    f = write(tmp_path, "tiny.arch", TINY)
    code, out, err = run_cli("compile", f, "--max-params", "100")
    msg = one_error(code, err)
    assert "122 parameters" in msg and "--max-params" in msg  # 4*3*9+4 + 4*2+2

# =============================================================================== no code execution


def test_use_reads_only_arch_files(run_cli, tmp_path):
    marker = tmp_path / "executed"
    evil = f"open({str(marker)!r}, 'w').write('x')\n"
    write(tmp_path, "evil.py", evil)
    write(tmp_path, "evil", evil)
    for target in ("evil.py", "evil", "evil.py.txt", "../evil.py"):
        f = write(tmp_path, "m.arch", f'use "{target}"\n' + net("relu"))
        code, out, err = run_cli("check", f)
        msg = one_error(code, err)
        assert "use reads only .arch files" in msg and LOCATED.match(msg), msg
    assert not marker.exists()


def test_python_in_a_file_or_an_expression_is_never_run(run_cli, tmp_path):
    marker = tmp_path / "executed"
    payload = f"__import__('os').system('touch {marker}')"
    f = write(tmp_path, "m.arch", payload + "\n")
    code, out, err = run_cli("check", f)
    assert LOCATED.match(one_error(code, err))
    code, out, err = run_cli("eval", payload.replace("'", '"'))
    assert "invalid expression" in one_error(code, err)  # no attribute access in the language
    code, out, err = run_cli("eval", '__import__("os")')
    assert "unknown name '__import__'" in one_error(code, err)
    f = write(tmp_path, "t.arch", net('"x{__import__}": relu'))
    code, out, err = run_cli("check", f)
    assert "unknown name '__import__'" in one_error(code, err)
    assert not marker.exists()


def test_the_language_path_has_no_eval_exec_or_pickle():
    """The modules that read user input never hand it to Python's eval/exec/pickle."""
    pattern = re.compile(r"(?<!def )(?<![.\w])(eval|exec|compile)\(|__import__|\bpickle\b"
                         r"|\bmarshal\b|\bruntime_checkable\b")
    for name in ("syntax", "elaborate", "loader", "ops", "values", "solve", "analysis",
                 "network", "errors"):
        text = (PACKAGE / f"{name}.py").read_text()
        assert not pattern.search(text), (name, pattern.search(text))

# =============================================================================== numbers


@pytest.mark.parametrize("expr, message", [
    ("1e308 * 10", "not a finite number"),
    ("(1e308 * 10) * 0", "not a finite number"),  # inf * 0 (NaN) never comes to be
    ("(1e308 * 10) - (1e308 * 10)", "not a finite number"),
    ("sum([1e308, 1e308])", "not a finite number"),
    ("2.0 ** 2000", "overflow"),
    ("10 ** 1000", "overflow"),
    ("9223372036854775807 + 1", "exceeds 2^63"),
    ("-9223372036854775807 - 2", "exceeds 2^63"),
    ("int(1e300)", "exceeds 2^63"),
    ("ceil(1e308)", "exceeds 2^63"),
    ("1e400", "out of range"),
    ("99999999999999999999", "out of range"),
    ("9" * 5000, "out of range"),  # past Python's int-string limit
    ("1e999999999999G", "out of range"),
    ("sqrt(-1)", "sqrt of a negative number"),
    ("(-8) ** 0.5", "negative number to a fractional power"),
    ("0 ** -1", "division by zero"),
    ("1 / 0", "division by zero"),
    ("1 % 0", "division by zero"),
    ("1.0 // 0.0", "division by zero"),
    ("round(1.5, 0.5)", "must be an integer"),
    ('"\\q"', "unknown escape"),
    ('"\\ud800"', "is not a character"),
])
def test_numeric_overflow_nan_and_infinity_are_user_errors(run_cli, expr, message):
    code, out, err = run_cli("eval", expr)
    msg = one_error(code, err)
    assert message in msg and LOCATED.match(msg), msg


def test_overflow_in_a_file_is_located_at_the_expression(run_cli, tmp_path):
    f = write(tmp_path, "m.arch", net("let w = 64\n  conv(w * 10 ** 30)"))
    code, out, err = run_cli("check", f)
    assert one_error(code, err).startswith(f"{f}:4:")

# =============================================================================== files


def _listing(d: Path) -> list:
    return sorted(p.name for p in d.iterdir())


def test_atomic_write_interrupted_inside_the_writer_leaves_no_file(tmp_path):
    target = tmp_path / "out.bin"

    def writer(tmp):
        Path(tmp).write_bytes(b"half of it")
        raise RuntimeError("disk on fire")
    with pytest.raises(RuntimeError):
        files.atomic_write(target, writer)
    assert _listing(tmp_path) == []  # neither the file nor the temporary one


def test_atomic_write_interrupted_keeps_the_old_file(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("old")

    def writer(tmp):
        Path(tmp).write_text("new, but only half")
        raise KeyboardInterrupt
    with pytest.raises(KeyboardInterrupt):
        files.atomic_write(target, writer, force=True)
    assert target.read_text() == "old" and _listing(tmp_path) == ["out.txt"]
    files.atomic_write(target, "new", force=True)
    assert target.read_text() == "new" and _listing(tmp_path) == ["out.txt"]


def test_atomic_write_refuses_to_overwrite_without_force(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("old")
    with pytest.raises(ArchError, match="exists; pass --force"):
        files.atomic_write(target, "new")
    assert target.read_text() == "old"
    with pytest.raises(ArchError, match="does not exist"):
        files.atomic_write(tmp_path / "no" / "such" / "dir.txt", "x")


def test_atomic_write_killed_mid_write_leaves_no_target(tmp_path):
    """SIGKILL while the writer runs: the target never appears (only a hidden temporary file
    stays behind, which nothing reads)."""
    target = tmp_path / "out.txt"
    started = tmp_path / "started"
    code = textwrap.dedent(f"""
        import time
        from pathlib import Path
        from archdsl.files import atomic_write
        def writer(tmp):
            Path(tmp).write_text("partial")
            Path({str(started)!r}).write_text("")
            time.sleep(60)
        atomic_write({str(target)!r}, writer)
    """)
    proc = subprocess.Popen([sys.executable, "-c", code],
                            env=dict(os.environ, PYTHONPATH=str(ROOT)))
    try:
        deadline = time.time() + 60
        while not started.exists() and time.time() < deadline:
            time.sleep(0.05)
        assert started.exists()
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert not target.exists()
    assert all(n.startswith(".out.txt.") or n == "started" for n in _listing(tmp_path))


def test_every_writer_in_the_package_goes_through_atomic_write():
    """A static check: each call that writes a file (write_text, write_bytes, open(..., 'w'),
    savefig, torch.save, .save, nx.write_*) sits inside an atomic_write(...) call, or in a
    function that is handed to atomic_write as the writer."""
    writes, handed = [], set()
    for path in PACKAGE.rglob("*.py"):
        if path.name == "files.py":
            continue
        tree = ast.parse(path.read_text(), str(path))
        parents = {}
        for node in ast.walk(tree):
            for child in ast.iter_child_nodes(node):
                parents[child] = node
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            fn = node.func
            name = fn.attr if isinstance(fn, ast.Attribute) else getattr(fn, "id", "")
            if name == "atomic_write":
                for arg in ast.walk(node):
                    if isinstance(arg, ast.Name):
                        handed.add(arg.id)
                    elif isinstance(arg, ast.Attribute):
                        handed.add(arg.attr)
                continue
            writing = name in ("write_text", "write_bytes", "savefig", "save", "to_csv") \
                or name.startswith("write_graph") or (name == "open" and any(
                    isinstance(a, ast.Constant) and isinstance(a.value, str)
                    and set(a.value) & set("wax") for a in node.args[1:] + [
                        k.value for k in node.keywords if k.arg == "mode"]))
            if not writing:
                continue
            up, inside, func = node, False, None
            while up in parents:
                up = parents[up]
                if isinstance(up, ast.Call) and getattr(up.func, "id", "") == "atomic_write":
                    inside = True
                if isinstance(up, (ast.FunctionDef, ast.AsyncFunctionDef)) and func is None:
                    func = up
            # writing into an io.BytesIO/StringIO made in the same function is not a file
            memory = {t.id for a in ast.walk(func) if isinstance(a, ast.Assign)
                      and isinstance(a.value, ast.Call)
                      and getattr(a.value.func, "attr", getattr(a.value.func, "id", ""))
                      in ("BytesIO", "StringIO")
                      for t in a.targets if isinstance(t, ast.Name)} if func else set()
            if any(isinstance(a, ast.Name) and a.id in memory for a in node.args):
                continue
            func = func.name if func else None
            if not inside:
                writes.append((path.relative_to(ROOT).as_posix(), node.lineno, name, func))
    unsafe = [w for w in writes if w[3] not in handed]
    assert not unsafe, f"writes outside atomic_write: {unsafe}"


@pytest.fixture
def tiny(tmp_path):
    return write(tmp_path, "tiny.arch", TINY)


@pytest.mark.parametrize("command, suffix", [("compile", ".py"), ("render", ".dot")])
def test_output_is_never_overwritten_without_force(run_cli, tmp_path, tiny, command, suffix):
    if command == "compile":
        pytest.importorskip("torch")
    out = tmp_path / f"out{suffix}"
    out.write_text("precious")
    code, stdout, err = run_cli(command, tiny, "-o", out)
    msg = one_error(code, err)
    assert "exists; pass --force to overwrite it" in msg
    assert out.read_text() == "precious"
    code, stdout, err = run_cli(command, tiny, "-o", out, "--force")
    assert (code, err) == (0, ""), err
    assert out.read_text() != "precious" and "tiny" in out.read_text()
    assert _listing(tmp_path) == ["out" + suffix, "tiny.arch"]


@pytest.mark.parametrize("command, suffix", [("compile", ".py"), ("compile", ".pt"),
                                             ("render", ".dot"), ("render", ".json")])
def test_an_interrupted_write_leaves_no_file(run_cli, tmp_path, tiny, monkeypatch, command,
                                             suffix):
    """Ctrl-C at the last moment (the rename): exit 130, no output, no temporary file."""
    if command == "compile":
        pytest.importorskip("torch")

    def interrupted(src, dst):
        raise KeyboardInterrupt
    monkeypatch.setattr(files.os, "replace", interrupted)
    out = tmp_path / f"out{suffix}"
    code, stdout, err = run_cli(command, tiny, "-o", out)
    assert code == 130 and "interrupted" in err and "Traceback" not in err
    assert _listing(tmp_path) == ["tiny.arch"]

# =============================================================================== the command line


def _cli_cases(tmp_path):
    write(tmp_path, "tiny.arch", TINY)
    write(tmp_path, "two.arch", "network a { input [3, 8, 8]; relu }\n"
                                "network b { input [3, 8, 8]; relu }\n")
    write(tmp_path, "blocks.arch", "block b() { relu }\n")
    write(tmp_path, "bad.arch", net("conv(4, k=3 p=1)"))
    (tmp_path / "latin.arch").write_bytes(b"network m { input [3, 8, 8] } # \xe9\n")
    (tmp_path / "dir.arch").mkdir()
    (tmp_path / "exists.py").write_text("")
    (tmp_path / "exists.dot").write_text("")
    return [
        # (argv, fragment of the one error message)
        ([], "the following arguments are required: COMMAND"),
        (["nope"], "invalid choice: 'nope'"),
        (["check"], "the following arguments are required: FILE"),
        (["check", "missing.arch"], "missing.arch: error: no such file"),
        (["check", "dir.arch"], "is a directory"),
        (["check", "latin.arch"], "latin.arch:1:33: error: not UTF-8 text (byte 0xe9)"),
        (["check", "bad.arch"], "bad.arch:3:15: error: unexpected"),
        (["check", "zoo:nope"], "the zoo has no network 'nope'"),
        (["check", "--max-nodes", "many", "tiny.arch"], "expected a positive integer"),
        (["summary", "two.arch"], "defines several networks (a, b); choose one with --network"),
        (["summary", "blocks.arch"], "defines no network"),
        (["summary", "tiny.arch", "--network", "nope"], "no network named 'nope'"),
        (["summary", "tiny.arch", "--input", "3,0,8"], "expected C,H,W of positive integers"),
        (["summary", "tiny.arch", "--input", "abc"], "expected C,H,W"),
        (["summary", "tiny.arch", "--input", "5"], "conv needs a [C, H, W] input"),
        (["summary", "tiny.arch", "--depth", "x"], "invalid int value"),
        (["summary", "tiny.arch", "--bogus"], "unrecognized arguments: --bogus"),
        (["eval", "1 +"], "invalid expression"),
        (["eval", "x", "-D", "y"], "expected NAME=VALUE"),
        (["eval", "a", "-D", "a=1 +"], "invalid expression"),
        (["eval", "a", "--file", "missing.arch"], "no such file"),
        (["compile", "tiny.arch", "-o", "exists.py"], "exists; pass --force"),
        (["compile", "tiny.arch", "-o", "out.txt"], "the suffix must be one of"),
        (["compile", "tiny.arch", "--device", "tpu"], "expected cpu or cuda"),
        (["compile", "tiny.arch", "--dtype", "int8"], "invalid choice: 'int8'"),
        (["compile", "tiny.arch", "--batch", "0"], "--batch must be positive"),
        (["compile", "tiny.arch", "--max-params", "10"], "more than the limit of 10"),
        (["render", "tiny.arch", "-o", "exists.dot"], "exists; pass --force"),
        (["render", "tiny.arch", "-o", "out.xyz"], "cannot tell the format"),
        (["render", "tiny.arch", "-o", "out.dot", "--scope", "nope"], "no scope named 'nope'"),
        (["zoo", "--json", "--markdown"], "not allowed with argument --json"),
        (["search", "missing.arch"], "no such file"),
        (["search", "tiny.arch"], "defines no space"),
    ]


def test_every_error_path_exits_1_with_one_clear_message(run_cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    commands = set(build_parser()._subparsers._group_actions[0].choices)
    seen = set()
    for argv, fragment in _cli_cases(tmp_path):
        if argv and argv[0] in ("compile",):
            pytest.importorskip("torch")
        if argv and argv[0] not in commands and argv[0] != "nope":
            continue  # a command another part of the project has not landed yet
        code, out, err = run_cli(*argv)
        assert code == 1, argv
        msg = one_error(code, err)
        assert fragment in msg, (argv, err)
        seen.add(argv[0] if argv else "")
    assert {"check", "summary", "eval", "compile"} <= seen
    assert not list(tmp_path.glob("out.*")) and not list(tmp_path.glob(".*.tmp"))


def _commands():
    sub = build_parser()._subparsers._group_actions[0]
    return sorted(sub.choices.items())


@pytest.mark.parametrize("name", [n for n, _ in _commands()])
def test_help_for_every_command(run_cli, name):
    parser = dict(_commands())[name]
    code, out, err = run_cli(name, "--help")
    assert code == 0 and err == ""
    assert out.startswith(f"usage: archdsl {name}")
    assert parser.description and len(parser.description) > 20, name
    # argparse re-wraps the description: compare its words
    assert " ".join(parser.description.split()[:6]) in " ".join(out.split())
    for action in parser._actions:
        if action.option_strings and action.help not in (None, "==SUPPRESS=="):
            assert action.option_strings[-1] in out


def test_top_level_help_lists_every_command(run_cli):
    code, out, err = run_cli("--help")
    assert code == 0 and out.startswith("usage: archdsl")
    for name, _ in _commands():
        assert re.search(rf"^\s+{name}\s+\S", out, re.M), name
    code, out, err = run_cli("--version")
    assert code == 0 and re.match(r"\d+\.\d+", out)

# =============================================================================== search faults

SEARCH_SPACE = """
use "{vgg}"
space tiny(budget=100M) {{
  param w in [4, 8]
  param d in [1, 2]
  require flops <= budget
  network vgg_net([w, 2 * w], [d, 1], 2, size=8)
}}
"""


@pytest.fixture
def space_file(tmp_path):
    pytest.importorskip("optuna")
    return write(tmp_path, "tiny.arch", SEARCH_SPACE.format(vgg=ROOT / "search" / "vgg.arch"))


def _trials(out: Path):
    import optuna
    from archdsl.search.study import make_storage
    storage = make_storage(f"sqlite:///{(out / 'study.db').resolve()}")
    return optuna.load_study(study_name="tiny", storage=storage).get_trials(deepcopy=False)


def test_search_worker_killed_mid_trial_storage_stays_consistent_and_resumes(
        tmp_path, space_file, monkeypatch):
    """SIGKILL a search while a trial trains: the storage still opens, the trial is left
    RUNNING; the next run (same --out) marks it FAIL once its heartbeat is stale, and goes on."""
    pytest.importorskip("torch")
    import optuna
    from archdsl.search import study as study_mod
    out = tmp_path / "out"
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    # a trial that trains for minutes: 1,000 epochs on a few digits
    proc = subprocess.Popen([sys.executable, "-m", "archdsl", "search", str(space_file),
                             "--objective", "accuracy", "--trials", "3", "--epochs", "1000",
                             "--train-limit", "64", "--out", str(out), "--seed", "0",
                             "--quiet"], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    try:
        deadline = time.time() + 240
        running = []
        while time.time() < deadline and proc.poll() is None:
            time.sleep(0.5)
            if (out / "study.db").exists():
                try:
                    running = [t for t in _trials(out) if t.state.name == "RUNNING"]
                except Exception:  # the database is being created
                    continue
                if running:
                    break
        assert running, proc.stderr.read().decode() if proc.poll() is not None else "timeout"
        time.sleep(1.0)  # well inside the trial's training
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
    killed = running[0].number
    before = _trials(out)  # consistent: it opens, and the trial is still RUNNING
    assert [t.state.name for t in before if t.number == killed] == ["RUNNING"]

    # Resume in-process, with short heartbeats so the test need not wait a minute, and a
    # training that returns at once.
    import archdsl.search.train as train_mod
    from archdsl.search.objectives import Evaluator
    monkeypatch.setattr(study_mod, "HEARTBEAT", 1)
    monkeypatch.setattr(study_mod, "GRACE", 2)
    monkeypatch.setattr(train_mod, "train", lambda graph, data, settings, trial=None: (0.5, {}))
    monkeypatch.setattr(Evaluator, "data", lambda self, shape, classes: None)
    time.sleep(2.5)
    from archdsl.search.study import SearchConfig, run_search
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    result = run_search(SearchConfig(str(space_file), out=str(out), trials=2, seed=0,
                                     objective="accuracy", progress=False))
    after = {t.number: t for _, s in result.studies for t in s.get_trials(deepcopy=False)}
    assert after[killed].state.name == "FAIL"
    assert sum(t.state.name == "COMPLETE" for t in after.values()) >= 2
    assert not [t for t in after.values() if t.state.name == "RUNNING"]
    assert (out / "trials.csv").exists()


def test_search_trial_that_raises_is_recorded_failed_and_the_study_goes_on(
        tmp_path, space_file, monkeypatch):
    import archdsl.search.train as train_mod
    from archdsl.search.objectives import Evaluator
    from archdsl.search.study import SearchConfig, run_search
    calls = []

    def train(graph, data, settings, trial=None):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return 0.5, {}
    monkeypatch.setattr(train_mod, "train", train)
    monkeypatch.setattr(Evaluator, "data", lambda self, shape, classes: None)
    result = run_search(SearchConfig(str(space_file), out=str(tmp_path / "out"), trials=4,
                                     seed=0, objective="accuracy", progress=False))
    trials = [t for _, s in result.studies for t in s.get_trials(deepcopy=False)]
    failed = [t for t in trials if t.state.name == "FAIL"]
    assert len(trials) == 4 and len(failed) == 1 and len(calls) == 4
    recorded = " ".join(map(str, list(failed[0].user_attrs.values())
                            + list(failed[0].system_attrs.values())))
    assert "out of memory" in recorded


def test_search_out_is_reused_only_by_the_same_study(run_cli, tmp_path, space_file):
    out = tmp_path / "out"
    argv = ["search", space_file, "--trials", "2", "--out", out, "--quiet", "--seed", "0"]
    assert run_cli(*argv)[0] == 0
    assert run_cli(*argv)[0] == 0  # the same study: resumes
    assert len(_trials(out)) == 4
    code, stdout, err = run_cli(*argv, "--study", "other")
    assert "holds the results of another search" in one_error(code, err)
    assert "--force" in err
    code, stdout, err = run_cli(*argv, "--study", "other", "--force")
    assert code == 0, err

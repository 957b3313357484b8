"""The guards that stop runaway input with one located error: the node limit, the recursion
limit, the shared work budget, loops and values too large, nesting deep and deeper, and the
parameter limit of the torch backend (refused before anything is allocated)."""
from __future__ import annotations

import pytest

import archdsl
from archdsl.elaborate import MAX_CALL_DEPTH, Elaborator
from archdsl.errors import ArchError
from helpers import LOCATED, TINY, net, one_error, subprocess_check, write


def test_node_limit_default_is_a_million_and_load_takes_max_nodes():
    assert Elaborator().max_nodes == 1_000_000  # the figure of the issue
    # `x 11` is refused before it starts: the input is 1 of the 10
    with pytest.raises(ArchError, match=r"x 11 adds at least 11 ops, more than the 9 left of "
                                        r"--max-nodes 10"):
        archdsl.load(text=net("relu x 11"), max_nodes=10)
    with pytest.raises(ArchError, match=r"the network has more than 10 ops.*--max-nodes"):
        archdsl.load(text=net("relu; " * 11), max_nodes=10)
    assert archdsl.load(text=net("relu x 9"), max_nodes=10).graph.number_of_nodes() == 10


def test_node_limit_stops_before_creating_more_nodes():
    """A loop whose ops the bound cannot see (they sit in an `if`) under a limit of 100:
    the error comes at node 101. `relu x 1000000` is refused before its first relu (how
    fast: bench/bench_language.py, "guards")."""
    from archdsl.loader import Loader
    from archdsl.network import choose_network
    from archdsl.values import DefValue
    for body, built in (("for i in range(200) { if i >= 0 { relu } }", 100),
                        ("relu x 1000000", 1)):
        scope = Loader().load_text(net(body), "m.arch")
        defn, where = choose_network(scope, None)
        elab = Elaborator(max_nodes=100)
        with pytest.raises(ArchError, match="more than (100 ops|the 99 left)"):
            elab.network(DefValue(defn, where), defn.span)
        assert elab.graph.number_of_nodes() == built


@pytest.mark.parametrize("command", ["check", "summary", "render", "compile"])
def test_max_nodes_flag(run_cli, tmp_path, command):
    f = write(tmp_path, "m.arch", net("conv(4) x 3; relu; relu; relu"))
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
    code, out, err = run_cli("check", "--max-nodes", "1000", f)
    msg = one_error(code, err)
    assert "a loop runs too long" in msg and "--max-nodes" in msg and LOCATED.match(msg)


def test_cost_functions_share_the_work_budget(run_cli, tmp_path):
    """Each flops() elaborates a block of 100 relus on its own graph (101 ops with its
    input): the ops of every cost graph count against the one budget of the elaboration
    (issue 16, item 10), so under --max-nodes 1000 the 10th call's loop is refused before it
    starts, with 1000 - 1 (the network's input) - 9 * 101 - 1 (its own input) = 89 left."""
    body = ("block b(n) { for j in range(100) { relu } }\n"
            + net("for i in range(500) { let a = flops(b(i), in=[3, 8, 8]) }"))
    f = write(tmp_path, "m.arch", body)
    code, out, err = run_cli("check", "--max-nodes", "1000", f)
    msg = one_error(code, err)
    assert "a loop of 100 iterations adds at least 100 ops, more than the 89 left" in msg
    assert LOCATED.match(msg) and "note: in call of 'b'" in err
    f = write(tmp_path, "ok.arch", body.replace("range(500)", "range(9)"))
    assert run_cli("check", "--max-nodes", "1000", f)[0] == 0  # 9 of them fit


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
    with pytest.raises(ArchError) as e:
        big.to_torch()
    assert "3,010,580,000 parameters" in e.value.message  # 150528 * 20000 + 20000
    assert f"{2 ** 31:,}" in e.value.message and "--max-params" in e.value.message
    f = write(tmp_path, "tiny.arch", TINY)
    code, out, err = run_cli("compile", f, "--max-params", "100")
    msg = one_error(code, err)
    assert "122 parameters" in msg and "--max-params" in msg  # 4*3*9+4 + 4*2+2

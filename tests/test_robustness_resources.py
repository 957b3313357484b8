"""Robustness, round two (issue 16), runaway resources, and issue 11's node limit that fails
fast: every reproduction exactly as the issues state it, run as a real command under the fuzz
contract (60 s of CPU, 4 GiB of address space: the kernel stops a regression, the machine is
spared), now gets one clean located error or the right answer.

Item 7 (30,000 chained definitions), 9 (shared structure printed or compared), 10 (cost
functions within the one work budget), 12 (dense connectivity), 13 (what the memory limit
counts); issue 11, item 5 (a repetition too large for the node limit is refused before it
starts).
"""
from __future__ import annotations

import os
import re
import resource
import subprocess
import sys
from pathlib import Path

import pytest

from archdsl.evaluate import EDGES_PER_NODE, STEPS_PER_NODE
from archdsl.values import MAX_ITEMS

ROOT = Path(__file__).resolve().parent.parent
ZOO_VGG = ROOT / "archdsl" / "zoo" / "vgg.arch"
CONTRACT = 60  # seconds: the fuzz contract's bound for one case (of CPU here)
MEMORY_CAP = 4 * 2 ** 30
LOCATED = re.compile(r"^(?P<file>.+?):(?P<line>\d+):(?P<col>\d+): error: (?P<msg>.+)$")


def _contract():
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CAP, MEMORY_CAP))
    resource.setrlimit(resource.RLIMIT_CPU, (CONTRACT, CONTRACT))


def archdsl(*args, cwd=None):
    """`python -m archdsl ARGS` under the contract: (exit code, stdout, stderr). Past 60 s of
    CPU the kernel kills it (a negative exit code); the wall-clock timeout only catches a
    process that sleeps."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.run([sys.executable, "-m", "archdsl", *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, env=env, timeout=20 * CONTRACT,
                          preexec_fn=_contract)
    return proc.returncode, proc.stdout, proc.stderr


def located_error(code, err: str) -> re.Match:
    """Exit 1, no traceback, one error line, located as FILE:LINE:COL (returned)."""
    assert code == 1, (code, err[-3000:])
    assert "Traceback" not in err, err[-3000:]
    errors = [line for line in err.splitlines() if "error:" in line]
    assert len(errors) == 1, err[-3000:]
    m = LOCATED.match(errors[0])
    assert m, errors[0]
    return m


def write(tmp_path: Path, name: str, text: str) -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


def line_col(path: Path, needle: str) -> tuple:
    """(line, column), 1-based, of the first `needle` in a file: where an error must point."""
    for n, line in enumerate(path.read_text().splitlines(), 1):
        if needle in line:
            return n, line.index(needle) + 1
    raise AssertionError(needle)

# ======================================================== issue 11, item 5: the node limit


def test_a_million_convs_of_vgg_are_refused_before_the_loop_starts(tmp_path):
    """`vgg([1, 1, 2, 2, 1000000], batch_norm=true)` took 131 s and 1.3 GB before the node
    limit stopped it. Its fifth stage's loop adds a conv and a relu per iteration at least
    (the bn sits in an `if`): 2,000,000 ops, refused where the loop is written, having built
    the 23 ops of the stages before it (4 stages: 1 + 1 + 2 + 2 convs x 3 ops and a pool
    each, plus the input; 1,000,000 - 23 = 999,977 left). How fast, next to `check
    zoo:vgg11_bn`: bench/bench_guards.py, in the README."""
    f = write(tmp_path, "vgg1m.arch", 'use "zoo:vgg"\n'
              "network vgg11_bn = vgg([1, 1, 2, 2, 1000000], batch_norm=true)\n")
    code, _, err = archdsl("check", f)
    m = located_error(code, err)
    assert (m["file"], int(m["line"]), int(m["col"])) == (
        str(ZOO_VGG), *line_col(ZOO_VGG, "range(depths[s])"))
    assert m["msg"] == ("a loop of 1,000,000 iterations adds at least 2,000,000 ops, more "
                        "than the 999,977 left of --max-nodes 1,000,000; raise it if this is "
                        "intended")


@pytest.mark.parametrize("body, what, col", [
    ("relu x 1000000", "x 1,000,000 adds at least 1,000,000 ops", "1000000"),
    ("{ conv(4); relu } x 600000", "x 600,000 adds at least 1,200,000 ops", "600000"),
    ("for i in range(500000) { bn; relu; tanh }",
     "a loop of 500,000 iterations adds at least 1,500,000 ops", "range("),
    # the stdlib's stage: `unit(...) x (n - 1)`, a bottleneck 10 ops (torchvision's:
    # conv1, bn1, relu, conv2, bn2, relu, conv3, bn3, the add, relu)
    ("stage(bottleneck, 200000, 64, 1)", "x 199,999 adds at least 1,999,990 ops", None),
])
def test_repetitions_too_large_for_what_is_left_are_refused_at_their_location(
        tmp_path, body, what, col):
    """`x N`, `for ... in range(N)` and a depth argument driving a block's loop (the stdlib's
    stage): refused before the first iteration, pointing at the count."""
    f = write(tmp_path, "m.arch", f"network m {{\n  input [3, 8, 8]\n  {body}\n}}\n")
    code, _, err = archdsl("check", f)
    m = located_error(code, err)
    assert what in m["msg"] and "left of --max-nodes 1,000,000" in m["msg"], m["msg"]
    if col is not None:
        assert (int(m["line"]), int(m["col"])) == line_col(f, col)


def test_a_repetition_that_fits_is_not_refused(tmp_path):
    """The bound is a lower bound: an `if` that adds nothing on most iterations, `x N`
    inside the body, names bound in the body count 0, so these build."""
    f = write(tmp_path, "m.arch", "network m {\n  input [3, 8, 8]\n"
              "  for i in range(999999) { if i == 0 { conv(4) x 3 } }\n"
              "  for j in range(999999) { let f = relu }\n}\n")
    code, out, err = archdsl("check", f)
    assert (code, err) == (0, ""), err

# ================================================== item 7: 30,000 chained definitions


def test_thirty_thousand_chained_definitions_print_their_value(tmp_path):
    """`eval a29999` with -D a0=[0] and -D aI=[aI-1]: a list nested 30,000 deep, which
    printing (and comparing) used to recurse into until RecursionError. Now the answer."""
    defines = ["-D", "a0=[0]"]
    for i in range(1, 30000):
        defines += ["-D", f"a{i}=[a{i - 1}]"]
    code, out, err = archdsl("eval", *defines, "[a29999 == [a29998], a29999]")
    assert (code, err) == (0, "")
    assert out == "[true, " + "[" * 30000 + "0" + "]" * 30000 + "]\n"

# ======================================= item 9: shared structure printed or compared


DOUBLING = "block r(l, n) {{ if n > 0 {{ r([l, l], n - 1) }} else {{ {sink} }} }}\n"


@pytest.mark.parametrize("sink, what, at", [
    ("conv(l)", "print", "conv(l)"),  # the message that says conv needs an integer
    ("let a = flops(conv(8, table=l), in=[3, 8, 8]); relu", "compare", "flops("),
    ('"x{l}": relu', "print", '"x{l}"'),
])
def test_a_list_of_2_to_the_40_shared_items_is_not_walked(tmp_path, sink, what, at):
    """`r([0], 40)` makes a list of 2^40 leaves in 40 calls; printing it (a message, the cost
    cache's key, a name template) stopped at MAX_ITEMS items instead of hanging."""
    f = write(tmp_path, "m.arch", DOUBLING.format(sink=sink)
              + "network m { input [3, 8, 8]; r([0], 40) }\n")
    code, _, err = archdsl("check", f)
    m = located_error(code, err)
    assert m["msg"].startswith(f"value too large to {what}: more than {MAX_ITEMS:,} items")
    assert (int(m["line"]), int(m["col"])) == line_col(f, at)
    assert "note: in call of 'r'" in err


def test_comparing_two_separately_built_shared_lists_is_bounded(tmp_path):
    """`a == b` of two lists of 2^40 leaves built apart (no identity to shortcut)."""
    f = write(tmp_path, "m.arch",
              "block r(a, b, n) { if n > 0 { r([a, a], [b, b], n - 1) } else "
              "{ let e = a == b; relu } }\nnetwork m { input [3, 8, 8]; r([0], [0], 40) }\n")
    code, _, err = archdsl("check", f)
    m = located_error(code, err)
    assert m["msg"].startswith("value too large to compare")
    assert (int(m["line"]), int(m["col"])) == line_col(f, "a == b")
    # The same lists compared with themselves share everything: equal at once.
    g = write(tmp_path, "g.arch", f.read_text().replace("a == b", "a == a"))
    assert archdsl("check", g)[0] == 0


def test_a_thousand_references_to_a_million_zeros_are_not_printed(tmp_path):
    """`eval '[[0]*1000000]*1000'`: 1,000 items, 10^9 to print."""
    code, _, err = archdsl("eval", "[[0]*1000000]*1000")
    m = located_error(code, err)
    assert (m["file"], m["line"], m["col"]) == ("<expr>", "1", "1")
    assert m["msg"].startswith("value too large to print")
    code, out, _ = archdsl("eval", "len([[0]*1000000]*1000)")
    assert (code, out) == (0, "1000\n")

# ============================================= item 10: one work budget for cost functions


def test_a_thousand_cost_calls_share_the_node_limit(tmp_path):
    """The issue's loop of 1,000 flops() of 300 bottlenecks (> 3,000,000 ops on their own
    graphs) ran for more than 60 s: their ops count against the one limit of 1,000,000."""
    f = write(tmp_path, "m.arch", "network m { input [3, 8, 8]\n  for i in range(1000) "
              "{ let a = flops(stage(bottleneck, 300, 64 + i, 1), in=[64, 56, 56]) }\n}\n")
    code, _, err = archdsl("check", f)
    m = located_error(code, err)
    assert re.fullmatch(r"more than 1,000,000 ops built in all \(cost functions' calls count "
                        r"too\); raise the limit with --max-nodes if this is intended|a loop of "
                        r"300 iterations adds at least [\d,]+ ops, more than the [\d,]+ left "
                        r"of --max-nodes 1,000,000; raise it if this is intended", m["msg"]), err


def test_three_cost_calls_of_the_same_call_elaborate_it_once(tmp_path):
    """`r(n)` with three `flops(r(n - 1), ...)`: 3^30 elaborations before; the cost cache is
    keyed by what the call is, so 30."""
    f = write(tmp_path, "m.arch", "block r(n) {\n  if n > 0 {\n"
              + "".join(f"    let {v} = flops(r(n - 1), in=[3, 8, 8])\n" for v in "abc")
              + "  }\n  conv(3, k=1)\n}\nnetwork m { input [3, 8, 8]; r(30) }\n")
    code, out, err = archdsl("check", f)
    assert (code, err) == (0, ""), err
    # r(30) itself is one conv (its lets only read costs): what one conv costs
    code, out, err = archdsl("eval", "--file", f, "[flops(r(30), in=[3, 8, 8]), "
                             "flops(conv(3, k=1), in=[3, 8, 8]), params(r(30), in=[3, 8, 8])]")
    assert (code, err) == (0, "")
    flops, expected, params = map(int, out.strip("[]\n").split(", "))
    assert flops == expected > 0 and params == 3 * 3 + 3  # 1x1 weights and a bias


def test_solve_of_a_cost_evaluates_the_cost_once(tmp_path):
    """`solve(flops(many(900000), in=[3, 8, 8]) + c == 10, c)` took 265 s: solve samples
    the equation at several c, each elaborating 900,000 ops. Now once, and the root is
    c = 10 - flops = 10 - 900,000 x 0 (relu: no flops)."""
    f = write(tmp_path, "m.arch", "block many(n) { relu x n }\n")
    code, out, err = archdsl("eval", "--file", f,
                             "solve(flops(many(900000), in=[3, 8, 8]) + c == 10, c)")
    assert (code, err) == (0, "") and float(out) == 10.0

# ======================================================== item 12: dense connectivity


@pytest.mark.parametrize("n", [8000, 4000])
def test_a_dense_loop_is_refused_by_its_connections_before_building(tmp_path, n):
    """`dense for i in range(8000) { conv(1, k=1) }`: layer i reads the concat of the i + 1
    features before it, so the concats alone have 2 + 3 + ... + n inputs and the last one
    n + 1: quadratic (8,000: MemoryError at 8 GB after 207 s; 4,000: 46 s, 2.2 GB). The limit
    on connections, EDGES_PER_NODE per allowed op, refuses them before the first layer."""
    f = write(tmp_path, "m.arch", "network m { input [3, 8, 8]\n"
              f"  dense for i in range({n}) {{ conv(1, k=1) }}\n}}\n")
    code, _, err = archdsl("check", f)
    m = located_error(code, err)
    merges = sum(range(2, n + 1)) + n + 1
    edges = merges + n  # and each conv's own input
    assert m["msg"] == (f"a dense loop of {n:,} layers: {edges:,} more connections between "
                        f"ops would exceed the {EDGES_PER_NODE * 10 ** 6:,} allowed "
                        f"({EDGES_PER_NODE} per op of --max-nodes 1,000,000, "
                        f"{EDGES_PER_NODE * 10 ** 6:,} left); raise it if this is intended")
    assert (int(m["line"]), int(m["col"])) == line_col(f, "range(")


def test_densenet_264_fits_the_connection_limit(tmp_path):
    """The densest network of the zoo: 932 ops, 4,286 connections (4.6 per op)."""
    code, out, err = archdsl("check", "--max-nodes", "1100", "zoo:densenet264")
    assert (code, err) == (0, ""), err

# ================================================== item 13: what the memory limit counts


GIB = 2 ** 30


def test_the_input_is_counted(tmp_path):
    """`input [3, 40000, 40000]; maxpool(40000)` reported 0.0 MiB and compile allocated
    19.2 GB: the input alone is 3 x 40000 x 40000 x 4 bytes = 17.9 GiB."""
    f = write(tmp_path, "m.arch", "network m { input [3, 40000, 40000]; maxpool(40000) }\n")
    for argv in (["--max-memory", "16"], []):  # the default: at most this process's 4 GiB
        code, _, err = archdsl("compile", f, *argv)
        m = located_error(code, err)
        need = 3 * 40000 * 40000 * 4 / GIB
        assert f"needs {need:.1f} GiB for a batch of 1 (float32; GiB of input {need:.1f}, " \
               "weights 0.0, activations 0.0, scratch 0.0)" in m["msg"], m["msg"]
        assert (int(m["line"]), int(m["col"])) == line_col(f, "input [")


def test_buffers_and_scratch_are_counted(tmp_path):
    """`flatten; rbf(100000)` on 224x224 passed both limits and allocated a 60 GB prototype
    buffer: 100,000 x 150,528 float32s = 56.1 GiB, and x - prototypes and its square while
    it runs, twice that again."""
    f = write(tmp_path, "m.arch", "network m { input [3, 224, 224]; flatten; rbf(100000) }\n")
    code, _, err = archdsl("compile", f)
    m = located_error(code, err)
    proto = 100000 * 3 * 224 * 224 * 4 / GIB
    assert f"weights {proto:.1f}, activations 0.0, scratch {2 * proto:.1f})" in m["msg"]
    assert (int(m["line"]), int(m["col"])) == line_col(f, "rbf(")


def test_the_torch_api_refuses_before_allocating_too():
    """to_torch() reads the same estimate: the prototypes are never allocated."""
    import archdsl
    from archdsl.errors import ArchError
    net = archdsl.load(text="network m { input [3, 224, 224]; flatten; rbf(100000) }\n")
    with pytest.raises(ArchError, match=r"GiB of input 0.0, weights 56.1"):
        net.to_torch(max_memory=16 * GIB)


def test_steps_per_node_is_what_the_messages_say():
    assert STEPS_PER_NODE == 20 and EDGES_PER_NODE == 4  # docs/language.md's figures


def test_values_nested_100000_deep_are_printed_and_compared_without_recursion():
    """In-process: two lists built apart, nested far past Python's recursion limit."""
    from archdsl.values import equal, show

    def deep(n, leaf):
        v = leaf
        for _ in range(n):
            v = [v]
        return v
    assert equal(deep(100000, 0), deep(100000, 0))
    assert not equal(deep(100000, 0), deep(100000, 1))
    assert not equal(deep(100000, 1), deep(100000, True))  # true is not 1, at any depth
    assert show(deep(100000, 0)) == "[" * 100000 + "0" + "]" * 100000

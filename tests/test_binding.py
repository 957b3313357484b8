"""Binding call arguments (archdsl/binding.py): one rule and one set of messages for ops,
blocks, networks and spaces; the registry's value constraints refuse what PyTorch refuses."""
from __future__ import annotations

import pytest

import archdsl
from archdsl.errors import ArchError
from helpers import LOCATED, net, one_error, write

BLOCK = "block b(out, k=1, s=1) { conv(out, k=k, s=s) }\n"


@pytest.mark.parametrize("call, message", [
    ("CALLEE(4, 1, 1, 1, 1, 1, 1, 1, 1)", "CALLEE takes N arguments, got 9"),
    ("CALLEE(4, kernel=3)", "CALLEE has no parameter 'kernel' (it takes PARAMS)"),
    ("CALLEE(4, out=4)", "CALLEE: argument 'out' given twice"),
    ("CALLEE(k=3)", "CALLEE needs argument 'out'"),
])
@pytest.mark.parametrize("callee, n, params", [
    ("conv", 8, "out, k, s, p, d, groups, bias, table"),
    ("b", 3, "out, k, s"),
])
def test_ops_and_blocks_report_the_same_mistakes_alike(run_cli, tmp_path, call, message,
                                                       callee, n, params):
    f = write(tmp_path, "m.arch", BLOCK + net(call.replace("CALLEE", callee)))
    code, out, err = run_cli("check", f)
    msg = one_error(code, err)
    want = message.replace("CALLEE", callee).replace("N", str(n)).replace("PARAMS", params)
    assert want in msg and LOCATED.match(msg), msg
    assert msg.startswith(f"{f}:4:3:")  # the call's statement


def test_positional_then_keywords_and_defaults_that_read_earlier_parameters():
    g = archdsl.load(text="block u(w, k=3, p=k // 2) { conv(w, k=k, p=p) }\n"
                          + net("u(4); u(4, 5); u(4, p=0, k=1)")).graph
    assert [g.nodes[f"{i}.0"]["args"]["p"] for i in range(3)] == [1, 2, 0]
    assert [g.nodes[f"{i}.0"]["args"]["k"] for i in range(3)] == [3, 5, 1]


def test_a_space_binds_its_arguments_by_the_same_rule(tmp_path):
    from archdsl.search import load_spaces
    f = write(tmp_path, "s.arch", "network n(w) { input [3, 8, 8]; conv(w) }\n"
                                  "space s(w=4) { param y in [1]; network n(w) }\n")
    with pytest.raises(ArchError, match=r"s has no parameter 'v' \(it takes w\)"):
        load_spaces(str(f), args={"v": 1})
    assert load_spaces(str(f), args={"w": 8})[0].args == {"w": 8}


# What the analysis accepted and the backend then refused (issue 16, item 5): each is PyTorch's
# own refusal (or, for rbf(0), a layer with no outputs), and the registry's schema refuses it
# first, naming the argument.
REFUSED = {
    "subsample(0)": ("subsample: k must be positive, got 0",
                     lambda L, nn, torch: L.Subsample(3, 0)(torch.randn(1, 3, 8, 8))),
    "bn(eps=-1)": ("bn: eps must be positive, got -1",
                   lambda L, nn, torch: nn.BatchNorm2d(3, eps=-1)(torch.randn(2, 3, 8, 8))),
    "lrn(size=0)": ("lrn: size must be positive, got 0",
                    lambda L, nn, torch: nn.LocalResponseNorm(0)(torch.randn(1, 3, 8, 8))),
    "flatten; rbf(-2)": ("rbf: out must be positive, got -2",
                         lambda L, nn, torch: L.RBF(192, -2)),
}


@pytest.mark.parametrize("stmt", list(REFUSED))
def test_the_schema_refuses_what_pytorch_refuses(run_cli, tmp_path, stmt):
    torch = pytest.importorskip("torch")
    from archdsl.backends import torch_layers
    message, build = REFUSED[stmt]
    with pytest.raises((RuntimeError, ValueError)):
        build(torch_layers, torch.nn, torch)
    f = write(tmp_path, "m.arch", net(stmt))
    code, out, err = run_cli("check", f)
    msg = one_error(code, err)
    assert message in msg and LOCATED.match(msg), msg


def test_rbf_of_no_outputs_is_refused(run_cli, tmp_path):
    torch = pytest.importorskip("torch")
    from archdsl.backends import torch_layers
    assert torch_layers.RBF(10, 0)(torch.randn(2, 10)).numel() == 0  # a layer that outputs nothing
    f = write(tmp_path, "m.arch", net("flatten; rbf(0)"))
    code, out, err = run_cli("check", f)
    assert "rbf: out must be positive, got 0" in one_error(code, err)


def test_a_constraint_holds_for_each_component_of_a_pair(run_cli, tmp_path):
    f = write(tmp_path, "m.arch", net("conv(4, k=[3, 0])"))
    code, out, err = run_cli("check", f)
    assert "conv: k must be positive, got [3, 0]" in one_error(code, err)
    f = write(tmp_path, "ok.arch", net('conv(4, k=3, p="same")'))
    assert run_cli("check", f)[0] == 0  # "same" is not a number to constrain

"""Elaboration semantics of the language (docs/language.md): data flow, naming, merges,
loops, blocks as values, imports, and PyTorch's exact output-size rules."""
from __future__ import annotations

import math

import pytest

import archdsl
from archdsl.commands.eval import evaluate
from archdsl.errors import ArchError


def nodes(text, **kw):
    return archdsl.load(text=text, **kw).graph


def shape_of(g, key):
    return list(g.nodes[key]["shape"])


def test_positions_number_like_nn_sequential():
    g = nodes("""network n {
      input [3, 32, 32]
      features: { conv(64, k=3, p=1); relu; conv(64, k=3, p=1); relu; maxpool(2) }
    }""")
    assert [k for k in g if g.nodes[k]["op"] == "conv"] == ["features.0", "features.2"]
    assert "features.4" in g


def test_repeat_zero_and_repeat_positions():
    g = nodes("""network n {
      input [3, 8, 8]
      conv(4) x 0
      conv(4) x 2
      named: relu x 3
    }""")
    assert [k for k in g if k != "input"] == ["0", "1", "named.0", "named.1", "named.2"]


def test_string_template_names_and_for_if():
    g = nodes("""network n {
      input [3, 8, 8]
      for i in range(3) {
        if i % 2 == 0 { "conv{i + 1}": conv(4 * (i + 1)) } else { "act{i + 1}": relu }
      }
    }""")
    assert [k for k in g if k != "input"] == ["conv1", "act2", "conv3"]
    assert shape_of(g, "conv3") == [12, 8, 8]


def test_from_refs_explicit_merges_and_in_attributes():
    g = nodes("""network n {
      input [3, 16, 16]
      a: conv(8, k=3, p=1)
      b: conv(in.c * 2, k=3, p=1)
      c: concat from a, b
      d: add from a, a
    }""")
    assert shape_of(g, "b") == [16, 16, 16]  # in.c is a's 8 channels
    assert shape_of(g, "c") == [24, 16, 16]
    assert shape_of(g, "d") == [8, 16, 16]


def test_parallel_mul_broadcasts_a_gate():
    g = nodes("""network n {
      input [32, 8, 8]
      parallel mul { identity; { gap; conv(32); sigmoid } }
    }""")
    out = g.graph["outputs"][0]
    assert g.nodes[out]["op"] == "mul" and shape_of(g, out) == [32, 8, 8]


def test_dense_for_concatenates_everything_before():
    g = nodes("""network n {
      input [16, 8, 8]
      dense for i in range(3) { "l{i}": conv(4, k=3, p=1) }
    }""")
    # Iteration k reads 16 + 4k channels; the block's output is 16 + 3*4.
    assert shape_of(g, g.graph["outputs"][0]) == [28, 8, 8]
    convs = [k for k in g if g.nodes[k]["op"] == "conv"]
    in_channels = [shape_of(g, next(iter(g.predecessors(k))))[0] for k in convs]
    assert in_channels == [16, 20, 24]


def test_aux_heads_do_not_change_the_main_path():
    net = archdsl.load(text="""network n {
      input [3, 8, 8]
      a: conv(4)
      aux head: { gap; flatten; fc(10) } from a
      conv(6)
    }""")
    g = net.graph
    assert g.graph["aux_outputs"] == ["head.2"]
    assert shape_of(g, g.graph["outputs"][0]) == [6, 8, 8]
    assert g.nodes["head.2"]["aux"] and not g.nodes["1"]["aux"]
    total = net.summary()["total"]
    # Aux parameters count; their flops do not.
    assert total["params"] == (3 * 4 + 4) + (4 * 10 + 10) + (4 * 6 + 6)
    assert total["flops"] == 3 * 4 * 64 + 4 * 6 * 64


def test_blocks_as_values_defaults_and_keywords():
    g = nodes("""
    block unit(w, k=3, p=k // 2) { conv(w, k=k, p=p) }
    block twice(f, w) { f(w); f(w, k=1) }
    network n { input [3, 8, 8]; twice(unit, 5) }
    """)
    assert [g.nodes[k]["args"]["k"] for k in ("0.0.0", "0.1.0")] == [3, 1]
    assert [g.nodes[k]["args"]["p"] for k in ("0.0.0", "0.1.0")] == [1, 0]


def test_network_alias_binds_and_rebinds():
    text = """
    network base(width=8, classes=10) { input [3, 8, 8]; conv(width); gap; flatten; fc(classes) }
    network wide = base(width=16)
    network wide100 = wide(classes=100)
    """
    g = nodes(text, network="wide100")
    assert g.graph["name"] == "wide100"
    assert shape_of(g, "0") == [16, 8, 8] and shape_of(g, "3") == [100]
    assert shape_of(nodes(text, network="wide", classes=7), "3") == [7]


# PyTorch's exact output sizes (torch.nn docs: Conv2d, MaxPool2d with ceil_mode).
def torch_conv(size, k, s, p, d=1):
    return math.floor((size + 2 * p - d * (k - 1) - 1) / s + 1)


def torch_pool_ceil(size, k, s, p):
    out = math.ceil((size + 2 * p - k) / s) + 1
    return out - 1 if (out - 1) * s >= size + p else out


@pytest.mark.parametrize("size,k,s,p,d", [(224, 7, 2, 3, 1), (227, 11, 4, 0, 1), (13, 3, 2, 1, 2),
                                          (32, 5, 1, 0, 1), (17, 3, 3, 1, 1)])
def test_conv_output_size(size, k, s, p, d):
    g = nodes(f"network n {{ input [3, {size}, {size}]; conv(4, k={k}, s={s}, p={p}, d={d}) }}")
    assert shape_of(g, "0")[1] == torch_conv(size, k, s, p, d)


@pytest.mark.parametrize("size,k,s,p", [(112, 3, 2, 0), (55, 3, 2, 0), (14, 3, 2, 1), (6, 2, 2, 0),
                                        (28, 3, 2, 1)])
def test_ceil_mode_pool_output_size(size, k, s, p):
    g = nodes(f"network n {{ input [3, {size}, {size}]; maxpool({k}, s={s}, p={p}, ceil=true) }}")
    assert shape_of(g, "0")[1] == torch_pool_ceil(size, k, s, p)


def test_same_padding_keeps_ceil_size_over_stride():
    g = nodes('network n { input [3, 224, 224]; conv(96, k=11, s=4, p="same") }')
    assert shape_of(g, "0") == [96, 56, 56]  # Keras: ceil(224 / 4)


def test_connection_table_counts_only_connections():
    # LeNet-5's C3 (LeCun et al. 1998, Table I): 16 maps reading S2's 6 maps through the table: 1,516 params.
    table = ("[[0,1,2],[1,2,3],[2,3,4],[3,4,5],[0,4,5],[0,1,5],[0,1,2,3],[1,2,3,4],[2,3,4,5],"
             "[0,3,4,5],[0,1,4,5],[0,1,2,5],[0,1,3,4],[1,2,4,5],[0,2,3,5],[0,1,2,3,4,5]]")
    net = archdsl.load(text=f"network n {{ input [6, 14, 14]; c3: conv(16, k=5, table={table}) }}")
    assert net.summary()["layers"][0]["params"] == 1_516
    assert net.summary()["layers"][0]["shape"] == [16, 10, 10]


def test_input_override(run_cli, tmp_path):
    p = tmp_path / "n.arch"
    p.write_text("network n { input [3, 224, 224]; conv(8, k=3, s=2, p=1); gap; flatten; fc(4) }")
    code, out, _ = run_cli("summary", p, "--input", "3,32,32", "--json")
    assert code == 0 and '"shape": [8, 16, 16]' in out


def test_parallel_bodies_take_branches_from_for_if_and_let():
    # docs/language.md: `for`, `if` and `let` inside a `parallel` body contribute branches
    g = nodes("""network n {
      input [4, 8, 8]
      parallel concat {
        let w = 2
        for i in range(3) { conv(w * (i + 1)) }
        if true { identity } else { conv(99) }
      }
    }""")
    out = g.graph["outputs"][0]
    assert shape_of(g, out) == [2 + 4 + 6 + 4, 8, 8]
    assert len(list(g.predecessors(out))) == 4


# --------------------------------------------------------------------------- search spaces

SPACE = """
network n(widths) {
  input [3, 16, 16]
  for i in range(len(widths)) { conv(widths[i], k=3, p=1); maxpool(2) }
  gap; flatten; fc(10)
}
space s(stages=2, budget=1M) {
  param w in [8, 4]
  param d in range(2, 5) if stages == 2 else [1]
  if stages >= 3 {
    param w3 in [16, 32]
  }
  let widths = [w] * stages if stages == 2 else [w, w, w3]
  require d >= 2
  require flops <= budget
  network n(widths)
}
"""


def _space(tmp_path, **args):
    from archdsl.search import load_spaces
    f = tmp_path / "s.arch"
    f.write_text(SPACE)
    return load_spaces(str(f), args=args)[0]


class Recorder:
    """An answerer that takes the last value of each domain and records what it was asked."""

    def __init__(self):
        self.asked = {}

    def answer(self, name, domain):
        self.asked[name] = domain
        return list(domain)[-1] if isinstance(domain, list) else domain.bounds[-1]


def test_a_param_inside_an_if_is_drawn_only_when_its_branch_runs(tmp_path):
    from archdsl.elaborate import Elaborator
    for stages, drawn in ((2, ["w", "d"]), (3, ["w", "d", "w3"])):
        space = _space(tmp_path, stages=stages)
        answerer = Recorder()
        point = Elaborator().space(space.target, space.args, answerer)
        assert list(answerer.asked) == drawn == list(point.params)
    # the domain of d is a value: `range(2, 5) if ... else [1]` chose the range
    assert answerer.asked["d"] == [1] and point.constraints["d >= 2"] > 0  # d=1 < 2


def test_the_first_point_is_the_first_answer(tmp_path, run_cli):
    from archdsl.elaborate import Elaborator, FirstAnswer
    space = _space(tmp_path)
    point = Elaborator().space(space.target, space.args, FirstAnswer())
    assert point.params == {"w": 8, "d": 2}
    # docs/language.md's cost model: two 3x3 convs to 8 channels (16x16, then 8x8), two 2x2 pools,
    # the global pool over 8x4x4 and the fc 8 -> 10
    convs = 8 * 16 * 16 * 3 * 9 + 8 * 8 * 8 * 8 * 9
    pools = 8 * 8 * 8 * 4 + 8 * 4 * 4 * 4
    assert point.totals["flops"] == convs + pools + 8 * 4 * 4 + 8 * 10
    assert point.feasible
    code, out, err = run_cli("check", tmp_path / "s.arch")
    assert code == 0 and "1 space" in out, err


def test_an_optuna_trial_answers_ranges_as_integers(tmp_path):
    import optuna
    space = _space(tmp_path)
    study = optuna.create_study()
    trial = study.ask()
    point = space.sample(trial)
    assert isinstance(trial.distributions["d"], optuna.distributions.IntDistribution)
    assert (trial.distributions["d"].low, trial.distributions["d"].high) == (2, 4)
    assert isinstance(trial.distributions["w"], optuna.distributions.CategoricalDistribution)
    assert point.params == trial.params


def test_param_outside_a_space_and_bad_domains_are_located_errors(run_cli, tmp_path):
    bad = tmp_path / "bad.arch"
    bad.write_text(SPACE.replace("param w in [8, 4]", "param w in range(4, 4)"))
    code, _, err = run_cli("check", bad)
    assert code == 1 and "param w: range(4, 4) is empty" in err and ":8:" in err.splitlines()[0]
    with pytest.raises(ArchError, match="is a builtin function"):
        evaluate("log")

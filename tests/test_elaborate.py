"""Elaboration semantics of the language (README, "The language"): data flow, naming, merges,
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


def test_own_definitions_shadow_the_standard_library_and_use_is_relative(tmp_path):
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "blocks.arch").write_text("block fire(s) { conv(s) }\n")
    main = tmp_path / "main.arch"
    main.write_text('use "lib/blocks.arch"\nnetwork main { input [3, 8, 8]; fire(5) }\n')
    g = archdsl.load(str(main)).graph
    assert [k for k in g if k != "input"] == ["0.0"]  # the file's fire, not SqueezeNet's


def test_number_suffixes_and_arithmetic():
    assert evaluate("4.1G") == 4_100_000_000
    assert evaluate("3k + 2M") == 2_003_000
    assert evaluate("2 ^ 10") == 1024 and evaluate("7 // 2") == 3 and evaluate("7 / 2") == 3.5
    assert evaluate("[1, 2] + [3]") == [1, 2, 3]
    assert evaluate("max([3, 9, 4]) if len([1]) == 1 else 0") == 9
    assert evaluate("sqrt(16) + ceil(2.1) + floor(2.9) + round(2.5) + abs(-1)") == 4 + 3 + 2 + 2 + 1
    with pytest.raises(ArchError, match="division by zero"):
        evaluate("1 % 0")


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
    # LeNet-5's C3 (ZOO.md): 16 maps reading S2's 6 maps through the table: 1,516 params.
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

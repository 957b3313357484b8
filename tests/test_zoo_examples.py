"""The worked examples of the seeds (the course notes the project started from), one small file each under
zoo/examples/. The expected figures are the seeds' own (seed 001: CS231n lecture 9 notes;
seed 004: the case-study course), or formulas written out here."""
from __future__ import annotations

import pytest

import archdsl
from archdsl.commands.eval import evaluate
from archdsl.loader import ZOO

EXAMPLES = ZOO / "examples"


def load(file: str, network=None, **args):
    return archdsl.load(str(EXAMPLES / file), network=network, **args)


def total(net) -> dict:
    return net.summary()["total"]


def out_shape(net) -> tuple:
    return net.graph.nodes[net.graph.graph["outputs"][0]]["shape"]


def test_every_example_starts_with_a_description():
    files = sorted(EXAMPLES.glob("*.arch"))
    assert len(files) == 6
    for f in files:
        assert f.read_text().startswith("# ")


def test_naive_inception_672_channels_854m():
    # Seed 001: 256x28x28 in; 1x1 128, 3x3 192, 5x5 96 and a 3x3 pool (256) concatenated:
    # 28x28x672; its convs cost 854M multiply-adds.
    net = load("naive_inception.arch")
    assert out_shape(net) == (672, 28, 28)
    assert round(total(net)["macs"] / 1e6) == 854
    assert total(net)["macs"] == 28 * 28 * 256 * (128 * 1 + 192 * 9 + 96 * 25)


def test_reduced_inception_costs_a_third():
    # The same branches behind 1x1 reductions to 64 and a 1x1 pool projection to 64:
    # 128 + 192 + 96 + 64 = 480 channels. Multiply-adds, term by term (seed 001's layout):
    hw = 28 * 28
    expected = hw * (128 * 256          # 1x1, 128
                     + 64 * 256         # 1x1 reduce, 64
                     + 192 * 9 * 64     # 3x3, 192, on 64
                     + 64 * 256         # 1x1 reduce, 64
                     + 96 * 25 * 64     # 5x5, 96, on 64
                     + 64 * 256)        # pool projection, 64
    net = load("reduced_inception.arch")
    assert out_shape(net) == (480, 28, 28)
    assert total(net)["macs"] == expected
    naive = total(load("naive_inception.arch"))["macs"]
    assert 3 * expected < naive + 60e6 and expected < naive / 3 + 20e6  # about a third


@pytest.mark.parametrize("c,h", [(64, 56), (128, 28), (3, 7)])
def test_stacked_3x3_rules(c, h):
    # Seed 001: 5x5: 25 C^2 params, 25 C^2 HW flops; two 3x3: 18 C^2, 18 C^2 HW;
    # 7x7: 49 C^2; three 3x3: 27 C^2 (and the same receptive field, the same output size).
    figures = {"one_5x5": 25, "two_3x3": 18, "one_7x7": 49, "three_3x3": 27}
    for name, factor in figures.items():
        net = load("stacked_3x3.arch", network=name, c=c, h=h, w=h)
        assert total(net)["params"] == factor * c * c, name
        assert total(net)["flops"] == factor * c * c * h * h, name
        assert out_shape(net) == (c, h, h)


@pytest.mark.parametrize("c,h", [(64, 56), (256, 14)])
def test_basic_18_vs_bottleneck_17(c, h):
    # Seed 001: basic block 2 x 9 HWC^2 = 18 HWC^2; bottleneck 4 + 9 + 4 = 17 HWC^2.
    basic = load("basic_vs_bottleneck.arch", network="basic_block", c=c, h=h)
    bottleneck = load("basic_vs_bottleneck.arch", network="bottleneck_block", c=c, h=h)
    assert total(basic)["flops"] == 18 * h * h * c * c
    assert total(bottleneck)["flops"] == 17 * h * h * c * c
    assert out_shape(basic) == (c, h, h) and out_shape(bottleneck) == (4 * c, h, h)


def test_seed004_one_by_one_bottleneck():
    # Seed 004: 28x28x32 x 5x5x192 = 120M multiplies; 28x28x16 x 1x1x192 = 2.4M plus
    # 28x28x32 x 5x5x16 = 10M, 12.4M in all.
    direct = load("one_by_one.arch", network="direct_5x5")
    reduced = load("one_by_one.arch", network="reduced_5x5")
    rows = {r["name"]: r for r in reduced.summary()["layers"]}
    assert total(direct)["macs"] == 28 * 28 * 32 * 5 * 5 * 192
    assert round(total(direct)["macs"] / 1e7) == 12  # "1억 2천만"
    assert rows["conv1x1"]["macs"] == 28 * 28 * 16 * 192
    assert round(rows["conv1x1"]["macs"] / 1e5) == 24  # "240만"
    assert rows["conv5x5"]["macs"] == 28 * 28 * 32 * 5 * 5 * 16
    assert round(rows["conv5x5"]["macs"] / 1e6) == 10  # "1천만"
    assert round(total(reduced)["macs"] / 1e5) == 124  # "1천 2백만"
    assert out_shape(direct) == out_shape(reduced) == (32, 28, 28)


@pytest.mark.parametrize("groups,width", [(4, 24), (32, 4)])
def test_resnext_equal_cost_width(groups, width):
    # Seed 001: 9Gc^2 + 8GCc - 17C^2 = 0 with C = 64: G = 4 gives c = 24, G = 32 gives c = 4.
    net = load("resnext_width.arch", C=64, G=groups)
    g = net.graph
    paths = {k.split(".")[1] for k in g if k.startswith("unit.path")}
    assert len(paths) == groups
    assert [g.nodes[f"unit.path0.{i}"]["shape"][0] for i in (0, 2, 4)] == [width, width, 256]
    # The width the file solves from the cost model is the root of the seed's quadratic.
    from_flops = evaluate(f"solve(flops(paths({groups}, c, 256), in=[256, 56, 56]) == "
                          f"flops(bottleneck(64), in=[256, 56, 56]), c)",
                          file=str(EXAMPLES / "resnext_width.arch"))
    quadratic = evaluate(f"solve(9*{groups}*c^2 + 8*{groups}*64*c - 17*64^2 == 0, c)")
    assert from_flops == pytest.approx(quadratic, rel=1e-9)
    assert round(from_flops) == width
    # Built at the rounded width, the G paths cost what one bottleneck(64) costs, to 1%.
    c = width
    assert total(net)["flops"] == groups * (9 * c * c + 8 * 64 * c) * 56 * 56
    assert total(net)["flops"] == pytest.approx(17 * 64 * 64 * 56 * 56, rel=0.01)
    # And the G explicit paths are the grouped-conv bottleneck (ResNeXt's form (c)).
    grouped = evaluate(f"flops(bottleneck(64, groups={groups}, base_width={c}), "
                       f"in=[256, 56, 56])")
    assert total(net)["flops"] == grouped

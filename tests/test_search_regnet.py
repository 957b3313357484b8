"""The RegNet and AnyNet design spaces (search/regnet.arch, search/anynet.arch; Radosavovic et
al. 2020, "Designing Network Design Spaces").

Outside figures: the quantized linear width rule as torchvision computes it,
`BlockParams.from_init_params` and `_adjust_widths_groups_compatibilty` of
torchvision/models/regnet.py and `_make_divisible` of torchvision/models/_utils.py,
transcribed with the same torch float32 operations in test_regnet.py; torchvision's regnet_x_400mf
parameters (depth=22, w_0=24, w_a=24.48, w_m=2.54, group_width=16, the `regnet_x_400mf`
builder) and its params and MACs (tests/reference/torchvision.json); the EDF's definition
(the paper's eq. 1); the AnyNetX_A..E refinements as the paper's sec. 3.2 states them."""
from __future__ import annotations

import csv

import pytest
from optuna.trial import FixedTrial

import archdsl
from archdsl.cli import main
from archdsl.search import load_spaces
from archdsl.search.enqueue import distance
from test_functions import tv_make_divisible
from test_regnet import from_init_params


def _rows(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def _stages(graph):
    """[(blocks, width, groups of the 3x3)] per stage of a built RegNet/AnyNet, from its IR."""
    out = []
    for i in range(1, 10):
        prefix = f"trunk_output.block{i}."
        convs = [k for k in graph.nodes if k.startswith(prefix) and k.endswith(".f.c.0")]
        if not convs:
            break
        first = graph.nodes[f"{prefix}block{i}-0.f.c.0"]
        b = graph.nodes[f"{prefix}block{i}-0.f.b.0"]
        out.append((len(convs), first["args"]["out"], b["args"]["groups"]))
    return out


def test_random_regnetx_at_400m_follows_the_rule(tmp_path):
    out = tmp_path / "rx"
    assert main(["search", "search:regnet", "--budget", "400M", "-D", "w_max=64",
                 "--sampler", "random", "--trials", "200", "--seed", "0", "--out", str(out),
                 "--quiet"]) == 0
    rows = _rows(out / "trials.csv")
    assert len(rows) == 200
    feasible = []
    for r in rows:
        depth, w0, wa, wm = int(r["depth"]), int(r["w0"]), float(r["wa"]), float(r["wm"])
        blocks, widths, depths, _, _ = from_init_params(depth, w0, wa, wm, int(r["group_width"]))
        assert (r["block_widths"], r["widths"], r["depths"]) == (str(blocks), str(widths),
                                                                 str(depths))
        assert 12 <= depth <= 28 and 8 <= w0 <= 64 and 8 <= wa <= 64 and 2 <= wm <= 3
        if r["feasible"] == "True":
            assert len(widths) == 4 and int(r["flops"]) <= 400_000_000
            feasible.append(r)
        else:
            assert len(widths) != 4 or int(r["flops"]) > 400_000_000
    assert len(feasible) >= 10
    # the networks themselves: each feasible trial rebuilt from its params
    space, = load_spaces("search:regnet", args={"budget": 400_000_000, "w_max": 64})
    for r in feasible:
        params = {"depth": int(r["depth"]), "w0": int(r["w0"]), "wa": float(r["wa"]),
                  "wm": float(r["wm"]), "group_width": int(r["group_width"])}
        point = space.sample(FixedTrial(params))
        _, _, depths, adjusted, groups = from_init_params(
            params["depth"], params["w0"], params["wa"], params["wm"], params["group_width"])
        assert _stages(point.graph) == [(d, w, w // g) for d, w, g in
                                        zip(depths, adjusted, groups)]
        assert point.totals["flops"] == int(r["flops"])
    # edf.csv: one row per feasible trial, F recomputed from trials.csv
    edf = _rows(out / "edf.csv")
    values = sorted(int(r["flops"]) for r in feasible)
    assert [float(e["value"]) for e in edf] == values
    for e in edf:
        assert float(e["edf"]) == pytest.approx(
            sum(v <= float(e["value"]) for v in values) / len(values))
        assert e["quantity"].startswith("EDF of flops, not error")
    assert (out / "edf.png").stat().st_size > 0


def test_torchvision_regnet_x_400mf_enqueued_is_the_zoo_network(tmp_path, torchvision_reference):
    ref = torchvision_reference["regnet_x_400mf"]
    out = tmp_path / "rx"
    point = "depth=22,w0=24,wa=24.48,wm=2.54,group_width=16"
    # 413.8M multiply-adds: over a 400M budget; the point is enqueued all the same
    assert main(["search", "search:regnet", "--budget", "500M", "--enqueue", point,
                 "--trials", "1", "--out", str(out), "--quiet"]) == 0
    first = _rows(out / "trials.csv")[0]
    assert first["enqueued"] == point
    assert (first["depth"], first["w0"], first["wa"], first["wm"], first["group_width"]) == (
        "22", "24", "24.48", "2.54", "16")
    assert int(first["params"]) == ref["params"] and int(first["macs"]) == ref["macs"]
    space, = load_spaces("search:regnet", args={"budget": 500_000_000})
    built = space.sample(FixedTrial({"depth": 22, "w0": 24, "wa": 24.48, "wm": 2.54,
                                     "group_width": 16}))
    zoo = archdsl.load("zoo:regnet_x_400mf")
    assert distance(zoo.graph, built.graph) == 0  # same nodes, ops, args, shapes, edges
    assert list(built.graph.nodes) == list(zoo.graph.nodes)
    assert built.totals["params"] == ref["params"] and built.totals["macs"] == ref["macs"]


SPACES = ("anynet_a", "anynet_b", "anynet_c", "anynet_d", "anynet_e")
PARAMS = [f"{k}{i}" for k in "dwbg" for i in range(1, 5)] + ["b", "g"]


def _expected_stages(ds, ws, bs, gs):
    """torchvision's _adjust_widths_groups_compatibilty per stage (multiplier 1/b), then
    the block's 3x3 groups as its BottleneckTransform takes them."""
    out = []
    for d, w, b, g in zip(ds, ws, bs, gs):
        m = 1 / b
        w_b = int(w * m)
        g = min(g, w_b)
        width = int(tv_make_divisible(w_b, g) / m)
        out.append((d, width, int(round(width * m)) // g))
    return out


def test_anynet_spaces_draw_the_papers_domains_with_their_refinements(tmp_path):
    out = tmp_path / "any"
    assert main(["search", "search:anynet", "--space", ",".join(SPACES), "--sampler",
                 "random", "--trials", "30", "--seed", "1", "--budget", "100G", "-D",
                 "size=32", "--out", str(out), "--quiet"]) == 0
    rows = _rows(out / "trials.csv")
    for name in SPACES:
        mine = [r for r in rows if r["space"] == name]
        assert len(mine) == 30
        for r in mine:
            ds = [int(r[f"d{i}"]) for i in range(1, 5)]
            ws = [int(r[f"w{i}"]) for i in range(1, 5)]
            assert all(1 <= d <= 16 for d in ds)
            assert all(8 <= w <= 1024 and w % 8 == 0 for w in ws)
            shared = name != "anynet_a"  # B: one bottleneck ratio; C on: one group width
            bs = [int(r["b"])] * 4 if shared else [int(r[f"b{i}"]) for i in range(1, 5)]
            gs = [int(r["g"])] * 4 if name not in ("anynet_a", "anynet_b") else \
                [int(r[f"g{i}"]) for i in range(1, 5)]
            assert set(bs) <= {1, 2, 4} and set(gs) <= {1, 2, 4, 8, 16, 32}
            monotonic = (ws == sorted(ws) or name not in ("anynet_d", "anynet_e")) and \
                (ds == sorted(ds) or name != "anynet_e")
            assert (r["feasible"] == "True") == monotonic  # the budget holds everything
    # a point of each space built: 4 stages of its depths, its widths made compatible
    spaces = load_spaces("search:anynet", list(SPACES), defines=[("size", "32")])
    point = {"d1": 1, "d2": 2, "d3": 2, "d4": 3, "w1": 24, "w2": 64, "w3": 64, "w4": 200}
    for space in spaces:
        given = dict(point)
        if space.name == "anynet_a":
            given.update(b1=1, b2=2, b3=4, b4=2, g1=8, g2=32, g3=4, g4=16)
            bs, gs = [1, 2, 4, 2], [8, 32, 4, 16]
        elif space.name == "anynet_b":
            given.update(b=2, g1=8, g2=32, g3=4, g4=16)
            bs, gs = [2] * 4, [8, 32, 4, 16]
        else:
            given.update(b=4, g=16)
            bs, gs = [4] * 4, [16] * 4
        built = space.sample(FixedTrial(given))
        assert built.feasible
        assert _stages(built.graph) == _expected_stages([1, 2, 2, 3], [24, 64, 64, 200], bs, gs)

"""Exact costs against the worked examples of the seeds (the lecture notes and blog posts the
zoo documents; each figure names its seed) and torchvision's
published figures. Every expected number below comes from those sources, not from archdsl."""
from __future__ import annotations


import pytest

import archdsl
from archdsl.commands.eval import evaluate
from conftest import ROOT


def rows_by_name(net):
    return {r["name"]: r for r in net.summary()["layers"]}


def cost(call: str, shape) -> int:
    return evaluate(f"flops({call}, in={list(shape)})")


# Seed 001's AlexNet walk-through is asserted on zoo/alexnet_cs231n.arch in
# tests/test_zoo_papers.py::test_alexnet_cs231n_walkthrough.


@pytest.mark.parametrize("c,h", [(64, 56), (128, 28)])
def test_seed001_vgg_stacked_3x3_rules(c, h):
    hw = h * h
    # flops() takes a block or op call, so the stacks are written as small blocks.
    text = f"""
    block two3() {{ conv({c}, k=3, p=1, bias=false); relu; conv({c}, k=3, p=1, bias=false) }}
    block three3() {{ conv({c}, k=3, p=1, bias=false) x 3 }}
    network n {{ input [{c}, {h}, {h}] }}
    """
    from archdsl import syntax
    from archdsl.elaborate import Elaborator
    from archdsl.evaluate import Env
    from archdsl.loader import Loader
    scope = Loader().load_text(text, "<vgg>")

    def ev(expr):
        return Elaborator().eval(syntax.parse_expr(expr), Env(scope), None)
    shape = f"in=[{c}, {h}, {h}]"
    assert ev(f"flops(two3(), {shape})") == 18 * c * c * hw
    assert ev(f"params(two3(), {shape})") == 18 * c * c
    assert ev(f"flops(conv({c}, k=5, p=2, bias=false), {shape})") == 25 * c * c * hw
    assert ev(f"params(conv({c}, k=5, p=2, bias=false), {shape})") == 25 * c * c
    assert ev(f"params(three3(), {shape})") == 27 * c * c
    assert ev(f"params(conv({c}, k=7, p=3, bias=false), {shape})") == 49 * c * c


def test_seed001_doubling_after_pool_halves_memory_keeps_flops():
    net = archdsl.load(text="""
    network n {
      input [64, 56, 56]
      a: conv(64, k=3, p=1, bias=false)
      maxpool(2)
      b: conv(128, k=3, p=1, bias=false)
      c: conv(128, k=3, p=1, bias=false)
    }""")
    rows = rows_by_name(net)
    a, c = rows["a"], rows["c"]  # same-width convs before and after the pool
    assert c["memory"] * 2 == a["memory"]
    assert c["params"] == 4 * a["params"]
    assert c["flops"] == a["flops"]


def test_seed001_naive_inception_and_seed004_reduction():
    # Seed 001: naive module on 256x28x28 (1x1 128, 3x3 192, 5x5 96, 3x3 pool): 672x28x28, 854M.
    net = archdsl.load(text="""
    network naive {
      input [256, 28, 28]
      inception(128, 0, 192, 0, 96, 0, unit=conv_relu, k5=5)
    }""")
    total = net.summary()["total"]
    assert net.graph.nodes[net.graph.graph["outputs"][0]]["shape"] == (672, 28, 28)
    assert round(total["macs"] / 1e6) == 854
    # Seed 004: 5x5 conv to 32 channels on 28x28x192 = 120,422,400 multiplies ...
    assert cost("conv(32, k=5, p=2)", [192, 28, 28]) == 120_422_400
    # ... against a 1x1 to 16 (2,408,448) then the 5x5 (10,035,200).
    assert cost("conv(16)", [192, 28, 28]) == 2_408_448
    assert cost("conv(32, k=5, p=2)", [16, 28, 28]) == 10_035_200


def test_seed001_basic_block_18_vs_bottleneck_17():
    c, h = 64, 56
    assert cost(f"basic({c})", [c, h, h]) == 18 * h * h * c * c
    assert cost(f"bottleneck({c})", [4 * c, h, h]) == 17 * h * h * c * c


@pytest.mark.parametrize("groups,expected", [(4, 24), (32, 4)])
def test_resnext_equal_cost_width(groups, expected, run_cli):
    # Seed 001: 9Gc^2 + 8GCc - 17C^2 = 0; C = 64 gives c = 23.93 for G = 4 and ~4 for G = 32.
    code, out, _ = run_cli("eval", "solve(9*G*c^2 + 8*G*C*c - 17*C^2 == 0, c)",
                           "-D", f"G={groups}", "-D", "C=64")
    assert code == 0
    c = float(out)
    assert round(c) == expected
    if groups == 4:
        assert out.startswith("23.93")
    # The same width from flops equality with the standard-library bottleneck: G paths of
    # width c (base_width=c at width 64 gives G*c channels) against one bottleneck(64).
    from_flops = evaluate(
        f"solve(flops(bottleneck(64, groups={groups}, base_width=c), in=[256, 56, 56]) == "
        f"flops(bottleneck(64), in=[256, 56, 56]), c)")
    assert from_flops == pytest.approx(c, rel=1e-9)


def language_md_example() -> str:
    # The specification's complete example, copied verbatim into tests/data.
    return (ROOT / "tests" / "data" / "language_example.arch").read_text()


def test_language_md_example_is_torchvision_resnext50(torchvision_reference):
    ref = torchvision_reference["resnext50_32x4d"]
    net = archdsl.load(text=language_md_example(), network="resnext50")
    total = net.summary()["total"]
    assert total["params"] == ref["params"]
    assert total["macs"] == ref["macs"]
    assert net.graph.graph["input_shape"] == ref["input"]
    owners = {r["name"] for r in net.summary()["layers"] if r["op"] in ("conv", "bn", "fc")}
    assert owners == {k.rsplit(".", 1)[0] for k in ref["state_dict"]}


def test_summary_json_contract(run_cli, torchvision_reference):
    import json
    code, out, _ = run_cli("summary", "zoo:alexnet_cs231n", "--json")
    assert code == 0
    data = json.loads(out)
    assert set(data) == {"network", "input", "batch", "dtype", "layers", "total", "sizes"}
    assert data["input"] == [3, 227, 227]
    assert set(data["total"]) == {"params", "flops", "macs", "memory"}
    assert all(set(r) >= {"name", "op", "shape", "params", "flops", "memory"}
               for r in data["layers"])
    assert data["layers"][0]["name"] == "conv1"
    # The same layers as torchvision's AlexNet (its adaptive pool and dropout have no params).
    assert data["total"]["params"] == torchvision_reference["alexnet"]["params"]


def test_summary_depth_aggregates_scopes(run_cli, tmp_path, torchvision_reference):
    path = tmp_path / "resnext50.arch"
    path.write_text(language_md_example())
    code, out, _ = run_cli("summary", path, "--depth", "1")
    assert code == 0
    assert "layer3" in out and "layer3.0" not in out
    assert f"{torchvision_reference['resnext50_32x4d']['params']:,}" in out


@pytest.mark.parametrize("argv", [
    ["check", "zoo:googlenet"],
    ["summary", "zoo:resnext50", "--json"],
    ["eval", "flops(bottleneck(64), in=[256, 56, 56])"],
    ["render", "zoo:resnet18", "-o", "{tmp}/r.dot"],
    ["lsp"],  # stdin at its end: the server starts and stops (tests/test_lsp.py drives it)
])
def test_analysis_commands_never_import_torch(argv, tmp_path):
    import subprocess
    import sys
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    code = ("import sys; from archdsl.cli import main; rc = main(%r); "
            "print('TORCH' if 'torch' in sys.modules else 'NO-TORCH'); sys.exit(rc)" % argv)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().endswith("NO-TORCH")

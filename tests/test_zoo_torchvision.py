"""The zoo, part A (ZOO.md section A): every network torchvision also ships has torchvision's
params, macs at 3x224x224 and state_dict layout, as recorded in reference/torchvision.json.

The layout is derived here from the IR (module path -> parameter and buffer shapes, by
PyTorch's conventions for Conv2d, Linear and BatchNorm2d) and compared with the reference
key by key; the PyTorch module itself is checked against the same reference below.
"""
from __future__ import annotations

import functools

import pytest

import archdsl
from archdsl import analysis, ir

# zoo file -> torchvision model (ZOO.md, section A)
PART_A = {
    "alexnet": "alexnet",
    **{n: n for n in ("vgg11", "vgg11_bn", "vgg13", "vgg13_bn", "vgg16", "vgg16_bn", "vgg19",
                      "vgg19_bn")},
    "googlenet": "googlenet",
    **{n: n for n in ("resnet18", "resnet34", "resnet50", "resnet101", "resnet152")},
    "resnext50": "resnext50_32x4d",
    "resnext101_32x8d": "resnext101_32x8d",
    "resnext101_64x4d": "resnext101_64x4d",
    "wide_resnet50_2": "wide_resnet50_2",
    "wide_resnet101_2": "wide_resnet101_2",
    **{n: n for n in ("densenet121", "densenet161", "densenet169", "densenet201")},
    "squeezenet1_0": "squeezenet1_0",
    "squeezenet1_1": "squeezenet1_1",
}
FAMILIES = ("alexnet", "vgg", "googlenet", "resnet", "densenet", "squeezenet")

# torchvision's published parameter count of vgg13_bn (its model documentation); the
# reference file holds vgg13 but not vgg13_bn, whose layout is derived from vgg13's below.
VGG13_BN_PARAMS = 133_053_736


@functools.lru_cache(maxsize=None)
def network(name: str):
    return archdsl.load(f"zoo:{name}")


def _pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


def layout_from_ir(graph) -> dict:
    """state_dict key -> shape, derived from the IR nodes' args as torch.nn lays them out."""
    out = {}
    for key, d in graph.nodes(data=True):
        op, a = d["op"], d["args"]
        if op == "input":
            continue
        preds = ir.predecessors(graph, key)
        if op == "conv":
            cin = graph.nodes[preds[0]]["shape"][0]
            kh, kw = _pair(a["k"])
            out[f"{key}.weight"] = [a["out"], cin // a["groups"], kh, kw]
            if a["bias"]:
                out[f"{key}.bias"] = [a["out"]]
        elif op in ("fc", "linear"):
            (cin,) = graph.nodes[preds[0]]["shape"]
            out[f"{key}.weight"] = [a["out"], cin]
            if a["bias"]:
                out[f"{key}.bias"] = [a["out"]]
        elif op == "bn":
            c = d["shape"][0]
            for name in ("weight", "bias", "running_mean", "running_var"):
                out[f"{key}.{name}"] = [c]
            out[f"{key}.num_batches_tracked"] = []
        else:
            assert analysis.node_cost(graph, key)["params"] == 0, f"{key} ({op}) has params"
    return out


def with_batch_norm(layout: dict) -> dict:
    """A VGG state_dict layout with torchvision's make_layers(cfg, batch_norm=True) applied:
    a BatchNorm2d after every conv of `features`, so each conv index moves by the number of
    convs before it."""
    out, convs = {}, 0
    for key, shape in layout.items():
        if key.startswith("features."):
            _, idx, what = key.split(".")
            idx = int(idx) + convs
            out[f"features.{idx}.{what}"] = shape
            if what == "bias":
                for name in ("weight", "bias", "running_mean", "running_var"):
                    out[f"features.{idx + 1}.{name}"] = shape
                out[f"features.{idx + 1}.num_batches_tracked"] = []
                convs += 1
        else:
            out[key] = shape
    return out


def reference_layout(name: str, ref: dict) -> dict:
    if name != "vgg13_bn":
        return ref[PART_A[name]]["state_dict"]
    return with_batch_norm(ref["vgg13"]["state_dict"])


@pytest.mark.parametrize("name", sorted(PART_A))
def test_params_and_macs(name, torchvision_reference):
    net = network(name)
    totals = net.totals()
    if name == "vgg13_bn":
        ref = torchvision_reference["vgg13"]
        assert totals["params"] == VGG13_BN_PARAMS
        assert totals["macs"] == ref["macs"]  # batch norm adds no multiply-adds
    else:
        ref = torchvision_reference[PART_A[name]]
        assert totals["params"] == ref["params"]
        assert totals["macs"] == ref["macs"]
    assert net.graph.graph["input_shape"] == ref["input"] == [3, 224, 224]


@pytest.mark.parametrize("name", sorted(PART_A))
def test_state_dict_layout(name, torchvision_reference):
    ours = layout_from_ir(network(name).graph)
    ref = reference_layout(name, torchvision_reference)
    assert sorted(set(ours) - set(ref)) == [], "keys torchvision does not have"
    assert sorted(set(ref) - set(ours)) == [], "torchvision keys missing"
    assert {k: list(v) for k, v in ours.items()} == {k: list(v) for k, v in ref.items()}


def test_vgg13_bn_derived_layout_is_consistent(torchvision_reference):
    # The derivation used for vgg13_bn, applied to vgg11, gives the reference's vgg11_bn.
    ref = torchvision_reference
    assert with_batch_norm(ref["vgg11"]["state_dict"]) == ref["vgg11_bn"]["state_dict"]


def test_googlenet_aux_heads():
    g = network("googlenet").graph
    assert g.graph["outputs"] == ["fc"]
    # torchvision's InceptionAux ends in fc2; aux1 reads inception4a, aux2 inception4d.
    assert g.graph["aux_outputs"] == ["aux1.fc2", "aux2.fc2"]
    assert g.nodes["aux1.fc2"]["shape"] == (1000,) and g.nodes["aux1.fc2"]["aux"]
    feeds = {head: ir.predecessors(g, f"{head}.0")[0] for head in ("aux1", "aux2")}
    assert g.nodes[feeds["aux1"]]["shape"] == (512, 14, 14)  # inception4a's output
    assert g.nodes[feeds["aux2"]]["shape"] == (528, 14, 14)  # inception4d's output
    # Aux heads count in params (torchvision's 13,004,888 includes them) but not in macs.
    no_aux = archdsl.load("zoo:googlenet", aux_logits=False)
    aux_params = sum(analysis.node_cost(g, k)["params"] for k in g if g.nodes[k].get("aux"))
    assert no_aux.totals()["params"] == network("googlenet").totals()["params"] - aux_params
    assert no_aux.totals()["macs"] == network("googlenet").totals()["macs"]


def test_aux_call_is_named_like_a_named_call():
    net = archdsl.load(text="""
block head(n) { conv: conv(8); flatten; fc: fc(n) }
network t {
  input [3, 8, 8]
  a: conv(4, k=3, p=1)
  aux side: head(10) from a
  relu
  out: conv(4)
}
""")
    g = net.graph
    assert {"side.conv", "side.fc"} <= set(g) and "side.0.conv" not in g
    assert g.graph["aux_outputs"] == ["side.fc"]
    assert "1" in g and g.nodes["1"]["op"] == "relu"  # aux took no position


@pytest.mark.parametrize("family", FAMILIES)
def test_families_check(family, run_cli):
    from conftest import ROOT
    files = sorted((ROOT / "zoo").glob(f"{family}*.arch"))
    files = [f for f in files if f.stem == family or f.stem in PART_A]
    code, out, err = run_cli("check", *files)
    assert code == 0, err
    assert out.count(": ok (") == len(files)


def test_resnext50_is_the_language_example():
    # LANGUAGE.md's complete example ends with this very line.
    text = (archdsl.loader.ZOO / "resnext50.arch").read_text()
    assert "network resnext50 = resnet(bottleneck, [3, 4, 6, 3], groups=32, base_width=4)" in text


def test_binding_arguments(torchvision_reference, tmp_path):
    ref = torchvision_reference["resnet50"]
    ten = archdsl.load("zoo:resnet50", classes=10)
    # Only fc changes: 2048 x 1000 + 1000 becomes 2048 x 10 + 10.
    assert ten.totals()["params"] == ref["params"] - 2049 * 990
    assert ten.graph.nodes["fc"]["shape"] == (10,)
    f = tmp_path / "mine.arch"
    f.write_text('use "zoo:resnet50"\n\n'
                 'network mine = resnet50(classes=10, image=[3, 32, 32], small_stem=true)\n')
    mine = archdsl.load(str(f))
    g = mine.graph
    assert mine.name == "mine" and g.graph["input_shape"] == [3, 32, 32]
    assert g.nodes["conv1"]["shape"] == (64, 32, 32) and "maxpool" not in g
    # Strides 1, 2, 2, 2 after a stride-1 stem: 32 -> 32, 16, 8, 4.
    assert g.nodes[g.graph["labels"]["layer4"]]["shape"] == (2048, 4, 4)
    layout = layout_from_ir(g)
    assert layout["conv1.weight"] == [64, 3, 3, 3]
    assert set(layout) == set(ref["state_dict"])


# --------------------------------------------------------------------------- the PyTorch modules
# One module per network, built once: a forward pass on one 3x224x224 sample in eval mode, then
# a checkpoint with the reference layout (zeros of every shape) loaded with strict=True.


@pytest.fixture(scope="module")
def torch2():
    torch = pytest.importorskip("torch")
    threads = torch.get_num_threads()
    torch.set_num_threads(2)
    yield torch
    torch.set_num_threads(threads)


def zero_checkpoint(torch, layout: dict) -> dict:
    """A state_dict of zeros with the reference's keys and shapes (`expand` of one zero has
    the full shape without allocating it; num_batches_tracked is a 0-dim long tensor)."""
    out = {}
    for key, shape in layout.items():
        if key.endswith("num_batches_tracked"):
            out[key] = torch.zeros((), dtype=torch.long)
        else:
            out[key] = torch.zeros(()).expand(*shape)
    return out


@pytest.mark.parametrize("name", sorted(PART_A))
def test_torch_module_runs_and_loads_torchvision_layout(name, torch2, torchvision_reference):
    torch = torch2
    ref = reference_layout(name, torchvision_reference)
    model = network(name).to_torch(seed=0)
    assert sum(p.numel() for p in model.parameters()) == (
        VGG13_BN_PARAMS if name == "vgg13_bn" else torchvision_reference[PART_A[name]]["params"])
    model.eval()
    with torch.no_grad():
        y = model(torch.randn(1, 3, 224, 224))
    assert tuple(y.shape) == (1, 1000) and bool(torch.isfinite(y).all())
    result = model.load_state_dict(zero_checkpoint(torch, ref), strict=True)
    assert not result.missing_keys and not result.unexpected_keys
    assert {k: list(v.shape) for k, v in model.state_dict().items()} == ref
    assert float(model.state_dict()[next(iter(ref))].abs().sum()) == 0.0


def test_googlenet_training_mode_returns_aux_outputs(torch2):
    torch = torch2
    model = network("googlenet").to_torch(seed=0)
    model.train()
    with torch.no_grad():
        out = model(torch.randn(1, 3, 224, 224))
    assert isinstance(out, tuple) and [tuple(t.shape) for t in out] == [(1, 1000)] * 3
    model.eval()
    with torch.no_grad():
        assert tuple(model(torch.randn(1, 3, 224, 224)).shape) == (1, 1000)

"""The zoo's torchvision networks beyond their reference figures: aux heads (GoogLeNet,
Inception-v3), binding arguments, the part A families' files. Their params, macs, state_dict
layout and probe, and those of every other reference network, are checked in
test_zoo_reference.py.
"""
from __future__ import annotations

import math

import pytest

import archdsl
from archdsl import analysis, ir
from test_zoo_reference import layout_from_ir, network  # network(reference name), cached

# zoo file -> torchvision model of the same module tree
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


def test_inception_v3_aux_head(torchvision_reference):
    ref = torchvision_reference["inception_v3"]
    g = network("inception_v3").graph
    assert g.graph["outputs"] == ["fc"] and g.graph["aux_outputs"] == ["AuxLogits.fc"]
    assert g.nodes["AuxLogits.fc"]["shape"] == (1000,) and g.nodes["AuxLogits.fc"]["aux"]
    first = next(k for k in g if k.startswith("AuxLogits."))
    (feed,) = ir.predecessors(g, first)
    assert g.nodes[feed]["shape"] == (768, 17, 17)  # Mixed_6e's output at 299x299
    # The reference's params include AuxLogits (its state_dict minus the batch-norm buffers);
    # its macs (eval mode) do not.
    buffers = ("running_mean", "running_var", "num_batches_tracked")
    aux = sum(math.prod(shape) for key, shape in ref["state_dict"].items()
              if key.startswith("AuxLogits.") and not key.endswith(buffers))
    no_aux = archdsl.load("zoo:inception_v3", aux_logits=False)
    assert no_aux.totals()["params"] == ref["params"] - aux
    assert no_aux.totals()["macs"] == ref["macs"]
    # Without the head the network also takes inputs too small for it (the probe's 112x112).
    small = archdsl.load("zoo:inception_v3", aux_logits=False, image=[3, 112, 112])
    assert small.graph.nodes["fc"]["shape"] == (1000,)


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
    # The language specification's complete example (tests/data/language_example.arch)
    # ends with this very line.
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


# --------------------------------------------------------------------------- the PyTorch module


@pytest.fixture(scope="module")
def torch2():
    torch = pytest.importorskip("torch")
    threads = torch.get_num_threads()
    torch.set_num_threads(2)
    yield torch
    torch.set_num_threads(threads)


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

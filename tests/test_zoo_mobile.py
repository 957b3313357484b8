"""MobileNetV3 and EfficientNet beyond their reference figures: what an eval-mode probe cannot
see. test_zoo_reference.py checks params, macs, layouts and the eval forward pass; here the
stdlib's blocks (mobile_blocks.arch) run in training mode against torchvision's blocks rebuilt
by hand from torchvision's source (models/mobilenetv3.py, models/efficientnet.py,
ops/misc.py, ops/stochastic_depth.py): batch statistics, momentum, stochastic depth on the
residual branch before the addition. The zoo networks' stochastic-depth rates and batch-norm
settings are checked against torchvision's builders.
"""
from __future__ import annotations

import re

import pytest
from test_zoo_reference import REFERENCES, network

import archdsl
from archdsl import ir
from archdsl.errors import ArchError

# --------------------------------------------------------------------------- the zoo networks


def _blocks(ref_name):
    """torchvision's stage blocks, in order, as `features.S.J` read off the reference keys."""
    found = []
    for key in REFERENCES[ref_name]["state_dict"]:
        m = re.match(r"(features\.\d+\.\d+)\.block\.", key)
        if m and m.group(1) not in found:
            found.append(m.group(1))
    return found


@pytest.mark.parametrize("name", ["efficientnet_b0", "efficientnet_b7", "efficientnet_v2_l"])
def test_stochastic_depth_rates_are_torchvisions(name):
    # EfficientNet.__init__: block i of `total` gets StochasticDepth(0.2 * i / total, "row"),
    # applied on the residual branch; every block after a stage's first has the identity.
    blocks = _blocks(name)
    g = network(name).graph
    rates = {k.rsplit(".", 1)[0]: g.nodes[k]["args"]["p"] for k in g
             if g.nodes[k]["op"] == "drop_path"}
    assert set(rates) <= set(blocks)
    assert {b for b in blocks if not b.endswith(".0")} <= set(rates)
    for b, p in rates.items():
        assert p == pytest.approx(0.2 * blocks.index(b) / len(blocks), abs=1e-15)
        assert f"{b}.stochastic_depth" in g


# torchvision's norm_layer per builder: MobileNetV3 partial(BatchNorm2d, eps=0.001,
# momentum=0.01); efficientnet_b0..b4 BatchNorm2d's defaults; b5..b7 eps=0.001,
# momentum=0.01; the v2 builders eps=1e-03.
NORMS = {"mobilenet_v3_large": (1e-3, 0.01), "mobilenet_v3_small": (1e-3, 0.01),
         "efficientnet_b0": (1e-5, 0.1), "efficientnet_b4": (1e-5, 0.1),
         "efficientnet_b5": (1e-3, 0.01), "efficientnet_b7": (1e-3, 0.01),
         "efficientnet_v2_s": (1e-3, 0.1), "efficientnet_v2_m": (1e-3, 0.1)}


@pytest.mark.parametrize("name", sorted(NORMS))
def test_batch_norm_eps_and_momentum(name):
    g = network(name).graph
    norms = {(g.nodes[k]["args"]["eps"], g.nodes[k]["args"]["momentum"]) for k in g
             if g.nodes[k]["op"] == "bn"}
    assert norms == {NORMS[name]}


def test_the_activations_of_mobilenet_v3_large():
    # _mobilenet_v3_conf: the stem and the bottlenecks from the seventh on use hardswish,
    # the first six ReLU; every SE gate is hardsigmoid, its squeeze ReLU.
    g = network("mobilenet_v3_large").graph
    order = ir.execution_order(g)
    act = {k: g.nodes[k]["op"] for k in order if g.nodes[k]["op"] in ("relu", "hardswish")}
    assert act["features.0.2"] == "hardswish"
    for i in range(1, 16):
        expected = "relu" if i <= 6 else "hardswish"
        assert {a for k, a in act.items() if re.match(rf"features\.{i}\.block\.\d\.2$", k)} \
            == {expected}
    after = lambda suffix: {g.nodes[s]["op"] for k in order if k.endswith(suffix)
                            for s in g.successors(k)}
    assert after(".fc1") == {"relu"} and after(".fc2") == {"hardsigmoid"}
    assert len([k for k in order if k.endswith(".fc2")]) == 8  # the SE column of Table 1


# --------------------------------------------------------------------------- blocks in training


@pytest.fixture(scope="module")
def torch():
    return pytest.importorskip("torch")


def _cna(nn, cin, cout, k, s=1, groups=1, act=None, eps=1e-5, momentum=0.1):
    """torchvision's Conv2dNormActivation as these families build it."""
    layers = [nn.Conv2d(cin, cout, k, s, (k - 1) // 2, groups=groups, bias=False),
              nn.BatchNorm2d(cout, eps=eps, momentum=momentum)]
    return nn.Sequential(*layers + ([act()] if act else []))


def _reference_block(torch, kind):
    """(arch statement on its input, input channels, torchvision's block rebuilt, p)."""
    nn, F = torch.nn, torch.nn.functional

    class SqueezeExcitation(nn.Module):  # torchvision.ops.misc
        def __init__(self, c, squeeze, act, scale_act):
            super().__init__()
            self.fc1, self.fc2 = nn.Conv2d(c, squeeze, 1), nn.Conv2d(squeeze, c, 1)
            self.activation, self.scale_activation = act(), scale_act()

        def forward(self, x):
            s = self.fc2(self.activation(self.fc1(F.adaptive_avg_pool2d(x, 1))))
            return self.scale_activation(s) * x

    class Block(nn.Module):  # InvertedResidual / MBConv / FusedMBConv with use_res_connect
        def __init__(self, layers, p):
            super().__init__()
            self.block, self.p = nn.Sequential(*layers), p

        def forward(self, x):
            y = self.block(x)
            if self.training and self.p > 0:  # stochastic_depth(y, p, "row", training)
                keep = 1.0 - self.p
                noise = torch.empty([y.shape[0], 1, 1, 1], dtype=y.dtype).bernoulli_(keep)
                y = y * noise.div_(keep)
            return y + x

    tf = {"eps": 1e-3, "momentum": 0.01}
    if kind == "inverted_residual_v3":  # bneck_conf(40, 5, 120, 40, True, "HS", 1, 1)
        hs = nn.Hardswish
        layers = [_cna(nn, 40, 120, 1, act=hs, **tf),
                  _cna(nn, 120, 120, 5, groups=120, act=hs, **tf),
                  SqueezeExcitation(120, 32, nn.ReLU, nn.Hardsigmoid),  # _make_divisible(30, 8)
                  _cna(nn, 120, 40, 1, **tf)]
        statement = "inverted_residual_v3(40, 5, 120, true, hardswish, norm=tf)"
        return statement, 40, Block(layers, 0.0)
    if kind == "mbconv":  # MBConvConfig(6, 3, 1, 24, 24, ...), B5's norm
        layers = [_cna(nn, 24, 144, 1, act=nn.SiLU, **tf),
                  _cna(nn, 144, 144, 3, groups=144, act=nn.SiLU, **tf),
                  SqueezeExcitation(144, 6, nn.SiLU, nn.Sigmoid),  # max(1, 24 // 4)
                  _cna(nn, 144, 24, 1, **tf)]
        return "mbconv(24, 6, 3, p=0.5, norm=tf)", 24, Block(layers, 0.5)
    if kind == "fused_mbconv":  # FusedMBConvConfig(4, 3, 1, 48, 48, ...)
        layers = [_cna(nn, 48, 192, 3, act=nn.SiLU, eps=1e-3), _cna(nn, 192, 48, 1, eps=1e-3)]
        return "fused_mbconv(48, 4, 3, p=0.5, norm=bn(eps=1e-3))", 48, Block(layers, 0.5)
    # FusedMBConvConfig(1, 3, 1, 24, 24, ...): one k x k conv, no projection
    layers = [_cna(nn, 24, 24, 3, act=nn.SiLU, eps=1e-3)]
    return "fused_mbconv(24, 1, 3, p=0.3, norm=bn(eps=1e-3))", 24, Block(layers, 0.3)


@pytest.mark.parametrize("kind", ["inverted_residual_v3", "mbconv", "fused_mbconv",
                                  "fused_mbconv_1"])
def test_block_in_training_is_torchvisions(kind, torch):
    statement, c, ref = _reference_block(torch, kind)
    torch.manual_seed(0)
    for t in ref.state_dict().values():
        if t.is_floating_point():
            t.copy_(torch.randn(t.shape) * 0.3 + (1.0 if t.dim() == 1 else 0.0))
    ours = archdsl.load(text=f"network t {{ input [{c}, 12, 12]\n"
                             f"  let tf = bn(eps=1e-3, momentum=0.01)\n  b: {statement} }}")
    model = ours.to_torch(seed=0)
    result = model.load_state_dict({f"b.{k}": v for k, v in ref.state_dict().items()},
                                   strict=True)
    assert not result.missing_keys and not result.unexpected_keys
    model.train()
    ref.train()
    x = torch.randn(16, c, 12, 12)
    with torch.no_grad():
        torch.manual_seed(7)
        want = ref(x)
        torch.manual_seed(7)
        got = model(x)
    torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-5)
    # the batch statistics moved the running ones by each block's momentum
    mine = {k[2:]: v for k, v in model.state_dict().items()}
    for k, v in ref.state_dict().items():
        torch.testing.assert_close(mine[k], v, rtol=1e-5, atol=1e-6)
    if ref.p > 0:  # some samples took the identity only: their branch was dropped
        dropped = [(got[i] == x[i]).all().item() for i in range(len(x))]
        assert any(dropped) and not all(dropped)


@pytest.mark.parametrize("file,family,args", [
    ("mobilenet_v3", "mobilenet_v3", {"size": "medium"}),
    ("efficientnet", "efficientnet_v2", {"size": "xl", "drop": 0.2, "image": [3, 64, 64]})])
def test_a_size_without_a_table_is_a_located_error(file, family, args):
    with pytest.raises(ArchError) as err:
        archdsl.load(f"zoo:{file}", network=family, **args)
    message = str(err.value)
    assert "out of range" in message and f"{file}.arch:" in message

"""The zoo, part B, through PyTorch: every network runs one forward pass on its own input
with the right output shape and as many parameters as the papers state (test_zoo_papers.py
holds the figures); state_dict keys read as the papers name the layers; stochastic depth
and FractalNet's drop-path are random in training mode only; LeNet-5's RBF prototypes are a
buffer, not parameters. Kept lean: one sample, no grad, one thread."""
from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

import archdsl  # noqa: E402
from archdsl.backends import torch_layers  # noqa: E402
from test_zoo_papers import PARAMS, PART_B  # noqa: E402

OUTPUTS = {"alexnet_cs231n": 1000, "alexnet_2012": 1000, "zfnet": 1000, "googlenet_2014": 1000,
           "se_resnet50": 1000, "se_resnext50_32x4d": 1000, "densenet264": 1000}
INPUTS = {"lenet5": (1, 32, 32), "lenet_cs231n": (1, 28, 28), "lenet_keras": (1, 28, 28),
          "alexnet_cs231n": (3, 227, 227), "alexnet_2012": (3, 227, 227),
          "zfnet": (3, 224, 224), "googlenet_2014": (3, 224, 224),
          "se_resnet50": (3, 224, 224), "se_resnext50_32x4d": (3, 224, 224),
          "densenet264": (3, 224, 224)}  # the rest: CIFAR's 3x32x32


VERY_DEEP = ("resnet1202", "preact_resnet1001")


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def model(name: str):
    return archdsl.load(f"zoo:{name}").to_torch(seed=0).eval()


def layout(name: str) -> dict:
    """The state_dict, on the meta device (keys and shapes without memory)."""
    return archdsl.load(f"zoo:{name}").to_torch(device="meta").state_dict()


def sample(name: str, batch: int = 1):
    return torch.randn(batch, *INPUTS.get(name, (3, 32, 32)), generator=torch.Generator()
                       .manual_seed(1))


@pytest.mark.parametrize("name", PART_B)
def test_forward_pass(name):
    m = model(name)
    with torch.no_grad():
        if name in VERY_DEEP:
            # Freshly initialised, batch norm's running statistics are 0 and 1, and the sum
            # of 500-600 residual branches overflows float32 in eval mode; with batch
            # statistics (training mode, as these nets are trained) it stays finite.
            m.train()
        y = m(sample(name))
        m.eval()
    assert tuple(y.shape) == (1, OUTPUTS.get(name, 10))
    assert torch.isfinite(y).all()
    params = sum(p.numel() for p in m.parameters())
    if name in PARAMS:
        assert params == PARAMS[name]


def test_lenet5_state_dict_and_fixed_prototypes():
    m = model("lenet5")
    layers = ("c1", "s2", "c3", "s4", "c5", "f6")
    assert set(m.state_dict()) == {f"{l}.{p}" for l in layers for p in ("weight", "bias")} \
        | {"output.prototypes"}
    assert "output.prototypes" not in dict(m.named_parameters())
    per_layer = {l: sum(p.numel() for n, p in m.named_parameters() if n.startswith(l + "."))
                 for l in layers}
    assert per_layer == {"c1": 156, "s2": 12, "c3": 1_516, "s4": 32, "c5": 48_120,
                         "f6": 10_164}
    # The squashing function is 1.7159 tanh(2/3 a) (LeCun et al. 1998, appendix A).
    a = torch.linspace(-3, 3, 7)
    squash = next(mod for mod in m.modules() if isinstance(mod, torch_layers.ScaledTanh))
    assert torch.allclose(squash(a), 1.7159 * torch.tanh(2 / 3 * a))


@pytest.mark.parametrize("name,keys", [
    ("resnet110", ["conv1.weight", "bn1.running_var", "stage1.0.conv1.weight",
                   "stage3.17.bn2.bias", "fc.weight"]),
    ("preact_resnet1001", ["stage1.0.bn1.weight", "stage1.0.downsample.weight",
                           "stage3.110.conv3.weight", "bn.running_mean", "fc.bias"]),
    ("fractalnet", ["block1.columns.conv.weight", "block1.columns.then.then.then.conv.weight",
                    "block5.columns.bn.running_mean", "fc.weight"]),
    ("densenet264", ["features.conv0.weight", "features.denseblock3.denselayer64.conv2.weight",
                     "features.transition3.conv.weight", "classifier.weight"]),
    ("se_resnext50_32x4d", ["layer1.0.se.fc1.weight", "layer4.2.conv2.weight",
                            "layer2.0.downsample.0.weight"]),
])
def test_state_dict_keys_read_naturally(name, keys):
    sd = layout(name)
    for key in keys:
        assert key in sd, key
    assert not any("#" in k for k in sd)


def test_small_state_dict_keys():
    for name, keys in {
        "googlenet_2014": ["inception3a.branch3.1.conv.weight", "aux1.conv.conv.weight",
                           "aux2.fc2.bias", "fc.weight"],
        "nin_cifar10": ["mlpconv1.conv.weight", "mlpconv1.cccp2.weight",
                        "mlpconv3.cccp2.bias"],
        "densenet_bc100": ["features.denseblock3.denselayer16.conv2.weight",
                           "features.norm5.weight"],
        "wrn28_10": ["stage2.0.downsample.weight", "stage3.3.conv2.weight", "bn.weight"],
        "alexnet_2012": ["conv2.weight", "fc8.weight"],
    }.items():
        sd = layout(name)
        for key in keys:
            assert key in sd, (name, key)
    # conv2, conv4, conv5 of AlexNet 2012 read half the maps (two GPUs): 48 of 96, 192 of 384.
    sd = layout("alexnet_2012")
    assert sd["conv2.weight"].shape == (256, 48, 5, 5)
    assert sd["conv4.weight"].shape == (384, 192, 3, 3)


def train_only(m, cls):
    """Eval mode everywhere except the modules of class `cls` (so batch norm does not mix
    the batch into the comparison)."""
    m.eval()
    for mod in m.modules():
        if isinstance(mod, cls):
            mod.train()
    return m


@pytest.mark.parametrize("name,cls", [("resnet110_sd", torch_layers.DropPath),
                                      ("fractalnet", torch_layers.Join)])
def test_drop_path_is_random_in_training_only(name, cls):
    m = model(name)
    x = sample(name, batch=4)
    with torch.no_grad():
        m.eval()
        ref = m(x)
        assert torch.equal(m(x), ref)  # eval: deterministic, every path used
        train_only(m, cls)
        torch.manual_seed(0)
        a = m(x)
        torch.manual_seed(1)
        b = m(x)
        m.eval()
    assert not torch.allclose(a, b)
    assert not torch.allclose(a, ref)
    assert sum(isinstance(mod, cls) for mod in m.modules()) == (54 if cls is
                                                                torch_layers.DropPath else 5 * 8)


def test_drop_path_rates_reach_the_modules():
    m = model("resnet110_sd")
    rates = [mod.p for mod in m.modules() if isinstance(mod, torch_layers.DropPath)]
    assert rates == pytest.approx([0.5 * l / 54 for l in range(1, 55)])


def test_option_a_shortcut_pads_with_zeros():
    # The first unit of stage 2 of resnet20: its shortcut is the input subsampled by 2 and
    # zero-padded from 16 to 32 channels (8 zero maps on each side).
    m = archdsl.load("zoo:resnet20").to_torch(seed=0).eval()
    x = torch.randn(2, 16, 32, 32)
    with torch.no_grad():
        y = m.get_submodule("stage2.0.downsample.1")(m.get_submodule("stage2.0.downsample.0")(x))
    assert y.shape == (2, 32, 16, 16)
    assert torch.equal(y[:, 8:24], x[:, :, ::2, ::2])
    assert not y[:, :8].any() and not y[:, 24:].any()


@pytest.mark.parametrize("name", ["lenet5", "lenet_keras", "resnet20", "nin_cifar10",
                                  "googlenet_2014"])
def test_macs_agree_with_flop_counter(name):
    from torch.utils.flop_counter import FlopCounterMode
    net = archdsl.load(f"zoo:{name}")
    m = net.to_torch(seed=0).eval()
    counter = FlopCounterMode(display=False)
    with torch.no_grad(), counter:
        m(sample(name))
    assert counter.get_total_flops() == 2 * net.summary()["total"]["macs"]

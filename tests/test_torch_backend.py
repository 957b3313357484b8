"""The PyTorch backend (issue 3): IR -> torch.fx GraphModule.

Figures come from outside the code: torchvision's state_dict layouts, params and macs
(reference/torchvision.json), torch's FlopCounterMode, LeCun et al. 1998 (LeNet-5's C3 has 1,516
parameters), hand-written PyTorch modules (a torchvision-style ResNet, TensorFlow's 'same'
padding rule, LeNet-5's sum-then-scale subsampling) and the published initialisation rules.
Big networks are built on the meta device (layout and FlopCounterMode need shapes only);
real forward passes use small inputs.
"""
from __future__ import annotations

import copy
import math

import pytest

torch = pytest.importorskip("torch")
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch.utils.flop_counter import FlopCounterMode  # noqa: E402

import archdsl  # noqa: E402
from archdsl import ArchError  # noqa: E402
from archdsl.backends import torch_layers  # noqa: E402
from archdsl.backends.torch_backend import ArchModule, fuse_bn  # noqa: E402

from conftest import ROOT  # noqa: E402
from helpers import MIXED, SMALL_RESNET, perturb_bn  # noqa: E402

# zoo file -> torchvision model, the six networks of issue 3's acceptance list
TORCHVISION = {"resnet18": "resnet18", "resnext50": "resnext50_32x4d",
               "densenet121": "densenet121", "googlenet": "googlenet",
               "squeezenet1_1": "squeezenet1_1", "vgg11_bn": "vgg11_bn"}


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def macs_by_flop_counter(model, input_shape, device="meta"):
    """FlopCounterMode counts 2 FLOPs per multiply-add of convs and matmuls."""
    model.eval()
    x = torch.zeros(1, *input_shape, device=device)
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        model(x)
    total = counter.get_total_flops()
    assert total % 2 == 0
    return total // 2


# --------------------------------------------------------------------------- layouts and costs


@pytest.mark.parametrize("name", sorted(TORCHVISION))
def test_torchvision_layout_params_and_macs(name, torchvision_reference):
    ref = torchvision_reference[TORCHVISION[name]]
    net = archdsl.load(f"zoo:{name}")
    model = net.to_torch(device="meta")
    assert isinstance(model, torch.fx.GraphModule)
    layout = {k: list(v.shape) for k, v in model.state_dict().items()}
    assert sorted(set(layout) ^ set(ref["state_dict"])) == []
    assert layout == ref["state_dict"]
    params = sum(p.numel() for p in model.parameters())
    assert params == net.totals()["params"] == ref["params"]
    assert macs_by_flop_counter(model, ref["input"]) == net.totals()["macs"] == ref["macs"]


def _zoo_networks():
    names = []
    for f in sorted((ROOT / "zoo").glob("*.arch")):
        text = f.read_text()
        if f"network {f.stem}" in text:
            names.append(f.stem)
    return names


def test_every_zoo_network_agrees_with_flop_counter_and_numel():
    """analytic macs == FlopCounterMode / 2 (eval), params == sum of numel, for every op."""
    checked = []
    for name in _zoo_networks():
        try:
            net = archdsl.load(f"zoo:{name}")
        except ArchError:
            continue  # a family file whose network needs arguments
        if len(net.graph) > 3000:
            continue  # resnet1202 and the like: the same ops as their smaller siblings
        model = net.to_torch(device="meta")
        totals = net.totals()
        assert sum(p.numel() for p in model.parameters()) == totals["params"], name
        assert macs_by_flop_counter(model, net.graph.graph["input_shape"]) == totals["macs"], name
        checked.append(name)
    ops = set()
    for name in checked:
        ops |= {d["op"] for _, d in archdsl.load(f"zoo:{name}").graph.nodes(data=True)}
    # the zoo exercises the ops with custom layers
    assert {"conv", "subsample", "rbf", "scaled_tanh", "lrn", "concat", "mul", "add"} <= ops
    assert len(checked) >= 30


def test_lenet5_c3_connection_table():
    net = archdsl.load("zoo:lenet5")
    model = net.to_torch(seed=0)
    c3 = next(m for m in model.modules() if isinstance(m, torch_layers.TableConv2d))
    assert sum(p.numel() for p in c3.parameters()) == 1516  # LeCun et al. 1998
    assert sum(p.numel() for p in model.parameters()) == 60000
    # The table conv equals a dense conv whose missing connections are zero.
    x = torch.randn(2, 6, 14, 14)
    dense = torch.zeros(16, 6, 5, 5)
    pos = 0
    for o, row in enumerate(c3.table):
        for ch in row:
            dense[o, ch] = c3.weight[pos]
            pos += 1
    assert torch.allclose(c3(x), F.conv2d(x, dense, c3.bias), atol=1e-5)
    # RBF prototypes are a buffer, not parameters
    rbf = next(m for m in model.modules() if isinstance(m, torch_layers.RBF))
    assert [n for n, _ in rbf.named_parameters()] == [] and "prototypes" in dict(
        rbf.named_buffers())
    v = torch.randn(3, 84)
    assert torch.allclose(rbf(v), torch.cdist(v, rbf.prototypes) ** 2, atol=1e-4)


def test_subsample_is_window_sum_times_coefficient_plus_bias():
    s = torch_layers.Subsample(2, k=2)
    with torch.no_grad():
        s.weight.copy_(torch.tensor([0.5, -2.0]))
        s.bias.copy_(torch.tensor([1.0, 0.25]))
    x = torch.arange(32.0).view(1, 2, 4, 4)
    window_sum = x.unfold(2, 2, 2).unfold(3, 2, 2).sum((-1, -2))
    expect = window_sum * torch.tensor([0.5, -2.0]).view(1, 2, 1, 1) + torch.tensor(
        [1.0, 0.25]).view(1, 2, 1, 1)
    assert torch.allclose(s(x), expect)
    assert sum(p.numel() for p in s.parameters()) == 4  # 2 per channel


def test_same_padding_follows_tensorflow():
    # TensorFlow's rule: total padding max((out-1)*s + k - size, 0), the extra pixel at the end.
    assert torch_layers.same_padding(224, 11, 4) == (3, 4)


def test_same_padding_is_asymmetric_like_tensorflow():
    # TensorFlow: out = ceil(in / s); pad_total split with the extra pixel at the bottom/right.
    net = archdsl.load(text="network t { input [2, 8, 8]\n c: conv(3, k=3, s=2, p=\"same\") }")
    model = net.to_torch(seed=0)
    assert net.graph.nodes["c"]["shape"] == (3, 4, 4)
    x = torch.randn(1, 2, 8, 8)
    w, b = model.c.weight, model.c.bias
    assert torch.allclose(model(x), F.conv2d(F.pad(x, (0, 1, 0, 1)), w, b, stride=2), atol=1e-6)
    # symmetric cases stay a plain Conv2d
    net = archdsl.load(text="network t { input [2, 7, 7]\n c: conv(3, k=3, p=\"same\") }")
    assert type(net.to_torch(device="meta").c) is nn.Conv2d


# --------------------------------------------------------------------------- against hand-written PyTorch

class HandBlock(nn.Module):
    """torchvision's BasicBlock, as a user writes it."""

    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False),
                                            nn.BatchNorm2d(cout))

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        out += identity
        return self.relu(out)


class HandNet(nn.Module):
    def __init__(self, classes=10):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 16, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        self.relu = nn.ReLU(inplace=True)
        self.layer1 = nn.Sequential(HandBlock(16, 16, 1))
        self.layer2 = nn.Sequential(HandBlock(16, 32, 2))
        self.fc = nn.Linear(32, classes)

    def forward(self, x):
        x = self.relu(self.bn1(self.conv1(x)))
        x = self.layer2(self.layer1(x))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


def test_matches_hand_written_module_in_train_and_eval():
    model = archdsl.load(text=SMALL_RESNET).to_torch(seed=0)
    hand = HandNet()
    hand.load_state_dict(model.state_dict(), strict=True)
    x = torch.randn(4, 3, 32, 32)
    # training mode: batch statistics, running statistics updated the same way
    model.train(), hand.train()
    assert torch.allclose(model(x), hand(x), atol=1e-5)
    for (k, a), b in zip(model.state_dict().items(), hand.state_dict().values()):
        assert torch.allclose(a.float(), b.float(), atol=1e-6), k
    assert int(model.state_dict()["bn1.num_batches_tracked"]) == 1
    # eval mode: running statistics, nothing updated
    model.eval(), hand.eval()
    before = copy.deepcopy(model.state_dict())
    with torch.no_grad():
        assert torch.allclose(model(x), hand(x), atol=1e-5)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    # gradients agree too
    model.train(), hand.train()
    model(x).square().mean().backward()
    hand(x).square().mean().backward()
    assert torch.allclose(model.get_submodule("layer1.0.conv1").weight.grad,
                          hand.layer1[0].conv1.weight.grad, atol=1e-5)


def test_one_optimiser_step_lowers_the_loss():
    model = archdsl.load(text=SMALL_RESNET).to_torch(seed=0).train()
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(16, 3, 32, 32, generator=g), torch.randint(0, 10, (16,), generator=g)
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.0)
    loss0 = F.cross_entropy(model(x), y)
    opt.zero_grad()
    loss0.backward()
    opt.step()
    assert F.cross_entropy(model(x), y).item() < loss0.item()


# --------------------------------------------------------------------------- initialisation, seeds


def test_initialisation_follows_torchvision():
    model = archdsl.load(text=SMALL_RESNET, classes=1000).to_torch(seed=0)
    conv = model.get_submodule("layer2.0.conv2")  # 32 x 32 x 3 x 3
    fan_out = 32 * 3 * 3
    assert conv.weight.std().item() == pytest.approx(math.sqrt(2 / fan_out), rel=0.05)
    assert conv.weight.mean().abs().item() < 0.01
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            assert torch.equal(m.weight, torch.ones_like(m.weight))
            assert torch.equal(m.bias, torch.zeros_like(m.bias))
            assert torch.equal(m.running_var, torch.ones_like(m.running_var))
    fc = model.fc  # PyTorch's default: U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weight and bias
    bound = 1 / math.sqrt(32)
    assert fc.weight.abs().max().item() <= bound and fc.weight.abs().max().item() > 0.9 * bound
    assert fc.bias.abs().max().item() <= bound


def test_seed_gives_bit_identical_weights_and_leaves_global_rng_alone():
    net = archdsl.load("zoo:lenet5")
    state = torch.random.get_rng_state()
    a = net.to_torch(seed=3).state_dict()
    b = archdsl.load("zoo:lenet5").to_torch(seed=3).state_dict()
    c = net.to_torch(seed=4).state_dict()
    assert torch.equal(torch.random.get_rng_state(), state)
    assert list(a) == list(b)
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not torch.equal(a["c1.weight"], c["c1.weight"])


def test_dtype_device_and_memory_format():
    model = archdsl.load(text=SMALL_RESNET).to_torch(
        device="cpu", dtype=torch.bfloat16, memory_format=torch.channels_last, seed=0)
    w = model.conv1.weight
    assert w.dtype == torch.bfloat16 and w.is_contiguous(memory_format=torch.channels_last)
    x = torch.randn(2, 3, 32, 32, dtype=torch.bfloat16).contiguous(
        memory_format=torch.channels_last)
    with torch.no_grad():
        assert model.eval()(x).shape == (2, 10)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_half_channels_last_and_autocast():
    net = archdsl.load(text=SMALL_RESNET)
    ref = net.to_torch(seed=0).eval()
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        expect = ref(x)
        half = net.to_torch(device="cuda", dtype=torch.float16,
                            memory_format=torch.channels_last, seed=0).eval()
        got = half(x.cuda().half().contiguous(memory_format=torch.channels_last))
        assert torch.allclose(got.float().cpu(), expect, atol=5e-2, rtol=5e-2)
        full = net.to_torch(device="cuda", seed=0).eval()
        with torch.autocast("cuda", dtype=torch.float16):
            got = full(x.cuda())
        assert torch.allclose(got.float().cpu(), expect, atol=5e-2, rtol=5e-2)


# --------------------------------------------------------------------------- modes, aux heads, regularisers


def test_aux_heads_in_training_only():
    net = archdsl.load("zoo:googlenet", image=[3, 64, 64])
    model = net.to_torch(seed=0)
    x = torch.randn(2, 3, 64, 64)
    out = model.train()(x)
    assert isinstance(out, tuple) and [o.shape for o in out] == [(2, 1000)] * 3
    model.eval()
    with torch.no_grad():
        y1, y2 = model(x), model(x)
    assert isinstance(y1, torch.Tensor) and torch.equal(y1, y2)  # dropout off in eval
    assert "aux1" not in model.code  # eval's straight-line forward leaves the heads out
    # the eval forward computes no aux head: FlopCounterMode sees inference macs only
    assert macs_by_flop_counter(model, (3, 64, 64), device="cpu") == net.totals()["macs"]
    # deepcopy keeps both modes
    twin = copy.deepcopy(model)
    assert isinstance(twin.train()(x), tuple) and isinstance(twin.eval()(x), torch.Tensor)
    # training outputs are random (dropout), and main equals the eval path's structure
    model.train()
    torch.manual_seed(0)
    a = model(x)[1]
    torch.manual_seed(1)
    b = model(x)[1]
    assert not torch.allclose(a, b)


def test_drop_path_drops_whole_samples_in_training():
    dp = torch_layers.DropPath(0.5).train()
    torch.manual_seed(0)
    y = dp(torch.ones(256, 3, 2, 2))
    per_sample = y.flatten(1)
    kept = per_sample[:, 0] != 0
    assert torch.all(per_sample[kept] == 2.0) and torch.all(per_sample[~kept] == 0.0)
    assert 0.3 < kept.float().mean().item() < 0.7
    assert torch.equal(dp.eval()(torch.ones(4, 3)), torch.ones(4, 3))
    net = archdsl.load(text="""
network t { input [4, 6, 6]
  residual { conv(4, k=3, p=1); bn; drop_path(0.5) }
  relu }""")
    model = net.to_torch(seed=0)
    assert any(isinstance(m, torch_layers.DropPath) for m in model.modules())


# An activation statement -> its definition as its paper writes it (ReLU6: Krizhevsky 2010,
# MobileNetV2; hard sigmoid: Howard et al. 2019; SiLU: Elfwing et al. 2018; GELU and its tanh
# approximation: Hendrycks and Gimpel 2016).
ACTIVATIONS = {
    "relu6": lambda x: x.clamp(0, 6),
    "hardtanh(min=-0.5, max=2)": lambda x: x.clamp(-0.5, 2),
    "hardtanh": lambda x: x.clamp(-1, 1),
    "hardsigmoid": lambda x: (x + 3).clamp(0, 6) / 6,
    "silu": lambda x: x * torch.sigmoid(x),
    "gelu": lambda x: 0.5 * x * (1 + torch.erf(x / math.sqrt(2))),
    'gelu(approximate="tanh")': lambda x: 0.5 * x * (
        1 + torch.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3))),
}


@pytest.mark.parametrize("stmt", sorted(ACTIVATIONS))
def test_activation_is_its_definition_forward_and_backward(stmt):
    # after a batch norm, so the activation runs in place where it has `inplace`
    net = archdsl.load(text=f"network t {{ input [3, 6, 6]\n c: conv(4, k=3, p=1); n: bn; "
                            f"act: {stmt} }}")
    model = net.to_torch(seed=0).eval()
    x = (4 * torch.randn(2, 3, 6, 6)).requires_grad_()
    model(x).square().sum().backward()
    x2 = x.detach().clone().requires_grad_()
    expect = ACTIVATIONS[stmt](model.n(model.c(x2)))
    expect.square().sum().backward()
    with torch.no_grad():
        assert torch.allclose(model(x), expect, atol=1e-5)
    assert torch.allclose(x.grad, x2.grad, atol=1e-4)


def _torchvision_channel_shuffle(x, groups):
    # what torchvision/models/shufflenetv2.py's channel_shuffle computes: the channels as
    # [groups, C / groups], transposed
    n, c, h, w = x.shape
    return x.reshape(n, groups, c // groups, h, w).transpose(1, 2).reshape(n, c, h, w)


def test_channel_halves_and_shuffle_compute_shufflenets_unit():
    # ShuffleNetV2's stride-1 unit: x1, x2 = x.chunk(2, dim=1); cat(x1, branch2(x2)); shuffle
    net = archdsl.load(text="""network t { input [8, 5, 5]
  parallel concat {
    channels(0, 4)
    { channels(4); b: { conv(4); bn; relu; conv(4, k=3, p=1, groups=4); bn } }
  }
  channel_shuffle(2) }""")
    model = net.to_torch(seed=0).eval()
    x = torch.randn(2, 8, 5, 5)
    x1, x2 = x.chunk(2, dim=1)
    branch = x2
    for i in range(5):
        branch = model.get_submodule(f"b.{i}")(branch)
    expect = _torchvision_channel_shuffle(torch.cat((x1, branch), dim=1), 2)
    with torch.no_grad():
        assert torch.equal(model(x), expect)
    # the permutation itself: channel g * (C / groups) + i goes to i * groups + g
    shuffled = model.get_submodule("2")(torch.arange(8.0).view(1, 8, 1, 1)).flatten()
    assert shuffled.tolist() == [0, 4, 1, 5, 2, 6, 3, 7]


def test_an_activation_after_a_channel_slice_never_writes_into_the_input():
    net = archdsl.load(text="""network t { input [4, 3, 3]
  a: conv(4)
  parallel concat { { channels(0, 2); relu }; channels(0, 4) } }""")
    model = net.to_torch(seed=0).eval()
    x = torch.randn(1, 4, 3, 3)
    a = model.a(x)
    with torch.no_grad():
        assert torch.equal(model(x), torch.cat([F.relu(a[:, :2]), a], 1))


class _Permute(nn.Module):  # torchvision.ops.misc.Permute: dims include the batch
    def __init__(self, dims):
        super().__init__()
        self.dims = dims

    def forward(self, x):
        return x.permute(self.dims)


class _LayerNorm2d(nn.LayerNorm):  # torchvision's LayerNorm2d: channels-last, norm, back
    def forward(self, x):
        y = F.layer_norm(x.permute(0, 2, 3, 1), self.normalized_shape, self.weight, self.bias,
                         self.eps)
        return y.permute(0, 3, 1, 2)


class _CNBlock(nn.Module):
    """torchvision/models/convnext.py's CNBlock as its source builds it (eval mode: its
    stochastic depth is the identity)."""

    def __init__(self, dim, layer_scale):
        super().__init__()
        self.block = nn.Sequential(
            nn.Conv2d(dim, dim, 7, padding=3, groups=dim), _Permute([0, 2, 3, 1]),
            nn.LayerNorm(dim, eps=1e-6), nn.Linear(dim, 4 * dim), nn.GELU(),
            nn.Linear(4 * dim, dim), _Permute([0, 3, 1, 2]))
        self.layer_scale = nn.Parameter(torch.ones(dim, 1, 1) * layer_scale)

    def forward(self, x):
        return self.layer_scale * self.block(x) + x


CONVNEXT_PIECES = """network t { input [3, 32, 32]
  stem: { conv(16, k=4, s=4); layernorm2d(eps=1e-6) }
  cn: {
    residual {
      "block": { conv(16, k=7, p=3, groups=16); permute([1, 2, 0]); layernorm(eps=1e-6)
                 linear_last(64); gelu; linear_last(16); permute([2, 0, 1]) }
      layer_scale: layer_scale(1e-6)
      stochastic_depth: drop_path(0.1)
    }
  }
  gap; head: { layernorm2d(eps=1e-6); flatten; linear(10) } }"""  # linear: fc's other name


def test_convnext_pieces_compute_torchvisions_block():
    net = archdsl.load(text=CONVNEXT_PIECES)
    model = net.to_torch(seed=0)
    # the layer scale is a bare tensor under the statement's own name, starting at init
    assert model.get_parameter("cn.layer_scale").shape == (16, 1, 1)
    assert torch.equal(model.cn.layer_scale, torch.ones(16, 1, 1) * 1e-6)
    reference = nn.ModuleDict({
        "stem": nn.Sequential(nn.Conv2d(3, 16, 4, 4), _LayerNorm2d(16, eps=1e-6)),
        "cn": _CNBlock(16, 1e-6),
        "head": nn.Sequential(_LayerNorm2d(16, eps=1e-6), nn.Flatten(1), nn.Linear(16, 10))})
    state = model.state_dict()
    assert sorted(state) == sorted(reference.state_dict())
    gen = torch.Generator().manual_seed(0)
    state = {k: torch.randn(v.shape, generator=gen) for k, v in state.items()}
    model.load_state_dict(state, strict=True)
    reference.load_state_dict(state, strict=True)
    x = torch.randn(2, 3, 32, 32, generator=gen)
    model.eval()
    with torch.no_grad():
        h = reference["cn"](reference["stem"](x))
        expect = reference["head"](h.mean((2, 3), keepdim=True))
        assert torch.allclose(model(x), expect, rtol=1e-5, atol=1e-5)
    # macs: the convs and the per-position linears (FlopCounterMode counts both)
    assert macs_by_flop_counter(model, (3, 32, 32), device="cpu") == net.totals()["macs"]


def test_drop_path_is_torchvisions_row_mode_stochastic_depth():
    # torchvision.ops.stochastic_depth(x, p, "row"): one Bernoulli(1 - p) per sample drawn
    # into an [N, 1, 1, 1] tensor, divided by 1 - p, times the input; identity in eval
    def row_mode(x, p):
        noise = torch.empty([x.shape[0]] + [1] * (x.ndim - 1)).bernoulli_(1 - p)
        return x * noise.div_(1 - p)
    dp = torch_layers.DropPath(0.3).train()
    x = torch.randn(64, 4, 3, 3)
    torch.manual_seed(5)
    ours = dp(x)
    torch.manual_seed(5)
    assert torch.equal(ours, row_mode(x, 0.3))
    assert dp.eval()(x) is x and torch_layers.DropPath(0.0).train()(x) is x


def test_dropout_is_off_in_eval():
    net = archdsl.load(text="network t { input [8]\n fc(8); dropout(0.5); fc(2) }")
    model = net.to_torch(seed=0)
    x = torch.randn(4, 8)
    model.eval()
    assert torch.equal(model(x), model(x))
    model.train()
    torch.manual_seed(0)
    a = model(x)
    torch.manual_seed(1)
    assert not torch.equal(a, model(x))


def test_inplace_relu_never_clobbers_a_shared_value():
    # relu's input also feeds the other branch: it must not be modified in place
    net = archdsl.load(text="""
network t { input [2, 4, 4]
  a: conv(2)
  parallel concat { relu; identity }
}""")
    model = net.to_torch(seed=0).eval()
    x = torch.randn(1, 2, 4, 4)
    a = model.a(x)
    assert torch.allclose(model(x), torch.cat([F.relu(a), a], 1))
    # a relu on the network's input leaves the caller's tensor alone
    model = archdsl.load(text="network t { input [3]\n relu }").to_torch()
    x = torch.randn(5, 3)
    x0 = x.clone()
    model(x)
    assert torch.equal(x, x0)


# --------------------------------------------------------------------------- fusion


def test_fuse_folds_batch_norm_within_tolerance():
    net = archdsl.load(text=SMALL_RESNET)
    model = net.to_torch(seed=0)
    perturb_bn(model)
    fused = fuse_bn(model)  # a fused copy; the original is unchanged
    model.eval()
    x = torch.randn(3, 3, 32, 32)
    with torch.no_grad():
        a, b = model(x), fused(x)
    assert torch.allclose(a, b, rtol=1e-5, atol=1e-5 * a.abs().max().item())
    assert not any(isinstance(m, nn.BatchNorm2d) for m in fused.modules())
    assert any(isinstance(m, nn.BatchNorm2d) for m in model.modules())
    assert "layer1.0.conv1.bias" in fused.state_dict()
    with pytest.raises(RuntimeError, match="inference only"):
        fused.train()
    # to_torch(fuse=True) is the same thing on fresh weights
    direct = net.to_torch(seed=0, fuse=True)
    assert set(direct.state_dict()) == set(fused.state_dict())


# --------------------------------------------------------------------------- limits and names


def test_params_limit_refuses_before_allocating():
    net = archdsl.load(text="network big { input [100000]\n fc(100000); fc(100000) }")
    with pytest.raises(ArchError) as e:
        net.to_torch()  # 2e10 parameters: 80 GB if it were allocated
    msg = str(e.value)
    assert "20,000,200,000" in msg and "--max-params" in msg
    with pytest.raises(ArchError, match="1,001,000"):
        archdsl.load(text="network t { input [1000]\n fc(1000) }").to_torch(max_params=1000)


def test_a_layer_named_like_a_module_attribute_is_an_error():
    # Refused when the file is elaborated (tests/test_names.py), before any module is built.
    with pytest.raises(ArchError, match="forward"):
        archdsl.load(text="network t { input [3]\n forward: fc(2) }").to_torch(device="meta")


def test_whole_module_pickling_is_refused_with_advice():
    import pickle
    model = archdsl.load(text=SMALL_RESNET).to_torch(device="meta")
    with pytest.raises(TypeError, match="state_dict"):
        pickle.dumps(model)


# --------------------------------------------------------------------------- emitted source

# --------------------------------------------------------------------------- export, compile, ONNX


@pytest.mark.parametrize("name", ["resnet18", "googlenet"])
def test_torch_export_and_dynamo_capture(name):
    """torch.export and torch.compile's graph capture (fullgraph: no graph breaks)."""
    model = archdsl.load(f"zoo:{name}", image=[3, 64, 64]).to_torch(seed=0).eval()
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        expect = model(x)
    program = torch.export.export(model, (x,))
    assert len(program.graph_signature.user_outputs) == 1  # eval: the main output only
    assert torch.allclose(program.module()(x), expect, atol=1e-5)
    torch._dynamo.reset()
    # aot_eager: dynamo + AOTAutograd, everything torch.compile does before code generation
    # (inductor's C++ code generation alone takes minutes for these on a 2-core CPU; it is
    # exercised on a small network below)
    compiled = torch.compile(model, fullgraph=True, backend="aot_eager")
    with torch.no_grad():
        assert torch.allclose(compiled(x), expect, atol=1e-5)
    torch._dynamo.reset()


def test_torch_compile_inductor_on_a_small_network():
    net = archdsl.load(text="""
network tiny { input [3, 16, 16]
  conv1: conv(8, k=3, p=1, bias=false); bn1: bn; relu
  block1: basic(8)
  parallel concat { conv(4); { maxpool(3, s=1, p=1); conv(4) } }
  aux head: { gap; flatten; fc(3) } from block1
  gap; flatten; fc: fc(5)
}""")
    model = net.to_torch(seed=0).eval()
    x = torch.randn(2, 3, 16, 16)
    torch._dynamo.reset()
    compiled = torch.compile(model, fullgraph=True)  # the default backend, inductor
    with torch.no_grad():
        assert torch.allclose(compiled(x), model(x), atol=1e-5)
    torch._dynamo.reset()


def test_torchscript():
    net = archdsl.load(text=MIXED)  # custom layers, merges, aux head
    model = net.to_torch(seed=0)
    x = torch.randn(2, 3, 20, 20)
    with torch.no_grad():
        scripted = torch.jit.script(model.eval())
        assert torch.allclose(scripted(x), model(x), atol=1e-6)
        for m in model.modules():  # scripted code draws its random numbers differently
            if isinstance(m, (nn.Dropout, torch_layers.DropPath)):
                m.p = 0.0
        scripted = torch.jit.script(model.train())  # the training graph: (main, *aux)
        expect, got = model(x), scripted(x)
    assert len(got) == len(expect) == 2
    assert all(torch.allclose(a, b, atol=1e-5) for a, b in zip(got, expect))


def test_onnx_matches_onnxruntime(tmp_path):
    pytest.importorskip("onnx")
    pytest.importorskip("onnxscript")
    ort = pytest.importorskip("onnxruntime")
    from archdsl.commands.compile import export_onnx
    net = archdsl.load(text=MIXED)
    model = net.to_torch(seed=0)
    perturb_bn(model)
    model.eval()
    x = torch.randn(2, 3, 20, 20)
    path = tmp_path / "mixed.onnx"
    export_onnx(torch, model, x, path)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (got,) = session.run(None, {session.get_inputs()[0].name: x.numpy()})
    with torch.no_grad():
        expect = model(x).numpy()
    assert got.shape == expect.shape
    assert abs(got - expect).max() <= 1e-4 * max(1.0, abs(expect).max())


def test_graph_module_is_a_plain_fx_module():
    model = archdsl.load("zoo:resnet18").to_torch(device="meta")
    assert isinstance(model, ArchModule)
    code = model.code
    assert "def forward(self, x)" in code and "for " not in code  # straight-line
    assert "self.layer1" in code

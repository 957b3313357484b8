"""Every op of the registry: the analysis' `macs` equal PyTorch's own FlopCounterMode / 2 on the
generated module, and `params` equal the module's trainable parameter count."""
from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
from torch.utils.flop_counter import FlopCounterMode  # noqa: E402

import archdsl  # noqa: E402
from archdsl import ops  # noqa: E402

LENET_C3_TABLE = ("[[0,1,2],[1,2,3],[2,3,4],[3,4,5],[0,4,5],[0,1,5],[0,1,2,3],[1,2,3,4],"
                  "[2,3,4,5],[0,3,4,5],[0,1,4,5],[0,1,2,5],[0,1,3,4],[1,2,4,5],[0,2,3,5],"
                  "[0,1,2,3,4,5]]")

# op -> list of (input shape, statements). Every registered op must appear here.
EXAMPLES = {
    "input": [([3, 4, 4], "")],  # the network's input alone: no cost, no parameters
    "conv": [([3, 17, 17], "conv(8, k=3, s=2, p=1)"),
             ([8, 16, 16], "conv(16, k=[3, 5], p=[1, 2], groups=4, bias=false)"),
             ([4, 15, 15], "conv(6, k=3, d=2)"),
             ([3, 32, 32], 'conv(8, k=11, s=4, p="same")'),
             ([6, 14, 14], f"conv(16, k=5, table={LENET_C3_TABLE})")],
    "fc": [([3, 4, 4], "flatten; fc(10)"), ([3, 4, 4], "flatten; fc(5, bias=false)")],
    "linear_last": [([3, 4, 4], "flatten; linear_last(10)"), ([4, 3, 5], "linear_last(6)"),
                    ([8, 4, 4], "permute([1, 2, 0]); linear_last(6, bias=false)")],
    "bn": [([3, 8, 8], "bn"), ([3, 4, 4], "flatten; bn")],
    "lrn": [([8, 6, 6], "lrn")],
    "layernorm": [([4, 3, 5], "layernorm"), ([3, 4, 4], "permute([1, 2, 0]); layernorm(eps=1e-6)"),
                  ([6], "layernorm")],
    "layernorm2d": [([4, 3, 3], "layernorm2d(eps=1e-6)")],
    "permute": [([2, 3, 4], "permute([2, 0, 1])")],
    "layer_scale": [([4, 3, 3], "conv(4); layer_scale"), ([6], "layer_scale(0.5)")],
    "relu": [([3, 4, 4], "relu")], "tanh": [([3, 4, 4], "tanh")],
    "sigmoid": [([3, 4, 4], "sigmoid")], "softmax": [([3, 4, 4], "softmax")],
    "identity": [([3, 4, 4], "identity")], "scaled_tanh": [([3, 4, 4], "scaled_tanh")],
    "hardswish": [([3, 4, 4], "conv(4); hardswish"), ([3, 4, 4], "hardswish(inplace=false)")],
    "relu6": [([3, 4, 4], "conv(4); relu6")],
    "hardtanh": [([3, 4, 4], "conv(4); hardtanh(min=0, max=6)"), ([3, 4, 4], "hardtanh")],
    "hardsigmoid": [([3, 4, 4], "conv(4); hardsigmoid")],
    "silu": [([3, 4, 4], "conv(4); silu"), ([3, 4, 4], "silu(inplace=false)")],
    "gelu": [([3, 4, 4], "conv(4); gelu"), ([3, 4, 4], 'gelu(approximate="tanh")')],
    "maxpool": [([3, 13, 13], "maxpool(3, s=2, ceil=true)")],
    "avgpool": [([3, 12, 12], "avgpool(2)"),
                ([3, 9, 9], "avgpool(3, s=1, p=1, count_include_pad=false)")],
    "gap": [([3, 7, 7], "gap")],
    "adaptive_avgpool": [([3, 12, 12], "adaptive_avgpool(6)")],
    "flatten": [([3, 4, 4], "flatten")],
    "dropout": [([3, 4, 4], "dropout(0.3)")],
    "drop_path": [([3, 4, 4], "drop_path(0.2)")],
    "zeropad": [([1, 28, 28], "zeropad(2)")],
    "scale": [([3, 8, 8], "conv(4); scale(0.17)")],
    "resize": [([3, 32, 32], "resize(56)")],
    "subsample": [([6, 28, 28], "subsample")],
    "rbf": [([84], "rbf(10)")],
    "concat": [([3, 8, 8], "a: conv(4); b: conv(5) from in; concat from a, b")],
    "add": [([3, 8, 8], "a: conv(4); b: conv(4) from in; add from a, b")],
    "mul": [([3, 8, 8], "a: conv(4); gap; b: conv(4); mul from a, b")],
    "mean": [([3, 8, 8], "a: conv(4); b: conv(4) from in; mean from a, b")],
    "pad_channels": [([16, 8, 8], "pad_channels(32)")],
    "channels": [([8, 4, 4], "channels(2, 6)"), ([8, 4, 4], "channels(5)"), ([6], "channels(1, 2)")],
    "channel_shuffle": [([8, 4, 4], "channel_shuffle(4)")],
    "join": [([3, 8, 8], "a: conv(4); b: conv(4) from in; concat from a, b; join(2)")],
}


def test_every_op_has_an_example():
    assert set(EXAMPLES) == set(ops.OPS)


CASES = [(op, shape, stmts) for op, examples in EXAMPLES.items() for shape, stmts in examples]


@pytest.mark.parametrize("op,shape,stmts", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_macs_match_flop_counter_and_params_match_module(op, shape, stmts):
    net = archdsl.load(text=f"network n {{ input {shape}; {stmts} }}")
    model = net.to_torch(seed=0).eval()
    x = torch.randn(2, *shape)
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        model(x)
    total = net.summary()["total"]
    assert counter.get_total_flops() == 2 * 2 * total["macs"]  # batch of 2, 2 flops per MAC
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    assert trainable == total["params"]


def test_avgpool_without_the_padding_averages_the_pixels_inside_only():
    """On a map of ones, a padded 3x3 average is 4/9 at a corner and 6/9 on an edge when the
    zero padding counts (PyTorch's default) and 1 everywhere when it does not (timm's
    Inception pools, `count_include_pad=False`)."""
    def pooled(extra):
        net = archdsl.load(text=f"network n {{ input [1, 4, 4]; avgpool(3, s=1, p=1{extra}) }}")
        with torch.no_grad():
            return net.to_torch().eval()(torch.ones(1, 1, 4, 4))[0, 0]
    counted = pooled("")
    assert counted[0, 0].item() == pytest.approx(4 / 9)
    assert counted[0, 1].item() == pytest.approx(6 / 9)
    assert counted[1, 1].item() == pytest.approx(1)
    assert torch.equal(pooled(", count_include_pad=false"), torch.ones(4, 4))


def test_scale_then_residual_is_timms_scaled_residual():
    """`residual { conv; scale(k) }; relu` computes timm's Block35 tail,
    `relu(conv(x) * k + x)`, bit for bit."""
    net = archdsl.load(text="network n { input [8, 5, 5]; "
                            "residual { c: conv(8); scale(0.17) }; relu }")
    model = net.to_torch(seed=0).eval()
    conv = torch.nn.Conv2d(8, 8, 1)
    conv.load_state_dict({"weight": model.c.weight, "bias": model.c.bias})
    x = torch.randn(2, 8, 5, 5)
    with torch.no_grad():
        assert torch.equal(model(x), torch.relu(conv(x) * 0.17 + x))

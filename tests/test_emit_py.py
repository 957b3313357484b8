"""`.py` emission (archdsl/backends/emit_py.py): the standalone source runs without archdsl,
computes what the GraphModule computes, loads its state_dict, and writes every module as the
constructor call that rebuilds it (checked against torch's own classes)."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

torch = pytest.importorskip("torch")
import torch.nn as nn  # noqa: E402

import archdsl  # noqa: E402
from archdsl.backends.emit_py import constructor, to_source  # noqa: E402
from archdsl.backends.torch_backend import fuse_bn  # noqa: E402

from helpers import MIXED, SMALL_RESNET, perturb_bn  # noqa: E402


def test_emitted_source_runs_alone_with_the_same_outputs(tmp_path):
    net = archdsl.load(text=MIXED)
    model = net.to_torch(seed=0)
    perturb_bn(model)
    src = to_source(model, class_name="Mixed", network="mixed",
                    input_shape=net.graph.graph["input_shape"])
    (tmp_path / "mixed_net.py").write_text(src)
    torch.save(model.state_dict(), tmp_path / "weights.pt")
    x = torch.randn(3, 3, 20, 20)
    torch.save(x, tmp_path / "x.pt")
    script = textwrap.dedent(f"""
        import sys
        sys.modules["archdsl"] = None  # the emitted file must need only torch
        sys.path.insert(0, {str(tmp_path)!r})
        import torch
        import mixed_net
        m = mixed_net.Mixed()
        m.load_state_dict(torch.load({str(tmp_path / 'weights.pt')!r}), strict=True)
        x = torch.load({str(tmp_path / 'x.pt')!r})
        with torch.no_grad():
            ev = m.eval()(x)
            torch.manual_seed(7)
            tr = m.train()(x)
        torch.save((ev, tr), {str(tmp_path / 'out.pt')!r})
    """)
    env = dict(os.environ, OMP_NUM_THREADS="1")
    subprocess.run([sys.executable, "-c", script], check=True, env=env, cwd=tmp_path,
                   timeout=120)
    ev, tr = torch.load(tmp_path / "out.pt")
    with torch.no_grad():
        expect_ev = model.eval()(x)
        torch.manual_seed(7)
        expect_tr = model.train()(x)
    assert torch.allclose(ev, expect_ev, atol=1e-6)
    assert isinstance(tr, tuple) and len(tr) == 2
    for a, b in zip(tr, expect_tr):
        assert torch.allclose(a, b, atol=1e-6)
    assert "import archdsl" not in src and "class Mixed(nn.Module)" in src


def test_emitted_source_of_a_fused_module(tmp_path):
    model = fuse_bn(archdsl.load(text=SMALL_RESNET).to_torch(seed=0))
    namespace = {}
    exec(compile(to_source(model, class_name="Fused"), "fused.py", "exec"), namespace)
    twin = namespace["Fused"]().eval()
    twin.load_state_dict(model.state_dict(), strict=True)
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        assert torch.allclose(twin(x), model(x), atol=1e-6)


@pytest.mark.parametrize("module", [
    nn.AvgPool2d(3, 2, 1, ceil_mode=True, count_include_pad=False),  # its repr omits these
    nn.AvgPool2d(2),
    nn.Hardswish(inplace=True),  # its repr omits inplace
    nn.ReLU(inplace=False),
    nn.ReLU6(inplace=True),
    nn.Hardtanh(0.0, 6.0, inplace=True),
    nn.Hardsigmoid(inplace=True),  # its repr omits inplace
    nn.SiLU(inplace=True),
    nn.GELU(approximate="tanh"),
    nn.ChannelShuffle(3),
    nn.LocalResponseNorm(3, alpha=2e-4, beta=0.5, k=1.5),
])
def test_a_torch_layer_is_written_as_the_call_that_rebuilds_it(module):
    expr = constructor(module)
    rebuilt = eval(expr, {"nn": nn})  # noqa: S307 - the test's own expression
    assert type(rebuilt) is type(module)
    assert {k: v for k, v in vars(rebuilt).items() if not k.startswith("_")} == \
        {k: v for k, v in vars(module).items() if not k.startswith("_")}


def emitted_twin(src: str, class_name: str = "T"):
    """A fresh instance, in eval mode, of the class an emitted `.py` source defines."""
    namespace = {}
    exec(compile(src, "t.py", "exec"), namespace)  # noqa: S102 - the emitted file itself
    return namespace[class_name]().eval()


def test_layer_classes_come_with_the_helpers_they_call(tmp_path):
    net = archdsl.load(text='network t { input [3, 9, 9]; '
                            'conv(4, k=3, s=2, p="same", table=[[0, 1], [1, 2]]); hardswish }')
    model = net.to_torch(seed=0).eval()
    src = to_source(model, class_name="T")
    assert "class TableConv2d(nn.Module)" in src and "def same_padding(" in src
    assert src.index("def same_padding(") < src.index("class TableConv2d")
    twin = emitted_twin(src)
    twin.load_state_dict(model.state_dict(), strict=True)
    x = torch.randn(2, 3, 9, 9)
    with torch.no_grad():
        assert torch.allclose(twin(x), model(x), atol=1e-6)


def test_channel_slices_and_shuffle_in_emitted_source():
    net = archdsl.load(text="""network t { input [8, 5, 5]
  parallel concat { channels(0, 4); { channels(4); conv(4, k=3, p=1); bn; relu } }
  channel_shuffle(2) }""")
    model = net.to_torch(seed=0).eval()
    src = to_source(model, class_name="T")
    assert "class Channels(nn.Module)" in src and "nn.ChannelShuffle(groups=2)" in src
    twin = emitted_twin(src)
    twin.load_state_dict(model.state_dict(), strict=True)
    x = torch.randn(2, 8, 5, 5)
    with torch.no_grad():
        assert torch.equal(twin(x), model(x))


def test_bare_tensors_in_emitted_source(tmp_path):
    # ConvNeXt's layer scale: a parameter of the container itself, under the statement's name
    net = archdsl.load(text="""network t { input [4, 5, 5]
  cn: { residual { "block": { conv(4, k=3, p=1, groups=4); permute([1, 2, 0]); layernorm
                              linear_last(8); gelu; linear_last(4); permute([2, 0, 1]) }
                   layer_scale: layer_scale(1e-6) } }
  layer_scale(0.5); layernorm2d }""")
    model = net.to_torch(seed=0).eval()
    src = to_source(model, class_name="T")
    twin = emitted_twin(src)
    assert {k: v.shape for k, v in twin.state_dict().items()} == \
        {k: v.shape for k, v in model.state_dict().items()}
    # a fresh twin starts where the module started
    assert torch.equal(twin.cn.layer_scale, torch.full((4, 1, 1), 1e-6))
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p))
    twin.load_state_dict(model.state_dict(), strict=True)
    x = torch.randn(2, 4, 5, 5)
    with torch.no_grad():
        assert torch.equal(twin(x), model(x))


def test_inception_resnet_ops_are_written_with_their_arguments():
    """The scaled residual and the average pool that leaves the padding out (timm's
    Inception-ResNet) survive `.py` emission: the written file computes the same outputs,
    which differ from those of a pool that counts the padding."""
    body = ("residual { c: conv(4, k=3, p=1); scale(0.2) }; relu; "
            "avgpool(3, s=1, p=1, count_include_pad=INCLUDE)")

    def built(include):
        text = f"network t {{ input [4, 6, 6]; {body.replace('INCLUDE', include)} }}"
        return archdsl.load(text=text).to_torch(seed=0).eval()

    model = built("false")
    src = to_source(model, class_name="T")
    assert "class Scale(nn.Module)" in src and "Scale(k=0.2)" in src
    assert "count_include_pad=False" in src
    twin = emitted_twin(src)
    twin.load_state_dict(model.state_dict(), strict=True)
    counted = built("true")
    counted.load_state_dict(model.state_dict(), strict=True)
    x = torch.randn(2, 4, 6, 6)
    with torch.no_grad():
        assert torch.equal(twin(x), model(x))
        assert not torch.allclose(counted(x), model(x))

"""Values from outside refused before any work, each with one clear error (issue 16): op
arguments the backend would reject (item 5), command-line arguments (item 6), the Python
API's arguments (item 8), counts past 64 bits (item 19), and two messages (item 20)."""
from __future__ import annotations

import pytest

import archdsl
from archdsl.errors import MESSAGE_WIDTH, ArchError
from helpers import LOCATED, TINY, net, one_error, write

# ---------------------------------------------------------------------- 16.5: op arguments

# The five cases, each with what torch itself does with that value (the figure from
# outside: the analysis must not accept what the backend rejects or computes wrongly).
BAD_OP_ARGUMENTS = [
    ("conv(8); subsample(0)", "subsample: k must be positive, got 0",
     lambda t, L, x: L.Subsample(8, 0)(x)),
    ("conv(8); bn(eps=-1)", "bn: eps must be positive, got -1",
     lambda t, L, x: t.nn.BatchNorm2d(8, eps=-1).eval()(x)),
    ("flatten; rbf(-2)", "rbf: out must be positive, got -2",
     lambda t, L, x: L.RBF(192, -2)),
    ("conv(8); lrn(size=0)", "lrn: size must be positive, got 0",
     lambda t, L, x: t.nn.LocalResponseNorm(0)(x)),
    ("flatten; rbf(0)", "rbf: out must be positive, got 0", None),
    # found beside them: negative paddings, which torch refuses at the forward pass
    ("conv(8); conv(8, p=-1)", "conv: p must be 0 or more, got -1",
     lambda t, L, x: t.nn.Conv2d(8, 8, 1, padding=-1)(x)),
    ("conv(8); maxpool(2, p=[0, -1])", "maxpool: p must be 0 or more, got [0, -1]",
     lambda t, L, x: t.nn.MaxPool2d(2, padding=(0, -1))(x)),
    ("conv(8); avgpool(3, p=-1)", "avgpool: p must be 0 or more, got -1",
     lambda t, L, x: t.nn.AvgPool2d(3, padding=-1)(x)),
]


@pytest.mark.parametrize("body, message, torch_fails", BAD_OP_ARGUMENTS,
                         ids=[b for b, _, _ in BAD_OP_ARGUMENTS])
def test_check_refuses_op_values_the_backend_rejects(run_cli, tmp_path, body, message,
                                                     torch_fails):
    f = write(tmp_path, "m.arch", net(body))
    msg = one_error(*run_cli("check", f)[::2])
    assert msg == f"{f}:3:{body.index(';') + 5}: error: {message}"  # at the op


@pytest.mark.parametrize("body, message, torch_fails",
                         [c for c in BAD_OP_ARGUMENTS if c[2] is not None],
                         ids=[b for b, _, f in BAD_OP_ARGUMENTS if f is not None])
def test_torch_rejects_the_same_values(body, message, torch_fails):
    torch = pytest.importorskip("torch")
    from archdsl.backends import torch_layers
    with pytest.raises((RuntimeError, ValueError, ZeroDivisionError)):
        torch_fails(torch, torch_layers, torch.randn(2, 8, 8, 8))


def test_rbf_of_zero_units_would_be_an_empty_output():
    """torch builds rbf(0) and returns a [B, 0] tensor: a network with no output."""
    torch = pytest.importorskip("torch")
    from archdsl.backends import torch_layers
    assert torch_layers.RBF(16, 0)(torch.randn(2, 16)).shape == (2, 0)


# ---------------------------------------------------------------------- 16.6: the command line

BAD_ARGUMENTS = [
    # (argv, fragment of the one error): each exits 1 with argparse's usage and one line
    (["compile", "tiny.arch", "--max-memory", "nan"], "argument --max-memory: expected a "
                                                      "positive, finite number of GiB"),
    (["compile", "tiny.arch", "--max-memory", "inf"], "argument --max-memory"),
    (["compile", "tiny.arch", "--max-memory", "1e400"], "argument --max-memory"),
    (["compile", "tiny.arch", "--max-memory", "-1"], "argument --max-memory"),
    (["compile", "tiny.arch", "--max-params", "-1"], "argument --max-params"),
    (["compile", "tiny.arch", "--seed", "99999999999999999999999"],
     "argument --seed: expected an integer from 0 to 2^64 - 1"),
    (["compile", "tiny.arch", "-o", ""], "argument -o/--output: expected a file name"),
    (["render", "tiny.arch", "-o", ""], "argument -o/--output: expected a file name"),
    (["compile", "tiny.arch", "--device", "cpu:1"], "--device 'cpu:1': cpu takes no index"),
    (["compile", "tiny.arch", "--device", "meta"],
     "--device 'meta': expected cpu, cuda or cuda:N"),
    (["summary", "tiny.arch", "--depth", "-3"], "argument --depth: expected 0 or a positive"),
    (["eval", "1", "-D", "=3"], "argument -D: expected NAME=VALUE, but '' is not a name"),
    (["eval", "1", "-D", "1=3"], "but '1' is not a name"),
    (["eval", "1", "-D", "a b=3"], "but 'a b' is not a name"),
    (["eval", "1", "-D", "true=3"], "but 'true' is a reserved word"),
    (["search", "s.arch", "--seed", "-1"], "argument --seed: expected an integer from 0"),
    (["search", "s.arch", "--timeout", "nan"], "argument --timeout"),
    (["search", "s.arch", "--storage", "sqlite://"], "in-memory SQLite database"),
    (["search", "s.arch", "--storage", "sqlite:///:memory:"], "in-memory SQLite database"),
]


@pytest.mark.parametrize("argv, fragment", BAD_ARGUMENTS, ids=[" ".join(a) for a, _ in
                                                               BAD_ARGUMENTS])
def test_bad_arguments_exit_1_with_one_error(run_cli, tmp_path, monkeypatch, argv, fragment):
    if argv[0] in ("compile", "search"):
        pytest.importorskip("torch")
    monkeypatch.chdir(tmp_path)
    write(tmp_path, "tiny.arch", TINY)
    write(tmp_path, "s.arch", "space s {\n  param w in [4, 8]\n  network n {\n"
                              "    input [3, 8, 8]\n    conv(w); gap; flatten; fc(2)\n  }\n}\n")
    code, out, err = run_cli(*argv)
    msg = one_error(code, err)
    assert fragment in msg, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.arch", "tiny.arch"]


def test_max_memory_is_read_in_gib(run_cli, tmp_path):
    """tiny's activations: 4x8x8 (conv, relu) + 4 + 4 + 2 floats = 522 x 4 = 2,088 bytes;
    the limit counts its input too, 3x8x8 x 4 = 768 bytes, and its 122 parameters (4x3x3x3
    + 4, 4x2 + 2), 488 bytes: 3,344 in all."""
    pytest.importorskip("torch")
    f = write(tmp_path, "tiny.arch", TINY)
    assert archdsl.load(f).totals()["memory"] == 2088
    msg = one_error(*run_cli("compile", f, "--max-memory", str(3300 / 2 ** 30))[::2])
    assert "more than the limit" in msg
    assert run_cli("compile", f, "--max-memory", str(3400 / 2 ** 30))[0] == 0


def test_an_expression_that_starts_with_a_minus_goes_after_double_dash(run_cli):
    assert run_cli("eval", "-D", "n=2", "--", "-n")[:2] == (0, "-2\n")
    assert run_cli("eval", "-1")[:2] == (0, "-1\n")  # a negative number is never an option
    code, out, err = run_cli("eval", "--help")
    assert "'--'" in " ".join(out.split())


# ---------------------------------------------------------------------- 16.8: the Python API

BAD_LOAD = [
    (dict(text=123), "text must be a string (or UTF-8 bytes), got int"),
    (dict(text=b"\xff"), "text= is not UTF-8"),
    (dict(path=123), "path must be a string or a path"),
    (dict(text=TINY, network=5), "network must be a name"),
    (dict(text=TINY, input_shape="abc"), "input_shape must be (C, H, W) or (N,) of positive"),
    (dict(text=TINY, input_shape=(-3, 8, 8)), "input_shape must be"),
    (dict(text=TINY, input_shape=(3, 8.0, 8)), "input_shape must be"),
    (dict(text=TINY, max_nodes="x"), "max_nodes must be a positive integer, got 'x'"),
    (dict(text=TINY, max_nodes=True), "max_nodes must be a positive integer"),
    (dict(text="network t(c=1) {\n  input [3, 8, 8]\n  conv(c)\n}\n", c=object()),
     "argument c= must be a number, string"),
]


@pytest.mark.parametrize("kwargs, message", BAD_LOAD, ids=[m[:20] for _, m in BAD_LOAD])
def test_load_refuses_bad_arguments(kwargs, message):
    path = kwargs.pop("path", None)
    with pytest.raises(ArchError) as e:
        archdsl.load(path, **kwargs)
    assert message in e.value.message


def test_load_takes_utf8_bytes_and_tuples():
    a = archdsl.load(text=TINY.encode("utf-8"))
    assert a.totals() == archdsl.load(text=TINY).totals()
    grid = "network t(k=[1, 1]) {\n  input [3, 8, 8]\n  conv(4, k=k)\n}\n"
    assert archdsl.load(text=grid, k=(3, 3)).totals()["params"] == 4 * 3 * 9 + 4


def _tiny():
    return archdsl.load(text=TINY)


BAD_TO_TORCH = [
    (dict(device="tpu"), "device 'tpu': expected cpu, cuda"),
    (dict(device="cpu:1"), "cpu takes no index"),
    (dict(device=3), "device must be a string or a torch.device"),
    (dict(dtype="bogus"), "dtype must be a floating torch.dtype or one of float32"),
    (dict(dtype="int8"), "dtype must be"),
    (dict(memory_format="x"), "memory_format must be"),
    (dict(seed=2 ** 70), "seed must be an integer from 0 to 2^64 - 1"),
    (dict(seed=-1), "seed must be"),
    (dict(seed="a"), "seed must be"),
    (dict(max_memory=float("nan")), "max_memory must be a number of 0 or more"),
    (dict(max_params=float("nan")), "max_params must be a number of 0 or more"),
    (dict(max_params="10"), "max_params must be"),
    (dict(fuse="yes"), "fuse must be true or false"),
]


@pytest.mark.parametrize("kwargs, message", BAD_TO_TORCH, ids=[m[:20] for _, m in BAD_TO_TORCH])
def test_to_torch_refuses_bad_arguments(kwargs, message):
    pytest.importorskip("torch")
    with pytest.raises(ArchError) as e:
        _tiny().to_torch(**kwargs)
    assert message in e.value.message


def test_to_torch_takes_dtype_and_memory_format_names():
    torch = pytest.importorskip("torch")
    m = _tiny().to_torch(dtype="float16", memory_format="channels_last")
    assert {p.dtype for p in m.parameters()} == {torch.float16}
    assert m.get_submodule("0").weight.is_contiguous(memory_format=torch.channels_last)
    # the largest seed torch.manual_seed takes, and the same weights for the same seed
    a, b = _tiny().to_torch(seed=2 ** 64 - 1), _tiny().to_torch(seed=2 ** 64 - 1)
    assert all(torch.equal(x, y) for x, y in zip(a.state_dict().values(),
                                                  b.state_dict().values()))
    assert _tiny().to_torch(max_memory=None, max_params=None) is not None


# ---------------------------------------------------------------------- 16.19: 64-bit counts


def test_negative_input_shapes_are_refused():
    with pytest.raises(ArchError, match=r"input_shape must be .* got \(-3, 32, 32\)"):
        archdsl.load("zoo:resnet18", input_shape=(-3, 32, 32))


def test_classes_past_64_bits_are_refused_at_the_fc():
    with pytest.raises(ArchError) as e:
        archdsl.load("zoo:resnet18", classes=10 ** 30)
    assert LOCATED.match(str(e.value)) and "more than a 64-bit count holds" in str(e.value)
    assert "fc output [1000000000000000000000000000000]" in e.value.message


def test_flops_past_64_bits_are_refused(run_cli):
    msg = one_error(*run_cli("eval", "flops(conv(8), in=[3, 2**62, 2**62])")[::2])
    assert msg.startswith("<expr>:1:1: error:") and "64-bit" in msg
    # below the limit the exact count by the cost model: a 1x1 conv of 3 to 8 channels is
    # 24 multiply-adds per output position, on 2^20 x 2^20 of them
    assert run_cli("eval", "flops(conv(8), in=[3, 2**20, 2**20])")[:2] == (0, f"{24 * 2**40}\n")


# ---------------------------------------------------------------------- 16.20: two messages


def test_a_string_index_says_string(run_cli):
    msg = one_error(*run_cli("eval", '"abc"[10]')[::2])
    assert msg == "<expr>:1:1: error: index 10 is out of range for a string of 3"
    msg = one_error(*run_cli("eval", "[1, 2, 3][10]")[::2])
    assert msg.endswith("index 10 is out of range for a list of 3")


def test_a_huge_value_in_a_message_is_cut(run_cli, tmp_path):
    """conv([0]*1000000) printed a 3 MB line; the message keeps its start and end."""
    f = write(tmp_path, "m.arch", net("conv([0]*1000000)"))
    code, out, err = run_cli("check", f)
    msg = one_error(code, err)
    assert len(msg) < MESSAGE_WIDTH + 200 and len(err) < 2 * MESSAGE_WIDTH + 500
    assert msg.startswith(f"{f}:3:3: error: conv: argument 'out' must be an integer, got [0, 0")
    assert "characters left out" in msg and msg.endswith("0, 0]")

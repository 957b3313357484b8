"""The op registry: every primitive op defined once, with its parameter schema, shape rule,
cost rule and PyTorch builder side by side (as pycls keeps `complexity()` beside each block).

Shapes exclude the batch: `(C, H, W)` for feature maps, `(N,)` for vectors. Costs follow the
cost model of LANGUAGE.md: `flops` are multiply-adds, `macs` the conv and fc part of them.
Nothing here imports torch at module level: builders import it when they run, so the
analysis path stays torch-free.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable, Optional

from .errors import ArchError

REQUIRED = object()


@dataclass(frozen=True)
class P:
    """One parameter of an op: name, kind (how a value is checked), default."""
    name: str
    kind: str = "any"  # int | num | bool | str | pair | padding | table | any
    default: object = REQUIRED


@dataclass(frozen=True)
class Cost:
    params: int = 0
    flops: int = 0
    macs: int = 0


@dataclass(frozen=True)
class Op:
    name: str
    params: tuple
    shape: Callable  # (args, in_shapes) -> out_shape
    cost: Callable = field(default=lambda a, ins, out: Cost())
    # (args, in_shapes, out_shape) -> torch.nn.Module; None for ops that are plain functions
    torch_module: Optional[Callable] = None
    # merges and reshapes: (args) -> callable on the list of input tensors, used as an fx
    # call_function (`merge_add([a, b])`)
    torch_function: Optional[Callable] = None
    merge: bool = False  # takes several inputs (`from a, b, ...`)
    family: str = "other"  # conv | norm | activation | pool | merge | fc | other (render colours)
    doc: str = ""


OPS: dict[str, Op] = {}
ALIASES: dict[str, str] = {}


def register(op: Op, aliases=()) -> Op:
    OPS[op.name] = op
    for a in aliases:
        ALIASES[a] = op.name
    return op


def lookup(name: str) -> Optional[Op]:
    return OPS.get(ALIASES.get(name, name))


# --------------------------------------------------------------------------- argument checks


def pair(v) -> tuple:
    return (v, v) if isinstance(v, int) else tuple(v)


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def check_kind(op: str, p: P, v):
    """Coerce and check one argument value; raise ArchError (without span) when it is wrong."""
    bad = ArchError(f"{op}: argument '{p.name}' must be {_KIND_TEXT[p.kind]}, got {show(v)}")
    k = p.kind
    if k == "any":
        return v
    if k == "int":
        if isinstance(v, float) and v.is_integer():
            return int(v)
        if not _is_int(v):
            raise bad
        return v
    if k == "num":
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise bad
        return v
    if k == "bool":
        if not isinstance(v, bool):
            raise bad
        return v
    if k == "str":
        if not isinstance(v, str):
            raise bad
        return v
    if k in ("pair", "padding"):
        if k == "padding" and v == "same":
            return v
        if isinstance(v, float) and v.is_integer():
            v = int(v)
        if _is_int(v):
            return v
        if isinstance(v, list) and len(v) == 2 and all(_is_int(x) for x in v):
            return list(v)
        raise bad
    if k == "table":
        if v is None:
            return v
        if isinstance(v, list) and v and all(
                isinstance(row, list) and row and all(_is_int(x) for x in row) for row in v):
            return v
        raise bad
    raise AssertionError(k)


_KIND_TEXT = {
    "int": "an integer", "num": "a number", "bool": "true or false", "str": "a string",
    "pair": "an integer or [h, w]", "padding": 'an integer, [h, w] or "same"',
    "table": "a list of lists of input channels", "any": "a value",
}


_STRING_ESCAPES = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\t": "\\t", "\r": "\\r"}


def _escape(ch: str) -> str:
    if ch in _STRING_ESCAPES:
        return _STRING_ESCAPES[ch]
    if ch.isprintable():
        return ch
    n = ord(ch)
    return f"\\x{n:02x}" if n < 0x100 else f"\\u{n:04x}" if n < 0x10000 else f"\\U{n:08x}"


def show(v) -> str:
    """A value as the language writes it (strings escaped, so a message stays one line)."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if v is None:
        return "none"
    if isinstance(v, str):
        return '"' + "".join(map(_escape, v)) + '"'
    if isinstance(v, list):
        return "[" + ", ".join(show(x) for x in v) + "]"
    if isinstance(v, float):
        return f"{v:g}"
    return str(getattr(v, "describe", lambda: v)())


def _need_map(op: str, s: tuple) -> tuple:
    if len(s) != 3:
        raise ArchError(f"{op} needs a [C, H, W] input, got {list(s)}")
    return s


def _positive(op: str, shape: tuple, in_shape) -> tuple:
    if any(d <= 0 for d in shape):
        raise ArchError(f"{op} on input {list(in_shape)} gives output size {list(shape)}: "
                        f"a size became zero or negative")
    return shape


def _numel(s) -> int:
    return math.prod(s)


# --------------------------------------------------------------------------- torch helpers


def _nn():
    import torch.nn as nn
    return nn


def _layers():
    from .backends import torch_layers
    return torch_layers


# --------------------------------------------------------------------------- conv


def conv_out(size: int, k: int, s: int, p, d: int) -> int:
    return (size + 2 * p - d * (k - 1) - 1) // s + 1


def _conv_shape(a, ins):
    c, h, w = _need_map("conv", ins[0])
    kh, kw = pair(a["k"])
    sh, sw = pair(a["s"])
    dh, dw = pair(a["d"])
    out, groups, table = a["out"], a["groups"], a["table"]
    if out <= 0:
        raise ArchError(f"conv: out must be positive, got {out}")
    if min(kh, kw, sh, sw, dh, dw) <= 0:
        raise ArchError("conv: k, s and d must be positive")
    if table is not None:
        if groups != 1:
            raise ArchError("conv: a connection table and groups cannot be combined")
        if out % len(table):
            raise ArchError(f"conv: out={out} is not a multiple of the table's {len(table)} rows")
        for row in table:
            for ch in row:
                if not 0 <= ch < c:
                    raise ArchError(f"conv: table reads input channel {ch}, input has {c}")
    elif groups <= 0 or c % groups or out % groups:
        raise ArchError(f"conv: groups={groups} must divide input channels ({c}) "
                        f"and output channels ({out})")
    if a["p"] == "same":
        shape = (out, -(-h // sh), -(-w // sw))
    else:
        ph, pw = pair(a["p"])
        shape = (out, conv_out(h, kh, sh, ph, dh), conv_out(w, kw, sw, pw, dw))
    return _positive("conv", shape, ins[0])


def same_padding(size: int, k: int, s: int, d: int = 1) -> tuple:
    """Keras/TensorFlow 'same': total padding split with the extra pixel at the end."""
    out = -(-size // s)
    total = max((out - 1) * s + d * (k - 1) + 1 - size, 0)
    return total // 2, total - total // 2


def _conv_cost(a, ins, out):
    kh, kw = pair(a["k"])
    c_in = ins[0][0]
    if a["table"] is not None:
        per_row = out[0] // len(a["table"])
        reads = sum(len(r) for r in a["table"])
        weights = per_row * reads * kh * kw
    else:
        weights = out[0] * (c_in // a["groups"]) * kh * kw
    macs = weights * out[1] * out[2]
    return Cost(weights + (out[0] if a["bias"] else 0), macs, macs)


def _conv_torch(a, ins, out):
    L = _layers()
    if a["table"] is not None:
        return L.TableConv2d(ins[0][0], a["out"], a["table"], pair(a["k"]), pair(a["s"]),
                             a["p"], pair(a["d"]), a["bias"])
    if a["p"] == "same":
        return L.same_conv(ins[0][1:], ins[0][0], a["out"], pair(a["k"]), pair(a["s"]),
                           pair(a["d"]), a["groups"], a["bias"])
    return _nn().Conv2d(ins[0][0], a["out"], pair(a["k"]), pair(a["s"]), pair(a["p"]),
                        pair(a["d"]), a["groups"], a["bias"])


register(Op(
    "conv",
    (P("out", "int"), P("k", "pair", 1), P("s", "pair", 1), P("p", "padding", 0),
     P("d", "pair", 1), P("groups", "int", 1), P("bias", "bool", True), P("table", "table", None)),
    _conv_shape, _conv_cost, _conv_torch, family="conv",
    doc="2-D convolution; input channels inferred"))


# --------------------------------------------------------------------------- fc, norms


def _fc_shape(a, ins):
    s = ins[0]
    if len(s) != 1:
        raise ArchError(f"fc takes a vector, but its input is {list(s)}: add `flatten` "
                        f"(or `gap; flatten`) before it")
    if a["out"] <= 0:
        raise ArchError(f"fc: out must be positive, got {a['out']}")
    return (a["out"],)


def _fc_cost(a, ins, out):
    macs = ins[0][0] * a["out"]
    return Cost(macs + (a["out"] if a["bias"] else 0), macs, macs)


register(Op(
    "fc", (P("out", "int"), P("bias", "bool", True)), _fc_shape, _fc_cost,
    lambda a, ins, out: _nn().Linear(ins[0][0], a["out"], a["bias"]), family="fc",
    doc="fully connected layer on a vector"), aliases=("linear",))


def _same(a, ins):
    return tuple(ins[0])


def _bn_torch(a, ins, out):
    nn = _nn()
    cls = nn.BatchNorm2d if len(ins[0]) == 3 else nn.BatchNorm1d
    return cls(ins[0][0], eps=a["eps"], momentum=a["momentum"])


register(Op(
    "bn", (P("eps", "num", 1e-5), P("momentum", "num", 0.1)), _same,
    lambda a, ins, out: Cost(2 * ins[0][0]), _bn_torch, family="norm",
    doc="batch norm (2-D on maps, 1-D on vectors)"))

register(Op(
    "lrn", (P("size", "int", 5), P("alpha", "num", 1e-4), P("beta", "num", 0.75),
            P("k", "num", 2.0)),
    lambda a, ins: _need_map("lrn", ins[0]), torch_module=lambda a, ins, out: _nn()
    .LocalResponseNorm(a["size"], a["alpha"], a["beta"], a["k"]), family="norm",
    doc="local response normalisation across channels"))

# --------------------------------------------------------------------------- activations


def _activation(name, builder, params=(), doc=""):
    register(Op(name, params, _same, torch_module=builder, family="activation", doc=doc))


_activation("relu", lambda a, ins, out: _nn().ReLU(inplace=a["inplace"]),
            (P("inplace", "bool", True),))
_activation("tanh", lambda a, ins, out: _nn().Tanh())
_activation("sigmoid", lambda a, ins, out: _nn().Sigmoid())
_activation("softmax", lambda a, ins, out: _nn().Softmax(dim=1), doc="softmax over channels")
_activation("identity", lambda a, ins, out: _nn().Identity())
_activation("scaled_tanh", lambda a, ins, out: _layers().ScaledTanh(a["a"], a["s"]),
            (P("a", "num", 1.7159), P("s", "num", 2 / 3)),
            doc="a * tanh(s * x), LeNet-5's squashing function")

# --------------------------------------------------------------------------- pooling


def pool_out(size: int, k: int, s: int, p: int, ceil: bool) -> int:
    """PyTorch's rule, including ceil mode's 'last window must start inside the input'."""
    if not ceil:
        return (size + 2 * p - k) // s + 1
    out = -(-(size + 2 * p - k) // s) + 1
    if (out - 1) * s >= size + p:
        out -= 1
    return out


def _pool_shape(name):
    def shape(a, ins):
        c, h, w = _need_map(name, ins[0])
        kh, kw = pair(a["k"])
        sh, sw = pair(a["s"] if a["s"] is not None else a["k"])
        ph, pw = pair(a["p"])
        if min(kh, kw, sh, sw) <= 0:
            raise ArchError(f"{name}: k and s must be positive")
        if ph > kh // 2 or pw > kw // 2:
            raise ArchError(f"{name}: padding {a['p']} is more than half the kernel {a['k']}")
        out = (c, pool_out(h, kh, sh, ph, a["ceil"]), pool_out(w, kw, sw, pw, a["ceil"]))
        return _positive(name, out, ins[0])
    return shape


def _pool_cost(a, ins, out):
    kh, kw = pair(a["k"])
    return Cost(0, out[0] * out[1] * out[2] * kh * kw, 0)


def _pool_torch(kind):
    def build(a, ins, out):
        cls = _nn().MaxPool2d if kind == "max" else _nn().AvgPool2d
        s = a["s"] if a["s"] is not None else a["k"]
        return cls(pair(a["k"]), pair(s), pair(a["p"]), ceil_mode=a["ceil"])
    return build


for _kind in ("max", "avg"):
    register(Op(
        f"{_kind}pool", (P("k", "pair"), P("s", "pair", None), P("p", "pair", 0),
                         P("ceil", "bool", False)),
        _pool_shape(f"{_kind}pool"), _pool_cost, _pool_torch(_kind), family="pool",
        doc=f"{_kind} pooling; s defaults to k"))


def _global_cost(a, ins, out):
    return Cost(0, _numel(ins[0]), 0)


register(Op(
    "gap", (), lambda a, ins: (_need_map("gap", ins[0])[0], 1, 1), _global_cost,
    lambda a, ins, out: _nn().AdaptiveAvgPool2d((1, 1)), family="pool",
    doc="global average pool to [C, 1, 1]"))


def _adaptive_shape(a, ins):
    c, _, _ = _need_map("adaptive_avgpool", ins[0])
    h = a["h"]
    w = a["w"] if a["w"] is not None else h
    return _positive("adaptive_avgpool", (c, h, w), ins[0])


register(Op(
    "adaptive_avgpool", (P("h", "int"), P("w", "int", None)), _adaptive_shape, _global_cost,
    lambda a, ins, out: _nn().AdaptiveAvgPool2d((out[1], out[2])), family="pool",
    doc="adaptive average pool to [C, h, w]"))

# --------------------------------------------------------------------------- reshaping, regularisers


def _flatten_shape(a, ins):
    return (_numel(ins[0]),)


register(Op("flatten", (), _flatten_shape, torch_module=lambda a, ins, out: _nn().Flatten(1),
            doc="[C, H, W] to [C*H*W]"))


def _prob(name):
    def shape(a, ins):
        if not 0 <= a["p"] < 1:
            raise ArchError(f"{name}: p must be in [0, 1), got {a['p']}")
        return tuple(ins[0])
    return shape


register(Op("dropout", (P("p", "num", 0.5),), _prob("dropout"),
            torch_module=lambda a, ins, out: _nn().Dropout(a["p"]),
            doc="dropout, active in training mode only"))
register(Op("drop_path", (P("p", "num"),), _prob("drop_path"),
            torch_module=lambda a, ins, out: _layers().DropPath(a["p"]),
            doc="stochastic depth: zeroes the whole input per sample in training, rescaled"))


def _zeropad_shape(a, ins):
    c, h, w = _need_map("zeropad", ins[0])
    ph, pw = pair(a["p"])
    return _positive("zeropad", (c, h + 2 * ph, w + 2 * pw), ins[0])


register(Op("zeropad", (P("p", "pair"),), _zeropad_shape,
            torch_module=lambda a, ins, out: _nn().ZeroPad2d(
                (pair(a["p"])[1], pair(a["p"])[1], pair(a["p"])[0], pair(a["p"])[0])),
            doc="zero padding on every side"))


def _resize_shape(a, ins):
    c, _, _ = _need_map("resize", ins[0])
    if a["mode"] not in ("nearest", "bilinear", "bicubic", "area"):
        raise ArchError(f"resize: mode must be nearest, bilinear, bicubic or area, "
                        f"got {show(a['mode'])}")
    w = a["w"] if a["w"] is not None else a["h"]
    return _positive("resize", (c, a["h"], w), ins[0])


register(Op("resize", (P("h", "int"), P("w", "int", None), P("mode", "str", "bilinear")),
            _resize_shape,
            torch_module=lambda a, ins, out: _layers().Resize((out[1], out[2]), a["mode"]),
            doc="resize the feature map (interpolation)"))


def _subsample_shape(a, ins):
    c, h, w = _need_map("subsample", ins[0])
    k = a["k"]
    return _positive("subsample", (c, h // k, w // k), ins[0])


register(Op("subsample", (P("k", "int", 2),), _subsample_shape,
            lambda a, ins, out: Cost(2 * ins[0][0], _numel(out) * a["k"] ** 2, 0),
            lambda a, ins, out: _layers().Subsample(ins[0][0], a["k"]), family="pool",
            doc="LeNet-5 trainable subsampling: k x k sum times a per-channel weight, plus bias"))


def _rbf_shape(a, ins):
    if len(ins[0]) != 1:
        raise ArchError(f"rbf takes a vector, but its input is {list(ins[0])}: add `flatten`")
    return (a["out"],)


register(Op("rbf", (P("out", "int"),), _rbf_shape,
            lambda a, ins, out: Cost(0, ins[0][0] * a["out"], 0),
            lambda a, ins, out: _layers().RBF(ins[0][0], a["out"]), family="fc",
            doc="Euclidean RBF units with fixed prototypes (a buffer, not parameters)"))

# --------------------------------------------------------------------------- merges


def _concat_shape(a, ins):
    first = ins[0]
    for s in ins[1:]:
        if len(s) != len(first) or tuple(s[1:]) != tuple(first[1:]):
            raise ArchError("concat needs equal spatial sizes, got "
                            + " and ".join(str(list(x)) for x in ins))
    return (sum(s[0] for s in ins),) + tuple(first[1:])


def _elementwise_shape(name):
    def shape(a, ins):
        full = max(ins, key=_numel)
        for s in ins:
            ok = tuple(s) == tuple(full) or (
                name == "mul" and len(s) == 3 and len(full) == 3 and s[0] == full[0]
                and s[1:] == (1, 1))
            if not ok:
                raise ArchError(f"{name} needs equal shapes"
                                + (" (or a [C, 1, 1] gate)" if name == "mul" else "")
                                + ", got " + " and ".join(str(list(x)) for x in ins))
        return tuple(full)
    return shape


def _merge_fn(name):
    def fn(a):
        return getattr(_layers(), f"merge_{name}")
    return fn


register(Op("concat", (), _concat_shape, torch_function=_merge_fn("concat"), merge=True,
            family="merge", doc="join along channels, in order"))
for _m in ("add", "mul", "mean"):
    register(Op(_m, (), _elementwise_shape(_m), torch_function=_merge_fn(_m), merge=True,
                family="merge", doc=f"elementwise {_m} of equal shapes"))

MERGES = ("concat", "add", "mul", "mean")

# --------------------------------------------------------------------------- zoo part B additions
# pad_channels: He et al.'s option-A shortcut (a parameter-free identity zero-padded to more
# channels); join: FractalNet's join of columns with local drop-path.


def _pad_channels_shape(a, ins):
    c, h, w = _need_map("pad_channels", ins[0])
    if a["out"] < c:
        raise ArchError(f"pad_channels: out={a['out']} is fewer than the input's {c} channels")
    return (a["out"], h, w)


register(Op("pad_channels", (P("out", "int"),), _pad_channels_shape,
            torch_module=lambda a, ins, out: _layers().PadChannels(ins[0][0], a["out"]),
            doc="zero channels added to reach `out` (half before, half after the input's): "
                "the option-A identity shortcut of He et al."))


def _join_shape(a, ins):
    c, h, w = _need_map("join", ins[0])
    n = a["n"]
    if n <= 0 or c % n:
        raise ArchError(f"join: n={n} must divide the input's {c} channels (n equal groups, "
                        f"one per column, concatenated)")
    if not 0 <= a["p"] < 1:
        raise ArchError(f"join: p must be in [0, 1), got {a['p']}")
    return (c // n, h, w)


register(Op("join", (P("n", "int"), P("p", "num", 0.0)), _join_shape,
            torch_module=lambda a, ins, out: _layers().Join(a["n"], a["p"]), family="merge",
            doc="mean of n equal channel groups (FractalNet's join of columns concatenated "
                "along channels); in training each group is dropped per sample with "
                "probability p (local drop-path), at least one always kept"))

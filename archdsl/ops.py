"""The op registry: every primitive op defined once, with every fact about it side by side
(as pycls keeps `complexity()` beside each block): its parameter schema (kinds and value
constraints), shape rule, cost rule, PyTorch builder, diagram label and colour family, merge
symbol and `.py` source, and whether its output may be overwritten in place. No other module
tests an op's name; adding an op is one `register(Op(...))` here (docs/design.md, "Adding an
op").

Shapes exclude the batch: `(C, H, W)` for feature maps, `(N,)` for vectors. Costs follow the
cost model of docs/language.md: `flops` are multiply-adds, `macs` the conv and fc part of them.

Nothing here imports torch or the backend: a torch builder is a function of a namespace the
backend hands it (`t.nn`, torch.nn; `t.layers`, backends/torch_layers.py) and merge functions
are named by string, so the analysis path stays torch-free.
"""
from __future__ import annotations

import math
from typing import Callable, Optional

from .errors import ArchError
from .records import Record
from .values import show

REQUIRED = object()


# --------------------------------------------------------------------------- the schema


class Bound(Record):
    """A value constraint on a parameter: every accepted value (each component of an
    `[h, w]` pair) passes `test`; `text` completes "must be ..." in the message."""
    text: str
    test: Callable


POSITIVE = Bound("positive", lambda v: v > 0)
NON_NEGATIVE = Bound("0 or more", lambda v: v >= 0)  # padding: torch refuses negative pads
UNIT = Bound("in [0, 1)", lambda v: 0 <= v < 1)  # probabilities of dropping
RESIZE_MODES = ("nearest", "bilinear", "bicubic", "area")
RESIZE_MODE = Bound(", ".join(RESIZE_MODES[:-1]) + " or " + RESIZE_MODES[-1],
                    lambda v: v in RESIZE_MODES)


class P(Record):
    """One parameter of an op: name, kind (how a value is checked), default, and an optional
    value constraint (`where`)."""
    name: str
    kind: str = "any"  # int | num | bool | str | pair | padding | table | any
    default: object = REQUIRED
    where: Optional[Bound] = None


class Cost(Record):
    params: int = 0
    flops: int = 0
    macs: int = 0
    # Memory besides parameters and the output, in float32 elements: buffers the module holds
    # (for the network), scratch an evaluation allocates beyond its output (per sample).
    buffers: int = 0
    scratch: int = 0


def _free(a, ins, out) -> Cost:
    return Cost()


class Merge(Record):
    """An op of several inputs (`from a, b, ...`, `parallel NAME { ... }`)."""
    symbol: str  # how a diagram draws it
    function: str  # the torch function, by name, in backends/torch_layers.py (list -> tensor)
    source: Callable  # Python source for `.py` files: list of input names -> expression
    inplace: Optional[str] = None  # tensor method computing it in place for two inputs
    # op(x0, ..., xk, y) == op(op(x0, ..., xk), y), so a diagram may draw a merge whose inputs
    # extend another's by one as reading that merge and its new input (DenseNet's concats)
    associative: bool = False


class Weight(Record):
    """An op whose one parameter is a bare tensor registered under the op's own node key, so
    the statement's name is its state_dict key (ConvNeXt's `features.1.0.layer_scale`, not
    `...layer_scale.weight`); the op computes `function(x, tensor)`."""
    shape: Callable  # (args, in_shapes) -> the tensor's shape
    init: Callable  # (args) -> the value every entry starts at
    function: str  # the torch function, by name, in backends/torch_layers.py: (x, w) -> tensor
    source: Callable  # Python source for `.py` files: (input name, tensor expression) -> expression


class Op(Record):
    name: str
    params: tuple  # of P, in positional order
    shape: Callable  # (args, in_shapes) -> out_shape
    cost: Callable = _free  # (args, in_shapes, out_shape) -> Cost
    module: Optional[Callable] = None  # (t, args, in_shapes, out_shape) -> torch.nn.Module
    merge: Optional[Merge] = None  # several inputs; None: exactly one
    weight: Optional[Weight] = None  # a bare tensor instead of a module (`module` is None)
    family: str = "other"  # input | conv | norm | activation | pool | fc | merge | other
    label: Optional[Callable] = None  # (args) -> diagram text; default: name, required args
    # Its output is a fresh tensor that its own backward does not read, so its only user may
    # overwrite it in place (relu(inplace=true), `a.add_(b)`).
    overwritable: bool = False
    doc: str = ""

    def describe(self, args: dict) -> str:
        """A short text for this op with these arguments: `conv 3×3 s2 g32 → 128`."""
        if self.label is not None:
            return self.label(args or {})
        shown = [show(args[p.name]) for p in self.params
                 if p.default is REQUIRED and p.name in (args or {})]
        return " ".join([self.name.replace("_", " ")] + shown)

    @property
    def symbol(self) -> str:
        return self.merge.symbol if self.merge is not None else self.name


OPS: dict[str, Op] = {}
ALIASES: dict[str, str] = {}


def register(op: Op, aliases=()) -> Op:
    OPS[op.name] = op
    for a in aliases:
        ALIASES[a] = op.name
    return op


def lookup(name: str) -> Optional[Op]:
    return OPS.get(ALIASES.get(name, name))


def merges() -> list:
    """The names `parallel NAME { ... }` accepts, in registration order."""
    return [name for name, op in OPS.items() if op.merge is not None]


# --------------------------------------------------------------------------- argument checks


def pair(v) -> tuple:
    return (v, v) if isinstance(v, int) else tuple(v)


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


_KIND_TEXT = {
    "int": "an integer", "num": "a number", "bool": "true or false", "str": "a string",
    "pair": "an integer or [h, w]", "padding": 'an integer, [h, w] or "same"',
    "table": "a list of lists of input channels", "any": "a value",
}


def check(op: str, p: P, v):
    """Coerce and check one given argument value against its kind and constraint; raise
    ArchError (without span) when it is wrong."""
    if v is None and p.default is None:
        return v  # `none` where none is the default: the parameter's "not given"
    v = _check_kind(op, p, v)
    if p.where is not None and not (p.kind == "padding" and v == "same"):
        for x in (v if isinstance(v, list) and p.kind in ("pair", "padding") else (v,)):
            if not p.where.test(x):
                raise ArchError(f"{op}: {p.name} must be {p.where.text}, got {show(v)}")
    return v


def _check_kind(op: str, p: P, v):
    def bad():  # written only when needed: every argument of every op passes here
        return ArchError(f"{op}: argument '{p.name}' must be {_KIND_TEXT[p.kind]}, "
                         f"got {show(v)}")
    k = p.kind
    if k == "any":
        return v
    if k == "int":
        if isinstance(v, float) and v.is_integer():
            return int(v)
        if not _is_int(v):
            raise bad()
        return v
    if k == "num":
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise bad()
        return v
    if k == "bool":
        if not isinstance(v, bool):
            raise bad()
        return v
    if k == "str":
        if not isinstance(v, str):
            raise bad()
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
        raise bad()
    if k == "table":
        if v is None:
            return v
        if isinstance(v, list) and v and all(
                isinstance(row, list) and row and all(_is_int(x) for x in row) for row in v):
            return v
        raise bad()
    raise AssertionError(k)


# --------------------------------------------------------------------------- shape helpers


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


def _same(a, ins):
    return tuple(ins[0])


# --------------------------------------------------------------------------- label helpers


def _kernel(v) -> str:
    if v is None:
        return ""
    h, w = pair(v)
    return f"{h}\u00d7{w}"


def _stride(v) -> str:
    if v is None:
        return ""
    h, w = pair(v)
    return "" if (h, w) == (1, 1) else (f" s{h}" if h == w else f" s{h}\u00d7{w}")


# --------------------------------------------------------------------------- the input


def _input_shape(a, ins):
    raise AssertionError("the input's shape is the network's `input` statement")


# The network's input: the IR's source node. Its shape is set by the `input` statement (or
# --input); the torch backend makes it the forward's argument.
INPUT = register(Op("input", (), _input_shape, family="input", label=lambda a: "input",
                    doc="the network's input"))

# --------------------------------------------------------------------------- conv


def conv_out(size: int, k: int, s: int, p, d: int) -> int:
    return (size + 2 * p - d * (k - 1) - 1) // s + 1


def _conv_shape(a, ins):
    c, h, w = _need_map("conv", ins[0])
    kh, kw = pair(a["k"])
    sh, sw = pair(a["s"])
    dh, dw = pair(a["d"])
    out, groups, table = a["out"], a["groups"], a["table"]
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
    if a["p"] == "same":  # Keras/TensorFlow: ceil(size / s), padded asymmetrically if need be
        shape = (out, -(-h // sh), -(-w // sw))
    else:
        ph, pw = pair(a["p"])
        shape = (out, conv_out(h, kh, sh, ph, dh), conv_out(w, kw, sw, pw, dw))
    return _positive("conv", shape, ins[0])


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


def _conv_module(t, a, ins, out):
    if a["table"] is not None:
        return t.layers.TableConv2d(ins[0][0], a["out"], a["table"], pair(a["k"]),
                                    pair(a["s"]), a["p"], pair(a["d"]), a["bias"])
    if a["p"] == "same":
        return t.layers.same_conv(ins[0][1:], ins[0][0], a["out"], pair(a["k"]), pair(a["s"]),
                                  pair(a["d"]), a["groups"], a["bias"])
    return t.nn.Conv2d(ins[0][0], a["out"], pair(a["k"]), pair(a["s"]), pair(a["p"]),
                       pair(a["d"]), a["groups"], a["bias"])


def _conv_label(a):
    text = f"conv {_kernel(a.get('k', 1))}{_stride(a.get('s', 1))}"
    if a.get("d", 1) not in (1, [1, 1]):
        text += f" d{a['d']}"
    if a.get("groups", 1) != 1:
        text += f" g{a['groups']}"
    if a.get("table") is not None:
        text += " table"
    return f"{text} \u2192 {a.get('out')}"


register(Op(
    "conv",
    (P("out", "int", where=POSITIVE), P("k", "pair", 1, POSITIVE), P("s", "pair", 1, POSITIVE),
     P("p", "padding", 0, NON_NEGATIVE), P("d", "pair", 1, POSITIVE), P("groups", "int", 1),
     P("bias", "bool", True), P("table", "table", None)),
    _conv_shape, _conv_cost, _conv_module, family="conv", label=_conv_label, overwritable=True,
    doc="2-D convolution; input channels inferred"))


# --------------------------------------------------------------------------- fc, norms


def _fc_shape(a, ins):
    s = ins[0]
    if len(s) != 1:
        raise ArchError(f"fc takes a vector, but its input is {list(s)}: add `flatten` "
                        f"(or `gap; flatten`) before it")
    return (a["out"],)


def _fc_cost(a, ins, out):
    macs = ins[0][0] * a["out"]
    return Cost(macs + (a["out"] if a["bias"] else 0), macs, macs)


register(Op(
    "fc", (P("out", "int", where=POSITIVE), P("bias", "bool", True)), _fc_shape, _fc_cost,
    lambda t, a, ins, out: t.nn.Linear(ins[0][0], a["out"], a["bias"]), family="fc",
    label=lambda a: f"fc \u2192 {a.get('out')}", overwritable=True,
    doc="fully connected layer on a vector"), aliases=("linear",))


def _linear_cost(a, ins, out):
    macs = _numel(ins[0]) * a["out"]  # an [in, out] product at every position
    return Cost(ins[0][-1] * a["out"] + (a["out"] if a["bias"] else 0), macs, macs)


register(Op(
    "linear_last", (P("out", "int", where=POSITIVE), P("bias", "bool", True)),
    lambda a, ins: tuple(ins[0][:-1]) + (a["out"],), _linear_cost,
    lambda t, a, ins, out: t.nn.Linear(ins[0][-1], a["out"], a["bias"]), family="fc",
    label=lambda a: f"linear last \u2192 {a.get('out')}", overwritable=True,
    doc="nn.Linear over the last dimension, at every position of any rank (weights [out, in])"))


def _bn_module(t, a, ins, out):
    cls = t.nn.BatchNorm2d if len(ins[0]) == 3 else t.nn.BatchNorm1d
    return cls(ins[0][0], eps=a["eps"], momentum=a["momentum"])


register(Op(
    "bn", (P("eps", "num", 1e-5, POSITIVE), P("momentum", "num", 0.1)), _same,
    # running mean and variance, and the int64 batch counter (two float32s)
    lambda a, ins, out: Cost(2 * ins[0][0], buffers=2 * ins[0][0] + 2), _bn_module,
    family="norm", overwritable=True,
    doc="batch norm (2-D on maps, 1-D on vectors)"))

register(Op(
    "lrn", (P("size", "int", 5, POSITIVE), P("alpha", "num", 1e-4), P("beta", "num", 0.75),
            P("k", "num", 2.0)),
    lambda a, ins: _need_map("lrn", ins[0]),
    # torch's local_response_norm: the squares, padded, then averaged, as big as the input
    lambda a, ins, out: Cost(scratch=3 * _numel(ins[0])),
    module=lambda t, a, ins, out: t.nn.LocalResponseNorm(a["size"], a["alpha"], a["beta"],
                                                         a["k"]),
    family="norm", overwritable=True, doc="local response normalisation across channels"))


register(Op(
    "layernorm", (P("eps", "num", 1e-5, POSITIVE),), _same,
    lambda a, ins, out: Cost(2 * ins[0][-1]),
    lambda t, a, ins, out: t.nn.LayerNorm(ins[0][-1], eps=a["eps"]), family="norm",
    overwritable=True, doc="layer norm over the last dimension (after `permute` to channels-last)"))

register(Op(
    "layernorm2d", (P("eps", "num", 1e-5, POSITIVE),),
    lambda a, ins: _need_map("layernorm2d", ins[0]), lambda a, ins, out: Cost(2 * ins[0][0]),
    lambda t, a, ins, out: t.layers.LayerNorm2d(ins[0][0], eps=a["eps"]), family="norm",
    overwritable=True, doc="layer norm over the channels of a map at every position "
                           "(torchvision's LayerNorm2d)"))

# --------------------------------------------------------------------------- activations


def _activation(name, module, params=(), doc="", label=None, shape=_same):
    register(Op(name, params, shape, module=module, family="activation", label=label, doc=doc))


_INPLACE = (P("inplace", "bool", True),)
_activation("relu", lambda t, a, ins, out: t.nn.ReLU(inplace=a["inplace"]), _INPLACE)
_activation("tanh", lambda t, a, ins, out: t.nn.Tanh())
_activation("sigmoid", lambda t, a, ins, out: t.nn.Sigmoid())
_activation("softmax", lambda t, a, ins, out: t.nn.Softmax(dim=1), doc="softmax over channels")
_activation("identity", lambda t, a, ins, out: t.nn.Identity())
_activation("scaled_tanh", lambda t, a, ins, out: t.layers.ScaledTanh(a["a"], a["s"]),
            (P("a", "num", 1.7159), P("s", "num", 2 / 3)),
            doc="a * tanh(s * x), LeNet-5's squashing function")
_activation("hardswish", lambda t, a, ins, out: t.nn.Hardswish(inplace=a["inplace"]), _INPLACE,
            doc="x * relu6(x + 3) / 6 (MobileNetV3)")
_activation("relu6", lambda t, a, ins, out: t.nn.ReLU6(inplace=a["inplace"]), _INPLACE,
            doc="min(max(x, 0), 6) (MobileNetV2)")
def _hardtanh_shape(a, ins):
    if not a["min"] < a["max"]:
        raise ArchError(f"hardtanh: min must be less than max, got min={show(a['min'])}, "
                        f"max={show(a['max'])}")
    return tuple(ins[0])


_activation("hardtanh",
            lambda t, a, ins, out: t.nn.Hardtanh(a["min"], a["max"], inplace=a["inplace"]),
            (P("min", "num", -1.0), P("max", "num", 1.0)) + _INPLACE,
            doc="x clamped to [min, max]", label=lambda a: (
                f"hardtanh [{show(a.get('min', -1.0))}, {show(a.get('max', 1.0))}]"),
            shape=_hardtanh_shape)
_activation("hardsigmoid", lambda t, a, ins, out: t.nn.Hardsigmoid(inplace=a["inplace"]),
            _INPLACE, doc="relu6(x + 3) / 6 (MobileNetV3's squeeze-and-excitation gate)")
_activation("silu", lambda t, a, ins, out: t.nn.SiLU(inplace=a["inplace"]), _INPLACE,
            doc="x * sigmoid(x), also called swish (EfficientNet)")
GELU_FORMS = ("none", "tanh")
_activation("gelu", lambda t, a, ins, out: t.nn.GELU(approximate=a["approximate"]),
            (P("approximate", "str", "none", Bound('"none" (the erf form) or "tanh"',
                                                    lambda v: v in GELU_FORMS)),),
            doc="x * Phi(x), exact (erf) or with the tanh approximation (ConvNeXt)",
            label=lambda a: "gelu" if a.get("approximate", "none") == "none" else "gelu tanh")

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
        if ph > kh // 2 or pw > kw // 2:
            raise ArchError(f"{name}: padding {a['p']} is more than half the kernel {a['k']}")
        out = (c, pool_out(h, kh, sh, ph, a["ceil"]), pool_out(w, kw, sw, pw, a["ceil"]))
        return _positive(name, out, ins[0])
    return shape


def _pool_cost(a, ins, out):
    kh, kw = pair(a["k"])
    return Cost(0, out[0] * out[1] * out[2] * kh * kw, 0)


def _pool_module(kind):
    def build(t, a, ins, out):
        s = pair(a["s"] if a["s"] is not None else a["k"])
        if kind == "max":
            return t.nn.MaxPool2d(pair(a["k"]), s, pair(a["p"]), ceil_mode=a["ceil"])
        return t.nn.AvgPool2d(pair(a["k"]), s, pair(a["p"]), ceil_mode=a["ceil"],
                              count_include_pad=a["count_include_pad"])
    return build


def _pool_label(name):
    def label(a):
        text = f"{name} {_kernel(a.get('k'))}{_stride(a.get('s', a.get('k')))}"
        # padding left out of the average (timm's Inception pools) is a different op
        return text + (" excl. pad" if a.get("count_include_pad") is False else "")
    return label


_POOL = (P("k", "pair", where=POSITIVE), P("s", "pair", None, POSITIVE),
         P("p", "pair", 0, NON_NEGATIVE),
         P("ceil", "bool", False))
# count_include_pad=false averages each window over its pixels inside the input only, as
# PyTorch's AvgPool2d(count_include_pad=False) does; the default divides by k_h * k_w.
for _kind, _params in (("max", _POOL), ("avg", _POOL + (P("count_include_pad", "bool", True),))):
    register(Op(
        f"{_kind}pool", _params, _pool_shape(f"{_kind}pool"), _pool_cost, _pool_module(_kind),
        family="pool", label=_pool_label(f"{_kind}pool"), overwritable=True,
        doc=f"{_kind} pooling; s defaults to k"))


def _global_cost(a, ins, out):
    return Cost(0, _numel(ins[0]), 0)


register(Op(
    "gap", (), lambda a, ins: (_need_map("gap", ins[0])[0], 1, 1), _global_cost,
    lambda t, a, ins, out: t.nn.AdaptiveAvgPool2d((1, 1)), family="pool", overwritable=True,
    doc="global average pool to [C, 1, 1]"))


def _adaptive_shape(a, ins):
    c, _, _ = _need_map("adaptive_avgpool", ins[0])
    h = a["h"]
    w = a["w"] if a["w"] is not None else h
    return _positive("adaptive_avgpool", (c, h, w), ins[0])


register(Op(
    "adaptive_avgpool", (P("h", "int"), P("w", "int", None)), _adaptive_shape, _global_cost,
    lambda t, a, ins, out: t.nn.AdaptiveAvgPool2d((out[1], out[2])), family="pool",
    label=lambda a: f"adaptive avgpool {a.get('h')}\u00d7{a.get('w') or a.get('h')}",
    overwritable=True, doc="adaptive average pool to [C, h, w]"))

# --------------------------------------------------------------------------- reshaping, regularisers


def _flatten_shape(a, ins):
    return (_numel(ins[0]),)


register(Op("flatten", (), _flatten_shape, module=lambda t, a, ins, out: t.nn.Flatten(1),
            doc="[C, H, W] to [C*H*W]"))


def _permute_shape(a, ins):
    s, dims = ins[0], a["dims"]
    if not (isinstance(dims, list) and all(_is_int(d) for d in dims)
            and sorted(dims) == list(range(len(s)))):
        raise ArchError(f"permute: dims must order the input's {len(s)} dimensions "
                        f"(a list of 0 ... {len(s) - 1}, each once; the batch is not counted), "
                        f"got {show(dims)}")
    return tuple(s[d] for d in dims)


register(Op("permute", (P("dims"),), _permute_shape,
            module=lambda t, a, ins, out: t.layers.Permute(a["dims"]),
            doc="reorder the dimensions after the batch: permute([1, 2, 0]) makes a map "
                "channels-last [H, W, C], permute([2, 0, 1]) undoes it"))


def _layer_scale_shape(a, ins):
    return (ins[0][0],) + (1,) * (len(ins[0]) - 1)


register(Op("layer_scale", (P("init", "num", 1e-6),), _same,
            lambda a, ins, out: Cost(ins[0][0]),
            weight=Weight(_layer_scale_shape, lambda a: a["init"], "scale_by",
                          lambda x, w: f"{w} * {x}"),
            label=lambda a: "layer scale", overwritable=True,
            doc="a learned per-channel scale ([C, 1, 1] on maps), every entry starting at "
                "init; its state_dict key is the statement's own name (ConvNeXt)"))


# Channel operations (ShuffleNetV2): a slice of the channels is a branch's input inside
# `parallel` (torch's `x.chunk(2, dim=1)` is two of them), the shuffle interleaves groups.


def _channels_stop(a, ins) -> int:
    return a["stop"] if a["stop"] is not None else ins[0][0]


def _channels_shape(a, ins):
    s = ins[0]
    start, stop = a["start"], _channels_stop(a, ins)
    if not 0 <= start < stop <= s[0]:
        raise ArchError(f"channels({start}, {stop}) needs 0 <= start < stop <= {s[0]} "
                        f"(the input's channels, {list(s)})")
    return (stop - start,) + tuple(s[1:])


register(Op("channels", (P("start", "int"), P("stop", "int", None)), _channels_shape,
            module=lambda t, a, ins, out: t.layers.Channels(a["start"], _channels_stop(a, ins)),
            label=lambda a: f"channels {a.get('start')}:"
                            f"{a['stop'] if a.get('stop') is not None else ''}",
            doc="the input's channels start <= c < stop (stop defaults to all): a branch's "
                "share of a map"))


def _shuffle_shape(a, ins):
    c = ins[0][0]
    if len(ins[0]) != 3 or c % a["groups"]:
        raise ArchError(f"channel_shuffle: groups={a['groups']} must divide the channels of a "
                        f"[C, H, W] map, got {list(ins[0])}")
    return tuple(ins[0])


register(Op("channel_shuffle", (P("groups", "int", where=POSITIVE),), _shuffle_shape,
            module=lambda t, a, ins, out: t.nn.ChannelShuffle(a["groups"]),
            label=lambda a: f"channel shuffle g{a.get('groups')}",
            doc="channels as [groups, C / groups] transposed: channel g * (C / groups) + i "
                "moves to i * groups + g (ShuffleNet)"))


def _p_label(name):
    return lambda a: f"{name} {a.get('p')}"


register(Op("dropout", (P("p", "num", 0.5, UNIT),), _same,
            module=lambda t, a, ins, out: t.nn.Dropout(a["p"]), label=_p_label("dropout"),
            doc="dropout, active in training mode only"))
register(Op("drop_path", (P("p", "num", where=UNIT),), _same,
            module=lambda t, a, ins, out: t.layers.DropPath(a["p"]), label=_p_label("drop_path"),
            doc="stochastic depth: zeroes the whole input per sample in training, rescaled"))


def _zeropad_shape(a, ins):
    c, h, w = _need_map("zeropad", ins[0])
    ph, pw = pair(a["p"])
    return _positive("zeropad", (c, h + 2 * ph, w + 2 * pw), ins[0])


def _zeropad_module(t, a, ins, out):
    ph, pw = pair(a["p"])
    return t.nn.ZeroPad2d((pw, pw, ph, ph))


register(Op("zeropad", (P("p", "pair"),), _zeropad_shape, module=_zeropad_module,
            overwritable=True, doc="zero padding on every side"))

# Inception-ResNet scales each residual branch by a constant before the addition
# (`out * self.scale + x` in timm). Free in the cost model, as FlopCounterMode counts no mul.
register(Op("scale", (P("k", "num"),), _same,
            module=lambda t, a, ins, out: t.layers.Scale(a["k"]),
            label=lambda a: f"scale \u00d7{show(a.get('k'))}", overwritable=True,
            doc="x * k for a constant k"))


def _resize_shape(a, ins):
    c, _, _ = _need_map("resize", ins[0])
    w = a["w"] if a["w"] is not None else a["h"]
    return _positive("resize", (c, a["h"], w), ins[0])


register(Op("resize", (P("h", "int"), P("w", "int", None), P("mode", "str", "bilinear",
                                                             RESIZE_MODE)),
            _resize_shape,
            module=lambda t, a, ins, out: t.layers.Resize((out[1], out[2]), a["mode"]),
            doc="resize the feature map (interpolation)"))


def _subsample_shape(a, ins):
    c, h, w = _need_map("subsample", ins[0])
    k = a["k"]
    return _positive("subsample", (c, h // k, w // k), ins[0])


register(Op("subsample", (P("k", "int", 2, POSITIVE),), _subsample_shape,
            lambda a, ins, out: Cost(2 * ins[0][0], _numel(out) * a["k"] ** 2, 0),
            lambda t, a, ins, out: t.layers.Subsample(ins[0][0], a["k"]), family="pool",
            doc="LeNet-5 trainable subsampling: k x k sum times a per-channel weight, plus bias"))


def _rbf_shape(a, ins):
    if len(ins[0]) != 1:
        raise ArchError(f"rbf takes a vector, but its input is {list(ins[0])}: add `flatten`")
    return (a["out"],)


register(Op("rbf", (P("out", "int", where=POSITIVE),), _rbf_shape,
            # the prototypes (out x in), and x - prototypes and its square while it runs
            lambda a, ins, out: Cost(0, ins[0][0] * a["out"], 0, buffers=ins[0][0] * a["out"],
                                     scratch=2 * ins[0][0] * a["out"]),
            lambda t, a, ins, out: t.layers.RBF(ins[0][0], a["out"]), family="fc",
            doc="Euclidean RBF units with fixed prototypes (a buffer, not parameters)"))

# --------------------------------------------------------------------------- merges


def _concat_shape(a, ins):
    first = ins[0]
    for s in ins[1:]:
        if len(s) != len(first) or tuple(s[1:]) != tuple(first[1:]):
            raise ArchError("concat needs equal spatial sizes, got "
                            + " and ".join(str(list(x)) for x in ins))
    return (sum(s[0] for s in ins),) + tuple(first[1:])


def _elementwise_shape(name, gate=False):
    """Equal shapes; with `gate`, also a [C, 1, 1] input broadcast over a [C, H, W] one."""
    def shape(a, ins):
        full = max(ins, key=_numel)
        for s in ins:
            ok = tuple(s) == tuple(full) or (
                gate and len(s) == 3 and len(full) == 3 and s[0] == full[0] and s[1:] == (1, 1))
            if not ok:
                raise ArchError(f"{name} needs equal shapes"
                                + (" (or a [C, 1, 1] gate)" if gate else "")
                                + ", got " + " and ".join(str(list(x)) for x in ins))
        return tuple(full)
    return shape


def _merge(name, shape, merge, doc):
    register(Op(name, (), shape, merge=merge, family="merge", overwritable=True, doc=doc))


_merge("concat", _concat_shape,
       Merge("concat", "merge_concat", lambda xs: f"torch.cat([{', '.join(xs)}], 1)",
             associative=True),
       "join along channels, in order")
_merge("add", _elementwise_shape("add"),
       Merge("+", "merge_add", lambda xs: " + ".join(xs), inplace="add_", associative=True),
       "elementwise sum of equal shapes")
_merge("mul", _elementwise_shape("mul", gate=True),
       Merge("\u00d7", "merge_mul", lambda xs: " * ".join(xs), associative=True),
       "elementwise product of equal shapes, or a [C, 1, 1] gate times a map")
_merge("mean", _elementwise_shape("mean"),
       Merge("mean", "merge_mean", lambda xs: f"({' + '.join(xs)}) / {len(xs)}"),
       "elementwise mean of equal shapes")

# --------------------------------------------------------------------------- shortcuts and joins
# pad_channels: He et al.'s option-A shortcut (a parameter-free identity zero-padded to more
# channels); join: FractalNet's join of columns with local drop-path.


def _pad_channels_shape(a, ins):
    c, h, w = _need_map("pad_channels", ins[0])
    if a["out"] < c:
        raise ArchError(f"pad_channels: out={a['out']} is fewer than the input's {c} channels")
    return (a["out"], h, w)


register(Op("pad_channels", (P("out", "int"),), _pad_channels_shape,
            module=lambda t, a, ins, out: t.layers.PadChannels(ins[0][0], a["out"]),
            doc="zero channels added to reach `out` (half before, half after the input's): "
                "the option-A identity shortcut of He et al."))


def _join_shape(a, ins):
    c, h, w = _need_map("join", ins[0])
    n = a["n"]
    if n <= 0 or c % n:
        raise ArchError(f"join: n={n} must divide the input's {c} channels (n equal groups, "
                        f"one per column, concatenated)")
    return (c // n, h, w)


register(Op("join", (P("n", "int"), P("p", "num", 0.0, UNIT)), _join_shape,
            module=lambda t, a, ins, out: t.layers.Join(a["n"], a["p"]), family="merge",
            doc="mean of n equal channel groups (FractalNet's join of columns concatenated "
                "along channels); in training each group is dropped per sample with "
                "probability p (local drop-path), at least one always kept"))

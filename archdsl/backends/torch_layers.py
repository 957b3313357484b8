"""PyTorch layers that torch.nn lacks, used by the op registry's builders (ops.py), and the
functions the fx graph calls (named in the registry's `Merge.function` and `Weight.function`).

Every class here depends on torch and math only, so `emit_py` can copy its source into a
standalone file; each one's `extra_repr` is exactly its constructor arguments, so `emit_py`
can write `ClassName(<extra_repr>)` to rebuild it. Forwards are written in the subset of
Python TorchScript accepts (typed lists, no star-unpacking, no dynamic getattr), so that
`torch.jit.script` works on the modules too. No `from __future__ import annotations` here:
TorchScript reads the annotations.
"""
import math
from typing import List, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F


def same_padding(size: int, k: int, s: int, d: int = 1) -> Tuple[int, int]:
    """Keras/TensorFlow 'same': output ceil(size / s); the total padding is split with the
    extra pixel at the end (bottom, right). Returns (before, after)."""
    out = -(-size // s)
    total = max((out - 1) * s + d * (k - 1) + 1 - size, 0)
    return total // 2, total - total // 2


class SameConv2d(nn.Conv2d):
    """A Conv2d with Keras 'same' padding that is asymmetric (stride > 1 or an even kernel):
    the input is zero-padded by `pad` = (left, right, top, bottom) before the convolution.
    Weights are the ones of an nn.Conv2d, so the state_dict is a Conv2d's."""

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, pad=(0, 0, 0, 0),
                 dilation=1, groups=1, bias=True):
        super().__init__(in_channels, out_channels, kernel_size, stride, 0, dilation, groups, bias)
        self.pad: List[int] = list(pad)

    def forward(self, x):
        return self._conv_forward(F.pad(x, self.pad), self.weight, self.bias)

    def extra_repr(self):
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}, pad={tuple(self.pad)}, dilation={self.dilation}, "
                f"groups={self.groups}, bias={self.bias is not None}")


def same_conv(in_hw, in_channels, out_channels, kernel_size, stride, dilation, groups, bias):
    """Conv2d with Keras 'same' padding for an input of spatial size `in_hw`: a plain
    nn.Conv2d when the padding is symmetric, else a SameConv2d that pads asymmetrically."""
    (h, w), (kh, kw), (sh, sw), (dh, dw) = in_hw, kernel_size, stride, dilation
    top, bottom = same_padding(h, kh, sh, dh)
    left, right = same_padding(w, kw, sw, dw)
    if top == bottom and left == right:
        return nn.Conv2d(in_channels, out_channels, kernel_size, stride, (top, left), dilation,
                         groups, bias)
    return SameConv2d(in_channels, out_channels, kernel_size, stride, (left, right, top, bottom),
                      dilation, groups, bias)


class TableConv2d(nn.Module):
    """A convolution with a connection table (LeNet-5's C3): output channel `o` belongs to
    table row `o // (out_channels // len(table))` and reads only that row's input channels.
    Only those connections are parameters: `weight` is [connections, kh, kw] (output channels
    in order, each one's input channels in table order), `bias` is [out_channels].

    It runs as one grouped convolution per distinct row length over the gathered input
    channels, so it costs (and FlopCounterMode counts) exactly the table's connections."""

    lengths: List[int]  # class-level annotations: TorchScript's types for these lists
    counts: List[int]
    pad_hw: List[int]

    def __init__(self, in_channels, out_channels, table, kernel_size, stride=1, padding=0,
                 dilation=1, bias=True):
        super().__init__()
        pair = lambda v: (v, v) if isinstance(v, int) else tuple(v)  # noqa: E731
        self.in_channels, self.out_channels = in_channels, out_channels
        self.table = [list(row) for row in table]
        self.kernel_size, self.stride = pair(kernel_size), pair(stride)
        self.padding = padding if padding == "same" else pair(padding)
        self.dilation = pair(dilation)
        per_row = out_channels // len(self.table)
        reads = [self.table[o // per_row] for o in range(out_channels)]
        starts, n = [], 0
        for row in reads:
            starts.append(n)
            n += len(row)
        self.weight = nn.Parameter(torch.empty(n, *self.kernel_size))
        self.bias = nn.Parameter(torch.empty(out_channels)) if bias else None
        # One grouped conv per row length L: its outputs, gathered inputs and weights are one
        # contiguous slice of `inputs` / `weight[weight_order]` (count * L entries).
        self.lengths = sorted({len(r) for r in reads})
        self.counts = []
        order, gather, worder = [], [], []
        for length in self.lengths:
            outs = [o for o in range(out_channels) if len(reads[o]) == length]
            self.counts.append(len(outs))
            order += outs
            gather += [c for o in outs for c in reads[o]]
            worder += [starts[o] + j for o in outs for j in range(length)]
        inverse = [0] * out_channels
        for pos, o in enumerate(order):
            inverse[o] = pos
        self.register_buffer("inputs", torch.tensor(gather, dtype=torch.long), persistent=False)
        self.register_buffer("weight_order", torch.tensor(worder, dtype=torch.long),
                             persistent=False)
        self.register_buffer("order", torch.tensor(inverse, dtype=torch.long), persistent=False)
        self.same = padding == "same"
        self.pad_hw = [0, 0] if self.same else list(self.padding)
        self.reset_parameters()

    def reset_parameters(self):
        # Kaiming normal, fan_out, as for the other convs: fan_out = connections per input
        # channel (on average) times the kernel area.
        fan_out = self.weight.shape[0] / self.in_channels * self.kernel_size[0] * self.kernel_size[1]
        with torch.no_grad():
            self.weight.normal_(0, math.sqrt(2.0 / fan_out))
            if self.bias is not None:
                self.bias.zero_()

    def forward(self, x):
        if self.same:
            top, bottom = same_padding(x.shape[2], self.kernel_size[0], self.stride[0],
                                       self.dilation[0])
            left, right = same_padding(x.shape[3], self.kernel_size[1], self.stride[1],
                                       self.dilation[1])
            x = F.pad(x, [left, right, top, bottom])
        x = x.index_select(1, self.inputs)
        w = self.weight.index_select(0, self.weight_order)
        outs: List[torch.Tensor] = []
        at = 0
        for length, count in zip(self.lengths, self.counts):
            size = length * count
            wb = w[at:at + size].reshape(count, length, self.kernel_size[0], self.kernel_size[1])
            outs.append(F.conv2d(x[:, at:at + size], wb, None, self.stride, self.pad_hw,
                                 self.dilation, count))
            at += size
        y = torch.cat(outs, 1).index_select(1, self.order) if len(outs) > 1 else outs[0]
        if self.bias is not None:
            y = y + self.bias.view(1, -1, 1, 1)
        return y

    def extra_repr(self):
        padding = '"same"' if self.padding == "same" else self.padding
        return (f"{self.in_channels}, {self.out_channels}, table={self.table}, "
                f"kernel_size={self.kernel_size}, stride={self.stride}, padding={padding}, "
                f"dilation={self.dilation}, bias={self.bias is not None}")


class ScaledTanh(nn.Module):
    """a * tanh(s * x): LeNet-5's squashing function (a = 1.7159, s = 2/3)."""

    def __init__(self, a=1.7159, s=2 / 3):
        super().__init__()
        self.a, self.s = a, s

    def forward(self, x):
        return self.a * torch.tanh(self.s * x)

    def extra_repr(self):
        return f"a={self.a!r}, s={self.s!r}"


class Scale(nn.Module):
    """x * k for a constant k: Inception-ResNet's scaling of a residual branch (timm's
    `out * self.scale + x`)."""

    def __init__(self, k):
        super().__init__()
        self.k = k

    def forward(self, x):
        return x * self.k

    def extra_repr(self):
        return f"k={self.k!r}"


class Subsample(nn.Module):
    """LeNet-5's trainable subsampling: the sum of each k x k window (the paper adds the four
    inputs) times a learned per-channel coefficient, plus a per-channel bias (2 parameters
    per channel); the same as average pooling with the coefficient scaled by k * k.
    Initialised with coefficient 1 and bias 0."""

    def __init__(self, channels, k=2):
        super().__init__()
        self.channels, self.k = channels, k
        self.weight = nn.Parameter(torch.empty(channels))
        self.bias = nn.Parameter(torch.empty(channels))
        self.reset_parameters()

    def reset_parameters(self):
        with torch.no_grad():
            self.weight.fill_(1.0)
            self.bias.zero_()

    def forward(self, x):
        y = F.avg_pool2d(x, self.k) * (self.k * self.k)
        return y * self.weight.view(1, -1, 1, 1) + self.bias.view(1, -1, 1, 1)

    def extra_repr(self):
        return f"{self.channels}, k={self.k}"


class RBF(nn.Module):
    """LeNet-5's Euclidean radial-basis output units: y_j = sum_i (x_i - w_ji)^2, a penalty
    per class (smaller is better). The prototypes w are fixed (+1/-1 codes, as the paper's
    stylised bitmaps are), so they are a buffer, not parameters."""

    def __init__(self, in_features, out_features):
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        self.register_buffer("prototypes", torch.empty(out_features, in_features))
        self.reset_parameters()

    def reset_parameters(self):
        with torch.no_grad():
            bits = torch.randint(0, 2, self.prototypes.shape, device=self.prototypes.device)
            self.prototypes.copy_(bits * 2.0 - 1.0)

    def forward(self, x):
        return (x.unsqueeze(1) - self.prototypes).pow(2).sum(-1)

    def extra_repr(self):
        return f"{self.in_features}, {self.out_features}"


class DropPath(nn.Module):
    """Stochastic depth: in training, zero the whole input of a sample with probability p and
    scale the kept ones by 1 / (1 - p); the identity in eval mode."""

    def __init__(self, p=0.0):
        super().__init__()
        self.p = p

    def forward(self, x):
        if not self.training or self.p == 0.0:
            return x
        keep = 1.0 - self.p
        shape = [x.shape[0]] + [1] * (x.dim() - 1)
        mask = x.new_empty(shape).bernoulli_(keep)
        return x * mask.div_(keep)

    def extra_repr(self):
        return f"p={self.p!r}"


class Channels(nn.Module):
    """The input's channels start <= c < stop: a view, as torch's `chunk` along channels
    gives (ShuffleNetV2's halves)."""

    def __init__(self, start, stop):
        super().__init__()
        self.start, self.stop = start, stop

    def forward(self, x):
        return x[:, self.start:self.stop]

    def extra_repr(self):
        return f"{self.start}, {self.stop}"


class Permute(nn.Module):
    """The dimensions after the batch reordered: `dims` index them from 0, so Permute([1, 2, 0])
    is torchvision's Permute([0, 2, 3, 1]) (channels-last)."""

    dims: List[int]  # class-level annotations: TorchScript's types for these lists
    order: List[int]

    def __init__(self, dims):
        super().__init__()
        self.dims = list(dims)
        self.order = [0] + [d + 1 for d in self.dims]

    def forward(self, x):
        return x.permute(self.order)

    def extra_repr(self):
        return f"{self.dims}"


class LayerNorm2d(nn.LayerNorm):
    """Layer norm over the channels of an [N, C, H, W] map at every position, computed as
    torchvision's LayerNorm2d does (channels-last, F.layer_norm, back)."""

    def __init__(self, channels, eps=1e-5):
        super().__init__(channels, eps=eps)
        self.channels = channels

    def forward(self, x):
        x = x.permute(0, 2, 3, 1)
        x = F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)
        return x.permute(0, 3, 1, 2)

    def extra_repr(self):
        return f"{self.channels}, eps={self.eps!r}"


class Resize(nn.Module):
    """Resize a feature map to `size` = (h, w) by interpolation."""

    def __init__(self, size, mode="bilinear"):
        super().__init__()
        self.size: List[int] = list(size)
        self.mode = mode
        self.align: bool = mode in ("bilinear", "bicubic")

    def forward(self, x):
        if self.align:  # align_corners=False, torch's default for these modes
            return F.interpolate(x, size=self.size, mode=self.mode, align_corners=False)
        return F.interpolate(x, size=self.size, mode=self.mode)

    def extra_repr(self):
        return f"{tuple(self.size)}, mode={self.mode!r}"


class PadChannels(nn.Module):
    """He et al.'s option-A shortcut: the input zero-padded with extra channels up to
    `out_channels`, half before and half after the input's (parameter-free)."""

    def __init__(self, in_channels, out_channels):
        super().__init__()
        self.in_channels, self.out_channels = in_channels, out_channels
        extra = out_channels - in_channels
        self.before, self.after = extra // 2, extra - extra // 2

    def forward(self, x):
        return F.pad(x, [0, 0, 0, 0, self.before, self.after])

    def extra_repr(self):
        return f"{self.in_channels}, {self.out_channels}"


class Join(nn.Module):
    """FractalNet's join: the input is n equal channel groups (the columns, concatenated);
    the output is their mean. In training each column is dropped per sample with
    probability p (local drop-path), at least one always kept, and the mean is over the
    kept ones."""

    def __init__(self, n, p=0.0):
        super().__init__()
        self.n, self.p = n, p

    def forward(self, x):
        shape = [x.shape[0], self.n, x.shape[1] // self.n] + list(x.shape[2:])
        xs = x.reshape(shape)
        if not self.training or self.p == 0.0 or self.n == 1:
            return xs.mean(1)
        keep = (torch.rand([x.shape[0], self.n], device=x.device) >= self.p).to(x.dtype)
        pick = torch.randint(0, self.n, [x.shape[0]], device=x.device)
        forced = F.one_hot(pick, self.n).to(x.dtype)
        keep = torch.where(keep.sum(1, keepdim=True) > 0, keep, forced)
        weights = keep / keep.sum(1, keepdim=True)
        return (xs * weights.view([x.shape[0], self.n] + [1] * (xs.dim() - 2))).sum(1)

    def extra_repr(self):
        return f"{self.n}, p={self.p!r}"


# --------------------------------------------------------------------------- functions
# Called as fx call_function nodes: a merge on the list of inputs (`merge_add([a, b])`: a typed
# list, which TorchScript accepts and varargs it does not), a bare tensor's op on the input and
# the tensor; `emit_py` writes them inline.


def scale_by(x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """A bare learned tensor times the input, in torchvision's order (ConvNeXt's layer scale)."""
    return w * x


def merge_concat(xs: List[torch.Tensor]) -> torch.Tensor:
    return torch.cat(xs, 1)


def merge_add(xs: List[torch.Tensor]) -> torch.Tensor:
    out = xs[0]
    for x in xs[1:]:
        out = out + x
    return out


def merge_mul(xs: List[torch.Tensor]) -> torch.Tensor:
    out = xs[0]
    for x in xs[1:]:
        out = out * x
    return out


def merge_mean(xs: List[torch.Tensor]) -> torch.Tensor:
    out = xs[0]
    for x in xs[1:]:
        out = out + x
    return out / len(xs)

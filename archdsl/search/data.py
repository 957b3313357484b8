"""Training data for the `accuracy` objective and the zero-cost proxies, resized to the
space's input: scikit-learn's bundled digits (1,797 real 8x8 images, no download; the
default), an image folder (one subdirectory per class), or CIFAR-10's python batches.

Every split is fixed (stratified, seed 0), so trials are compared on the same images.
Imports torch (and scikit-learn / Pillow) and is imported only when an objective needs it.
"""
from __future__ import annotations

import pickle
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import ArchError

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".ppm", ".pgm", ".tif",
                  ".tiff"}
VAL_FRACTION = 0.2


@dataclass
class Data:
    x_train: object  # torch float32 [N, C, H, W], normalised per channel
    y_train: object  # torch int64 [N]
    x_val: object
    y_val: object
    classes: int
    name: str


def _split(x: np.ndarray, y: np.ndarray):
    from sklearn.model_selection import train_test_split
    return train_test_split(x, y, test_size=VAL_FRACTION, random_state=0, stratify=y)


def _digits():
    from sklearn.datasets import load_digits
    d = load_digits()
    x = (d.images / 16.0).astype(np.float32)[:, None]  # [N, 1, 8, 8], 0..1
    return _split(x, d.target.astype(np.int64)) + ["digits"]


def _cifar(root: Path):
    def batch(name):
        with open(root / name, "rb") as f:
            d = pickle.load(f, encoding="bytes")
        x = np.asarray(d[b"data"], dtype=np.uint8).reshape(-1, 3, 32, 32)
        return x.astype(np.float32) / 255.0, np.asarray(d[b"labels"], dtype=np.int64)
    parts = [batch(f"data_batch_{i}") for i in range(1, 6) if (root / f"data_batch_{i}").exists()]
    xt = np.concatenate([p[0] for p in parts])
    yt = np.concatenate([p[1] for p in parts])
    xv, yv = batch("test_batch") if (root / "test_batch").exists() else (None, None)
    if xv is None:
        xt, xv, yt, yv = _split(xt, yt)
    return [xt, xv, yt, yv, "cifar10"]


def _folder(root: Path, shape):
    from PIL import Image
    classes = sorted(p.name for p in root.iterdir() if p.is_dir())
    if not classes:
        raise ArchError(f"--data {root}: expected one subdirectory per class (or CIFAR-10's "
                        f"data_batch_1 ... test_batch)")
    c, h, w = shape
    if c not in (1, 3):
        raise ArchError(f"--data {root}: images have 1 or 3 channels, the network takes {c}")
    xs, ys = [], []
    for label, name in enumerate(classes):
        for f in sorted((root / name).rglob("*")):
            if f.suffix.lower() not in IMAGE_SUFFIXES:
                continue
            try:
                with Image.open(f) as im:
                    im = im.convert("L" if c == 1 else "RGB").resize((w, h), Image.BILINEAR)
                    a = np.asarray(im, dtype=np.float32) / 255.0
            except OSError as e:
                raise ArchError(f"--data: cannot read {f}: {e}") from None
            xs.append(a[None] if c == 1 else a.transpose(2, 0, 1))
            ys.append(label)
    if len(xs) < 2 * len(classes):
        raise ArchError(f"--data {root}: too few images ({len(xs)} in {len(classes)} classes)")
    return _split(np.stack(xs), np.asarray(ys, dtype=np.int64)) + [f"folder {root.name}"]


def _fit(x, shape):
    """[N, c, h, w] in 0..1 to the network's [C, H, W]: bilinear resize, channels repeated
    (or averaged to one)."""
    import torch
    import torch.nn.functional as F
    c, h, w = shape
    t = torch.from_numpy(np.ascontiguousarray(x))
    if tuple(t.shape[2:]) != (h, w):
        t = F.interpolate(t, size=(h, w), mode="bilinear", align_corners=False)
    if t.shape[1] != c:
        if t.shape[1] == 1:
            t = t.repeat(1, c, 1, 1)
        elif c == 1:
            t = t.mean(dim=1, keepdim=True)
        else:
            raise ArchError(f"the data has {t.shape[1]} channels, the network takes {c}")
    return t.contiguous()


def load_data(spec, shape, classes: int, settings) -> Data:
    """The data set `spec` (None: digits) for a network taking `shape` with `classes` outputs."""
    import torch
    if len(shape) != 3:
        raise ArchError(f"training needs a network with a [C, H, W] input, got {list(shape)}")
    if spec is None:
        xt, xv, yt, yv, name = _digits()
    else:
        root = Path(spec)
        if not root.is_dir():
            raise ArchError(f"--data {spec}: no such directory")
        if (root / "data_batch_1").exists() or (root / "test_batch").exists():
            xt, xv, yt, yv, name = _cifar(root)
        else:
            xt, xv, yt, yv, name = _folder(root, shape)
    n_classes = int(max(yt.max(), yv.max())) + 1
    if classes < n_classes:
        raise ArchError(f"the data ({name}) has {n_classes} classes but the network gives "
                        f"{classes} outputs; bind the space's classes (-D classes={n_classes})")
    if settings.train_limit is not None and settings.train_limit < len(yt):
        keep = np.random.RandomState(0).permutation(len(yt))[:max(1, settings.train_limit)]
        xt, yt = xt[keep], yt[keep]
    x_train, x_val = _fit(xt, shape), _fit(xv, shape)
    mean = x_train.mean(dim=(0, 2, 3), keepdim=True)
    std = x_train.std(dim=(0, 2, 3), keepdim=True).clamp_min(1e-6)
    return Data((x_train - mean) / std, torch.from_numpy(yt), (x_val - mean) / std,
                torch.from_numpy(yv), n_classes, name)

"""Training data for the `accuracy` objective and the zero-cost proxies, resized to the
space's input: scikit-learn's bundled digits (1,797 real 8x8 images, no download; the
default), an image folder (one subdirectory per class), or CIFAR-10's python batches.

Model selection never sees a test set: the validation images are held out of the training
images by a fixed stratified split (seed 0): 20% of the digits or of a folder, 5,000 (10%)
of CIFAR-10's `data_batch_*`. CIFAR-10's `test_batch` is read only with `--test`, and its
accuracy is reported beside the validation accuracy, never used to choose.

CIFAR-10's batches are Python pickles, and unpickling runs whatever code a pickle names.
They are read with an unpickler that admits only the builtin containers, numbers, strings,
bytes and numpy arrays of numbers; anything else (a crafted `data_batch_1` whose
`__reduce__` calls `os.system`) is refused with an error naming the file and the global.

Every split is fixed, so trials are compared on the same images, and the data's digest
(sha256 of the images and labels as trained on) goes into the training configuration, so a
re-training can check it has the same data. Imports torch (and scikit-learn / Pillow) and is
imported only when an objective needs it.
"""
from __future__ import annotations

import hashlib
import io
import math
import pickle
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np

from ..errors import ArchError

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".ppm", ".pgm", ".tif",
                  ".tiff"}
VAL_FRACTION = 0.2  # digits and image folders
CIFAR_VAL_FRACTION = 0.1  # 5,000 of CIFAR-10's 50,000 training images
SPLIT_SEED = 0
MAX_BATCH_BYTES = 1 << 30  # a CIFAR batch is 30 MB; refuse to unpickle anything near a GiB


@dataclass
class Data:
    x_train: object  # torch float32 [N, C, H, W], normalised per channel
    y_train: object  # torch int64 [N]
    x_val: object
    y_val: object
    classes: int
    name: str
    x_test: object = None  # CIFAR-10's test_batch, only with --test
    y_test: object = None
    pad_value: object = None  # [1, C, 1, 1]: a black pixel after normalisation (crop padding)
    source: Optional[str] = None  # the --data directory, resolved
    sha256: str = ""  # of the training and validation images and labels
    split: str = ""  # how the validation images were held out
    natural_augment: str = "none"  # what `--augment auto` means for this data


# ---------------------------------------------------------------------- safe unpickling


class _SafeUnpickler(pickle.Unpickler):
    """Admits dicts, lists, tuples, strings, bytes, numbers and numpy arrays; refuses every
    other global a pickle names (functions, classes, os.system...)."""

    ALLOWED = {
        ("numpy", "ndarray"), ("numpy", "dtype"),
        ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
        ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar"),
        ("numpy.core.numeric", "_frombuffer"), ("numpy._core.numeric", "_frombuffer"),
        ("_codecs", "encode"),  # how protocols 0-2 write bytes from Python 3
        ("builtins", "set"), ("builtins", "frozenset"), ("builtins", "bytearray"),
        ("__builtin__", "set"), ("__builtin__", "frozenset"), ("__builtin__", "bytearray"),
    }

    def __init__(self, f, path):
        super().__init__(f, encoding="bytes")
        self.path = path

    def find_class(self, module, name):
        if (module, name) in self.ALLOWED:
            return super().find_class(module, name)
        raise ArchError(f"--data: {self.path} is not a plain CIFAR-10 batch: it names "
                        f"{module}.{name}, and only containers, numbers, strings, bytes and "
                        f"numpy arrays are read (unpickling anything else could run code)")

    def persistent_load(self, pid):
        raise ArchError(f"--data: {self.path} uses pickle persistent ids; not a CIFAR-10 batch")


def _plain(value, path, depth=0) -> None:
    """What the unpickler built holds only plain data (an object array would hold objects)."""
    if depth > 20:
        raise ArchError(f"--data: {path} is nested too deeply for a CIFAR-10 batch")
    if isinstance(value, np.ndarray):
        if value.dtype.hasobject:
            raise ArchError(f"--data: {path} holds an array of Python objects")
    elif isinstance(value, dict):
        for k, v in value.items():
            _plain(k, path, depth + 1)
            _plain(v, path, depth + 1)
    elif isinstance(value, (list, tuple, set, frozenset)):
        for v in value:
            _plain(v, path, depth + 1)
    elif not isinstance(value, (str, bytes, bytearray, int, float, bool, np.generic)) \
            and value is not None:
        raise ArchError(f"--data: {path} holds a {type(value).__name__}")


def load_pickle(path: Path):
    """Unpickle a CIFAR-10 batch safely (see the module's docstring)."""
    try:
        if not path.is_file():
            raise ArchError(f"--data: {path} is not a regular file")
        size = path.stat().st_size
        if size > MAX_BATCH_BYTES:
            raise ArchError(f"--data: {path} is {size:,} bytes, too large for a CIFAR-10 batch")
        data = path.read_bytes()
    except OSError as e:
        raise ArchError(f"--data: cannot read {path}: {e.strerror}") from None
    try:
        value = _SafeUnpickler(io.BytesIO(data), path).load()
    except ArchError:
        raise
    except Exception as e:  # truncated, not a pickle, a numpy reconstruction that fails...
        raise ArchError(f"--data: {path} is not a readable CIFAR-10 batch "
                        f"({type(e).__name__}: {e})") from None
    _plain(value, path)
    return value


def _cifar_batch(path: Path):
    d = load_pickle(path)
    if not isinstance(d, dict):
        raise ArchError(f"--data: {path} holds a {type(d).__name__}, not a CIFAR-10 batch dict")
    data = d.get(b"data", d.get("data"))
    labels = d.get(b"labels", d.get("labels"))
    if data is None or labels is None:
        raise ArchError(f"--data: {path} has no 'data' and 'labels' (not a CIFAR-10 batch)")
    x = np.asarray(data)
    y = np.asarray(labels)
    if x.dtype != np.uint8 or x.ndim != 2 or x.shape[1] != 3072 or y.ndim != 1 \
            or len(y) != len(x) or not np.issubdtype(y.dtype, np.integer) or \
            (len(y) and (y.min() < 0 or y.max() > 1000)):
        raise ArchError(f"--data: {path}: expected uint8 data [N, 3072] and N integer labels, "
                        f"got data {x.dtype} {list(x.shape)} and labels {list(y.shape)}")
    return x.reshape(-1, 3, 32, 32), y.astype(np.int64)


# ---------------------------------------------------------------------- data sets


def _split(x: np.ndarray, y: np.ndarray, fraction: float):
    from sklearn.model_selection import train_test_split
    if len(y) < 2:
        raise ArchError(f"--data: {len(y)} image(s) cannot be split into training and "
                        f"validation images")
    n_val = max(1, math.ceil(len(y) * fraction))  # as scikit-learn rounds a fraction
    counts = np.bincount(y)
    classes = int((counts > 0).sum())
    # stratified when every class can give the validation split an image
    stratify = y if counts[counts > 0].min() >= 2 and classes <= min(n_val, len(y) - n_val) \
        else None
    return train_test_split(x, y, test_size=n_val, random_state=SPLIT_SEED, stratify=stratify)


def _digits():
    from sklearn.datasets import load_digits
    d = load_digits()
    x = (d.images / 16.0).astype(np.float32)[:, None]  # [N, 1, 8, 8], 0..1
    y = d.target.astype(np.int64)
    xt, xv, yt, yv = _split(x, y, VAL_FRACTION)
    return xt, xv, yt, yv, "digits", f"{len(yv)} of {len(y)} images, stratified, seed 0"


def _cifar(root: Path, with_test: bool):
    parts = [_cifar_batch(root / f"data_batch_{i}") for i in range(1, 6)
             if (root / f"data_batch_{i}").exists()]
    if not parts:
        raise ArchError(f"--data {root}: no data_batch_1 ... data_batch_5 (the test_batch is "
                        f"not used for training or validation)")
    x = np.concatenate([p[0] for p in parts])
    y = np.concatenate([p[1] for p in parts])
    xt, xv, yt, yv = _split(x, y, CIFAR_VAL_FRACTION)
    test = None
    if with_test:
        if not (root / "test_batch").exists():
            raise ArchError(f"--test: {root} has no test_batch")
        test = _cifar_batch(root / "test_batch")
    split = (f"{len(yv)} of the {len(y)} images of data_batch_1..{len(parts)}, stratified, "
             f"seed 0")
    return xt, xv, yt, yv, test, split


def _folder(root: Path, shape):
    from PIL import Image
    classes = sorted(p.name for p in root.iterdir() if p.is_dir())
    if not classes:
        raise ArchError(f"--data {root}: expected one subdirectory per class (or CIFAR-10's "
                        f"data_batch_1 ... data_batch_5)")
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
    x, y = np.stack(xs), np.asarray(ys, dtype=np.int64)
    xt, xv, yt, yv = _split(x, y, VAL_FRACTION)
    return xt, xv, yt, yv, f"folder {root.name}", f"{len(yv)} of {len(y)} images, stratified, seed 0"


def _fit(x, shape):
    """[N, c, h, w] (uint8 or 0..1 floats) to the network's [C, H, W] in 0..1: bilinear
    resize, channels repeated (or averaged to one)."""
    import torch
    import torch.nn.functional as F
    c, h, w = shape
    t = torch.from_numpy(np.ascontiguousarray(x))
    t = t.float() / 255.0 if t.dtype == torch.uint8 else t.float()
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


def _digest(*arrays) -> str:
    h = hashlib.sha256()
    for a in arrays:
        a = np.ascontiguousarray(a)
        h.update(f"{a.dtype}{a.shape}".encode())
        h.update(a.tobytes())
    return h.hexdigest()[:16]


def load_data(spec, shape, classes: int, settings) -> Data:
    """The data set `spec` (None: digits) for a network taking `shape` with `classes` outputs."""
    import torch
    if len(shape) != 3:
        raise ArchError(f"training needs a network with a [C, H, W] input, got {list(shape)}")
    test = None
    source = None
    natural = "crop+flip"
    with_test = bool(getattr(settings, "test", False))
    if spec is None:
        if with_test:
            raise ArchError("--test needs CIFAR-10's test_batch (--data DIR); the digits have "
                            "only a training and a validation split")
        xt, xv, yt, yv, name, split = _digits()
        natural = "none"  # a flipped or shifted 8x8 digit is often another digit
    else:
        root = Path(spec)
        if not root.is_dir():
            raise ArchError(f"--data {spec}: no such directory")
        source = str(root.resolve())
        if any((root / f"data_batch_{i}").exists() for i in range(1, 6)) or \
                (root / "test_batch").exists():
            xt, xv, yt, yv, test, split = _cifar(root, with_test)
            name = "cifar10"
        else:
            if with_test:
                raise ArchError(f"--test needs CIFAR-10's test_batch; {spec} is an image folder")
            xt, xv, yt, yv, name, split = _folder(root, shape)
    n_classes = int(max(yt.max(), yv.max())) + 1
    if classes < n_classes:
        raise ArchError(f"the data ({name}) has {n_classes} classes but the network gives "
                        f"{classes} outputs; bind the space's classes (-D classes={n_classes})")
    if settings.train_limit is not None and settings.train_limit < len(yt):
        keep = np.random.RandomState(SPLIT_SEED).permutation(len(yt))[:max(1, settings.train_limit)]
        xt, yt = xt[keep], yt[keep]
    digest = _digest(xt, yt, xv, yv)
    x_train, x_val = _fit(xt, shape), _fit(xv, shape)
    mean = x_train.mean(dim=(0, 2, 3), keepdim=True)
    std = x_train.std(dim=(0, 2, 3), keepdim=True).clamp_min(1e-6)
    data = Data((x_train - mean) / std, torch.from_numpy(yt), (x_val - mean) / std,
                torch.from_numpy(yv), n_classes, name, pad_value=(0 - mean) / std,
                source=source, sha256=digest, split=split, natural_augment=natural)
    if test is not None:
        data.x_test = (_fit(test[0], shape) - mean) / std
        data.y_test = torch.from_numpy(test[1])
    return data

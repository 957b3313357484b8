"""The `accuracy` objective: a short training of a trial's network (the torch backend's
module, seeded), validation accuracy after every epoch reported to Optuna's pruner.

Reproducible by construction: the weights (`to_torch(seed=)`), the batch order and the
augmentation draws (a CPU generator seeded with the same seed, so they do not depend on the
device) all come from `--seed`; the configuration that fixes the result (seed, epochs, lr,
batch size, augmentation, data and its digest, device, threads) is returned with it, goes
into trials.csv and best.arch's header, and `retrain(best.arch)` trains that network again
with it. On the CPU a re-training gives the same accuracy exactly; on CUDA, cuDNN picks its
fastest (not always deterministic) kernels, so it agrees to within noise.

Augmentation (`--augment`): a random crop with padding 4 (the padded pixels black, as
torchvision's RandomCrop(padding=4) pads the image before normalising) and a horizontal flip
with probability 1/2, per image, on the network's input size.

`--device cuda`: mixed precision (float16 autocast and a gradient scaler) and channels_last.
Imports torch; imported only for that objective, and only for feasible trials.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from ..errors import ArchError


@dataclass
class TrainSettings:
    """What `accuracy` and the proxies need: data and a few knobs."""
    data: Optional[str] = None  # None: scikit-learn's digits
    epochs: int = 3
    batch_size: int = 64
    lr: float = 2e-3
    train_limit: Optional[int] = None  # use only this many training images
    seed: int = 0
    threads: Optional[int] = None  # torch threads per trial
    device: str = "cpu"  # or "cuda": mixed precision (float16 autocast) and channels_last
    augment: str = "auto"  # none, crop, flip, crop+flip; auto: by the data (see data.py)
    test: bool = False  # also measure CIFAR-10's test batch (reported, never used to choose)


def network_io(graph):
    """(input shape, number of classes) of a built network."""
    shape = list(graph.graph["input_shape"])
    out = graph.nodes[graph.graph["outputs"][0]]["shape"]
    if len(out) != 1:
        raise ArchError(f"training needs a network whose output is a vector of class scores; "
                        f"{graph.graph['name']} gives {list(out)}")
    return shape, out[0]


PAD = 4  # pixels of padding of the random crop
AUGMENTS = ("none", "crop", "flip", "crop+flip")


def _main(out):
    return out[0] if isinstance(out, (tuple, list)) else out


def evaluate(model, x, y, batch: int = 256, device="cpu", amp: bool = False,
             channels_last: bool = False) -> float:
    import torch
    model.eval()
    correct = 0
    with torch.no_grad():
        for i in range(0, len(y), batch):
            xb = _to(x[i:i + batch], device, channels_last)
            with _autocast(amp):
                logits = _main(model(xb))
            correct += int((logits.argmax(dim=1).cpu() == y[i:i + batch]).sum())
    return correct / max(1, len(y))


def _autocast(enabled: bool):
    import contextlib
    import torch
    return torch.autocast("cuda", dtype=torch.float16) if enabled else contextlib.nullcontext()


def _to(x, device, channels_last):
    import torch
    x = x.to(device, non_blocking=True)
    return x.contiguous(memory_format=torch.channels_last) if channels_last else x


def augment_batch(x, gen, mode: str, pad_value):
    """Random crop (padding PAD) and/or horizontal flip of a batch [B, C, H, W], the draws
    from `gen` (a CPU generator)."""
    import torch
    b, c, h, w = x.shape
    if "crop" in mode:
        padded = torch.as_tensor(pad_value, dtype=x.dtype, device=x.device).expand(
            b, c, h + 2 * PAD, w + 2 * PAD).clone()
        padded[:, :, PAD:PAD + h, PAD:PAD + w] = x
        dy = torch.randint(0, 2 * PAD + 1, (b,), generator=gen)
        dx = torch.randint(0, 2 * PAD + 1, (b,), generator=gen)
        rows = (dy[:, None] + torch.arange(h)[None]).to(x.device)
        cols = (dx[:, None] + torch.arange(w)[None]).to(x.device)
        x = padded[torch.arange(b, device=x.device)[:, None, None, None],
                   torch.arange(c, device=x.device)[None, :, None, None],
                   rows[:, None, :, None], cols[:, None, None, :]]
    if "flip" in mode:
        flip = (torch.rand(b, generator=gen) < 0.5).to(x.device)
        x = torch.where(flip[:, None, None, None], x.flip(3), x)
    return x


def resolve_augment(settings, data) -> str:
    mode = getattr(settings, "augment", "auto") or "auto"
    if mode == "auto":
        return data.natural_augment
    if mode not in AUGMENTS:
        raise ArchError(f"--augment must be one of auto, {', '.join(AUGMENTS)}; got {mode!r}")
    return mode


def config(settings, data, augment: str, n_train: int) -> dict:
    """What fixes a training's result: enough to train the same network again and get the
    same accuracy (see the module's docstring)."""
    device = getattr(settings, "device", "cpu")
    return {"seed": settings.seed, "epochs": settings.epochs, "lr": settings.lr,
            "batch_size": settings.batch_size, "augment": augment, "data": data.name,
            "data_dir": data.source, "data_sha256": data.sha256, "train_images": n_train,
            "train_limit": settings.train_limit, "validation": data.split,
            "optimizer": "AdamW(weight_decay=5e-4), one-cycle lr", "device": device,
            "amp": device == "cuda", "channels_last": device == "cuda",
            "threads": settings.threads or 1}


def train(graph, data, settings, trial=None):
    """(validation accuracy after the last epoch, extra measurements: train_seconds,
    train_config and, with --test, test_accuracy). With `trial`, each epoch's accuracy is
    reported and a pruned trial raises optuna.TrialPruned."""
    import torch
    threads = torch.get_num_threads()
    if settings.threads:
        torch.set_num_threads(settings.threads)
    try:
        return _train(graph, data, settings, trial)
    finally:
        torch.set_num_threads(threads)


def _train(graph, data, settings, trial):
    import torch
    import torch.nn.functional as F
    from ..backends.torch_backend import to_torch
    start = time.perf_counter()
    device = getattr(settings, "device", "cpu") or "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise ArchError(f"--device cuda: CUDA is not available on this machine "
                        f"(torch {torch.__version__})")
    cuda = device == "cuda"
    if cuda:
        torch.backends.cudnn.benchmark = True
    model = to_torch(graph, seed=settings.seed, device=device,
                     memory_format=torch.channels_last if cuda else None)
    augment = resolve_augment(settings, data)
    n = len(data.y_train)
    batch = min(settings.batch_size, n)
    steps = max(1, n // batch)  # drop the last partial batch (batch norm needs 2+ samples)
    opt = torch.optim.AdamW(model.parameters(), lr=settings.lr, weight_decay=5e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=settings.lr,
                                                total_steps=steps * settings.epochs)
    scaler = torch.amp.GradScaler("cuda") if cuda else None
    gen = torch.Generator().manual_seed(settings.seed)
    x_train = data.x_train.to(device)
    y_train = data.y_train.to(device)
    pad_value = data.pad_value.to(device) if data.pad_value is not None else 0.0
    acc = 0.0
    for epoch in range(settings.epochs):
        model.train()
        order = torch.randperm(n, generator=gen)
        for s in range(steps):
            idx = order[s * batch:(s + 1) * batch].to(device)
            xb = x_train[idx]
            if augment != "none":
                xb = augment_batch(xb, gen, augment, pad_value)
            if cuda:
                xb = xb.contiguous(memory_format=torch.channels_last)
            with _autocast(cuda):
                logits = _main(model(xb))
                if logits.dim() != 2:
                    raise ArchError(f"training needs class scores [batch, classes], the "
                                    f"network gives {list(logits.shape)}")
                loss = F.cross_entropy(logits.float(), y_train[idx])
            opt.zero_grad(set_to_none=True)
            if scaler is None:
                loss.backward()
                opt.step()
            else:
                scaler.scale(loss).backward()
                scaler.step(opt)
                scaler.update()
            sched.step()
        acc = evaluate(model, data.x_val, data.y_val, device=device, amp=cuda,
                       channels_last=cuda)
        if trial is not None:
            import optuna
            trial.report(acc, epoch)
            if trial.should_prune():
                raise optuna.TrialPruned(f"pruned after epoch {epoch + 1} at accuracy {acc:.4f}")
    extra = {"train_seconds": round(time.perf_counter() - start, 3),
             "train_config": config(settings, data, augment, n)}
    if getattr(settings, "test", False) and data.x_test is not None:
        extra["test_accuracy"] = evaluate(model, data.x_test, data.y_test, device=device,
                                          amp=cuda, channels_last=cuda)
    return acc, extra


def retrain(path, data_dir=None, **overrides):
    """Train the network of an .arch file written by a search (best.arch, pareto/NNN.arch)
    again, with the configuration its header records (`# train-config: {...}`); returns
    (validation accuracy, extra) as a search trial gets them. `data_dir` replaces the
    recorded data directory (data moved elsewhere: its digest must still match);
    `overrides` replace configuration entries (device=..., threads=...)."""
    from .. import network as network_mod
    from .data import load_data
    from .records import read_train_config
    text = Path(path).read_text(encoding="utf-8")
    cfg = read_train_config(text)
    if not cfg:
        raise ArchError(f"{path} records no training configuration (no '# train-config:' "
                        f"line); was it written by an accuracy search?")
    cfg.update(overrides)
    graph = network_mod.load(str(path)).graph
    settings = TrainSettings(data=data_dir or cfg.get("data_dir"), epochs=cfg["epochs"],
                             batch_size=cfg["batch_size"], lr=cfg["lr"],
                             train_limit=cfg.get("train_limit"), seed=cfg["seed"],
                             threads=cfg.get("threads", 1), device=cfg.get("device", "cpu"),
                             augment=cfg.get("augment", "none"))
    shape, classes = network_io(graph)
    data = load_data(settings.data, shape, classes, settings)
    if cfg.get("data_sha256") and data.sha256 != cfg["data_sha256"]:
        raise ArchError(f"{path} was trained on data with digest {cfg['data_sha256']}; "
                        f"{settings.data or 'the digits'} gives {data.sha256} (other images, "
                        f"another split or another --train-limit)")
    return train(graph, data, settings)

"""The `accuracy` objective: a short training of a trial's network (the torch backend's
module, seeded), validation accuracy after every epoch reported to Optuna's pruner.
Imports torch; imported only for that objective, and only for feasible trials."""
from __future__ import annotations

import time

from ..errors import ArchError


def _main(out):
    return out[0] if isinstance(out, (tuple, list)) else out


def evaluate(model, x, y, batch: int = 256) -> float:
    import torch
    model.eval()
    correct = 0
    with torch.no_grad():
        for i in range(0, len(y), batch):
            logits = _main(model(x[i:i + batch]))
            correct += int((logits.argmax(dim=1) == y[i:i + batch]).sum())
    return correct / max(1, len(y))


def train(graph, data, settings, trial=None):
    """(validation accuracy after the last epoch, extra measurements). With `trial`, each
    epoch's accuracy is reported and a pruned trial raises optuna.TrialPruned."""
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
    model = to_torch(graph, seed=settings.seed)
    n = len(data.y_train)
    batch = min(settings.batch_size, n)
    steps = max(1, n // batch)  # drop the last partial batch (batch norm needs 2+ samples)
    opt = torch.optim.AdamW(model.parameters(), lr=settings.lr, weight_decay=5e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=settings.lr,
                                                total_steps=steps * settings.epochs)
    gen = torch.Generator().manual_seed(settings.seed)
    acc = 0.0
    for epoch in range(settings.epochs):
        model.train()
        order = torch.randperm(n, generator=gen)
        for s in range(steps):
            idx = order[s * batch:(s + 1) * batch]
            logits = _main(model(data.x_train[idx]))
            if logits.dim() != 2:
                raise ArchError(f"training needs class scores [batch, classes], the network "
                                f"gives {list(logits.shape)}")
            loss = F.cross_entropy(logits, data.y_train[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
        acc = evaluate(model, data.x_val, data.y_val)
        if trial is not None:
            import optuna
            trial.report(acc, epoch)
            if trial.should_prune():
                raise optuna.TrialPruned(f"pruned after epoch {epoch + 1} at accuracy {acc:.4f}")
    return acc, {"train_seconds": round(time.perf_counter() - start, 3),
                 "epochs": settings.epochs, "data": data.name}

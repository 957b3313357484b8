"""`archdsl compile FILE`: build the network as a torch.fx GraphModule on a device, run one
forward pass on a dummy batch, print one line (network, params, GFLOPs, output shape, build
and forward time), and with `-o` write it by suffix: `.py` standalone source, `.pt2` a
torch.export program, `.onnx` ONNX, `.pt` a state_dict (atomically; never over an existing
file without --force)."""
from __future__ import annotations

import contextlib
import time
from pathlib import Path

from ..errors import ArchError
from ..files import atomic_write, check_writable
from .. import analysis
from ..progress import Progress
from .common import EPILOG, add_limits, add_network_args, load_network, output, seed

SUFFIXES = (".py", ".pt2", ".onnx", ".pt")
DTYPES = ("float32", "float16", "bfloat16")  # names of torch dtypes


def add_parser(sub) -> None:
    p = sub.add_parser("compile", help="build the PyTorch module and run one forward pass",
                       description="Build the network as a torch.fx GraphModule, run one "
                       "forward pass on a dummy batch and print a one-line summary; -o writes "
                       "it by suffix (.py source, .pt2 torch.export, .onnx, .pt state_dict).",
                       epilog=EPILOG)
    add_network_args(p)
    p.add_argument("-o", "--output", type=output, metavar="OUT",
                   help="write .py, .pt2, .onnx or .pt")
    p.add_argument("--device", default="cpu", help="cpu or cuda (default cpu)")
    p.add_argument("--dtype", default="float32", choices=DTYPES)
    p.add_argument("--channels-last", action="store_true", help="use channels_last memory format")
    p.add_argument("--batch", type=int, default=1, metavar="B", help="dummy batch size")
    p.add_argument("--fuse", action="store_true", help="fold batch norm into convs (eval)")
    p.add_argument("--seed", type=seed, default=0, help="initialisation seed (default 0)")
    p.add_argument("--force", action="store_true", help="overwrite an existing OUT")
    p.add_argument("--autocast", action="store_true",
                   help="keep float32 weights and run the forward under torch.autocast "
                   "with --dtype (float16 or bfloat16)")
    add_limits(p)
    p.set_defaults(run=run)


def _device(text: str):
    """cpu, cuda or cuda:N, by the rule of to_torch(device=) (but not meta: the forward
    pass needs memory)."""
    from ..backends.torch_backend import as_device
    try:
        return as_device(text, kinds=("cpu", "cuda"))
    except ArchError as e:
        raise ArchError(f"--{e.message}") from None


def _check_output(args):
    if not args.output:
        return None
    out = Path(args.output)
    if out.suffix not in SUFFIXES:
        raise ArchError(f"-o {out}: the suffix must be one of {', '.join(SUFFIXES)} "
                        f"(.py source, .pt2 torch.export, .onnx ONNX, .pt state_dict)")
    check_writable(out, args.force)
    return out


def _sync(torch, device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def run(args) -> int:
    with Progress(f"compile {args.file}") as progress:
        return _run(args, progress)


def _run(args, progress) -> int:
    out = _check_output(args)  # fail before the expensive part
    if args.batch <= 0:
        raise ArchError(f"--batch must be positive, got {args.batch}")
    if args.autocast and args.dtype == "float32":
        raise ArchError("--autocast needs --dtype float16 or bfloat16")
    progress.stage("importing torch")
    import torch  # before the clock starts: build time is archdsl's, not torch's import

    from ..backends import torch_backend

    t0 = time.perf_counter()
    progress.stage("elaborating")
    net = load_network(args)
    max_memory = args.max_memory  # bytes (common.gib)
    analysis.check_limits(net.graph, args.max_params, max_memory, args.batch)

    device = _device(args.device)
    dtype = getattr(torch, args.dtype)
    memory_format = torch.channels_last if args.channels_last else None
    model = net.to_torch(device=device, dtype=None if args.autocast else dtype,
                         memory_format=memory_format, seed=args.seed, fuse=args.fuse,
                         max_params=args.max_params, max_memory=max_memory,
                         progress=progress if progress.enabled else None)
    model.eval()
    _sync(torch, device)
    build = time.perf_counter() - t0

    x = torch_backend.dummy_input(net.graph, args.batch, device,
                                  torch.float32 if args.autocast else dtype, memory_format)
    autocast = (torch.autocast(device.type, dtype=dtype) if args.autocast
                else contextlib.nullcontext())
    t1 = time.perf_counter()
    try:
        with torch.inference_mode(), autocast, _count_calls(torch, model, progress):
            y = model(x)
        _sync(torch, device)
    except RuntimeError as e:  # e.g. an op without a kernel for this dtype on this device
        raise ArchError(f"the forward pass failed on {device} with {args.dtype}: "
                        f"{str(e).splitlines()[0]}") from None
    forward = time.perf_counter() - t1

    if out is not None:
        progress.stage(f"writing {out}")
        _write(out, args, net, model, x, torch)

    progress.close()
    totals = net.totals()
    ys = y if isinstance(y, (tuple, list)) else [y]
    shape = ", ".join("x".join(map(str, t.shape)) for t in ys)
    mode = [device.type if device.index is None else str(device), args.dtype]
    if args.autocast:
        mode.append("autocast")
    if args.channels_last:
        mode.append("channels_last")
    if args.fuse:
        mode.append("fused")
    # GFLOPs as torchvision and `archdsl zoo` publish them: the conv and fc multiply-adds.
    flops = (f"{totals['macs'] / 1e9:.2f} GFLOPs" if totals["macs"] >= 1e7
             else f"{totals['macs'] / 1e6:.2f} MFLOPs")
    line = (f"{net.name}: {totals['params']:,} params, {flops}, "
            f"output {shape}, build {build:.2f} s, forward {forward * 1000:.1f} ms "
            f"(batch {args.batch}, {', '.join(mode)})")
    if out is not None:
        line += f" -> {out}"
    print(line)
    return 0


@contextlib.contextmanager
def _count_calls(torch, model, progress):
    """The forward pass as a stage of the bar, advanced by each layer's call (a module forward
    hook, registered only when a bar may be shown: about 5 us per call, bench_progress.py)."""
    if not progress.enabled:
        yield
        return
    progress.stage("forward pass", total=sum(1 for n in model.graph.nodes
                                             if n.op == "call_module"))

    def hook(module, inputs, output):
        if module is not model:
            progress.advance()
    handle = torch.nn.modules.module.register_module_forward_hook(hook)
    try:
        yield
    finally:
        handle.remove()


def _write(out: Path, args, net, model, x, torch):
    suffix = out.suffix
    if suffix == ".py":
        from ..backends import emit_py
        src = emit_py.to_source(model, network=net.name, source=str(args.file),
                                input_shape=net.graph.graph["input_shape"])
        atomic_write(out, src, force=args.force)
    elif suffix == ".pt":
        atomic_write(out, lambda p: torch.save(model.state_dict(), p), force=args.force)
    elif suffix == ".pt2":
        import io
        import warnings
        program = torch.export.export(model, (x,))
        buffer = io.BytesIO()  # torch.export.save warns about a file name not ending in .pt2
        with warnings.catch_warnings():  # and about channels_last weights: compile prints one line
            warnings.simplefilter("ignore")
            torch.export.save(program, buffer)
        atomic_write(out, buffer.getvalue(), force=args.force)
    elif suffix == ".onnx":
        try:
            import onnx  # noqa: F401
            import onnxscript  # noqa: F401
        except ImportError:
            raise ArchError("writing .onnx needs the onnx and onnxscript packages: "
                            "pip install onnx onnxscript") from None
        atomic_write(out, lambda p: export_onnx(torch, model, x, p), force=args.force)


def export_onnx(torch, model, x, path):
    """ONNX through torch.export (the exporter torch recommends), weights inside the file.
    The exporter's progress messages and warnings are silenced: compile prints one line."""
    import io
    import logging
    import warnings
    loggers = [logging.getLogger(n) for n in ("torch.onnx", "onnxscript", "torch.export")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore")
            program = torch.onnx.export(model, (x,), dynamo=True, external_data=False,
                                        verbose=False)
            program.save(str(path), external_data=False)
    finally:
        for lg, level in zip(loggers, levels):
            lg.setLevel(level)

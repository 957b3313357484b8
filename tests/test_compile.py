"""`archdsl compile` (issue 3): one forward pass, one line, outputs by suffix, atomic and never
over an existing file without --force, user errors as messages. Parameter counts and layouts
are checked against reference/torchvision.json."""
from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")


pytestmark = pytest.mark.usefixtures("one_torch_thread")


SMALL = ["--input", "3,64,64"]


def test_one_line_summary(run_cli, torchvision_reference):
    code, out, err = run_cli("compile", "zoo:resnet18", *SMALL)
    assert code == 0, err
    lines = out.strip().splitlines()
    assert len(lines) == 1
    line = lines[0]
    ref = torchvision_reference["resnet18"]
    assert line.startswith("resnet18: ")
    assert f"{ref['params']:,} params" in line
    assert "GFLOPs" in line and "output 1x1000" in line
    assert "build " in line and "forward " in line and " ms" in line


def test_aux_network_prints_the_main_output_shape(run_cli):
    code, out, err = run_cli("compile", "zoo:googlenet", *SMALL, "--batch", "2")
    assert code == 0, err
    assert "output 2x1000," in out  # eval mode: the aux heads are not run


@pytest.mark.parametrize("device", ["cpu", "cuda"])
def test_device_dtype_channels_last_autocast_path(device, run_cli):
    """The whole CUDA path; on the CPU the same code runs (bfloat16 autocast on CPU)."""
    if device == "cuda" and not torch.cuda.is_available():
        pytest.skip("needs a CUDA device")
    dtype = "float16" if device == "cuda" else "bfloat16"
    for extra in (["--dtype", dtype, "--channels-last"],
                  ["--dtype", dtype, "--autocast", "--channels-last", "--fuse"]):
        code, out, err = run_cli("compile", "zoo:resnet18", *SMALL, "--device", device,
                                 "--batch", "2", *extra)
        assert code == 0, err
        assert "output 2x1000" in out and dtype in out and "channels_last" in out


def test_outputs_by_suffix(run_cli, tmp_path, torchvision_reference):
    py, pt, pt2 = tmp_path / "net.py", tmp_path / "net.pt", tmp_path / "net.pt2"
    for path in (py, pt, pt2):
        code, out, err = run_cli("compile", "zoo:resnet18", *SMALL, "-o", path)
        assert code == 0, err
        assert out.count("\n") == 1 and str(path) in out
    assert "class Resnet18(nn.Module)" in py.read_text()
    state = torch.load(pt)
    ref = torchvision_reference["resnet18"]["state_dict"]
    assert {k: list(v.shape) for k, v in state.items()} == ref
    program = torch.export.load(pt2)
    assert program.module()(torch.randn(1, 3, 64, 64)).shape == (1, 1000)
    # the emitted source takes the .pt checkpoint
    namespace = {}
    exec(compile(py.read_text(), str(py), "exec"), namespace)
    model = namespace["Resnet18"]()
    model.load_state_dict(state, strict=True)
    assert not list(tmp_path.glob(".*.tmp"))  # no temporary files left behind


def test_existing_output_needs_force(run_cli, tmp_path):
    out = tmp_path / "net.pt"
    out.write_bytes(b"keep me")
    code, _, err = run_cli("compile", "zoo:lenet5", "-o", out)
    assert code == 1 and "--force" in err and "Traceback" not in err
    assert out.read_bytes() == b"keep me"
    code, _, err = run_cli("compile", "zoo:lenet5", "-o", out, "--force")
    assert code == 0, err
    assert set(torch.load(out)) >= {"c1.weight", "c3.weight", "output.prototypes"}


def test_onnx_output(run_cli, tmp_path):
    pytest.importorskip("onnx")
    pytest.importorskip("onnxscript")
    ort = pytest.importorskip("onnxruntime")
    out = tmp_path / "lenet5.onnx"
    code, stdout, err = run_cli("compile", "zoo:lenet5", "-o", out)
    assert code == 0, err
    assert stdout.count("\n") == 1
    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    (y,) = session.run(None, {session.get_inputs()[0].name: torch.randn(1, 1, 32, 32).numpy()})
    assert y.shape == (1, 10)


@pytest.mark.parametrize("args,message", [
    (["-o", "net.h5"], "suffix must be one of"),
    (["--max-params", "1000"], "--max-params"),
    (["--device", "tpu"], "expected cpu, cuda or cuda:N"),
    (["--batch", "0"], "--batch must be positive"),
    (["--autocast"], "--autocast needs --dtype"),
])
def test_user_errors(args, message, run_cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out, err = run_cli("compile", "zoo:lenet5", *args)
    assert code == 1
    assert message in err and "Traceback" not in err
    assert out == ""


def test_max_params_message_names_the_figure(run_cli, torchvision_reference):
    code, _, err = run_cli("compile", "zoo:resnet18", "--max-params", "1000000")
    assert code == 1
    assert f"{torchvision_reference['resnet18']['params']:,}" in err and "1,000,000" in err


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_cuda_without_a_gpu_is_a_user_error(run_cli):
    code, _, err = run_cli("compile", "zoo:lenet5", "--device", "cuda")
    assert code == 1 and "CUDA is not available" in err


def test_activation_memory_limit_refuses_before_allocating(tmp_path, run_cli):
    # 64 x 2048 x 2048 float32 maps: 1 GiB per map, the input and two op outputs, batch 4:
    # 12 GiB.
    path = tmp_path / "big.arch"
    path.write_text("network big { input [64, 2048, 2048]; relu; sigmoid }\n")
    code, _, err = run_cli("compile", path, "--batch", "4", "--max-memory", "6")
    assert code == 1
    assert ("needs 12.0 GiB for a batch of 4 (float32; GiB of input 4.0, weights 0.0, "
            "activations 8.0, scratch 0.0)") in err
    assert "--max-memory" in err

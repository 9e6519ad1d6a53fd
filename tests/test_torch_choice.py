"""scripts/torch_choice.py: the CPU build of PyTorch where PyPI's default would be the CUDA one, and a fast fallback."""

import importlib.util
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "torch_choice.py"
spec = importlib.util.spec_from_file_location("torch_choice", SCRIPT)
tc = importlib.util.module_from_spec(spec)
sys.modules["torch_choice"] = tc  # dataclasses look their module up by name
spec.loader.exec_module(tc)

PIN = "torch==2.13.0"
CPU_ARGS = (PIN, "--extra-index-url", tc.CPU_INDEX)


def reachable():
    return True


def unreachable():
    return False


def never_asked():
    raise AssertionError("the CPU index must not be asked here")


@pytest.mark.parametrize("gpu", [False, True])
@pytest.mark.parametrize("choice", ["auto", "cpu", "", "CPU "])
def test_linux_gets_the_cpu_build_from_pytorchs_index(choice, gpu):
    picked = tc.decide("linux", choice, gpu=gpu, reachable=reachable, pin=PIN)
    assert picked.pip_args == CPU_ARGS
    assert picked.cpu_index
    assert "CPU build" in picked.reason and "COURSE_TORCH=cuda" in picked.reason
    assert ("NVIDIA GPU was found" in picked.reason) == gpu


@pytest.mark.parametrize("gpu", [False, True])
def test_linux_with_cuda_chosen_takes_pypis_wheel_without_asking_the_cpu_index(gpu):
    picked = tc.decide("linux", "cuda", gpu=gpu, reachable=never_asked, pin=PIN)
    assert picked.pip_args == (PIN,)
    assert "CUDA build" in picked.reason


@pytest.mark.parametrize("choice", ["auto", "cpu"])
def test_an_unreachable_cpu_index_falls_back_to_the_default_wheel_and_says_so_in_one_line(choice):
    picked = tc.decide("linux", choice, reachable=unreachable, pin=PIN)
    assert picked.pip_args == (PIN,)
    assert not picked.cpu_index
    assert "could not be reached" in picked.reason and tc.CPU_INDEX in picked.reason
    assert "\n" not in picked.reason


@pytest.mark.parametrize("platform", ["darwin", "win32"])
@pytest.mark.parametrize("choice", ["auto", "cpu", "cuda"])
@pytest.mark.parametrize("gpu", [False, True])
def test_macos_and_windows_take_pypis_wheel_which_is_cpu_only_there(platform, choice, gpu):
    picked = tc.decide(platform, choice, gpu=gpu, reachable=never_asked, pin=PIN)
    assert picked.pip_args == (PIN,)
    if choice == "cuda":
        assert ("no CUDA build for macOS" in picked.reason) == (platform == "darwin")
        assert ("--index-url" in picked.reason) == (platform == "win32")
    else:
        assert "CPU-only" in picked.reason


def test_an_unknown_choice_is_refused_naming_the_variable():
    with pytest.raises(ValueError, match="COURSE_TORCH must be one of auto, cpu, cuda, not 'gpu'"):
        tc.decide("linux", "gpu", reachable=never_asked)


def test_the_pin_comes_from_requirements_txt(tmp_path):
    assert tc.torch_pin() == PIN  # the course's pin (tests/test_environment.py checks it is the CPU pin)
    other = tmp_path / "requirements.txt"
    other.write_text("numpy==2.0.0\ntorch==9.9.9   # a comment\n")
    assert tc.torch_pin(other) == "torch==9.9.9"
    other.write_text("numpy==2.0.0\n")
    with pytest.raises(SystemExit, match="no `torch==VERSION` line"):
        tc.torch_pin(other)


def test_nvidia_gpu_is_found_by_nvidia_smi_or_the_kernel_module(tmp_path):
    assert tc.nvidia_gpu_present(which=lambda name: "/usr/bin/nvidia-smi", proc=tmp_path)
    assert not tc.nvidia_gpu_present(which=lambda name: None, proc=tmp_path)
    (tmp_path / "driver" / "nvidia").mkdir(parents=True)
    (tmp_path / "driver" / "nvidia" / "version").write_text("NVRM version: 560\n")
    assert tc.nvidia_gpu_present(which=lambda name: None, proc=tmp_path)


def test_an_address_that_cannot_answer_is_unreachable_and_given_up_on_at_the_timeout():
    # Port 9 (discard) on loopback: nothing listens, so the connection is refused at once.
    assert not tc.index_reachable("http://127.0.0.1:9/whl/cpu", timeout=2)
    assert not tc.index_reachable("not a url", timeout=2)


def test_a_server_that_answers_is_reachable_even_with_an_error_status():
    import http.server
    import threading

    class NotFound(http.server.BaseHTTPRequestHandler):
        def do_HEAD(self):
            self.send_response(404)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), NotFound)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        assert tc.index_reachable(f"http://127.0.0.1:{server.server_port}/whl/cpu", timeout=5)
    finally:
        server.shutdown()


def test_a_server_that_never_answers_is_given_up_on():
    import socket

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)  # accepts the connection but never replies
    try:
        port = listener.getsockname()[1]
        started = time.monotonic()
        assert not tc.index_reachable(f"http://127.0.0.1:{port}/whl/cpu", timeout=0.5)
        assert time.monotonic() - started < 30  # not pip's retries and 180 s timeouts
    finally:
        listener.close()


def test_the_script_prints_pip_arguments_on_stdout_and_the_reason_on_stderr():
    env = {**os.environ, "COURSE_TORCH": "cuda"}
    run = subprocess.run([sys.executable, str(SCRIPT)], capture_output=True, text=True, env=env, check=True)
    assert run.stdout.split() == [PIN]  # COURSE_TORCH=cuda: PyPI's wheel on every platform
    assert run.stderr.startswith("PyTorch: ") and run.stderr.count("\n") == 1
    bad = subprocess.run(
        [sys.executable, str(SCRIPT)], capture_output=True, text=True, env={**os.environ, "COURSE_TORCH": "gpu"}
    )
    assert bad.returncode == 2 and bad.stdout == ""
    assert "COURSE_TORCH must be one of" in bad.stderr


def test_make_setup_installs_torch_with_the_scripts_arguments_before_the_requirements():
    import shutil

    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    env = {**os.environ, "MAKEFLAGS": ""}
    dry_run = subprocess.run(
        ["make", "-n", "-B", ".venv/.installed"], cwd=ROOT, capture_output=True, text=True, check=True, env=env
    ).stdout.splitlines()
    torch_step = next(i for i, line in enumerate(dry_run) if "scripts/torch_choice.py" in line)
    requirements_step = next(i for i, line in enumerate(dry_run) if "-r requirements.txt" in line)
    assert torch_step < requirements_step
    assert "pip install $args" in dry_run[torch_step]

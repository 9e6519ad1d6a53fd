"""Lessons compute on the learner's GPU and cores; the tests (and saved outputs) on one thread of the CPU."""

import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from course_lib import saved_outputs, toy_sort, training
from course_lib.lessons import lesson08
from course_lib.model import GPTConfig
from course_lib.teaching import setup_check

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def no_gpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(training, "_mps_available", lambda: False)
    monkeypatch.delenv("COURSE_DEVICE", raising=False)


def test_auto_prefers_cuda_then_mps_then_the_cpu(no_gpu, monkeypatch):
    assert training.pick_device() == torch.device("cpu")
    monkeypatch.setattr(training, "_mps_available", lambda: True)
    assert training.pick_device("auto") == torch.device("mps")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert training.pick_device("auto") == torch.device("cuda")


def test_course_device_stands_in_for_auto_but_not_for_an_explicit_device(no_gpu, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setenv("COURSE_DEVICE", "cpu")
    assert training.pick_device() == torch.device("cpu")
    assert training.pick_device("cuda") == torch.device("cuda")
    monkeypatch.setenv("COURSE_DEVICE", "  ")
    assert training.pick_device() == torch.device("cuda")


def test_a_device_this_computer_lacks_or_a_misspelt_one_is_a_clear_error(no_gpu, monkeypatch):
    with pytest.raises(ValueError, match="no CUDA GPU PyTorch can use: use 'auto'"):
        training.pick_device("cuda:0")
    with pytest.raises(ValueError, match="Apple's MPS is not available here"):
        training.pick_device("mps")
    with pytest.raises(
        ValueError, match=r"device must be 'auto', 'cpu', 'cuda' or 'mps' \(COURSE_DEVICE too\), not 'gpu'"
    ):
        training.pick_device("gpu")
    monkeypatch.setenv("COURSE_DEVICE", "gpu")
    with pytest.raises(ValueError, match="not 'gpu'"):
        training.pick_device()


def test_training_honours_the_device_it_is_given(no_gpu, tiny_model):
    model, tokenizer = tiny_model
    data = torch.tensor(tokenizer.encode("abcdefghij klmnopqrstuvwxyz." * 4))
    config = training.TrainConfig(
        max_iters=2, warmup_iters=1, eval_interval=1, eval_batches=1, eval_batch_size=2, batch_size=2
    )
    with pytest.raises(ValueError, match="no CUDA GPU"):
        training.train(model, data, data, training.TrainConfig(**{**config.__dict__, "device": "cuda"}), progress=False)
    run = training.train(model, data, data, config, progress=False)  # "auto": the CPU here
    assert run.iterations == 2 and next(model.parameters()).device.type == "cpu"


def test_threads_are_every_core_unless_the_environment_says_otherwise():
    cores = training.cores_available()
    assert cores >= 1
    assert training.lesson_threads({}) == cores
    assert training.lesson_threads({"OMP_NUM_THREADS": "3"}) == 3
    assert training.lesson_threads({"OMP_NUM_THREADS": "3", "COURSE_THREADS": "2"}) == 2
    assert training.lesson_threads({"COURSE_THREADS": " ", "OMP_NUM_THREADS": ""}) == cores
    for bad in ("0", "two", "-1", "1.5"):
        with pytest.raises(
            ValueError, match=f"OMP_NUM_THREADS must be a whole number of threads, at least 1, not '{bad}'"
        ):
            training.lesson_threads({"OMP_NUM_THREADS": bad})


def test_use_cores_sets_pytorchs_threads_and_says_how_many():
    before = torch.get_num_threads()
    try:
        assert training.use_cores(2) == 2 == torch.get_num_threads()
        assert training.use_cores() == 1  # the test environment's COURSE_THREADS=1
    finally:
        torch.set_num_threads(before)


def test_the_test_environment_is_one_thread_on_the_cpu():
    """The root conftest.py applies saved_outputs.REPEATABLE, which nbval's kernels inherit."""
    for name, value in saved_outputs.REPEATABLE.items():
        assert os.environ[name] == value
    assert torch.get_num_threads() == 1
    assert training.pick_device() == torch.device("cpu")
    assert training.lesson_threads() == 1
    # A fresh process started by the tests (as nbval starts a kernel) sees the same.
    code = "import torch; from course_lib import training; print(torch.get_num_threads(), training.pick_device())"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.split() == ["1", "cpu"]


def test_make_repeatable_sets_every_variable():
    environ = {"OMP_NUM_THREADS": "8", "PATH": "/bin"}
    saved_outputs.make_repeatable(environ)
    assert environ == {"PATH": "/bin", **saved_outputs.REPEATABLE}


def test_setup_check_reports_the_device_and_threads(no_gpu, monkeypatch):
    device, threads = setup_check.check_compute({})
    assert (device.area, device.item, device.status) == ("compute", "device", "ok")
    assert device.detail == "cpu: lessons that train use the CPU (no CUDA GPU or Apple MPS found)"
    cores = training.cores_available()
    assert (
        threads.detail
        == f"{cores} thread{'s' if cores != 1 else ''} for PyTorch's math, of {cores} core{'s' if cores != 1 else ''}"
    )
    monkeypatch.setattr(training, "_mps_available", lambda: True)
    device, threads = setup_check.check_compute({"OMP_NUM_THREADS": "1"})
    assert device.detail == "mps: lessons that train use Apple's GPU (MPS)"
    assert threads.detail.startswith("1 thread for PyTorch's math") and threads.detail.endswith(
        "(set by OMP_NUM_THREADS=1)"
    )


def test_setup_check_fails_a_device_or_thread_setting_that_cannot_work(no_gpu, monkeypatch):
    monkeypatch.setenv("COURSE_DEVICE", "cuda")
    device, threads = setup_check.check_compute({"COURSE_DEVICE": "cuda", "COURSE_THREADS": "many"})
    assert device.failed and "COURSE_DEVICE=cuda" in device.detail and "unset it" in device.detail
    assert threads.failed and "COURSE_THREADS must be a whole number" in threads.detail


def test_the_command_line_report_ends_with_where_lessons_compute(capsys):
    setup_check.main([])
    table = capsys.readouterr().out
    assert "compute     device            ok      cpu: lessons that train use the CPU" in table
    assert "(set by COURSE_THREADS=1)" in table
    report = setup_check.run_checks(packages={}, data_names=[], compute=True)
    assert [c.item for c in report.checks[-2:]] == ["device", "threads"]
    assert "compute" not in {c.area for c in setup_check.run_checks(packages={}, data_names=[]).checks}


# --------------------------------------------------------------------------- the lessons' helpers follow the device


class _Recorder(torch.nn.Module):
    """Stands in for a GPT whose weights are on ``device``: records where its inputs arrive."""

    def __init__(self, device: str, block_size: int = 4):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.zeros(1, device=device))
        self.config = GPTConfig(vocab_size=8, block_size=block_size, n_layer=1, n_head=1, n_embd=4)
        self.seen: set[torch.device] = set()

    def forward(self, x, y=None):
        self.seen |= {x.device, y.device}
        return None, torch.tensor(1.0)


def test_model_device_is_where_the_weights_are():
    assert training.model_device(_Recorder("meta")) == torch.device("meta")
    assert training.model_device(torch.nn.ReLU()) == torch.device("cpu")  # no weights: the CPU


def test_evaluation_sends_the_data_to_the_models_device_by_default():
    data = torch.arange(40) % 8
    model = _Recorder("meta")  # "meta" stands in for a GPU: a device other than the CPU, present everywhere
    training.evaluate_split(model, data, batch_size=4)
    training.estimate_loss(model, [(data[:4][None], data[1:5][None])])
    assert model.seen == {torch.device("meta")}
    on_cpu = _Recorder("meta")
    training.evaluate_split(on_cpu, data, device="cpu")  # an explicit device still wins
    assert on_cpu.seen == {torch.device("cpu")}


def test_the_learners_loop_gets_its_model_and_batches_on_the_chosen_device(monkeypatch, tiny_model):
    model, _ = tiny_model
    monkeypatch.setattr(training, "pick_device", lambda device="auto": torch.device("meta"))
    data = torch.arange(200) % model.config.vocab_size
    config = training.TrainConfig(max_iters=3, warmup_iters=0, eval_interval=2, eval_batches=2, batch_size=2)
    seen = set()

    def loop(model, optimizer, get_batch, val_batches, config, lr_at):
        for tensor in [*get_batch(), *(t for batch in val_batches for t in batch), *model.parameters()]:
            seen.add(tensor.device)
        return {"losses": [1.0] * config.max_iters, "val_losses": [1.0] * len(training.evaluation_steps(config))}

    training.run_loop(loop, model, data, data, config)
    assert seen == {torch.device("meta")}


def test_the_toy_sorter_trains_on_the_chosen_device_and_comes_back_to_the_cpu(monkeypatch):
    asked = []

    def chosen(device="auto"):
        asked.append(device)
        return torch.device("cpu")

    monkeypatch.setattr(toy_sort, "pick_device", chosen)
    assert toy_sort.SORT_TRAINING.device == "auto"
    config = replace(toy_sort.SORT_TRAINING, max_iters=2, warmup_iters=1, device="cuda")
    result = toy_sort.train_sorter(config=config, n_layer=1, n_head=1, n_embd=6)
    assert asked == ["cuda"] and training.model_device(result.model) == torch.device("cpu")


def test_lesson_08s_playground_trains_where_the_lessons_compute(monkeypatch, tiny):
    model, tokenizer = tiny
    configs = []

    def fake_train(model, train_data, val_data, config, **kwargs):
        configs.append(config)
        return training.TrainResult(history=[{"iter": 1, "train_loss": 1.0, "val_loss": 1.0}])

    monkeypatch.setattr(lesson08, "train", fake_train)
    data = torch.tensor(tokenizer.encode("What will be the answer?\n" * 4))
    lesson08.run_training(data, data, tokenizer, 1, 32, 1e-2, 3, block_size=8, sample_chars=2)
    assert configs[0].device == "auto"  # pick_device: a GPU when there is one, the CPU in the tests

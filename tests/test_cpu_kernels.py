"""The second notebook pass (``make test-other-cpu``) computes differently from the first, so it proves something.

``make test`` runs every notebook twice: once as this computer computes, and once with
``ATEN_CPU_CAPABILITY=default`` (PyTorch's plain C++ kernels instead of the AVX2 / AVX-512 ones it picks for
this processor) and ``MKL_CBWR=COMPATIBLE`` (Intel MKL's conservative matrix-product code instead of the one it
picks for this processor). That is what another processor does to the course: the same sums, added up in
another order, so the last bits of a result differ. A lesson whose compared outputs depend on those bits fails
the second pass, the way it would fail for a learner with another CPU.

If the two settings changed nothing, the second pass would be a repeat and prove nothing. So this test trains
the same small GPT for a few steps (course_lib's loop: AdamW, gradient clipping, one thread, fixed seed) in fresh
Python processes, one per setting, and compares the bits of the last training loss.

Measured on the project's machine (Intel Xeon with AVX-512, torch 2.13.0), the last loss after 20 steps:
    normal environment (AVX-512 kernels)                 3.204831838607788   (the same when run again)
    ATEN_CPU_CAPABILITY=default                          3.204789638519287
    MKL_CBWR=COMPATIBLE                                  3.2048068046569824
    both (make test-other-cpu)                           3.204805850982666
    ATEN_CPU_CAPABILITY=avx2 (what an AMD CPU with AVX2 picks)  3.2048351764678955
Every setting, alone or together, changed the bits there, after 10, 20 and 30 steps alike (differences of
from 2 to about 180 units in the last place of a float32). What is asserted is what holds on any
processor with vector kernels: the normal run repeated gives the same bits (so a difference is the setting's
doing, not noise), PyTorch's plain kernels alone change them, and so does the second pass. Whether MKL's
compatible path differs from the one it picks depends on the processor (on a CPU where MKL already takes its
compatible path it would not), and AVX2 is the normal choice on an AVX2 machine, so those two are printed,
not asserted. Run with ``pytest -s`` to see the losses.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from course_lib.data import REPO_ROOT


def second_pass_settings() -> dict[str, str]:
    """The environment `make test-other-cpu` sets: the Makefile's ``OTHER_CPU := NAME=value ...`` line."""
    for line in (REPO_ROOT / "Makefile").read_text().splitlines():
        if line.startswith("OTHER_CPU :="):
            return dict(item.split("=", 1) for item in line.split(":=", 1)[1].split())
    raise AssertionError("the Makefile has no OTHER_CPU := line: what does make test-other-cpu change?")


SECOND_PASS = second_pass_settings()
PLAIN_KERNELS = {"ATEN_CPU_CAPABILITY": "default"}
SETTINGS = {
    "normal environment": {},
    "normal environment, again": {},
    "ATEN_CPU_CAPABILITY=default": PLAIN_KERNELS,
    "MKL_CBWR=COMPATIBLE": {"MKL_CBWR": "COMPATIBLE"},
    "make test-other-cpu": SECOND_PASS,
    "ATEN_CPU_CAPABILITY=avx2 (an AMD CPU's choice)": {"ATEN_CPU_CAPABILITY": "avx2"},
}

# Twenty steps of a small GPT on Shakespeare; prints the CPU kernels torch chose and the last loss.
TRAINING_STEPS = """
import torch
from course_lib import training
from course_lib.data import load_text
from course_lib.model import GPT, GPTConfig
from course_lib.tokenizers import CharTokenizer

torch.set_num_threads(1)
text = load_text("train")[:50_000]
tokenizer = CharTokenizer.from_text(text)
data = training.encode_corpus(tokenizer, text)
training.seed_everything(0)
model = GPT(GPTConfig(vocab_size=tokenizer.vocab_size, block_size=64, n_layer=2, n_head=4, n_embd=64))
config = training.TrainConfig(
    batch_size=16, max_iters=20, learning_rate=1e-2, warmup_iters=5, eval_interval=20, eval_batches=1,
    eval_batch_size=8, device="cpu",
)
result = training.train(model, data, data, config, progress=False)
print(torch.backends.cpu.get_cpu_capability(), repr(result.losses[-1]))
"""


def normal_environment() -> dict[str, str]:
    # As a learner's shell has it: none of the settings above.
    env = {k: v for k, v in os.environ.items() if k not in {"ATEN_CPU_CAPABILITY", "MKL_CBWR", *SECOND_PASS}}
    env["OMP_NUM_THREADS"] = "1"
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    return env


@pytest.fixture(scope="module")
def last_losses() -> dict[str, tuple[str, float]]:
    """{setting: (the CPU kernels torch used, the last training loss)}, each from its own Python process."""
    processes = {
        name: subprocess.Popen(
            [sys.executable, "-c", TRAINING_STEPS],
            env={**normal_environment(), **changes},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name, changes in SETTINGS.items()
    }
    results = {}
    for name, process in processes.items():
        out, err = process.communicate(timeout=600)
        assert process.returncode == 0, f"the training steps failed under {name}:\n{err}"
        capability, loss = out.split()
        results[name] = (capability, float(loss))
    print()
    for name, (capability, loss) in results.items():
        print(f"{name:50} kernels {capability:7} last loss {loss!r}")
    return results


def test_the_same_setting_gives_the_same_bits(last_losses):
    assert last_losses["normal environment"] == last_losses["normal environment, again"]


def test_the_second_pass_uses_other_kernels_and_other_bits(last_losses):
    capability, normal = last_losses["normal environment"]
    if capability == "DEFAULT":
        pytest.skip("this CPU has no AVX2: PyTorch's plain kernels are the ones it always uses")
    other_capability, other = last_losses["make test-other-cpu"]
    assert other_capability == "DEFAULT"
    assert other != normal, (
        f"make test-other-cpu would repeat the first pass: the same last loss {normal!r} under {SECOND_PASS}"
    )


def test_plain_kernels_alone_change_the_bits(last_losses):
    capability, normal = last_losses["normal environment"]
    if capability == "DEFAULT":
        pytest.skip("this CPU has no AVX2: PyTorch's plain kernels are the ones it always uses")
    assert last_losses["ATEN_CPU_CAPABILITY=default"][1] != normal, f"the same last loss {normal!r}"

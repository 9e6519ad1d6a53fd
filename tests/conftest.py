"""Shared pytest set-up: one torch thread, figure clean-up, small models and tables, and the browser.

The root ``conftest.py`` sets one thread and the CPU for every test run (course_lib/saved_outputs.py).
It also keeps ``pytest -n 2`` fast: each worker (and each notebook kernel nbval starts, which inherits
the environment) would otherwise start one math thread per core, 4 busy threads on 2 cores, which
makes the model tests several times slower than running them one after another.

The browser fixtures (``chromium``, ``lab``) import the harness (``tests/browser/``) only when a browser
test asks for them, so unit tests never load it or Playwright (``tests/test_browser_harness.py`` checks).
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")  # tests draw figures but never show them: the one place the backend is chosen

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
from embedding_support import TOY_MATRIX, TOY_VOCAB

from course_lib.checkpoints import load_course_model
from course_lib.embeddings import EmbeddingTable
from course_lib.model import GPT, GPTConfig
from course_lib.tokenizers import CharTokenizer

torch.set_num_threads(1)  # in case torch was loaded before OMP_NUM_THREADS was set


@pytest.fixture(autouse=True)
def close_figures():
    """Every test starts without leftover Matplotlib figures (they hold memory until closed)."""
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def one_torch_thread():
    """Torch on one thread for a whole test module (``pytestmark = pytest.mark.usefixtures(...)``)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def tiny_model():
    """A randomly initialised 2-layer GPT on a 32-character vocabulary: fast and deterministic."""
    torch.manual_seed(0)
    tokenizer = CharTokenizer.from_text("abcdefghij klmnopqrstuvwxyz.\nABC")
    model = GPT(GPTConfig(vocab_size=tokenizer.vocab_size, block_size=16, n_layer=2, n_head=2, n_embd=8)).eval()
    return model, tokenizer


# ----------------------------------------------------------------------------- shared by several test folders


@pytest.fixture(scope="module")
def course_model(one_torch_thread):  # one thread: two on a busy two-core machine wait on each other
    return load_course_model()


@pytest.fixture
def tiny():
    tokenizer = CharTokenizer.from_text("What will be the answer?\n")
    torch.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=tokenizer.vocab_size, block_size=16, n_layer=2, n_head=2, n_embd=8)).eval()
    return model, tokenizer


@pytest.fixture
def toy():
    return EmbeddingTable(TOY_VOCAB, TOY_MATRIX, name="toy")


@pytest.fixture
def royal():
    # man and woman on two axes, a "royal" third axis. Unit vectors:
    # king - man + woman = (0.707, 0, 0.707) - (1, 0, 0) + (0, 1, 0) = (-0.293, 1, 0.707)
    vocab = ["man", "woman", "king", "queen", "apple", "[PAD]"]
    matrix = np.array(
        [[1, 0, 0], [0, 1, 0], [1, 0, 1], [0, 1, 1], [0, 0, 1], [-0.3, 1, 0.7]],
        dtype=float,
    )
    return EmbeddingTable(vocab, matrix, name="royal")


@pytest.fixture
def no_open_figures():
    plt.close("all")
    yield
    plt.close("all")


@pytest.fixture(scope="session")
def chromium() -> str:
    """Path of the Chromium to drive; skips the test when there is none, unless COURSE_REQUIRE_BROWSER=1."""
    # Imported here, not at the top: a run of unit tests never loads the browser harness.
    from tests.browser.chromium import NOT_INSTALLED, browser_required, chromium_executable

    path = chromium_executable()
    if path is None:
        if browser_required():
            pytest.fail(f"COURSE_REQUIRE_BROWSER=1 but no browser was found. {NOT_INSTALLED}", pytrace=False)
        pytest.skip(NOT_INSTALLED)
    return path


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the test item, so a fixture can tell whether its test failed."""
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


@pytest.fixture
def lab(lab_session, request):
    """A browser test module's ``lab_session`` (JupyterLab + Chromium, defined in that module).

    After each test its pages and kernels are closed, screenshotted first if the test failed.
    """
    yield lab_session
    report = getattr(request.node, "rep_call", None)
    failed = report is None or report.failed
    for shot in lab_session.close_pages(screenshot_prefix=f"failed-{request.node.name}" if failed else None):
        print(f"[browser] screenshot of the failure: {shot}")

"""course_lib.teaching.your_work: a learner's function is kept as a file that runs on its own, later
lessons use it only while it passes its check and always say which version runs, and the model
trained in lesson 08 is kept and opened."""

from __future__ import annotations

import importlib.util
import sys
import textwrap

import numpy as np
import pytest
import torch

from course_lib.checkpoints import load_course_model, save_checkpoint
from course_lib.model import GPT, GPTConfig
from course_lib.saved_outputs import REPEATABLE
from course_lib.teaching import your_work
from course_lib.tokenizers import CharTokenizer

LEARNER_CELLS = """
import numpy as np
from numpy import exp as e

SCALE = 2.0
ARRAY = np.ones(3)


def shift(x):
    return x - x.max(axis=-1, keepdims=True)


def my_softmax(x):
    ### BEGIN SOLUTION
    z = e(shift(np.asarray(x)) * SCALE / 2.0)
    return z / z.sum(axis=-1, keepdims=True)
    ### END SOLUTION


def uses_array(x):
    return x + ARRAY


square = lambda x: x * x  # noqa: E731
"""


@pytest.fixture
def learner(tmp_path, monkeypatch):
    """A module standing for the notebook a learner wrote their functions in (its source is on disk, as
    IPython keeps a cell's)."""
    path = tmp_path / "notebook_cells.py"
    path.write_text(LEARNER_CELLS)
    spec = importlib.util.spec_from_file_location("notebook_cells", path)
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "notebook_cells", module)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def work(tmp_path, monkeypatch):
    folder = tmp_path / "my_work"
    monkeypatch.setenv("COURSE_WORK_DIR", str(folder))
    return folder


def reference_softmax(x):
    z = np.exp(x - np.max(x, axis=-1, keepdims=True))
    return z / z.sum(axis=-1, keepdims=True)


def passes(fn, quiet=False):
    x = np.array([[1.0, 2.0, 3.0], [0.0, 0.0, -1.0]])
    return bool(np.allclose(fn(x), reference_softmax(x)))


def test_saved_outputs_are_made_with_keeping_off():
    assert REPEATABLE["COURSE_WORK_DIR"] == "off"


def test_the_kept_file_brings_its_helpers_imports_and_constants(learner):
    text = your_work.source_of(learner.my_softmax)
    assert "import numpy as np" in text
    assert "from numpy import exp as e" in text
    assert "SCALE = 2.0" in text
    # the helper comes first, once, so the file runs top to bottom
    assert text.index("def shift") < text.index("def my_softmax")
    assert text.count("def shift") == 1
    namespace: dict = {}
    exec(compile(text, "<kept>", "exec"), namespace)
    x = np.array([0.5, -1.0, 2.0])
    np.testing.assert_allclose(namespace["my_softmax"](x), reference_softmax(x))


def test_a_function_reading_notebook_data_cannot_be_kept(learner):
    with pytest.raises(your_work.KeepError, match=r"uses_array reads `ARRAY`, a ndarray .* pass it to the function"):
        your_work.source_of(learner.uses_array)
    with pytest.raises(your_work.KeepError, match="lambda"):
        your_work.source_of(learner.square)
    with pytest.raises(TypeError, match="fn must be a function written with def"):
        your_work.source_of(np.exp)


def test_keep_then_use_gives_the_learners_function_and_says_so(learner, work, capsys):
    path = your_work.keep("softmax", learner.my_softmax, lesson="05")
    assert path == work / "softmax.py"
    assert path.read_text().startswith('"""Your softmax, written in lesson 05')
    assert "SOLUTION" not in path.read_text()  # the lesson's markers stay in the lesson
    fn = your_work.use("softmax", reference_softmax, lesson="05", check=passes)
    assert fn is not reference_softmax
    assert passes(fn)
    assert "Using your softmax from lesson 05" in capsys.readouterr().out


def test_use_falls_back_to_the_course_and_says_why(learner, work, capsys):
    fn = your_work.use("softmax", reference_softmax, lesson="05", check=passes)
    assert fn is reference_softmax
    assert "solve lesson 05's exercise and yours is used here" in capsys.readouterr().out

    # kept, but edited by hand into something that no longer passes
    your_work.keep("softmax", learner.my_softmax, lesson="05")
    kept = work / "softmax.py"
    kept.write_text(kept.read_text().replace("z / z.sum(axis=-1, keepdims=True)", "z"))
    assert your_work.use("softmax", reference_softmax, lesson="05", check=passes) is reference_softmax
    assert "no longer passes its check" in capsys.readouterr().out

    # kept, but broken so that it does not even load
    kept.write_text("def softmax(x:\n")
    assert your_work.use("softmax", reference_softmax, lesson="05", check=passes) is reference_softmax
    assert "could not be loaded (SyntaxError" in capsys.readouterr().out


def test_keeping_off_keeps_and_finds_nothing(learner, monkeypatch, capsys):
    monkeypatch.setenv("COURSE_WORK_DIR", "off")
    assert your_work.work_dir() is None
    assert your_work.keep("softmax", learner.my_softmax, lesson="05") is None
    assert your_work.use("softmax", reference_softmax, lesson="05") is reference_softmax
    assert "Using the course's softmax" in capsys.readouterr().out


def test_a_name_must_be_a_python_name(work):
    with pytest.raises(ValueError, match="name must be a Python name"):
        your_work.kept_path("multi head attention")


@pytest.fixture
def tiny_model():
    torch.manual_seed(0)
    tokenizer = CharTokenizer("abcdefgh \n")
    model = GPT(GPTConfig(vocab_size=tokenizer.vocab_size, block_size=16, n_layer=1, n_head=2, n_embd=16))
    return model, tokenizer


def test_choose_model_opens_the_kept_model(work, tiny_model, capsys):
    model, tokenizer = tiny_model
    folder = your_work.keep_model(model, tokenizer, train_log={"val_loss": 2.0})
    assert folder == work / "model"
    chosen, chosen_tokenizer = your_work.choose_model("yours")
    assert "Using your model from lesson 08" in capsys.readouterr().out
    assert chosen_tokenizer.chars == tokenizer.chars
    for name, tensor in model.state_dict().items():
        torch.testing.assert_close(chosen.state_dict()[name], tensor)


def test_choose_model_without_a_kept_model_uses_the_courses(work, capsys):
    model, _ = your_work.choose_model("yours")
    out = capsys.readouterr().out
    assert "You have not trained a model in lesson 08 yet: using the course's model." in out
    assert "Using the course's model" in out
    assert model.config == load_course_model()[0].config


def test_choose_model_with_a_damaged_model_says_so(work, tiny_model, capsys):
    folder = save_checkpoint(work / "model", *tiny_model)
    (folder / "model.safetensors").write_bytes(b"not a safetensors file")
    model, _ = your_work.choose_model("yours")
    assert "Your model could not be opened" in capsys.readouterr().out
    assert model.config == load_course_model()[0].config


def test_choose_model_names_its_argument():
    with pytest.raises(ValueError, match="which must be 'course' or 'yours', got 'mine'"):
        your_work.choose_model("mine")


def test_source_of_a_nested_helper_is_dedented(tmp_path, monkeypatch):
    path = tmp_path / "indented.py"
    path.write_text(
        textwrap.dedent(
            """
            if True:
                def double(x):
                    return 2 * x
            """
        )
    )
    spec = importlib.util.spec_from_file_location("indented", path)
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "indented", module)
    spec.loader.exec_module(module)
    namespace: dict = {}
    exec(your_work.source_of(module.double), namespace)
    assert namespace["double"](21) == 42


def test_keep_if_passed_keeps_only_a_passing_answer(learner, work, capsys):
    from course_lib.checks import CheckResult

    failed = CheckResult("softmax", False, "not yet")
    assert your_work.keep_if_passed(failed, "softmax", learner.my_softmax, lesson="05", used_in="lesson 07") is failed
    assert not (work / "softmax.py").exists()
    passed = CheckResult("softmax", True, "correct")
    assert your_work.keep_if_passed(passed, "softmax", learner.my_softmax, lesson="05", used_in="lesson 07") is passed
    assert "Kept as" in capsys.readouterr().out and (work / "softmax.py").is_file()
    # a passing answer that reads notebook data is not kept, and the line says why
    your_work.keep_if_passed(passed, "with_array", learner.uses_array, lesson="05", used_in="lesson 07")
    assert "Not kept for lesson 07: uses_array reads `ARRAY`" in capsys.readouterr().out
    assert not (work / "with_array.py").exists()


def test_a_function_calling_a_kept_piece_is_kept_with_it(learner, work, tmp_path, monkeypatch):
    """Lesson 07's gpt_forward calls the mlp lesson 06 kept: keeping gpt_forward copies that mlp along."""
    your_work.keep("softmax", learner.my_softmax, lesson="05")
    kept_softmax = your_work.use("softmax", reference_softmax, lesson="05", check=passes)
    path = tmp_path / "later_lesson.py"
    path.write_text("def sharpened(x):\n    return softmax(2 * x)\n")
    spec = importlib.util.spec_from_file_location("later_lesson", path)
    later = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "later_lesson", later)
    spec.loader.exec_module(later)
    later.softmax = kept_softmax  # what `softmax = your_work.use("softmax", ...)` does in the notebook
    text = your_work.source_of(later.sharpened)
    assert "def my_softmax" in text and "def shift" in text and "softmax = my_softmax" in text
    namespace: dict = {}
    exec(compile(text, "<kept>", "exec"), namespace)
    x = np.array([0.5, -1.0, 2.0])
    np.testing.assert_allclose(namespace["sharpened"](x), reference_softmax(2 * x))

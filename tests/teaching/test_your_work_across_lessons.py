"""The keep -> use path across lessons, with a temporary COURSE_WORK_DIR: lesson 06 keeps the learner's MLP,
lesson 07 uses it (after re-checking it) in the learner's GPT, whose own checker keeps it for lesson 08."""

from __future__ import annotations

import importlib.util
import sys
import textwrap

import pytest

from course_lib import gpt_functional
from course_lib.checks import lesson06 as check06
from course_lib.checks import lesson07 as check07
from course_lib.teaching import your_work

LESSON06_CELLS = """
import math

import torch


def gelu(x):
    return 0.5 * x * (1 + torch.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x**3)))


def mlp(x, w_up, b_up, w_down, b_down):
    return gelu(x @ w_up.T + b_up) @ w_down.T + b_down
"""

LESSON07_CELLS = """
import torch

from course_lib.attention import multi_head_attention
from course_lib.gpt_functional import mlp


def embed(idx, tok_emb, pos_emb):
    return tok_emb[idx] + pos_emb[: idx.shape[1]]


def layer_norm(x, weight, bias):
    mean = x.mean(dim=-1, keepdim=True)
    var = x.var(dim=-1, keepdim=True, unbiased=False)
    return (x - mean) / torch.sqrt(var + 1e-5) * weight + bias


def gpt_forward(idx, weights, config):
    x = embed(idx, weights["tok_emb.weight"], weights["pos_emb.weight"])
    for i in range(config.n_layer):
        b = f"blocks.{i}"
        h = layer_norm(x, weights[f"{b}.ln1.weight"], weights[f"{b}.ln1.bias"])
        w_q, w_k, w_v = weights[f"{b}.attn.qkv.weight"].chunk(3)
        b_q, b_k, b_v = weights[f"{b}.attn.qkv.bias"].chunk(3)
        w_o, b_o = weights[f"{b}.attn.proj.weight"], weights[f"{b}.attn.proj.bias"]
        x = x + multi_head_attention(h, w_q, w_k, w_v, w_o, config.n_head, b_q=b_q, b_k=b_k, b_v=b_v, b_o=b_o)
        h = layer_norm(x, weights[f"{b}.ln2.weight"], weights[f"{b}.ln2.bias"])
        w_up, b_up = weights[f"{b}.mlp.fc.weight"], weights[f"{b}.mlp.fc.bias"]
        x = x + mlp(h, w_up, b_up, weights[f"{b}.mlp.proj.weight"], weights[f"{b}.mlp.proj.bias"])
    x = layer_norm(x, weights["ln_f.weight"], weights["ln_f.bias"])
    return x @ weights["tok_emb.weight"].T
"""


def notebook(tmp_path, monkeypatch, name: str, source: str):
    """A module standing for a lesson's notebook (its source on disk, as IPython keeps a cell's)."""
    path = tmp_path / f"{name}.py"
    path.write_text(textwrap.dedent(source))
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, name, module)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def work(tmp_path, monkeypatch):
    folder = tmp_path / "my_work"
    monkeypatch.setenv("COURSE_WORK_DIR", str(folder))
    return folder


def test_lesson_06s_mlp_is_kept_and_used_by_lesson_07s_gpt(tmp_path, monkeypatch, work, capsys):
    lesson06 = notebook(tmp_path, monkeypatch, "lesson06_cells", LESSON06_CELLS)
    assert check06.mlp(lesson06.mlp)
    assert "Kept as" in capsys.readouterr().out
    kept = (work / "mlp.py").read_text()
    assert "def gelu(x):" in kept and "import torch" in kept and "import math" in kept

    # lesson 07: the MLP comes back from the file, re-checked, and the lesson says whose it is
    mlp = your_work.use("mlp", gpt_functional.mlp, lesson="06", check=check06.mlp)
    assert "Using your mlp from lesson 06" in capsys.readouterr().out
    assert mlp is not gpt_functional.mlp and mlp is not lesson06.mlp

    lesson07 = notebook(tmp_path, monkeypatch, "lesson07_cells", LESSON07_CELLS)
    monkeypatch.setattr(lesson07, "mlp", mlp)  # what `mlp = your_work.use(...)` does in the notebook
    assert check07.gpt_forward(lesson07.gpt_forward, quiet=True)


def test_lesson_07s_gpt_forward_is_kept_for_lesson_08(tmp_path, monkeypatch, work, capsys):
    lesson07 = notebook(tmp_path, monkeypatch, "lesson07_cells", LESSON07_CELLS)
    assert check07.gpt_forward(lesson07.gpt_forward)
    assert "lesson 08's untrained-loss check uses it" in capsys.readouterr().out
    kept = (work / "gpt_forward.py").read_text()
    assert "def embed(" in kept and "def layer_norm(" in kept  # the helpers it calls came along
    assert "from course_lib.attention import multi_head_attention" in kept
    forward = your_work.use("gpt_forward", gpt_functional.gpt_forward, lesson="07", check=check07.gpt_forward)
    assert "Using your gpt_forward from lesson 07" in capsys.readouterr().out
    assert forward is not gpt_functional.gpt_forward


def test_a_kept_piece_that_no_longer_passes_is_not_used(tmp_path, monkeypatch, work, capsys):
    lesson06 = notebook(tmp_path, monkeypatch, "lesson06_cells", LESSON06_CELLS)
    check06.mlp(lesson06.mlp)
    path = work / "mlp.py"
    path.write_text(path.read_text().replace("0.044715", "0.05"))  # edited by hand, now wrong
    capsys.readouterr()
    assert your_work.use("mlp", gpt_functional.mlp, lesson="06", check=check06.mlp) is gpt_functional.mlp
    assert "no longer passes its check" in capsys.readouterr().out


def test_with_keeping_off_lesson_07_uses_the_courses_pieces(monkeypatch, capsys):
    monkeypatch.setenv("COURSE_WORK_DIR", "off")
    assert your_work.use("mlp", gpt_functional.mlp, lesson="06", check=check06.mlp) is gpt_functional.mlp
    assert "Using the course's mlp: solve lesson 06's exercise" in capsys.readouterr().out


def _outputs(nb) -> str:
    return "\n".join(
        output.get("text", "") for cell in nb.cells if cell.cell_type == "code" for output in cell.get("outputs", [])
    )


@pytest.mark.slow
def test_lessons_06_then_07_run_to_the_end_with_keeping_on(tmp_path, monkeypatch):
    """The solution notebooks with a real work folder: 06 keeps the MLP, 07 uses it, keeps its own pieces."""
    import nbformat
    from nbclient import NotebookClient
    from test_student_notebooks import NOTEBOOKS, _KernelManager

    folder = tmp_path / "my_work"
    monkeypatch.setenv("COURSE_WORK_DIR", str(folder))  # the kernels inherit it
    printed = {}
    for lesson in ("06_mlp.ipynb", "07_forward_pass.ipynb"):
        nb = nbformat.read(NOTEBOOKS / lesson, as_version=4)
        NotebookClient(
            nb, kernel_name="python3", kernel_manager_class=_KernelManager, timeout=900, startup_timeout=120,
            resources={"metadata": {"path": str(NOTEBOOKS)}},
        ).execute()  # fmt: skip
        printed[lesson] = _outputs(nb)
    assert "Kept as" in printed["06_mlp.ipynb"] and (folder / "mlp.py").is_file()
    lesson07 = printed["07_forward_pass.ipynb"]
    assert "Using your mlp from lesson 06" in lesson07
    assert "Using the course's multi_head_attention: solve lesson 04's exercise" in lesson07  # 04 was not run
    for piece in ("capture_shapes", "embed", "layer_norm", "gpt_forward", "gpt_forward_cached", "block_parameters"):
        assert f"[PASSED] {piece}:" in lesson07, piece
    for kept in ("embed", "layer_norm"):
        assert (folder / f"{kept}.py").is_file(), kept
    # gpt_forward and gpt_forward_cached call the mlp that use() loaded from my_work/mlp.py: keeping them
    # copies that mlp along, so lesson 08 can run the learner's whole forward pass from its files alone
    for kept in ("gpt_forward", "gpt_forward_cached"):
        assert (folder / f"{kept}.py").is_file(), kept
        assert "def mlp" in (folder / f"{kept}.py").read_text() or "mlp = " in (folder / f"{kept}.py").read_text()
    assert "Not kept" not in lesson07
    assert "the same tokens with and without the cache: True" in lesson07

"""The toy sorting task (course_lib.toy_sort): its data, its model, a seeded training run that sorts the
held-out inputs (an accuracy bound, not a timing), and the head scores that name the sorting head."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch

from course_lib.model import GPT
from course_lib.sizes import count_parameters
from course_lib.toy_sort import (
    SORT_TRAINING,
    SortTask,
    smallest_remaining_scores,
    sort_accuracy,
    sort_with_model,
    train_sorter,
)

pytestmark = pytest.mark.usefixtures("one_torch_thread")

TASK = SortTask()


@pytest.fixture(scope="module")
def trained():
    """The lesson's run: SORT_TRAINING (200 steps), seed 0; a few seconds on one thread."""
    return train_sorter(TASK, SORT_TRAINING, seed=0)


# --------------------------------------------------------------------------- the data


def test_examples_are_the_input_a_separator_and_the_input_sorted():
    assert TASK.example("cabbca") == "cabbca|aabbcc"
    assert TASK.prompt("cabbca") == "cabbca|"
    assert TASK.tokenizer.chars == "abc|" and TASK.tokenizer.encode("cab|") == [2, 0, 1, 3]
    assert TASK.context == 12


def test_every_input_is_listed_once_and_the_split_is_seeded_and_disjoint():
    inputs = TASK.inputs()
    assert len(inputs) == 3**6 == len(set(inputs)) and inputs[0] == "aaaaaa" and inputs[-1] == "cccccc"
    train, held = TASK.split(0.2, seed=0)
    assert len(held) == 146 and len(train) == 729 - 146 and not set(train) & set(held)
    assert TASK.split(0.2, seed=0) == (train, held)
    assert TASK.split(0.2, seed=1)[1] != held


def test_the_loss_only_counts_the_sorted_half():
    x, y = TASK.batch(["cabbca", "abcabc"])
    assert x.shape == y.shape == (2, 12)
    assert TASK.tokenizer.decode(x[0].tolist()) == "cabbca|aabbc"
    assert (y[:, :6] == -1).all()  # the random input and the separator: nothing to predict
    assert TASK.tokenizer.decode(y[0, 6:].tolist()) == "aabbcc"
    assert TASK.tokenizer.decode(y[1, 6:].tolist()) == "aabbcc"


def test_the_model_is_three_layers_three_heads_width_48_about_85k_parameters():
    config = TASK.model_config()
    assert (config.n_layer, config.n_head, config.n_embd, config.vocab_size, config.block_size) == (3, 3, 48, 4, 12)
    assert 84_000 < count_parameters(config)["total"] < 87_000


def test_bad_tasks_and_inputs_are_explained():
    with pytest.raises(ValueError, match="separator must be one character that is not in the alphabet"):
        SortTask(separator="a")
    with pytest.raises(ValueError, match="alphabet must be written in sorted order"):
        SortTask(alphabet="cba")
    with pytest.raises(ValueError, match="length must be a positive int"):
        SortTask(length=0)
    with pytest.raises(ValueError, match="must be 6 letters long, got 3"):
        TASK.prompt("abc")
    with pytest.raises(ValueError, match="must come from the alphabet 'abc'.*'d'"):
        TASK.prompt("abcdab")
    with pytest.raises(ValueError, match="held_out must be a fraction"):
        TASK.split(1.5)
    with pytest.raises(ValueError, match="at least one sequence"):
        TASK.batch([])


# --------------------------------------------------------------------------- training and accuracy


def test_the_lessons_run_sorts_nearly_every_held_out_input(trained):
    assert len(trained.losses) == SORT_TRAINING.max_iters
    assert sort_accuracy(trained.model, TASK, trained.held_out) >= 0.95  # measured: 1.0 (146 of 146)
    assert sum(trained.losses[-20:]) / 20 < 0.05 < trained.losses[0]
    written = sort_with_model(trained.model, TASK, ["cabbca", "ccbaab"])
    assert written == ["aabbcc", "aabbcc"]


def test_an_untrained_model_does_not_pass_the_bound():
    torch.manual_seed(0)
    untrained = GPT(TASK.model_config()).eval()
    assert sort_accuracy(untrained, TASK, TASK.split()[1]) < 0.1


def test_training_is_seeded():
    short = replace(SORT_TRAINING, max_iters=5, warmup_iters=2)
    first, again = train_sorter(TASK, short, seed=0), train_sorter(TASK, short, seed=0)
    assert first.losses == again.losses
    assert train_sorter(TASK, replace(short, seed=1), seed=1).losses != first.losses


def test_sort_with_model_leaves_the_model_in_its_mode(trained):
    trained.model.train()
    sort_with_model(trained.model, TASK, ["abcabc"])
    assert trained.model.training
    trained.model.eval()


# --------------------------------------------------------------------------- which head sorts


def test_heads_of_an_untrained_model_score_like_the_even_spread():
    # At initialisation queries and keys are tiny, so every head spreads its attention about evenly.
    torch.manual_seed(0)
    scores = smallest_remaining_scores(GPT(TASK.model_config()).eval(), TASK, TASK.split()[1])
    assert len(scores) == 9 and sorted((s.layer, s.head) for s in scores) == [
        (i, h) for i in range(3) for h in range(3)
    ]
    for score in scores:
        assert abs(score.score - score.baseline) < 0.03, score


def test_the_trained_model_has_a_head_that_looks_at_the_next_letter(trained):
    scores = smallest_remaining_scores(trained.model, TASK, trained.held_out)
    assert [s.score for s in scores] == sorted((s.score for s in scores), reverse=True)
    best = scores[0]
    # Measured: block 0's heads 1 and 2 score about 0.45-0.5, against 0.3 for an even spread.
    assert best.layer == 0 and best.score > best.baseline + 0.1
    assert best.name == f"block 0, head {best.head}"

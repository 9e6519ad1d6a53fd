"""Batches, learning-rate schedule, the training loop, checkpoints (and their errors), the course model."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from bad_input_support import Bad, assert_refused, table

from course_lib import training as training_module
from course_lib.checks.lesson08 import reference
from course_lib.data import load_text
from course_lib.model import GPT, GPTConfig
from course_lib.tokenizers import CharTokenizer
from course_lib.training import (
    TrainConfig,
    encode_corpus,
    estimate_loss,
    evaluate_split,
    evaluation_steps,
    get_batch,
    history_from_log,
    known_word_share,
    longest_copied_piece,
    loop_inputs,
    loss_trend,
    lr_at,
    run_loop,
    seed_everything,
    train,
    words_of,
)

TEXT = "the cat sat on the mat. the dog sat on the log. " * 40


TOKENIZER = CharTokenizer.from_text(TEXT)


CONFIG = GPTConfig(vocab_size=TOKENIZER.vocab_size, block_size=16, n_layer=1, n_head=2, n_embd=32)


def small_model(seed: int = 0) -> GPT:
    seed_everything(seed)
    return GPT(CONFIG)


def fast_config(**changes) -> TrainConfig:
    settings = {
        "batch_size": 16,
        "max_iters": 60,
        "learning_rate": 1e-2,
        "warmup_iters": 5,
        "eval_interval": 20,
        "eval_batches": 2,
        "eval_batch_size": 8,
        "device": "cpu",
    }
    return TrainConfig(**{**settings, **changes})


DATA = encode_corpus(TOKENIZER, TEXT)


def test_batches_are_windows_and_their_next_tokens():
    data = torch.arange(100)
    x, y = get_batch(data, 4, 8, torch.Generator().manual_seed(0))
    assert x.shape == y.shape == (4, 8)
    assert torch.equal(y, x + 1)  # y is x shifted by one position in the text
    assert torch.equal(x[:, 1:] - x[:, :-1], torch.ones(4, 7, dtype=torch.long))  # contiguous windows
    again, _ = get_batch(data, 4, 8, torch.Generator().manual_seed(0))
    assert torch.equal(x, again)


def test_batch_from_too_short_data_is_refused():
    with pytest.raises(ValueError, match="longer than block_size=8"):
        get_batch(torch.arange(8), 2, 8)


def test_learning_rate_warms_up_then_follows_a_cosine():
    config = TrainConfig(learning_rate=1e-3, min_lr=1e-4, warmup_iters=10, max_iters=110)
    rates = [lr_at(i, config) for i in range(120)]
    assert rates[0] == pytest.approx(1e-4) and rates[9] == pytest.approx(1e-3)
    assert all(a < b for a, b in zip(rates[:10], rates[1:10], strict=False))
    assert all(a >= b for a, b in zip(rates[10:110], rates[11:110], strict=False))
    assert rates[60] == pytest.approx((1e-3 + 1e-4) / 2)  # halfway through the cosine
    assert rates[110] == rates[119] == pytest.approx(1e-4)


def test_bad_train_config_is_refused():
    with pytest.raises(ValueError, match="autocast must be 'bf16', 'off' or 'auto'"):
        TrainConfig(autocast="fp16")
    with pytest.raises(ValueError, match="batch_size must be a positive int"):
        TrainConfig(batch_size=0)


def test_training_lowers_the_loss_and_records_history():
    model = small_model()
    calls = []
    result = train(
        model, DATA, DATA, fast_config(), callback=lambda history: calls.append(len(history)), progress=False
    )
    assert result.iterations == 60 and len(result.losses) == 60
    assert result.tokens == 60 * 16 * CONFIG.block_size
    assert [r["iter"] for r in result.history] == [20, 40, 60]
    assert calls == [1, 2, 3]
    assert result.losses[0] == pytest.approx(math.log(CONFIG.vocab_size), abs=0.2)  # starts as a uniform guess
    assert result.val_loss < 1.2  # a tiny, very repetitive text is learned fast
    assert result.history[-1]["val_loss"] < result.history[0]["val_loss"]


def test_training_is_deterministic():
    a = train(small_model(), DATA, DATA, fast_config(max_iters=15, eval_interval=15), progress=False)
    b = train(small_model(), DATA, DATA, fast_config(max_iters=15, eval_interval=15), progress=False)
    assert a.losses == b.losses
    assert a.val_loss == b.val_loss


def test_training_stops_at_the_target_validation_loss():
    result = train(small_model(), DATA, DATA, fast_config(max_iters=400, target_val_loss=2.0), progress=False)
    assert result.reached_target is not None
    assert result.reached_target["val_loss"] <= 2.0
    assert result.iterations == result.reached_target["iter"] < 400


class StepClock:
    """A stand-in for the time module whose clock moves one second each time it is read: so a time budget
    stops a run at a step that depends on how often train() reads the clock, never on the machine's speed."""

    def __init__(self):
        self.now = 0.0

    def perf_counter(self) -> float:
        self.now += 1.0
        return self.now


def test_a_time_budget_stops_the_run_on_an_evaluation_after_the_steps_it_had_time_for(monkeypatch):
    full = train(small_model(), DATA, DATA, fast_config(max_iters=60), progress=False)
    monkeypatch.setattr(training_module, "time", StepClock())
    budgeted = train(small_model(), DATA, DATA, fast_config(max_iters=60, max_seconds=30), progress=False)
    assert budgeted.out_of_time and not full.out_of_time
    assert 20 < budgeted.iterations < 60  # it read the clock once a step, and a few times per evaluation
    assert budgeted.history[-1]["iter"] == budgeted.iterations  # its curve ends where it stopped
    assert [r["iter"] for r in budgeted.history[:-1]] == [20]  # the evaluations of its schedule before that
    assert budgeted.losses == full.losses[: budgeted.iterations]  # the same run, cut short
    assert budgeted.history[0]["val_loss"] == full.history[0]["val_loss"]


def test_a_time_budget_leaves_a_run_that_ends_first_alone(monkeypatch):
    monkeypatch.setattr(training_module, "time", StepClock())
    roomy = train(small_model(), DATA, DATA, fast_config(max_iters=60, max_seconds=1000), progress=False)
    assert roomy.iterations == 60 and not roomy.out_of_time and [r["iter"] for r in roomy.history] == [20, 40, 60]
    # A run that reaches its target on the evaluation the budget forced has reached it, not run out of time.
    reached = train(
        small_model(), DATA, DATA, fast_config(max_iters=60, max_seconds=5, target_val_loss=100.0), progress=False
    )
    assert reached.reached_target is not None and not reached.out_of_time and reached.iterations < 20


def test_training_runs_with_bf16_autocast_and_dropout():
    seed_everything(0)
    model = GPT(GPTConfig(**{**CONFIG.to_dict(), "dropout": 0.1}))
    result = train(
        model, DATA, DATA, fast_config(max_iters=4, warmup_iters=2, eval_interval=4, autocast="bf16"), progress=False
    )
    assert math.isfinite(result.val_loss)
    assert model.tok_emb.weight.dtype == torch.float32  # autocast computes in bf16, the weights stay fp32


def test_estimate_loss_is_repeatable_and_restores_the_mode():
    model = small_model()
    model.train()
    batches = [get_batch(DATA, 4, 16, torch.Generator().manual_seed(i)) for i in range(2)]
    assert estimate_loss(model, batches) == estimate_loss(model, batches)
    assert model.training


def test_evaluate_split_scores_every_window_once():
    model = small_model().eval()
    data = DATA[: 16 * 10 + 5]  # 10 whole windows and a few left-over tokens
    x, y = data[:160].view(10, 16), data[1:161].view(10, 16)
    expected = model(x, y)[1].item()
    assert evaluate_split(model, data, batch_size=3) == pytest.approx(expected, rel=1e-5)


NAN, INF = float("nan"), float("inf")


def _config(**changes):
    return lambda: TrainConfig(**changes)


BAD_SETTINGS = table(
    Bad("fractional-batch", _config(batch_size=2.5), TypeError, "TrainConfig.batch_size", "must be an int, got float"),
    Bad("bool-batch", _config(batch_size=True), TypeError, "TrainConfig.batch_size", "got bool"),
    Bad("text-iters", _config(max_iters="100"), TypeError, "TrainConfig.max_iters", "must be an int, got str"),
    Bad("text-lr", _config(learning_rate="1e-3"), TypeError, "TrainConfig.learning_rate", "must be a number, got str"),
    Bad("nan-lr", _config(learning_rate=NAN), ValueError, "TrainConfig.learning_rate", "finite number, got nan"),
    Bad("inf-lr", _config(learning_rate=INF), ValueError, "TrainConfig.learning_rate", "finite number, got inf"),
    Bad("zero-lr", _config(learning_rate=0), ValueError, "TrainConfig.learning_rate", "must be > 0"),
    Bad(
        "min-lr-above-lr",
        _config(learning_rate=1e-3, min_lr=1e-2),
        ValueError,
        "TrainConfig.min_lr (0.01) is above learning_rate (0.001)",
        "must be <= learning_rate",
    ),
    Bad("negative-min-lr", _config(min_lr=-1e-4), ValueError, "TrainConfig.min_lr", "must be >= 0"),
    Bad("nan-min-lr", _config(min_lr=NAN), ValueError, "TrainConfig.min_lr", "finite number"),
    Bad("beta1-one", _config(beta1=1.0), ValueError, "TrainConfig.beta1", "must be a number in [0, 1), got 1.0"),
    Bad("beta2-negative", _config(beta2=-0.1), ValueError, "TrainConfig.beta2", "in [0, 1)"),
    Bad("beta1-nan", _config(beta1=NAN), ValueError, "TrainConfig.beta1", "finite number"),
    Bad("negative-clip", _config(grad_clip=-1.0), ValueError, "TrainConfig.grad_clip", "Use 0 to turn clipping off"),
    Bad("nan-clip", _config(grad_clip=NAN), ValueError, "TrainConfig.grad_clip", "finite number"),
    Bad("negative-decay", _config(weight_decay=-0.1), ValueError, "TrainConfig.weight_decay", "must be >= 0"),
    Bad("negative-warmup", _config(warmup_iters=-5), ValueError, "TrainConfig.warmup_iters", "an int >= 0"),
    Bad("fractional-warmup", _config(warmup_iters=2.5), TypeError, "TrainConfig.warmup_iters", "must be an int"),
    Bad(
        "warmup-past-the-end",
        _config(max_iters=50),
        ValueError,
        "TrainConfig.warmup_iters (100) is longer than max_iters (50)",
        "would still be warming up",
    ),
    Bad("fractional-seed", _config(seed=1.5), TypeError, "TrainConfig.seed", "must be an int"),
    Bad("bool-seed", _config(seed=True), TypeError, "TrainConfig.seed", "got bool"),
    Bad("zero-interval", _config(eval_interval=0), ValueError, "TrainConfig.eval_interval", "positive int"),
    Bad("float-eval-batches", _config(eval_batches=2.0), TypeError, "TrainConfig.eval_batches", "must be an int"),
    Bad("nan-target", _config(target_val_loss=NAN), ValueError, "TrainConfig.target_val_loss", "finite number"),
    Bad("negative-target", _config(target_val_loss=-1.0), ValueError, "TrainConfig.target_val_loss", "must be > 0"),
    Bad("zero-budget", _config(max_seconds=0), ValueError, "TrainConfig.max_seconds", "must be > 0"),
    Bad("nan-budget", _config(max_seconds=NAN), ValueError, "TrainConfig.max_seconds", "finite number"),
    Bad("text-budget", _config(max_seconds="10"), TypeError, "TrainConfig.max_seconds", "must be a number"),
    Bad("device-number", _config(device=0), TypeError, "TrainConfig.device", "must be a str"),
    Bad("device-unknown", _config(device="gpu"), ValueError, "TrainConfig.device", "'gpu'"),
    Bad("text-compile", _config(compile="yes"), TypeError, "TrainConfig.compile", "must be True or False"),
    Bad("float-iteration", lambda: lr_at(1.5, TrainConfig()), TypeError, "iteration", "must be an int"),
)


@pytest.mark.parametrize("case", BAD_SETTINGS)
def test_bad_train_settings_are_refused(case):
    assert_refused(case)


BAD_DATA = table(
    Bad("float-data", lambda: get_batch(torch.rand(100), 2, 8), TypeError, "data", "integer token ids"),
    Bad("bool-data", lambda: get_batch(torch.ones(100, dtype=torch.bool), 2, 8), TypeError, "data", "torch.bool"),
    Bad("list-data", lambda: get_batch(list(range(100)), 2, 8), TypeError, "data", "encode_corpus makes one"),
    Bad("numpy-data", lambda: get_batch(torch.arange(100).numpy(), 2, 8), TypeError, "data", "got ndarray"),
    Bad("fractional-batch", lambda: get_batch(torch.arange(100), 2.5, 8), TypeError, "batch_size", "must be an int"),
    Bad("empty-batch", lambda: get_batch(torch.arange(100), 0, 8), ValueError, "batch_size", "positive int"),
    Bad("no-window", lambda: get_batch(torch.arange(100), 2, 0), ValueError, "block_size", "positive int"),
    Bad("bad-generator", lambda: get_batch(torch.arange(100), 2, 8, 7), TypeError, "generator", "torch.Generator"),
    Bad("empty-text", lambda: encode_corpus(TOKENIZER, ""), ValueError, "text", "is empty"),
    Bad("text-not-str", lambda: encode_corpus(TOKENIZER, 5), TypeError, "text", "must be a str, got int"),
    Bad(
        "split-too-short",
        lambda: evaluate_split(small_model(), torch.arange(10)),
        ValueError,
        "data",
        "longer than block_size=16",
    ),
    Bad(
        "split-zero-batch",
        lambda: evaluate_split(small_model(), DATA, batch_size=0),
        ValueError,
        "batch_size",
        "positive int",
    ),
    Bad("no-batches", lambda: estimate_loss(small_model(), []), ValueError, "batches", "is empty"),
)


@pytest.mark.parametrize("case", BAD_DATA)
def test_bad_batches_are_refused(case):
    assert_refused(case)


def test_valid_edge_settings_are_accepted():
    config = TrainConfig(batch_size=np.int64(8), max_iters=50, warmup_iters=50, learning_rate=1, min_lr=1)
    assert type(config.batch_size) is int and config.batch_size == 8  # a numpy int, stored as an int
    json.dumps(config.__dict__)  # so a train log can hold it
    assert TrainConfig(**config.__dict__) == config
    assert lr_at(49, config) == 1.0  # warm-up ends at the last step
    assert TrainConfig(grad_clip=0).grad_clip == 0  # 0 turns clipping off


def records(key, values):
    return [{"iter": 100 * (i + 1), key: v} for i, v in enumerate(values)]


def test_loss_trend_reads_the_direction_of_every_step():
    assert loss_trend(records("val_loss", [2.6, 2.4, 2.2, 2.1])) == "falling"
    assert loss_trend(records("val_loss", [3.0, 3.4, 4.2])) == "rising"
    assert loss_trend(records("val_loss", [2.6, 2.4, 2.5, 2.1])) == "mixed"  # one step back up is enough
    assert loss_trend(records("val_loss", [2.4, 2.4])) == "mixed"  # no change is not a fall
    assert loss_trend(records("val_loss", [4.0, 3.0, 3.4, 4.2, 5.1])) == "mixed"  # fell, then rose
    assert loss_trend(records("train_loss", [2.9, 2.0, 1.4]), "train_loss") == "falling"


def test_loss_trend_of_a_real_run_uses_its_history():
    result = train(small_model(), DATA, DATA, fast_config(), progress=False)
    assert loss_trend(result.history) == "falling"  # the tiny repetitive text is learned at every evaluation
    assert loss_trend(result.history, "train_loss") == "falling"


@pytest.mark.parametrize(
    ("history", "kwargs", "message"),
    [
        (records("val_loss", [2.0]), {}, "at least two evaluations, got 1"),
        ([], {}, "at least two evaluations, got 0"),
        (records("val_loss", [2.0, 1.9]), {"key": "loss"}, "each with 'loss'"),
        ("2.0 1.9", {}, "must be a list of evaluation records"),
    ],
)
def test_loss_trend_refuses_what_is_not_a_run(history, kwargs, message):
    with pytest.raises(ValueError, match=message):
        loss_trend(history, **kwargs)


def test_words_of_keeps_inner_apostrophes_and_ignores_case():
    assert words_of("O'er the hill, 'tis ROMEO's!\nthe 2nd") == {"o'er", "the", "hill", "tis", "romeo's", "nd"}


def test_known_word_share_counts_every_occurrence():
    assert known_word_share("The cat, the DOG; the zqx.", TEXT) == pytest.approx(5 / 6)  # zqx is the only stranger
    assert known_word_share("the the xq", {"the"}) == pytest.approx(2 / 3)
    assert known_word_share("12 .. !!", TEXT) == 0.0  # no words at all
    assert known_word_share("", TEXT) == 0.0


def test_known_word_share_tells_shakespeare_from_noise():
    plays = load_text("val")
    assert known_word_share(plays[-2000:], words_of(plays[:-2000])) > 0.9
    characters = CharTokenizer.from_text(plays)
    ids = torch.randint(0, characters.vocab_size, (300,), generator=torch.Generator().manual_seed(0))
    assert known_word_share(characters.decode(ids.tolist()), plays) < 0.3  # random characters: a few "a", "i", "o"


@pytest.mark.parametrize(("known", "error"), [("", ValueError), (set(), ValueError), (["the"], ValueError)])
def test_known_word_share_needs_words_to_compare_with(known, error):
    with pytest.raises(error, match="known must be a non-empty text or a non-empty set of words"):
        known_word_share("the cat", known)


def test_known_word_share_refuses_what_is_not_text():
    with pytest.raises(TypeError, match="text must be a str, got list"):
        known_word_share(["the"], TEXT)


def test_longest_copied_piece_finds_the_longest_stretch():
    source = "the cat sat on the mat"
    assert longest_copied_piece("a dog sat on the rug", source) == " sat on the "
    assert longest_copied_piece("the cat sat on the mat", source) == source  # a recitation copies it all
    assert longest_copied_piece("xyz", source) == ""
    assert longest_copied_piece("", source) == ""
    assert longest_copied_piece("zzmat", source) == "mat"  # found at the very end of both


def test_longest_copied_piece_refuses_what_is_not_text():
    with pytest.raises(TypeError, match="source must be a str, got bytes"):
        longest_copied_piece("the cat", b"the cat")


# --------------------------------------------------------------------------- a loop written elsewhere (lesson 08)


def test_evaluation_steps_are_every_interval_and_the_last():
    assert evaluation_steps(fast_config()) == [20, 40, 60]
    assert evaluation_steps(fast_config(max_iters=50)) == [20, 40, 50]
    assert evaluation_steps(fast_config(max_iters=7, eval_interval=10, warmup_iters=1)) == [7]


def test_run_loop_with_the_courses_loop_makes_trains_run():
    # Given what train() gives its own loop (loop_inputs), the course's lesson-08 loop is train(), step for step.
    config = fast_config(max_iters=25, eval_interval=10, grad_clip=0.3)
    expected = train(small_model(), DATA, DATA, config, progress=False)
    model = small_model()
    result = run_loop(reference("train_loop"), model, DATA, DATA, config)
    assert result.losses == pytest.approx(expected.losses, rel=1e-6)
    assert [r["iter"] for r in result.history] == [10, 20, 25]
    for got, want in zip(result.history, expected.history, strict=True):
        assert got["train_loss"] == pytest.approx(want["train_loss"], rel=1e-6)
        assert got["val_loss"] == pytest.approx(want["val_loss"], rel=1e-6)
    assert result.iterations == 25 and result.tokens == expected.tokens and result.seconds > 0
    assert model.training


def test_loop_inputs_are_trains_batches_and_optimizer():
    config = fast_config(seed=3)
    optimizer, next_batch, val_batches = loop_inputs(small_model(), DATA, DATA, config)
    again = loop_inputs(small_model(), DATA, DATA, config)
    first = next_batch()
    assert torch.equal(first[0], again[1]()[0]) and not torch.equal(first[0], next_batch()[0])  # one seeded stream
    assert len(val_batches) == config.eval_batches and val_batches[0][0].shape == (config.eval_batch_size, 16)
    assert [g["weight_decay"] for g in optimizer.param_groups] == [config.weight_decay, 0.0]
    with pytest.raises(ValueError, match="train_data must be a 1-D tensor longer than block_size=16"):
        loop_inputs(small_model(), DATA[:10], DATA, config)
    with pytest.raises(ValueError, match="val_data must be a 1-D tensor longer than block_size=16"):
        loop_inputs(small_model(), DATA, DATA[:16], config)


@pytest.mark.parametrize(
    ("log", "message"),
    [
        ([1.0, 2.0], "log must be a dict with 'losses' and 'val_losses', got list"),
        ({"losses": [1.0] * 60}, "log must be a dict with 'losses' and 'val_losses', got dict"),
        ({"losses": [1.0] * 59, "val_losses": [1.0] * 3}, r"60 training losses .* got 59 and 3"),
        ({"losses": [1.0] * 60, "val_losses": [1.0] * 2}, r"3 validation losses \(after steps \[20, 40, 60\]\)"),
        ({"losses": [1.0] * 59 + [math.nan], "val_losses": [1.0] * 3}, "NaN or infinite: the run diverged"),
    ],
)
def test_history_from_log_refuses_a_log_that_is_not_the_runs(log, message):
    with pytest.raises(ValueError, match=message):
        history_from_log(log, fast_config())


def test_history_from_log_averages_the_training_losses_since_the_last_evaluation():
    log = {"losses": list(range(60)), "val_losses": [3.0, 2.0, 1.0]}
    history = history_from_log(log, fast_config())
    assert history == [
        {"iter": 20, "train_loss": 9.5, "val_loss": 3.0},
        {"iter": 40, "train_loss": 29.5, "val_loss": 2.0},
        {"iter": 60, "train_loss": 49.5, "val_loss": 1.0},
    ]
    assert loss_trend(history) == "falling"

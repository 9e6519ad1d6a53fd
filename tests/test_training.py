"""Batches, learning-rate schedule, the training loop, checkpoints (and their errors), the course model."""

from __future__ import annotations

import json
import math
import pickle
import shutil

import numpy as np
import pytest
import torch
from bad_input_support import Bad, assert_refused, table

from course_lib.data import DataError, load_text, sha256_file
from course_lib.model import GPT, GPTConfig
from course_lib.sampling import generate_text
from course_lib.tokenizers import CharTokenizer
from course_lib.training import (
    COURSE_CHECKPOINT,
    CheckpointError,
    TrainConfig,
    encode_corpus,
    estimate_loss,
    evaluate_split,
    get_batch,
    known_word_share,
    load_checkpoint,
    load_course_model,
    longest_copied_piece,
    loss_trend,
    lr_at,
    read_train_log,
    save_checkpoint,
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


@pytest.fixture
def checkpoint(tmp_path):
    model = small_model()
    folder = save_checkpoint(tmp_path / "ckpt", model, TOKENIZER, train_log={"note": "test"})
    return folder, model


def test_checkpoint_round_trip(checkpoint):
    folder, model = checkpoint
    loaded, tokenizer = load_checkpoint(folder)
    assert tokenizer == TOKENIZER and loaded.config == CONFIG and not loaded.training
    idx = torch.tensor([TOKENIZER.encode("the cat")])
    torch.testing.assert_close(loaded(idx)[0], model.eval()(idx)[0], rtol=0, atol=0)
    sums = (folder / "SHA256SUMS").read_text().splitlines()
    assert sums[0] == f"{sha256_file(folder / 'model.safetensors')}  model.safetensors"
    assert {line.split()[1] for line in sums} == {"model.safetensors", "config.json", "train_log.json"}


def test_checkpoint_in_bf16_is_half_the_size_and_loads_as_float32(tmp_path, checkpoint):
    folder, model = checkpoint
    half = save_checkpoint(tmp_path / "bf16", model, TOKENIZER, dtype=torch.bfloat16)
    ratio = (half / "model.safetensors").stat().st_size / (folder / "model.safetensors").stat().st_size
    assert 0.45 < ratio < 0.55
    loaded, _ = load_checkpoint(half)
    assert loaded.tok_emb.weight.dtype == torch.float32
    torch.testing.assert_close(loaded.tok_emb.weight, model.tok_emb.weight, atol=1e-2, rtol=1e-2)


def rewrite_sums(folder):
    """Make SHA256SUMS agree with the (deliberately broken) files, to reach the checks behind it."""
    names = [line.split()[1] for line in (folder / "SHA256SUMS").read_text().splitlines()]
    (folder / "SHA256SUMS").write_text("".join(f"{sha256_file(folder / n)}  {n}\n" for n in names))


def edit_config(folder, change):
    data = json.loads((folder / "config.json").read_text())
    change(data)
    (folder / "config.json").write_text(json.dumps(data))
    rewrite_sums(folder)


def test_missing_folder_or_file(tmp_path, checkpoint):
    folder, _ = checkpoint
    with pytest.raises(CheckpointError, match="does not exist"):
        load_checkpoint(tmp_path / "nowhere")
    (folder / "config.json").unlink()
    with pytest.raises(CheckpointError, match=r"config.json is missing"):
        load_checkpoint(folder)


def test_changed_file_fails_the_sha256_check(checkpoint):
    folder, _ = checkpoint
    data = bytearray((folder / "model.safetensors").read_bytes())
    data[-10] ^= 0xFF  # one flipped byte inside a weight
    (folder / "model.safetensors").write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="model.safetensors is damaged or was changed"):
        load_checkpoint(folder)


def test_missing_sha256sums_is_reported(checkpoint):
    folder, _ = checkpoint
    (folder / "SHA256SUMS").unlink()
    with pytest.raises(CheckpointError, match="SHA256SUMS is missing"):
        load_checkpoint(folder)
    assert load_checkpoint(folder, verify=False)[0].config == CONFIG


@pytest.mark.parametrize("keep", [0.5, 0.01], ids=["half", "header-only"])
def test_truncated_weights_are_reported(checkpoint, keep):
    folder, _ = checkpoint
    path = folder / "model.safetensors"
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])
    with pytest.raises(CheckpointError, match="not a readable safetensors file"):
        load_checkpoint(folder, verify=False)


def test_pickle_is_never_loaded(checkpoint, tmp_path):
    folder, _ = checkpoint
    marker = tmp_path / "pwned"

    class Payload:
        def __reduce__(self):  # what an unpickler would call: it would create the marker file
            return (open, (str(marker), "w"))

    (folder / "model.safetensors").write_bytes(pickle.dumps(Payload()))
    rewrite_sums(folder)
    with pytest.raises(CheckpointError, match="not a readable safetensors file"):
        load_checkpoint(folder)
    assert not marker.exists()


def test_config_that_does_not_match_the_weights(checkpoint):
    folder, _ = checkpoint
    edit_config(folder, lambda d: d["model"].update(n_embd=64))
    with pytest.raises(CheckpointError, match=r"tensor tok_emb.weight has shape \(\d+, 32\).*needs \(\d+, 64\)"):
        load_checkpoint(folder)


def test_missing_tensor_is_reported(checkpoint):
    folder, _ = checkpoint
    edit_config(folder, lambda d: d["model"].update(n_layer=2))
    with pytest.raises(CheckpointError, match=r"missing tensors \['blocks.1"):
        load_checkpoint(folder)


def test_tokenizer_and_vocab_size_must_agree(checkpoint):
    folder, _ = checkpoint
    edit_config(folder, lambda d: d["tokenizer"].update(chars=d["tokenizer"]["chars"][:-1]))
    with pytest.raises(CheckpointError, match="tokenizer has .* tokens but the model's vocab_size is"):
        load_checkpoint(folder)


@pytest.mark.parametrize(
    ("contents", "message"),
    [("{not json", "cannot read"), ('{"format": "other"}', "not a course checkpoint config"), ("[]", "not a course")],
)
def test_unreadable_config(checkpoint, contents, message):
    folder, _ = checkpoint
    (folder / "config.json").write_text(contents)
    rewrite_sums(folder)
    with pytest.raises(CheckpointError, match=message):
        load_checkpoint(folder)


def test_invalid_model_config_in_checkpoint(checkpoint):
    folder, _ = checkpoint
    edit_config(folder, lambda d: d["model"].update(n_head=5))
    with pytest.raises(CheckpointError, match="divisible by n_head"):
        load_checkpoint(folder)


def test_saving_with_the_wrong_tokenizer_is_refused(tmp_path):
    with pytest.raises(ValueError, match="tokenizer has 3 tokens but the model's vocab_size is"):
        save_checkpoint(tmp_path, small_model(), CharTokenizer("abc"))


def test_course_model_loads_verified_and_writes_shakespeare_like_text():
    model, tokenizer = load_course_model()
    assert model.config.vocab_size == tokenizer.vocab_size
    # The shipped model's loss on the whole validation split, as scripts/train_course_model.py logged it.
    assert read_train_log()["final"]["val_loss"] < 1.55  # the goal the course set for its model
    # An independent check on the validation text (a smaller sample than the log's, so a looser bound).
    val = encode_corpus(tokenizer, load_text("val"))
    batches = [get_batch(val, 8, model.config.block_size, torch.Generator().manual_seed(i)) for i in range(6)]
    assert estimate_loss(model, batches) < 1.65
    text = generate_text(model, tokenizer, "ROMEO:\n", 120, temperature=0.8, seed=0)
    assert text == generate_text(model, tokenizer, "ROMEO:\n", 120, temperature=0.8, seed=0)
    words = text.split()
    assert sum(w.strip(".,;:!?'").lower() in {"the", "and", "i", "to", "of", "you", "my", "a"} for w in words) >= 3


def test_course_model_reports_damage(tmp_path, monkeypatch):
    copy = tmp_path / "course"
    shutil.copytree(COURSE_CHECKPOINT, copy)
    with open(copy / "config.json", "a") as f:
        f.write(" ")
    monkeypatch.setattr("course_lib.training.COURSE_CHECKPOINT", copy)
    with pytest.raises(CheckpointError, match="config.json is damaged or was changed"):
        load_course_model()


RESTORE = "`git checkout -- data/checkpoints`"


@pytest.fixture
def course_copy(tmp_path, monkeypatch):
    """A copy of the shipped checkpoint that the course takes for its own: damage it freely."""
    copy = tmp_path / "shakespeare-char"
    shutil.copytree(COURSE_CHECKPOINT, copy)
    monkeypatch.setattr("course_lib.training.COURSE_CHECKPOINT", copy)
    return copy


def test_weights_replaced_by_a_folder(course_copy):
    (course_copy / "model.safetensors").unlink()
    (course_copy / "model.safetensors").mkdir()  # was: IsADirectoryError from inside hashing
    with pytest.raises(CheckpointError, match=r"model.safetensors is a folder, but it should be a file") as err:
        load_course_model()
    assert RESTORE in str(err.value) and isinstance(err.value, DataError)


def test_deleted_weights(course_copy):
    (course_copy / "model.safetensors").unlink()
    with pytest.raises(
        CheckpointError, match=r"model.safetensors is missing: the checkpoint's model.safetensors \(the weights\)"
    ) as err:
        load_course_model()
    assert RESTORE in str(err.value)


def test_truncated_course_weights(course_copy):
    path = course_copy / "model.safetensors"
    path.write_bytes(path.read_bytes()[:100_000])
    with pytest.raises(CheckpointError, match=f"model.safetensors is damaged or was changed.*{RESTORE}"):
        load_course_model()
    with pytest.raises(CheckpointError, match=f"not a readable safetensors file.*{RESTORE}"):
        load_checkpoint(course_copy, verify=False)


@pytest.mark.parametrize("damage", ["cut", "deleted", "folder", "edited"])
def test_a_damaged_train_log_names_the_file_and_the_repair(course_copy, damage):
    path = course_copy / "train_log.json"
    if damage == "cut":
        path.write_text(path.read_text()[:500])  # was: json.JSONDecodeError from inside read_train_log
    elif damage == "deleted":
        path.unlink()
    elif damage == "folder":
        path.unlink()
        path.mkdir()
    else:  # still valid JSON, but not what was saved
        path.write_text(path.read_text().replace('"tokens": ', '"tokens": 1'))
    expected = {
        "cut": "train_log.json is damaged or was changed",
        "deleted": "train_log.json is missing",
        "folder": "train_log.json is a folder",
        "edited": "train_log.json is damaged or was changed",
    }[damage]
    with pytest.raises(CheckpointError, match=expected) as err:
        read_train_log()
    assert RESTORE in str(err.value)
    with pytest.raises(CheckpointError, match=expected):
        load_course_model()  # it verifies every file SHA256SUMS lists, the log too


def test_a_train_log_without_checksums_is_still_read_with_care(checkpoint):
    folder, _ = checkpoint
    assert read_train_log(folder) == {"note": "test"}
    (folder / "SHA256SUMS").unlink()
    (folder / "train_log.json").write_text('{"note": ')
    with pytest.raises(CheckpointError, match=r"train_log.json is not valid JSON \(Expecting value at line 1") as err:
        read_train_log(folder)
    assert "Save the checkpoint again" in str(err.value)  # not the course's own: no git checkout to suggest
    (folder / "train_log.json").write_text("[1, 2]")
    with pytest.raises(CheckpointError, match="holds a list, not a training log"):
        read_train_log(folder)


def test_a_file_given_as_the_checkpoint_folder_is_named_as_a_file(checkpoint):
    folder, _ = checkpoint
    with pytest.raises(CheckpointError, match=r"model.safetensors is a file: load_checkpoint takes the checkpoint's"):
        load_checkpoint(folder / "model.safetensors")  # was: "checkpoint folder ... does not exist"


@pytest.mark.parametrize("damage", ["folder", "garbled"])
def test_a_damaged_sha256sums(course_copy, damage):
    sums = course_copy / "SHA256SUMS"
    if damage == "folder":
        sums.unlink()
        sums.mkdir()
        expected = "SHA256SUMS is a folder"
    else:
        sums.write_text(sums.read_text().replace("  model.safetensors", " model.safetensors"))
        expected = "line 1 of .*SHA256SUMS is not '<sha256>  <file name>'"
    with pytest.raises(CheckpointError, match=expected) as err:
        load_course_model()
    assert RESTORE in str(err.value)


def test_a_missing_course_checkpoint_folder(tmp_path, monkeypatch):
    monkeypatch.setattr("course_lib.training.COURSE_CHECKPOINT", tmp_path / "gone")
    with pytest.raises(CheckpointError, match=f"checkpoint folder .*gone does not exist.*{RESTORE}"):
        load_course_model()


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

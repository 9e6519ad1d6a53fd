"""course_lib.checkpoints: saving, verifying and loading the course model's checkpoints, with clear errors."""

from __future__ import annotations

import json
import pickle
import shutil

import pytest
import torch

from course_lib.checkpoints import (
    COURSE_CHECKPOINT,
    CheckpointError,
    load_checkpoint,
    load_course_model,
    read_train_log,
    save_checkpoint,
)
from course_lib.data import DataError, load_text, sha256_file
from course_lib.model import GPT, GPTConfig
from course_lib.sampling import generate_text
from course_lib.tokenizers import CharTokenizer
from course_lib.training import (
    encode_corpus,
    estimate_loss,
    get_batch,
    seed_everything,
)

TEXT = "the cat sat on the mat. the dog sat on the log. " * 40


TOKENIZER = CharTokenizer.from_text(TEXT)


CONFIG = GPTConfig(vocab_size=TOKENIZER.vocab_size, block_size=16, n_layer=1, n_head=2, n_embd=32)


def small_model(seed: int = 0) -> GPT:
    seed_everything(seed)
    return GPT(CONFIG)


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
    monkeypatch.setattr("course_lib.checkpoints.COURSE_CHECKPOINT", copy)
    with pytest.raises(CheckpointError, match="config.json is damaged or was changed"):
        load_course_model()


RESTORE = "`git checkout -- data/checkpoints`"


@pytest.fixture
def course_copy(tmp_path, monkeypatch):
    """A copy of the shipped checkpoint that the course takes for its own: damage it freely."""
    copy = tmp_path / "shakespeare-char"
    shutil.copytree(COURSE_CHECKPOINT, copy)
    monkeypatch.setattr("course_lib.checkpoints.COURSE_CHECKPOINT", copy)
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
    monkeypatch.setattr("course_lib.checkpoints.COURSE_CHECKPOINT", tmp_path / "gone")
    with pytest.raises(CheckpointError, match=f"checkpoint folder .*gone does not exist.*{RESTORE}"):
        load_course_model()


NAN, INF = float("nan"), float("inf")

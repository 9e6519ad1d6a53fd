"""The course data: present, verified, split as documented, and clear about what is wrong."""

import hashlib
import io
import os
import subprocess
import sys

import pytest

from course_lib import data


def test_every_asset_verifies():
    for name in data.ASSETS:
        assert data.verify(name).is_file()


def test_corpus_split_is_ninety_ten_in_sorted_file_order():
    train, val = data.load_text("train"), data.load_text("val")
    total = len(train) + len(val)
    assert total == 5_057_239  # 42 plays and poems joined by newlines
    assert len(train) == int(total * 0.9)
    # Sorted by file name, the first work is "All's Well That Ends Well" and the last "The Winter's Tale".
    assert "ALL'S WELL THAT ENDS WELL" in train[:2000].upper()
    assert "WINTER'S TALE" in data.load_text("all")[-200_000:].upper()
    assert data.load_text("all") == train + val


def test_unknown_split_is_rejected():
    with pytest.raises(ValueError, match="split must be"):
        data.load_text("test")


def test_unknown_asset_lists_the_known_ones():
    with pytest.raises(data.DataError, match="unknown data asset 'nope'.*train"):
        data.verify("nope")


def _copy_asset_to(tmp_path, monkeypatch, name="val"):
    content = data.verify(name).read_bytes()
    monkeypatch.setattr(data, "DATA_DIR", tmp_path)
    target = data.ASSETS[name].path
    target.parent.mkdir(parents=True)
    target.write_bytes(content)
    return target


def test_missing_file_says_how_to_fix(tmp_path, monkeypatch):
    monkeypatch.setattr(data, "DATA_DIR", tmp_path)
    with pytest.raises(data.DataError, match=r"missing.*make setup"):
        data.load_text("val")


def test_altered_file_is_refused(tmp_path, monkeypatch):
    target = _copy_asset_to(tmp_path, monkeypatch)
    target.write_bytes(target.read_bytes().replace(b"the", b"thy", 1))
    with pytest.raises(data.DataError, match=r"altered or is incomplete.*make setup"):
        data.load_text("val")


def test_truncated_file_is_refused(tmp_path, monkeypatch):
    target = _copy_asset_to(tmp_path, monkeypatch)
    target.write_bytes(target.read_bytes()[:1000])
    with pytest.raises(data.DataError, match="altered or is incomplete"):
        data.verify("val")


def test_setup_is_a_no_op_when_everything_verifies(tmp_path, monkeypatch, capsys):
    _copy_asset_to(tmp_path, monkeypatch)
    data.setup(["val"])
    assert "ok" in capsys.readouterr().out


def test_setup_refuses_to_write_a_build_with_the_wrong_hash(tmp_path, monkeypatch):
    monkeypatch.setattr(data, "DATA_DIR", tmp_path)
    bad = data.Asset("val", "corpus/val.txt", hashlib.sha256(b"expected").hexdigest(), lambda: b"other", "test")
    monkeypatch.setitem(data.ASSETS, "val", bad)
    with pytest.raises(data.DataError, match="nothing was written"):
        data.setup(["val"])
    assert not bad.path.exists()


def test_cli_verify_reports_problems(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(data, "DATA_DIR", tmp_path)
    assert data.main(["verify"]) == 1
    assert "make setup" in capsys.readouterr().err


# --------------------------------------------------------------------------- damaged in other ways


def test_a_folder_in_place_of_a_file_names_it_and_the_fix(tmp_path, monkeypatch):
    monkeypatch.setattr(data, "DATA_DIR", tmp_path)
    (tmp_path / "corpus" / "val.txt").mkdir(parents=True)  # was: IsADirectoryError from deep inside hashing
    with pytest.raises(data.DataError, match=r"corpus/val.txt is a folder, but it should be a file: last 10%") as err:
        data.load_text("val")
    assert f"`rm -r {tmp_path}/corpus/val.txt`" in str(err.value) and "make setup" in str(err.value)
    # make setup cannot repair it by itself (it never deletes a folder): it says what to do, not a traceback
    good = data.Asset("val", "corpus/val.txt", hashlib.sha256(b"v").hexdigest(), lambda: b"v", "test")
    monkeypatch.setitem(data.ASSETS, "val", good)
    with pytest.raises(data.DataError, match=r"corpus/val.txt is a folder.*run `make setup` again"):
        data.setup(["val"], out=io.StringIO())


def test_a_broken_link_and_an_unreadable_file_are_explained(tmp_path, monkeypatch):
    monkeypatch.setattr(data, "DATA_DIR", tmp_path)
    (tmp_path / "corpus").mkdir()
    (tmp_path / "corpus" / "val.txt").symlink_to(tmp_path / "gone.txt")
    with pytest.raises(
        data.DataError, match=r"corpus/val.txt is a broken link \(to .*gone.txt, which does not exist\).*make setup"
    ):
        data.verify("val")
    (tmp_path / "corpus" / "val.txt").unlink()
    (tmp_path / "corpus" / "val.txt").write_bytes(b"x")

    def refuse(path):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(data, "sha256_file", refuse)  # the tests run as root, who can read anything
    with pytest.raises(data.DataError, match=r"cannot read .*corpus/val.txt \(Permission denied\).*make setup"):
        data.verify("val")


def test_setup_that_cannot_write_says_where(tmp_path, monkeypatch):
    monkeypatch.setattr(data, "DATA_DIR", tmp_path)
    (tmp_path / "corpus").write_text("a file where the corpus folder should be")
    good = data.Asset("val", "corpus/val.txt", hashlib.sha256(b"v").hexdigest(), lambda: b"v", "test")
    monkeypatch.setitem(data.ASSETS, "val", good)
    with pytest.raises(data.DataError, match=r"cannot write .*corpus/val.txt .*must be writable"):
        data.setup(["val"], out=io.StringIO())


def test_course_data_dir_moves_the_data_out_of_the_clone(tmp_path):
    """COURSE_DATA_DIR (a shared copy on a class server, say) is where every asset is looked for and verified."""
    shared = tmp_path / "shared"
    (shared / "corpus").mkdir(parents=True)
    (shared / "corpus" / "val.txt").symlink_to(data.verify("val"))  # a verified copy, without copying 0.5 MB
    code = (
        "from course_lib import data\n"
        "print(data.DATA_DIR)\n"
        "print(data.verify('val'))\n"
        "try:\n"
        "    data.verify('train')\n"
        "except data.DataError as err:\n"
        "    print(err)\n"
    )
    env = {**os.environ, "COURSE_DATA_DIR": str(shared), "PYTHONPATH": str(data.REPO_ROOT)}
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    data_dir, val_path, train_error = result.stdout.splitlines()
    assert data_dir == str(shared) and val_path == str(shared / "corpus" / "val.txt")
    assert f"{shared}/corpus/train.txt is missing: first 90%" in train_error
    assert f"COURSE_DATA_DIR is set, so the course reads its data from {shared}" in train_error

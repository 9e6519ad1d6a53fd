"""The course data: present, verified, split as documented, and clear about what is wrong."""

import hashlib

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

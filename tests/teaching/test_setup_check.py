"""The set-up check (lesson 00): each check passes on a good set-up and fails with a readable fix on a bad one."""

import hashlib
import shutil

import pytest

from course_lib import checkpoints, data
from course_lib.checkpoints import save_checkpoint
from course_lib.model import GPT, GPTConfig
from course_lib.teaching import setup_check
from course_lib.teaching.setup_check import FAIL, OK, WARN, Check, SetupReport
from course_lib.tokenizers import CharTokenizer

# --------------------------------------------------------------------------- python


def test_python_new_enough():
    check = setup_check.check_python(version_info=(3, 11, 7))
    assert check.status == OK and "3.11.7" in check.detail
    assert setup_check.check_python().status == OK  # the interpreter running the tests


def test_python_too_old():
    check = setup_check.check_python(version_info=(3, 8, 10))
    assert check.status == FAIL
    assert "3.8.10 is too old" in check.detail and "3.10 or newer" in check.detail


# --------------------------------------------------------------------------- packages


def test_read_pins(tmp_path):
    path = tmp_path / "requirements.txt"
    path.write_text("# a comment\ntorch==2.13.0   # CPU build\nNumPy==2.4.6\n\nloose>=1.0\n")
    assert setup_check.read_pins(path) == {"torch": "2.13.0", "numpy": "2.4.6"}
    assert setup_check.read_pins(tmp_path / "missing.txt") == {}


def test_core_packages_are_the_pinned_ones():
    pins = setup_check.read_pins()
    assert set(setup_check.CORE_PACKAGES) <= set(pins), "every package the check imports must be pinned"


def test_installed_packages_pass():
    checks = setup_check.check_packages({"numpy": "numpy", "regex": "regex"})
    assert [c.status for c in checks] == [OK, OK]
    assert checks[0].detail == setup_check.read_pins()["numpy"]


def test_missing_package_fails_with_a_fix():
    (check,) = setup_check.check_packages({"not-a-course-package": "not_a_course_package"}, pins={})
    assert check.status == FAIL
    assert "cannot import not_a_course_package" in check.detail and "make setup" in check.detail


def test_jupyterlab_is_found_without_being_imported(monkeypatch):
    def no_import(name, *args, **kwargs):
        raise AssertionError(f"{name} was imported")

    monkeypatch.setattr(setup_check.importlib, "import_module", no_import)
    (check,) = setup_check.check_packages({"jupyterlab": "jupyterlab"})
    assert check.status == OK and check.detail == setup_check.read_pins()["jupyterlab"]


def test_a_package_looked_for_fails_with_a_fix_when_it_is_not_installed(monkeypatch):
    monkeypatch.setattr(setup_check, "NOT_IMPORTED", frozenset({"not_a_course_tool"}))
    (check,) = setup_check.check_packages({"not-a-course-tool": "not_a_course_tool"}, pins={})
    assert check.status == FAIL
    assert "cannot find not_a_course_tool: it is not installed" in check.detail and "make setup" in check.detail


def test_other_version_warns_and_build_labels_do_not():
    (check,) = setup_check.check_packages({"numpy": "numpy"}, pins={"numpy": "0.0.1"})
    assert check.status == WARN and "the course pins 0.0.1" in check.detail
    torch_version = setup_check._installed_version("torch", None)
    (check,) = setup_check.check_packages({"torch": "torch"}, pins={"torch": torch_version.split("+")[0]})
    assert check.status == OK  # 2.13.0+cpu is the pinned 2.13.0


# --------------------------------------------------------------------------- data


def _fake_asset(monkeypatch, tmp_path, content: bytes | None, expected: bytes = b"the right bytes"):
    monkeypatch.setattr(data, "DATA_DIR", tmp_path)
    asset = data.Asset("fake", "corpus/fake.txt", hashlib.sha256(expected).hexdigest(), lambda: expected, "a test file")
    monkeypatch.setitem(data.ASSETS, "fake", asset)
    if content is not None:
        (tmp_path / "corpus").mkdir()
        (tmp_path / "corpus" / "fake.txt").write_bytes(content)


def test_data_present_and_verified(monkeypatch, tmp_path):
    _fake_asset(monkeypatch, tmp_path, b"the right bytes")
    (check,) = setup_check.check_data(["fake"])
    assert check.status == OK and "corpus/fake.txt" in check.detail and "sha256 verified" in check.detail


def test_data_missing_fails_with_a_fix(monkeypatch, tmp_path):
    _fake_asset(monkeypatch, tmp_path, None)
    (check,) = setup_check.check_data(["fake"])
    assert check.status == FAIL and "missing" in check.detail and "make setup" in check.detail


def test_data_altered_fails(monkeypatch, tmp_path):
    _fake_asset(monkeypatch, tmp_path, b"other bytes")
    (check,) = setup_check.check_data(["fake"])
    assert check.status == FAIL and "altered" in check.detail


# --------------------------------------------------------------------------- checkpoint


@pytest.fixture
def tiny_checkpoint(tmp_path):
    tokenizer = CharTokenizer("abc \n")
    model = GPT(GPTConfig(vocab_size=tokenizer.vocab_size, block_size=8, n_layer=1, n_head=2, n_embd=8))
    return save_checkpoint(tmp_path / "tiny", model, tokenizer), model


def test_checkpoint_loads(tiny_checkpoint):
    folder, model = tiny_checkpoint
    check = setup_check.check_checkpoint(folder)
    assert check.status == OK
    assert f"{model.num_parameters():,} parameters" in check.detail and "5 characters" in check.detail


def test_checkpoint_missing_or_damaged_fails(tiny_checkpoint, tmp_path, monkeypatch):
    monkeypatch.setattr(checkpoints, "COURSE_CHECKPOINT", tmp_path / "nowhere")
    check = setup_check.check_checkpoint()
    assert check.status == FAIL and "does not exist" in check.detail and "git checkout" in check.detail
    assert check.detail.count("git checkout") == 1  # said once: the error's own repair, not repeated by the report
    folder, _ = tiny_checkpoint
    weights = folder / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:-4] + b"\x00\x00\x00\x00")
    check = setup_check.check_checkpoint(folder)
    assert check.status == FAIL and "damaged" in check.detail


@pytest.fixture
def course_copy(tmp_path, monkeypatch):
    copy = tmp_path / "shakespeare-char"
    shutil.copytree(checkpoints.COURSE_CHECKPOINT, copy)
    monkeypatch.setattr(checkpoints, "COURSE_CHECKPOINT", copy)
    return copy


@pytest.mark.parametrize("name", ["model.safetensors", "train_log.json"])
def test_a_damaged_course_checkpoint_names_the_file_and_git_checkout(course_copy, name):
    (course_copy / name).unlink()
    (course_copy / name).mkdir()  # was: the whole report crashed with IsADirectoryError
    check = setup_check.check_checkpoint()
    assert check.status == FAIL
    assert (
        f"shakespeare-char/{name} is a folder" in check.detail and "`git checkout -- data/checkpoints`" in check.detail
    )
    (course_copy / name).rmdir()
    (course_copy / name).write_text("{")
    check = setup_check.check_checkpoint()
    assert check.status == FAIL and f"shakespeare-char/{name} is damaged or was changed" in check.detail


def test_an_unforeseen_failure_is_one_failed_line(monkeypatch):
    def explode(folder):
        raise MemoryError("no room")

    monkeypatch.setattr(checkpoints, "load_checkpoint", explode)
    check = setup_check.check_checkpoint()
    assert check.status == FAIL and check.detail == "could not load the checkpoint (MemoryError: no room)"


def test_data_replaced_by_a_folder_fails_with_the_fix(monkeypatch, tmp_path):
    _fake_asset(monkeypatch, tmp_path, None)
    (tmp_path / "corpus" / "fake.txt").mkdir(parents=True)
    (check,) = setup_check.check_data(["fake"])
    assert check.status == FAIL and "corpus/fake.txt is a folder" in check.detail and "make setup" in check.detail


# --------------------------------------------------------------------------- the report


def test_report_table_and_summary():
    good = SetupReport([Check("python", "Python", OK, "3.11.7"), Check("package", "numpy", WARN, "older")])
    assert good.ok and not good.failures
    assert "All 2 checks passed (1 warning" in str(good)
    lines = good.table().splitlines()
    assert lines[0].split() == ["area", "item", "status", "detail"]
    assert lines[2].split()[:3] == ["python", "Python", "ok"]

    bad = SetupReport([*good.checks, Check("data", "train", FAIL, "corpus/train.txt is missing")])
    assert not bad.ok and [c.item for c in bad.failures] == ["train"]
    assert "1 of 3 checks FAILED" in str(bad) and "FAIL" in bad.table()


def test_run_checks_good_and_failing(tiny_checkpoint, tmp_path):
    folder, _ = tiny_checkpoint
    report = setup_check.run_checks(packages={"numpy": "numpy"}, data_names=["val"], checkpoint=folder)
    assert report.ok, str(report)
    assert [c.area for c in report.checks] == ["python", "package", "data", "checkpoint"]
    report = setup_check.run_checks(packages={"numpy": "numpy"}, data_names=["val"], checkpoint=tmp_path / "nowhere")
    assert not report.ok and report.failures[0].area == "checkpoint"


def test_main_exit_status(monkeypatch, capsys):
    failing = SetupReport([Check("data", "train", FAIL, "missing")])
    monkeypatch.setattr(setup_check, "run_checks", lambda: failing)
    assert setup_check.main([]) == 1
    assert "FAILED" in capsys.readouterr().out
    monkeypatch.setattr(setup_check, "run_checks", lambda: SetupReport([Check("python", "Python", OK, "3.11")]))
    assert setup_check.main([]) == 0


def test_messages_hide_the_course_folder():
    check = setup_check.check_checkpoint(data.REPO_ROOT / "data" / "no-such-checkpoint")
    assert check.status == FAIL and "data/no-such-checkpoint does not exist" in check.detail
    assert str(data.REPO_ROOT) not in check.detail

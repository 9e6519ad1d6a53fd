"""What every checker test needs: a learner's unsolved stub, and one-line verdicts on a result."""

from __future__ import annotations


def stub(*args):
    """A function exactly as the student version leaves it: not written yet."""
    raise NotImplementedError()


def verdict(result, passed: bool, text: str = "") -> None:
    """The checker passed (or not) as expected, and its message says ``text``."""
    assert result.passed is passed, result.message
    assert text in result.message, result.message


def accepts_and_reports_stub(checker, right, capsys) -> None:
    """``checker`` passes a right answer (printing [PASSED]) and calls the stub not solved yet."""
    result = checker(right)
    assert result.passed, result.message
    assert "[PASSED]" in capsys.readouterr().out
    verdict(checker(stub), False, "not solved yet")

"""Tables of bad inputs: each case is a call, the exception it must raise, and what its message must say."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest


@dataclass
class Bad:
    label: str  # the test id: what is wrong with the input
    call: Callable[[], object]
    error: type[Exception]  # TypeError for the wrong kind of thing, ValueError for a wrong value
    argument: str  # the argument the message must name
    phrase: str  # what the message must say is wrong


def table(*cases: Bad) -> list:
    """The cases as pytest parameters named by their labels."""
    return [pytest.param(case, id=case.label) for case in cases]


def assert_refused(case: Bad) -> None:
    with pytest.raises(case.error) as info:
        case.call()
    message = str(info.value)
    assert case.argument in message, f"the message does not name {case.argument!r}: {message}"
    assert case.phrase in message, f"the message does not say {case.phrase!r}: {message}"

"""The real SmolLM2, loaded once per test module, for the tests of the readable model and of its fast path."""

import pytest

from course_lib import smollm


@pytest.fixture(scope="module")
def loaded():
    return smollm.load()


@pytest.fixture(scope="module")
def model(loaded):
    return loaded[0]


@pytest.fixture(scope="module")
def tok(loaded):
    return loaded[1]

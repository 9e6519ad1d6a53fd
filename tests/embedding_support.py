"""A toy embedding table whose answers can be worked out by hand (the ``toy`` fixture of conftest.py)."""

from __future__ import annotations

import numpy as np

TOY_VOCAB = ["a", "b", "c", "d"]
TOY_MATRIX = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0], [1.0, 1.0]])

"""course_lib: the tested helpers behind the course's notebooks.

Each module holds one idea (tokenizers, embeddings, attention, sampling, mlp, model, training,
plots, widgets, data) and ``checks`` holds the exercise checkers. Lessons import from here so
that every piece of logic exists once and is tested once.
"""

from __future__ import annotations

import random

__version__ = "0.1.0"


def seed_everything(seed: int = 0) -> None:
    """Seed Python, NumPy and (if imported) PyTorch, so a lesson prints the same numbers every run."""
    import numpy as np

    random.seed(seed)
    np.random.seed(seed)
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is a course dependency
        return
    torch.manual_seed(seed)

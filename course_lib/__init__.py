"""course_lib: the tested helpers behind the course's notebooks.

The package is in layers, and a module imports only from its own layer or those below it
(CONTRIBUTING.md draws the graph; ``tests/test_import_rule.py`` checks it):

0. infrastructure: ``arrays`` (input checks), ``data`` (verified files), ``saved_outputs``, ``bootstrap``;
1. the ideas, one module each: ``tokenizers``, ``embeddings``, ``attention``, ``mlp``, ``neurons``,
   ``sampling``, ``model``, ``model_numpy``, ``training``, ``checkpoints``, ``sizes``, ``toy_sort``,
   ``walkthrough``, and the real LLM in ``smollm/``. None of them draws or imports Matplotlib, ipywidgets or IPython;
2. drawing, ``show/``: the course's style, Matplotlib figures, SVG figures, alt text, the widget framework;
3. ``lessons/`` (one module of views per lesson), ``checks/`` (one checker per lesson) and ``teaching/``
   (student versions, the static site, the setup check, nbgrader).
"""

from __future__ import annotations

import random

__version__ = "0.1.0"


def seed_everything(seed: int = 0) -> None:
    """Seed Python, NumPy and (if imported) PyTorch, so a lesson prints the same numbers every run."""
    # Deferred on purpose: course_lib.bootstrap imports this package in a fresh Colab before the course's
    # packages are installed, so importing it must need nothing beyond the standard library.
    import numpy as np

    random.seed(seed)
    np.random.seed(seed)
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is a course dependency
        return
    torch.manual_seed(seed)

"""The environment in which the lessons' saved outputs are made and compared: one thread, the CPU.

A lesson uses the learner's cores and GPU (:func:`course_lib.training.use_cores`,
:func:`course_lib.training.pick_device`). The numbers it prints can then differ in their last digits
from one machine to another, since a sum split over several threads, or done on a GPU, is added up
in another order. The saved outputs are made, and re-checked by nbval, with these settings, which
the lessons read from the environment: the root ``conftest.py`` applies them to every test run (and
so to the notebook kernels nbval starts, which inherit the environment). This module imports
nothing, so it can be applied before PyTorch or NumPy is loaded, as it must be.
"""

from __future__ import annotations

import os
from collections.abc import MutableMapping

REPEATABLE = {
    "OMP_NUM_THREADS": "1",  # read by PyTorch and NumPy's BLAS when they load
    "COURSE_THREADS": "1",  # read by course_lib.training.lesson_threads
    "COURSE_DEVICE": "cpu",  # read by course_lib.training.pick_device for device="auto"
    # course_lib.teaching.your_work keeps and finds nothing: a lesson prints the fresh learner's messages
    # ("Using the course's ...") whatever was solved or trained before it, in whatever order lessons run.
    "COURSE_WORK_DIR": "off",
}


def make_repeatable(environ: MutableMapping[str, str] | None = None) -> None:
    """Set :data:`REPEATABLE` in ``environ`` (default: this process's environment, inherited by its kernels)."""
    (os.environ if environ is None else environ).update(REPEATABLE)

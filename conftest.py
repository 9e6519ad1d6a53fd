"""Every test run, of the unit tests or of a single notebook under nbval, computes as the saved outputs were.

One thread and the CPU (course_lib/saved_outputs.py says why). Set here, at the root, before anything
imports PyTorch, so that it also holds for ``pytest --nbval notebooks/08_training.ipynb`` alone, and
for the kernels nbval starts, which inherit this environment.
"""

from course_lib.saved_outputs import make_repeatable

make_repeatable()

"""Drive the course's notebooks in a real JupyterLab, in a real (headless) Chromium.

Everything a browser test needs, so each test only says what a learner does::

    with jupyterlab_session([NOTEBOOKS / "01_tokens.ipynb"]) as lab:
        page = lab.open("01_tokens.ipynb")
        lab.run_all(page)
        box = find_text_box(page, "Text", near=".course-token")
        ...
        print(lab.screenshot(page, "lesson01"))

``jupyterlab_session`` (:mod:`.session`) starts JupyterLab from this Python environment on 127.0.0.1 (a
free port, a random token), with a temporary root folder holding *copies* of the notebooks (the
repository's files are never touched), its own temporary config/data/runtime/settings folders (a
learner's own JupyterLab settings cannot change what the test sees), news, update checks and the
extension manager turned off, and ``window.jupyterapp`` exposed so the test can run JupyterLab's own
commands (:mod:`.server`). It launches Debian's Chromium through Playwright (never a downloaded
browser, :mod:`.chromium`) and always stops both.

Widgets are found the way a learner finds them (:mod:`.controls`): by their visible description (the
label left of an ipywidgets control) and, to tell apart two similar controls, by what their cell shows
(``near=".course-token"``: the cell whose output contains that element).

Controls are driven with the keyboard, as a keyboard-only learner would (``move_slider``/``step_slider``,
``step_dropdown``, ``toggle_checkbox``, ``press_button``, ``type_text``); ``accessibility_problems``
says when one cannot be reached with Tab or has no accessible name. ``timed_change`` (:mod:`.timing`)
times a control change to its updated output in the page's own clock; ``shown_view`` (:mod:`.views`)
and ``LabSession.fresh_view`` compare what the page shows with what a new copy of the widget, built in
the kernel, shows. :mod:`.lessons` lists what a learner does with every lesson's widgets.

The code that runs elsewhere is kept in real files, read when it is needed (:mod:`.scripts`): the
JavaScript evaluated in the page in ``js/``, the Python sent to a notebook's kernel in ``kernel/``.

Import the modules themselves (``from tests.browser.session import jupyterlab_session``): this file
imports none of them, so ``tests/conftest.py`` can reach the small :mod:`.chromium` without loading
the rest, and nothing here imports Playwright until a session starts.
"""

ACTION_TIMEOUT_MS = 30_000  # Playwright's wait for an element or an output


class BrowserTestError(AssertionError):
    """The notebook did not behave in the browser as the test expected (the message says how)."""

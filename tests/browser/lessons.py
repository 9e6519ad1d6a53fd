"""What a learner does with each lesson's widgets, and what each action should show: one list, two users.

``tests/test_browser_lessons.py`` performs every move once in a real JupyterLab and checks the output;
``benchmarks/widget_latency.py`` performs the same moves several times and reports how fast the output
follows. A lesson's entry names its notebook and its moves, in order (each move starts where the last
one left the widget):

    Move("slider", "Temperature", key="ArrowRight", shows=lambda v: [f"temperature T = {float(v['Temperature']):.2f}"])

A move's control is found by its kind and its visible label (``near``: CSS of something else in the
same cell, to tell apart two controls with the same label). ``shows`` receives every control's value in
that cell after the move (label -> value, :func:`.views.control_values`) and returns strings
the output must contain afterwards and did not contain before: the new temperature, the new word's
neighbours, the new prompt. Outputs that are only a figure are checked against the kernel instead
(``fresh``): the page must show exactly the image a new copy of the widget draws for those values.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from .controls import (
    accessibility_problems,
    cell_of,
    find_control,
    opposite_key,
    press_button,
    step_dropdown,
    step_slider,
    toggle_checkbox,
    type_text,
)
from .timing import START_EVENTS, TimedChange, timed_change
from .views import control_values

Values = dict[str, str | bool]


@dataclass(frozen=True)
class Move:
    """One thing a learner does to one control, and what the output next to it should then show."""

    kind: str  # "slider", "dropdown", "checkbox", "text" or "button"
    label: str  # the control's visible description
    near: str | None = None  # CSS of another element of the same cell, when two cells have this label
    key: str | None = None  # slider: the key to press; dropdown: "ArrowDown" (next option) or "ArrowUp"
    text: str | None = None  # text box: what to type (sent when the box loses focus)
    shows: Callable[[Values], Sequence[str]] | None = None  # new strings in the output, given the values after
    redraws: bool = False  # the move must change the cell's figure
    fresh: bool = True  # compare the whole output with a fresh copy of the widget built in the kernel
    repeat: bool = True  # the benchmark may do it again and undo it (False: a training run)
    timeout_s: float = 60.0  # how long the output may take to change
    until: str | None = None  # text the output shows once the action has finished (after a "working..." note)

    def __post_init__(self) -> None:
        needs = {"slider": "key", "dropdown": "key", "text": "text"}.get(self.kind)
        if needs and getattr(self, needs) is None:
            raise ValueError(f"a {self.kind} move needs {needs}=..., got none for {self.label!r}")

    @property
    def name(self) -> str:
        return f"{self.kind} {self.label!r}"


@dataclass(frozen=True)
class Lesson:
    notebook: str  # file name in notebooks/
    moves: tuple[Move, ...]
    run_all_timeout: float = 300.0  # seconds for Run All Cells (lesson 08 trains models; 09 loads SmolLM2)

    @property
    def id(self) -> str:
        return self.notebook.removesuffix(".ipynb")


# ----------------------------------------------------------------------------- what each output should say


def _forward_pass_prompt(values: Values) -> list[str]:
    """Lessons 00 and 07: the report's first line names the prompt and counts its tokens (one per character)."""
    prompt = values["Your prompt"]
    return [f"prompt: {prompt!r} -> {len(prompt)} tokens"]


def _dot_product(values: Values) -> list[str]:
    """Lesson 03: a · b = |a| |b| cos(angle between them), and the cosine, to two decimals."""
    between = math.radians(float(values["Angle of b (°)"]) - float(values["Angle of a (°)"]))
    length_a, length_b = float(values["Length of a"]), float(values["Length of b"])
    return [
        f"= {length_a * length_b * math.cos(between):+.2f}   (",
        f"cosine = a · b / (|a| |b|) = {math.cos(between):+.2f}",
    ]


def _plan_model(values: Values) -> list[str]:
    """Lesson 08: before anything trains, the plan names the chosen number of layers and width..."""
    layers = values["Layers"]
    return [f"model: {layers} layer{'' if layers == '1' else 's'} of width {values['Width']},"]


def _plan_rate(values: Values) -> list[str]:
    """...the learning rate..."""
    return [f"at learning rate {values['Learning rate']}\n"]


def _plan_steps(values: Values) -> list[str]:
    """...and the number of steps."""
    return [f"training: {values['Steps']} steps of"]


def _walkthrough_step(values: Values) -> list[str]:
    """Lessons 00 and 07: the walkthrough's detail names the step the slider shows."""
    return [f"Step {values['Step']} of "]


WALK = ".course-walk-machine"  # the walkthrough's drawing of the model
TOY = ".widget-text"  # lesson 04's hand-built head has a one-line "Sentence" box; the model explorer has none
MODEL = ".widget-dropdown"  # lesson 04's model explorer has the Layer and Head dropdowns

LESSONS: tuple[Lesson, ...] = (
    Lesson(
        "00_start_here.ipynb",
        (
            Move("text", "Your prompt", text="ROMEO.\nBut soft", shows=_forward_pass_prompt),
            # The walkthrough's step control (tests/test_browser_walkthrough.py checks every step's values
            # against the model's capture; a fresh copy would draw under another name, so no fresh check).
            Move("slider", "Step", near=WALK, key="ArrowRight", shows=_walkthrough_step, fresh=False),
        ),
    ),
    Lesson(
        "01_tokens.ipynb",
        (Move("slider", "Merges", key="ArrowRight", shows=lambda v: [f"{v['Merges']} merges:"]),),
    ),
    Lesson(
        "02_embeddings.ipynb",
        (
            Move("text", "Word", text="king", shows=lambda v: [f"closest to {v['Word']!r}"]),
            Move(
                "slider",
                "Neighbours (k)",
                key="ArrowRight",
                shows=lambda v: [f"The {v['Neighbours (k)']} entries closest to"],
            ),
            Move("slider", "Position", key="ArrowRight", shows=lambda v: [f"position {v['Position']}: "], redraws=True),
        ),
    ),
    Lesson(
        "03_dot_products.ipynb",
        (Move("slider", "Angle of b (°)", key="ArrowLeft", shows=_dot_product, redraws=True),),
    ),
    Lesson(
        "04_attention.ipynb",
        (
            Move("slider", "Query position", near=TOY, key="ArrowRight", redraws=True),
            Move("checkbox", "Causal mask", near=TOY, redraws=True),
            Move("checkbox", "Divide by √d_k", near=TOY, redraws=True),
            Move("dropdown", "Layer", near=MODEL, key="ArrowDown", redraws=True),
            Move("dropdown", "Head", near=MODEL, key="ArrowDown", redraws=True),
            Move("slider", "Query position", near=MODEL, key="ArrowRight", redraws=True),
            Move("checkbox", "Causal mask", near=MODEL, redraws=True),
            Move("checkbox", "Divide by √d_k", near=MODEL, redraws=True),
            Move(
                "text", "Your text", near=MODEL, text="But soft, what light through yonder window breaks?", redraws=True
            ),
        ),
    ),
    Lesson(
        "05_softmax_temperature.ipynb",
        (
            Move(
                "slider",
                "Temperature",
                key="ArrowRight",
                shows=lambda v: [f"temperature T = {float(v['Temperature']):.2f}"],
                redraws=True,
            ),
            Move("slider", "k (top-k)", key="ArrowRight", shows=lambda v: [f"top-k, k = {v['k (top-k)']}: keeps"]),
            Move(
                "slider",
                "p (top-p)",
                key="ArrowLeft",
                shows=lambda v: [f"top-p, p = {float(v['p (top-p)']):.2f}: keeps"],
                redraws=True,
            ),
            Move("text", "Prompt", text="To be, or not to be", redraws=True),
        ),
    ),
    Lesson(
        "06_mlp.ipynb",
        (
            Move("slider", "dark", key="ArrowRight", redraws=True),
            Move("slider", "noun", key="ArrowLeft", redraws=True),
            Move("dropdown", "Neuron", key="ArrowDown", redraws=True),
            Move("text", "Your text", text="JULIET.\nO Romeo, Romeo! wherefore art thou Romeo?", redraws=True),
        ),
    ),
    Lesson(
        "07_forward_pass.ipynb",
        (Move("text", "Your prompt", text="To be, or not to be", shows=_forward_pass_prompt),),
    ),
    Lesson(
        "08_training.ipynb",
        (
            Move("dropdown", "Layers", key="ArrowUp", shows=_plan_model),
            Move("dropdown", "Width", key="ArrowUp", shows=_plan_model),
            Move("dropdown", "Learning rate", key="ArrowUp", shows=_plan_rate),
            Move("slider", "Steps", key="Home", shows=_plan_steps),
            # The smallest run the playground allows (1 layer of width 32, 50 steps): it trains, then the
            # loss curves and the summary appear. Trained again in the kernel it would take as long: no fresh check.
            Move(
                "button",
                "Train",
                shows=lambda v: [f"after {v['Steps']} steps: training loss"],
                redraws=True,
                fresh=False,
                repeat=False,
                timeout_s=600.0,
                until="sample (T = 0.8)",  # in the run's summary only, not in its progress notes
            ),
        ),
        run_all_timeout=900.0,
    ),
    Lesson(
        "09_real_llm.ipynb",
        (
            Move("slider", "temperature T", key="ArrowRight", redraws=True),
            # From int8 up to float16. Not compared with a fresh copy: its speeds were measured when it was built.
            Move("dropdown", "precision", key="ArrowUp", redraws=True, fresh=False),
        ),
        run_all_timeout=600.0,
    ),
)


# ----------------------------------------------------------------------------- doing a move


@dataclass
class Outcome:
    """What one move did: the control's cell, every control's value after it, the timed change."""

    move: Move
    cell: object  # the cell's Locator
    values: Values
    change: TimedChange
    accessibility: list[str] = field(default_factory=list)  # problems found with the control (empty: none)

    @property
    def value(self) -> str | bool:
        return self.values.get(self.move.label, "")


def perform(page, move: Move, *, undo: bool = False, text: str | None = None) -> Outcome:
    """Do ``move`` with the keyboard, as a learner would, and time how long its output takes to follow.

    ``undo`` presses the opposite key (slider, dropdown) or toggles back (check box); a text move types
    ``text`` instead of the move's own text. Raises BrowserTestError if the output does not change.
    """
    control = find_control(page, move.kind, move.label, near=move.near)
    cell = cell_of(control)
    problems = accessibility_problems(control)
    start_events = START_EVENTS
    if move.kind == "slider":
        key = opposite_key(move.key) if undo else move.key

        def act():
            step_slider(control, key)
    elif move.kind == "dropdown":
        key = opposite_key(move.key) if undo else move.key
        start_events = ("change",)  # from the choice, not from opening the list

        def act():
            step_dropdown(control, key)
    elif move.kind == "checkbox":

        def act():
            toggle_checkbox(control)
    elif move.kind == "button":
        if undo:
            raise ValueError(f"a button cannot be undone ({move.name})")

        def act():
            press_button(control)
    else:  # a text box: type, then leave the box (when a continuous_update=False box sends its text)
        type_text(control, move.text if text is None else text, commit=False)
        start_events = ("focusout", "change")

        def act():
            control.evaluate("(el) => el.blur()")

    change = timed_change(cell, act, start_events=start_events, timeout_ms=move.timeout_s * 1000, until=move.until)
    return Outcome(move, cell, control_values(cell), change, problems)


def unexpected(outcome: Outcome) -> list[str]:
    """How the output after ``outcome`` differs from what its move's ``shows`` expects (empty: as expected)."""
    if outcome.move.shows is None:
        return []
    problems = []
    for expected in outcome.move.shows(outcome.values):
        if expected in outcome.change.before:
            problems.append(f"{expected!r} was already shown before the move")
        if expected not in outcome.change.after:
            problems.append(f"{expected!r} is not shown after the move")
    return problems

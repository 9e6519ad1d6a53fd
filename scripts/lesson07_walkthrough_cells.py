"""Append lesson 07's walkthrough cells (issue 16) to a notebook, or replace them if they are there already.

    .venv/bin/python scripts/lesson07_walkthrough_cells.py notebooks/07_forward_pass.ipynb
    .venv/bin/python scripts/lesson07_walkthrough_cells.py notebooks/07_forward_pass.ipynb --check

The cells: the walkthrough of one forward pass on the course's model (the widget, its storyboard for a
page read without a kernel, a checked cell); the toy sorter of ``course_lib.toy_sort`` trained in the
lesson, walked through, and its heads measured (what the numbers support, and a checked cell that holds
on any CPU); and the walkthrough on the learner's own model from lesson 08 with ``choose_model("yours")``.

Each cell carries the tag :data:`TAG` in its metadata and a fixed id: running the script again removes
every cell with the tag and appends the current ones, so it can be run any number of times. Nothing else
in the notebook changes. Outputs are left empty: execute the lesson afterwards
(``scripts/execute_notebooks.py``). ``--check`` changes nothing and exits with 1 when the notebook's
cells differ from these.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import nbformat

TAG = "issue16-walkthrough"  # marks the cells this script owns
IGNORE = "nbval-ignore-output"

MARKDOWN, CODE = "markdown", "code"

# (id, kind, source, extra tags), in order.
CELLS: list[tuple[str, str, str, tuple[str, ...]]] = [
    (
        "walk07-intro",
        MARKDOWN,
        """## The whole pass, one step at a time

Everything this lesson took apart, in one view: the course's model on a prompt, drawn as its parts in
the order it computes them, with the real shape of each part's output. **Forward ▶** and **◀ Back** (or the
arrow keys on the **Step** slider) move the highlight; each step shows its equation in one line, its input
and output numbers as coloured grids, and the lesson that explains it. **Append and repeat** adds the
chosen character and walks the next pass: generation is this pass in a loop. Every number shown is read
from the model's own capture of that pass: it is what was computed, not a redrawing.""",
        (),
    ),
    (
        "walk07-imports",
        CODE,
        """from course_lib.checkpoints import load_course_model
from course_lib.lessons.walkthrough import walkthrough_storyboard, walkthrough_widget
from course_lib.teaching.your_work import choose_model
from course_lib.toy_sort import SortTask, analyse_heads, sort_accuracy, sort_with_model, train_sorter
from course_lib.walkthrough import walk

walk_model, walk_tokenizer = load_course_model()
walk_prompt = "To be, or not\"""",
        (),
    ),
    ("walk07-widget", CODE, "walkthrough_widget(walk_model, walk_tokenizer, walk_prompt)", (IGNORE,)),
    (
        "walk07-story-note",
        MARKDOWN,
        """The same pass as still frames, for a page read without running the notebook (the course's web
pages show this):""",
        (),
    ),
    ("walk07-storyboard", CODE, "walkthrough_storyboard(walk_model, walk_tokenizer, walk_prompt)", (IGNORE,)),
    (
        "walk07-check-note",
        MARKDOWN,
        "Whatever your processor, the walk has the same steps and shapes:",
        (),
    ),
    (
        "walk07-checked",
        CODE,
        """tour = walk(walk_model, walk_tokenizer, walk_prompt)
print(f"{len(tour.steps)} steps for {walk_model.config.n_layer} blocks; the block's steps:")
print(", ".join(step.kind for step in tour.steps if step.layer == 0))
scores = tour.step("blocks.0.scores").outputs[0]
print(f"block 0's scores: {scores.symbols} = {scores.shape}; read from the capture: {scores.source}")
print("the chosen token is the most likely one:", tour.chosen_id == int(tour.probs.argmax()))""",
        (),
    ),
    (
        "walk07-toy-intro",
        MARKDOWN,
        """### A model small enough to read every number

The course's model has 128 numbers per position: too many to read one by one. The toy task of
`course_lib.toy_sort` needs far fewer: sort six letters from a three-letter alphabet, written as
`cabbca|aabbcc`. The model, a course GPT of 3 blocks, 3 heads and width 48 (about 85 thousand
parameters), reads `cabbca|` and writes the sorted letters one at a time. A fifth of the 729 possible
inputs is held out: the model never trains on them. Training takes a few seconds:""",
        (),
    ),
    (
        "walk07-toy-train",
        CODE,
        """task = SortTask()
sorter = train_sorter(task)  # 200 steps of AdamW on batches of 64, seeded
held_out_accuracy = sort_accuracy(sorter.model, task, sorter.held_out)
print(f"trained in {sorter.seconds:.1f} s; held-out inputs sorted exactly: {held_out_accuracy:.3f}")""",
        (IGNORE,),
    ),
    (
        "walk07-toy-checked",
        CODE,
        """print(f"{sorter.model.num_parameters():,} parameters")
print("sorts at least 95% of the held-out inputs:", held_out_accuracy >= 0.95)
print("cabbca ->", sort_with_model(sorter.model, task, ["cabbca"])[0])""",
        (),
    ),
    (
        "walk07-toy-walk-note",
        MARKDOWN,
        """Now the same walkthrough on the sorter. Each position is 48 numbers, and each head's pattern is a
7×7 grid you can read: at the last position, the separator `|`, the model must write the smallest letter
of the input.""",
        (),
    ),
    (
        "walk07-toy-widget",
        CODE,
        'walkthrough_widget(sorter.model, sorter.tokenizer, task.prompt("cabbca"))',
        (IGNORE,),
    ),
    (
        "walk07-heads-intro",
        MARKDOWN,
        """### Which head finds the smallest remaining letter?

A tempting story: one head looks at the smallest letter not yet written, and copies it. Two measurements
test it on the held-out inputs. *On next letter* is the attention weight a head puts on the input
positions holding the letter the model must write next, at every position that writes one; *even spread*
is what a head that spreads its attention evenly would score. *Accuracy without it* knocks the head out
(its output replaced by its average over the training inputs) and sorts the held-out inputs again.""",
        (),
    ),
    (
        "walk07-heads-table",
        CODE,
        """analysis = analyse_heads(sorter)
print(analysis.table())""",
        (IGNORE,),
    ),
    (
        "walk07-heads-checked",
        CODE,
        """best = analysis.sharpest
print("the best head looks at the next letter more than an even spread would:", best.score > best.baseline + 0.1)
print("but with well under all of its attention (no sharp 'smallest letter' head):", best.score < 0.6)
needed = analysis.needed()  # the heads whose knock-out costs 10 points of accuracy or more
print("some heads are needed, and all of them are in block 0:", bool(needed) and all(k.layer == 0 for k in needed))
print("any one head of blocks 1 and 2 can go at a cost under 2 points:", len(analysis.spare()) == 6)""",
        (),
    ),
    (
        "walk07-heads-conclusion",
        MARKDOWN,
        """The story does not survive the numbers. The heads that look most at the next letter are in block 0,
but none of them looks only there: the best puts about half its attention on it. The sorting needs
block 0's heads (without one of them the model gets many inputs wrong), while any single head of the
later blocks can be knocked out at no cost. So no single head "finds the smallest remaining letter":
the work is shared by heads of the first block, and the later blocks can cover for one another. Your
numbers may differ in their last digits on another processor; these conclusions do not.""",
        (),
    ),
    (
        "walk07-yours-intro",
        MARKDOWN,
        """### Your own model

The walkthrough works on any course model, the one you trained in lesson 08 too. `choose_model("yours")`
opens it (or, if you have not trained one yet, says so and gives the course's):""",
        (),
    ),
    (
        "walk07-yours",
        CODE,
        """your_model, your_tokenizer = choose_model("yours")
walkthrough_widget(your_model, your_tokenizer, walk_prompt)""",
        (IGNORE,),
    ),
]


def walkthrough_cells() -> list:
    """The cells, tagged with :data:`TAG`, with their fixed ids and empty outputs."""
    cells = []
    for cell_id, kind, source, tags in CELLS:
        make = nbformat.v4.new_markdown_cell if kind == MARKDOWN else nbformat.v4.new_code_cell
        cell = make(source, metadata={"tags": [TAG, *tags]})
        cell.id = cell_id
        cells.append(cell)
    return cells


def is_ours(cell) -> bool:
    return TAG in cell.get("metadata", {}).get("tags", [])


def with_walkthrough_cells(nb):
    """``nb`` with this script's cells removed wherever they are, and the current ones appended."""
    others = [cell for cell in nb.cells if not is_ours(cell)]
    taken = {cell.get("id") for cell in others}
    clash = sorted(taken & {cell_id for cell_id, *_ in CELLS})
    if clash:
        raise ValueError(f"the notebook already has untagged cells with this script's ids {clash}: rename them")
    nb.cells = others + walkthrough_cells()
    return nb


def _comparable(cells) -> list:
    return [(c.get("id"), c.cell_type, c.source, c.get("metadata", {}).get("tags", [])) for c in cells]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebook", type=Path, help="lesson 07's notebook")
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if the cells are not current")
    args = parser.parse_args(argv)
    if not args.notebook.is_file():
        parser.error(f"no notebook {args.notebook}")
    nb = nbformat.read(args.notebook, as_version=4)
    present = [cell for cell in nb.cells if is_ours(cell)]
    if args.check:
        current = _comparable(present) == _comparable(walkthrough_cells()) and nb.cells[-len(present) :] == present
        print(f"{args.notebook}: walkthrough cells {'current' if current else 'missing or out of date'}")
        return 0 if current else 1
    with_walkthrough_cells(nb)
    nbformat.validate(nb)
    nbformat.write(nb, args.notebook)
    action = "replaced" if present else "appended"
    print(f"{args.notebook}: {action} {len(CELLS)} walkthrough cells (tag {TAG!r}); execute it to fill their outputs")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Student versions: solutions become stubs the checkers recognise, and no solution text leaks."""

import base64
import re
from pathlib import Path

import nbformat
import pytest

from course_lib.checks import Case, check_function, check_value
from course_lib.teaching import student
from course_lib.teaching.student import (
    BEGIN,
    SolutionMarkerError,
    hidden_lines,
    make_student_versions,
    strip_solutions,
    stubbed_names,
    student_notebook,
)

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"

FUNCTION_CELL = """import numpy as np

def one_hot(ids, vocab_size):
    \"\"\"One row per id.\"\"\"
    ### BEGIN SOLUTION
    eye = np.eye(vocab_size)
    return eye[ids]
    ### END SOLUTION

print("defined")"""

TOP_LEVEL_CELL = """text = "Hi world"
### BEGIN SOLUTION
n_chars = len(text)
first, last = text[0], text[-1]
### END SOLUTION
check(n_chars)"""

MARKDOWN_CELL = """**Question.** Why divide by the square root of the dimension?

### BEGIN SOLUTION
Without it the dot products grow with the dimension and softmax saturates.
### END SOLUTION

The next cell checks it."""


def _notebook(*cells: tuple[str, str], **cell_fields) -> nbformat.NotebookNode:
    """A notebook of (cell type, source) pairs; cells get nbformat's random ids."""
    make = {
        "code": nbformat.v4.new_code_cell,
        "markdown": nbformat.v4.new_markdown_cell,
        "raw": nbformat.v4.new_raw_cell,
    }
    return nbformat.v4.new_notebook(cells=[make[kind](source, **cell_fields) for kind, source in cells])


def nbgrader_clear_solutions(source: str, cell_type: str) -> str:
    """What nbgrader 0.9's ClearSolutions does to one cell, as its source reads (independent of our code).

    Every line that contains "BEGIN SOLUTION" starts a region and is replaced by the stub,
    indented like that line; the lines up to and including the next line that contains
    "END SOLUTION" are dropped. Code cells get the Python stub, all other cells the text stub.
    """
    stub = ["# YOUR CODE HERE", "raise NotImplementedError()"] if cell_type == "code" else ["YOUR ANSWER HERE"]
    out, inside = [], False
    for line in source.split("\n"):
        if "BEGIN SOLUTION" in line:
            inside = True
            out += [re.match(r"\s*", line).group(0) + s for s in stub]
        elif "END SOLUTION" in line:
            inside = False
        elif not inside:
            out.append(line)
    return "\n".join(out)


# --- code cells ---------------------------------------------------------------------------------


def test_solution_inside_a_function_becomes_nbgraders_stub():
    stripped = strip_solutions(FUNCTION_CELL)
    assert "np.eye" not in stripped and "BEGIN SOLUTION" not in stripped
    assert "    # YOUR CODE HERE\n    raise NotImplementedError()" in stripped
    assert stripped.endswith('print("defined")')
    namespace: dict = {}
    exec(stripped, namespace)  # the stub still defines the function
    result = check_function("one_hot", namespace["one_hot"], lambda ids, n: ids, [Case(([0], 2))], quiet=True)
    assert not result.passed and "not solved yet" in result.message


def test_top_level_solution_leaves_each_assigned_name_for_the_learner():
    stripped = strip_solutions(TOP_LEVEL_CELL)
    assert "len(text)" not in stripped
    assert "n_chars = ...  # YOUR CODE HERE" in stripped
    assert "first = ...  # YOUR CODE HERE" in stripped and "last = ...  # YOUR CODE HERE" in stripped
    namespace: dict = {"check": lambda value: check_value("n_chars", value, 8, quiet=True)}
    exec(stripped.replace("check(n_chars)", "result = check(n_chars)"), namespace)
    assert "not solved yet" in namespace["result"].message


def test_a_top_level_stub_leaves_only_the_names_the_solution_binds():
    # `counts[word] += 1` binds nothing: stubbing `counts` and `word` (or `np` in `out[np.arange(2)]`)
    # would throw away the learner's dictionary or numpy itself, and every later cell would fail.
    loop = "counts = {}\n### BEGIN SOLUTION\nfor word in words:\n    counts[word] = counts.get(word, 0) + 1\n"
    loop += "total = sum(counts.values())\n### END SOLUTION\ncheck(total)"
    assert stubbed_names(loop) == {"word": "value", "total": "value"}
    assert "counts = {}\nword = ...  # YOUR CODE HERE\ntotal = ...  # YOUR CODE HERE\n" in strip_solutions(loop)
    with pytest.raises(SolutionMarkerError, match="line 2: a solution at the top level of a cell must assign"):
        strip_solutions("out = np.zeros(3)\n### BEGIN SOLUTION\nout[np.arange(2)] = 1\n### END SOLUTION")
    walrus_and_comprehension = "### BEGIN SOLUTION\nsquares = [k * k for k in range(3)]\n(n := len(squares))\n"
    assert stubbed_names(walrus_and_comprehension + "### END SOLUTION") == {"squares": "value", "n": "value"}


def test_cell_without_markers_is_unchanged():
    assert strip_solutions("x = 1\nprint(x)") == "x = 1\nprint(x)"


@pytest.mark.parametrize(
    "source, message",
    [
        ("### BEGIN SOLUTION\nx = 1", "line 1: '### BEGIN SOLUTION' has no"),
        ("x = 1\n### END SOLUTION", "line 2: '### END SOLUTION' without a"),
        ("def f():\n    ### BEGIN SOLUTION\n    ### BEGIN SOLUTION\n    ### END SOLUTION", "line 3: nested"),
        ("### END SOLUTION\n### BEGIN SOLUTION\nx = 1", "line 1: '### END SOLUTION' without a"),
        ("### BEGIN SOLUTION\nprint(1)\n### END SOLUTION", "must assign at least one name"),
        ("### BEGIN SOLUTION\n### END SOLUTION\ncheck(x)", "must assign at least one name"),  # empty
        ("### BEGIN SOLUTION\nx = = 1\n### END SOLUTION", "must be valid Python on its own"),
    ],
)
def test_broken_markers_are_reported(source, message):
    with pytest.raises(SolutionMarkerError, match=re.escape(message)):
        strip_solutions(source)


def test_an_empty_solution_inside_a_function_is_still_stubbed():
    source = 'def f(x):\n    """Return x."""\n    ### BEGIN SOLUTION\n    ### END SOLUTION'
    assert (
        strip_solutions(source)
        == 'def f(x):\n    """Return x."""\n    # YOUR CODE HERE\n    raise NotImplementedError()'
    )
    assert stubbed_names(source) == {"f": "function"}


def test_stubbed_names_says_what_each_stub_leaves_for_the_learner():
    assert stubbed_names(FUNCTION_CELL) == {"one_hot": "function"}
    assert stubbed_names(TOP_LEVEL_CELL) == {"n_chars": "value", "first": "value", "last": "value"}
    nested = "def outer():\n    def inner(x):\n        ### BEGIN SOLUTION\n        return x\n"
    nested += "        ### END SOLUTION\n    return inner"
    assert stubbed_names(nested) == {"inner": "function"}
    assert stubbed_names("x = 1") == {}


# --- what is exactly a marker, and what only mentions one ----------------------------------------

NEAR_MISSES = [
    "## BEGIN SOLUTION",
    "#### BEGIN SOLUTION",
    "# END SOLUTION",
    "### Begin Solution",
    "### begin solution",
    "###BEGIN SOLUTION",
    "### BEGIN  SOLUTION",
    "###  END SOLUTION",
    "### BEGIN\tSOLUTION",
    "### BEGIN\xa0SOLUTION",  # a no-break space, as pasted from a web page
    "### BEGIN_SOLUTION",
    "### BEGINSOLUTION",
    "### BEGIN SOLUTION (part a)",
    "### END SOLUTION.",
    "### END SOLUTIONS",
    "BEGIN SOLUTION",
]
TEXT_NEAR_MISSES = ["<!-- BEGIN SOLUTION -->", "**BEGIN SOLUTION**", "> ### END SOLUTION", "- END SOLUTION"]


@pytest.mark.parametrize("cell_type", ["code", "markdown", "raw"])
@pytest.mark.parametrize("near_miss", NEAR_MISSES + TEXT_NEAR_MISSES)
def test_a_line_meant_as_a_marker_but_not_exactly_one_is_an_error(near_miss, cell_type):
    # Copied as it is, the solution under it would be in the student version (nbgrader copies
    # `### Begin Solution` and takes `## BEGIN SOLUTION` as a marker: neither is safe to guess).
    indent = "    " if cell_type == "code" else ""
    source = f"def f(x):\n{indent}{near_miss}\n{indent}return x * 2\n{indent}### END SOLUTION"
    with pytest.raises(SolutionMarkerError, match=f"line 2: {re.escape(repr(near_miss))} looks like a solution marker"):
        strip_solutions(source, cell_type)
    with pytest.raises(SolutionMarkerError, match="looks like a solution marker"):
        hidden_lines(source, cell_type)


@pytest.mark.parametrize(
    "indent, marker",
    [
        ("    ", BEGIN),
        ("    ", BEGIN + "   "),
        ("\t", BEGIN),
        ("    ", BEGIN + "\r"),
        ("", BEGIN),
    ],
)
def test_indentation_and_trailing_spaces_do_not_stop_a_marker_being_exact(indent, marker):
    code = f"def f():\n{indent}{marker}\n{indent}return 1\n{indent}### END SOLUTION  "
    if not indent:
        code = f"{marker}\nanswer = 1\n### END SOLUTION \t"
    assert "1" not in strip_solutions(code)
    text = f"{indent}{marker}\nA.\n### END SOLUTION "
    assert strip_solutions(text, "markdown") == f"{indent}YOUR ANSWER HERE"


@pytest.mark.parametrize(
    "prose",
    [
        "Where a cell says `### BEGIN SOLUTION`, try to write the solution yourself first.",
        "`### BEGIN SOLUTION`",
        "- `### END SOLUTION` closes it",
        "| `### BEGIN SOLUTION` | starts a solution |",
        "The markers are ### BEGIN SOLUTION and ### END SOLUTION.",
        "Beginning a solution is the hard part.",
        "# The end",
    ],
)
def test_a_marker_mentioned_in_prose_is_left_alone(prose):
    for cell_type in ("markdown", "raw"):
        source = f"Intro.\n{prose}\nMore."
        assert strip_solutions(source, cell_type) == source
        assert hidden_lines(source, cell_type) == []


@pytest.mark.parametrize(
    "line",
    [
        'print("### BEGIN SOLUTION")',
        "x = 1  # ### END SOLUTION comes later",
        "# the ### BEGIN SOLUTION line below starts the answer",
        'HINT = "write between ### BEGIN SOLUTION and ### END SOLUTION"',
    ],
)
def test_a_marker_inside_a_string_or_a_longer_comment_is_code(line):
    source = f"{line}\ny = 2"
    assert strip_solutions(source) == source
    assert stubbed_names(source) == {}


def test_crlf_line_endings_are_kept_and_the_stub_runs():
    crlf = FUNCTION_CELL.replace("\n", "\r\n")
    stripped = strip_solutions(crlf)
    assert "np.eye" not in stripped
    assert "    # YOUR CODE HERE\r\n    raise NotImplementedError()\r\n" in stripped
    assert stripped.replace("\r\n", "\n") == strip_solutions(FUNCTION_CELL)
    assert stubbed_names(crlf) == {"one_hot": "function"}
    assert strip_solutions(TOP_LEVEL_CELL.replace("\n", "\r\n")).replace("\r\n", "\n") == strip_solutions(
        TOP_LEVEL_CELL
    )
    last_line = "### BEGIN SOLUTION\r\nSecret.\r\n### END SOLUTION"  # the END line ends the cell: no stray \r
    assert strip_solutions(last_line, "markdown") == "YOUR ANSWER HERE"
    assert hidden_lines(MARKDOWN_CELL.replace("\n", "\r\n"), "markdown") == hidden_lines(MARKDOWN_CELL, "markdown")


# --- markdown and raw cells ----------------------------------------------------------------------


@pytest.mark.parametrize("cell_type", ["markdown", "raw"])
def test_a_solution_in_markdown_or_raw_becomes_nbgraders_text_stub(cell_type):
    stripped = strip_solutions(MARKDOWN_CELL, cell_type)
    assert stripped == (
        "**Question.** Why divide by the square root of the dimension?\n\nYOUR ANSWER HERE\n\nThe next cell checks it."
    )
    assert hidden_lines(MARKDOWN_CELL, cell_type) == [
        "Without it the dot products grow with the dimension and softmax saturates."
    ]


TWO_FUNCTIONS = (
    "def f(x):\n    ### BEGIN SOLUTION\n    return x\n    ### END SOLUTION\n\n\n"
    "class A:\n    def g(self):\n        ### BEGIN SOLUTION\n        return 2\n        ### END SOLUTION\n"
)


@pytest.mark.parametrize(
    "cell_type, source",
    [
        *[
            (kind, source)
            for kind in ("markdown", "raw")
            for source in [
                MARKDOWN_CELL,
                "1. Why?\n   ### BEGIN SOLUTION\n   Because.\n   ### END SOLUTION\n2. Next.",  # indented, in a list
                "A\n### BEGIN SOLUTION\n### END SOLUTION\nB",  # empty: the stub marks where to answer
                "### BEGIN SOLUTION\none\n### END SOLUTION\nmiddle\n### BEGIN SOLUTION\ntwo\n### END SOLUTION",
                "```python\ndef f():\n    ### BEGIN SOLUTION\n    return 1\n    ### END SOLUTION\n```\nAfter.",
                "### BEGIN SOLUTION\n```python\nx = 1\n```\n### END SOLUTION",  # a fence inside the solution
                "Where a cell says `Do it`, do it.\n### BEGIN SOLUTION   \nDone.\n### END SOLUTION",
            ]
        ],
        ("code", FUNCTION_CELL),
        ("code", TWO_FUNCTIONS),
        ("code", 'def f(x):\n    """Return x."""\n    ### BEGIN SOLUTION\n    ### END SOLUTION'),
    ],
)
def test_same_result_as_nbgrader_where_the_markers_are_exact(cell_type, source):
    # Inside functions and in markdown and raw cells, a teacher gets the same student version from
    # both tools (at the top level of a code cell `make student` writes `name = ...` by design).
    assert strip_solutions(source, cell_type) == nbgrader_clear_solutions(source, cell_type)


def test_markers_inside_a_code_fence_are_markers_and_the_fence_stays_whole():
    source = "Like this:\n\n```python\ndef f():\n    ### BEGIN SOLUTION\n    return 1\n    ### END SOLUTION\n```"
    assert strip_solutions(source, "markdown") == "Like this:\n\n```python\ndef f():\n    YOUR ANSWER HERE\n```"


@pytest.mark.parametrize(
    "source, line",
    [
        ("### BEGIN SOLUTION\n```python\nx = 1\n### END SOLUTION\n```", 1),  # starts outside a fence, ends inside
        ("```\n### BEGIN SOLUTION\nx = 1\n```\n### END SOLUTION", 2),  # starts inside, ends outside
        ("```\n### BEGIN SOLUTION\n```\ntext\n~~~\n### END SOLUTION\n~~~", 2),  # in two different fences
    ],
)
def test_a_solution_across_a_code_fence_boundary_is_an_error(source, line):
    # Removing it would leave a fence open, and the rest of the cell would render as code.
    with pytest.raises(SolutionMarkerError, match=f"line {line}: the solution starts and ends in different places"):
        strip_solutions(source, "markdown")


def test_a_fence_needs_a_matching_closing_line():
    # ```` is closed by ```` (not ```), and ```x`y is not a fence: the solution is outside any fence.
    inside = "````\n```\n### BEGIN SOLUTION\nx\n### END SOLUTION\n````"
    assert strip_solutions(inside, "markdown") == "````\n```\nYOUR ANSWER HERE\n````"
    not_a_fence = "```x`y\n### BEGIN SOLUTION\nx\n### END SOLUTION"
    assert strip_solutions(not_a_fence, "markdown") == "```x`y\nYOUR ANSWER HERE"


@pytest.mark.parametrize(
    "source, message",
    [
        ("A\n### BEGIN SOLUTION\nsecret", "line 2: '### BEGIN SOLUTION' has no"),
        ("secret\n### END SOLUTION", "line 2: '### END SOLUTION' without a"),
        ("### BEGIN SOLUTION\n### BEGIN SOLUTION\n### END SOLUTION", "line 2: nested"),
    ],
)
def test_unbalanced_markers_in_markdown_are_reported(source, message):
    with pytest.raises(SolutionMarkerError, match=re.escape(message)):
        strip_solutions(source, "markdown")


# --- the generator refuses a stub that would stop "Run all" -------------------------------------


def test_a_solution_indented_outside_any_function_is_refused_by_the_generator():
    # Its stub would be a top-level `raise NotImplementedError()`, which stops "Run all".
    for opening in ("for i in range(3):", "if True:", "with open('f') as f:", "class Tokenizer:", "try:"):
        source = f"{opening}\n    ### BEGIN SOLUTION\n    x = 1\n    ### END SOLUTION"
        if opening == "try:":
            source += "\nexcept ValueError:\n    pass"
        with pytest.raises(SolutionMarkerError, match="line 2: the solution is indented but not inside a function"):
            student_notebook(_notebook(("code", source)))
        with pytest.raises(SolutionMarkerError, match="not inside a function"):
            stubbed_names(source)


STUBBED = "def f(x):\n    ### BEGIN SOLUTION\n    return x\n    ### END SOLUTION\n"


@pytest.mark.parametrize(
    "after, line",
    [
        ("print(f(1))", 5),
        ("y = [f(k) for k in range(3)]", 5),
        ("check.value(f(2))", 5),
        ("for k in range(2):\n    f(k)", 6),
        ("def g(x=f(0)):\n    return x", 5),  # a default is computed when g is defined
        ("try:\n    f(1)\nexcept ValueError:\n    pass", 6),  # does not catch NotImplementedError
        ("class A:\n    y = f(1)", 6),
    ],
)
def test_a_stubbed_function_called_when_its_cell_runs_is_refused(after, line):
    with pytest.raises(SolutionMarkerError, match=f"line {line}: calls f\\(\\), whose stub raises"):
        strip_solutions(STUBBED + after)


@pytest.mark.parametrize(
    "after",
    [
        "result = check.f(f)\nfn = f if result else check.reference('f')\nprint(fn(1))",
        "def g(x):\n    return f(x)",  # only runs when g is called
        "h = lambda x: f(x)",
        "try:\n    f(1)\nexcept NotImplementedError:\n    pass",
        "try:\n    f(1)\nexcept (ValueError, Exception):\n    pass",
        "### BEGIN SOLUTION\ny = f(1)\n### END SOLUTION",  # goes with the solution
        "g(1)",  # another function
    ],
)
def test_a_stubbed_function_that_only_the_checker_or_a_later_call_uses_is_fine(after):
    assert "raise NotImplementedError()" in strip_solutions(STUBBED + after)


def test_refusals_name_the_notebook_the_cell_and_the_line(tmp_path):
    nb = _notebook(("markdown", "# Lesson"), ("code", "x = 1"), ("code", "def f():\n    ## BEGIN SOLUTION\n    pass"))
    nb.cells[2].id = "cafe0123"
    nbformat.write(nb, tmp_path / "07_made_up.ipynb")
    with pytest.raises(SolutionMarkerError) as err:
        make_student_versions(tmp_path, tmp_path / "out")
    assert str(err.value).startswith("07_made_up.ipynb: cell 2 (id cafe0123, code), line 2: '## BEGIN SOLUTION' looks")
    assert not (tmp_path / "out" / "07_made_up.ipynb").exists()
    assert student.main([str(tmp_path), str(tmp_path / "out")]) == 1


# --- whole notebooks: outputs, widget state, attachments, metadata --------------------------------


def test_hidden_lines_are_the_solution_lines_only():
    assert hidden_lines(FUNCTION_CELL) == ["eye = np.eye(vocab_size)", "return eye[ids]"]
    assert hidden_lines(TOP_LEVEL_CELL) == ["n_chars = len(text)", "first, last = text[0], text[-1]"]


def test_student_version_drops_outputs_and_widget_state_that_show_the_solution():
    cell = nbformat.v4.new_code_cell(
        FUNCTION_CELL, execution_count=3, metadata={"execution": {"a": "b"}, "tags": ["t"]}
    )
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="eye = np.eye(vocab_size)\n")]
    solution = nbformat.v4.new_notebook(cells=[cell])
    solution.metadata["widgets"] = {"state": {"value": "return eye[ids]"}}
    # the check sees sources, outputs and widget state, not only sources
    assert student.solution_leaks(solution, solution) == [
        "notebook metadata: 'return eye[ids]'",
        "cell 0 source: 'eye = np.eye(vocab_size)'",
        "cell 0 source: 'return eye[ids]'",
        "cell 0 outputs: 'eye = np.eye(vocab_size)'",
    ]
    copy = student_notebook(solution)
    assert student.solution_leaks(solution, copy) == []
    assert copy.cells[0].outputs == [] and copy.cells[0].execution_count is None
    assert copy.cells[0].metadata == {"tags": ["t"]} and "widgets" not in copy.metadata
    assert solution.cells[0].outputs and "widgets" in solution.metadata  # the solution notebook is left alone


def test_student_version_clears_markdown_and_raw_solutions():
    solution = _notebook(("markdown", MARKDOWN_CELL), ("raw", MARKDOWN_CELL), ("code", FUNCTION_CELL))
    copy = student_notebook(solution)
    assert [c.source.count("YOUR ANSWER HERE") for c in copy.cells] == [1, 1, 0]
    assert [c.cell_type for c in copy.cells] == ["markdown", "raw", "code"]
    assert [c.id for c in copy.cells] == [c.id for c in solution.cells]
    assert student.solution_leaks(solution, copy) == []
    assert student.solution_leaks(solution, solution)[0] == (
        "cell 0 source: 'Without it the dot products grow with the dimension and softmax saturates.'"
    )


def _png(text: str) -> dict:
    return {"image/png": base64.b64encode(text.encode()).decode()}


def test_attachments_only_a_solution_shows_are_dropped():
    source = "Plot it.\n![axes](attachment:axes.png)\n### BEGIN SOLUTION\n![answer](attachment:answer%20plot.png)\n"
    source += '<img src="attachment:detail.png">\n### END SOLUTION'
    cell = nbformat.v4.new_markdown_cell(source)
    cell.attachments = {"axes.png": _png("axes"), "answer plot.png": _png("answer"), "detail.png": _png("detail")}
    solution = nbformat.v4.new_notebook(cells=[cell])
    copy = student_notebook(solution)
    kept_everything = nbformat.from_dict(copy)
    kept_everything.cells[0].attachments = cell.attachments  # as a generator that forgets them would leave it
    assert student.solution_leaks(solution, kept_everything) == [
        "cell 0 attachments: 'answer plot.png', shown only by a solution",
        "cell 0 attachments: 'detail.png', shown only by a solution",
    ]
    assert list(copy.cells[0].attachments) == ["axes.png"] and student.solution_leaks(solution, copy) == []
    only_answers = nbformat.v4.new_markdown_cell("### BEGIN SOLUTION\n![a](attachment:a.png)\n### END SOLUTION")
    only_answers.attachments = {"a.png": _png("a")}
    assert "attachments" not in student_notebook(nbformat.v4.new_notebook(cells=[only_answers])).cells[0]
    untouched = nbformat.v4.new_markdown_cell("No solution here.")
    untouched.attachments = {"unused.png": _png("kept as it is")}
    assert student_notebook(nbformat.v4.new_notebook(cells=[untouched])).cells[0].attachments == untouched.attachments


def test_leaks_are_found_in_every_part_of_the_student_version():
    solution = _notebook(("markdown", MARKDOWN_CELL), ("code", FUNCTION_CELL), ("raw", "Notes."))
    copy = student_notebook(solution)
    secret = "Without it the dot products grow with the dimension and softmax saturates."
    copy.cells[2].source = f"Recap: {secret}"
    copy.cells[1].metadata["notes"] = {"draft": "eye = np.eye(vocab_size)"}
    copy.cells[0].attachments = {"notes.txt": {"text/plain": base64.b64encode(b"return eye[ids] # see").decode()}}
    assert student.solution_leaks(solution, copy) == [
        "cell 0 attachments: 'return eye[ids]'",
        "cell 1 metadata: 'eye = np.eye(vocab_size)'",
        f"cell 2 source: {secret!r}",
    ]


def test_the_generator_refuses_a_student_version_that_would_still_show_a_solution(tmp_path):
    # The solution's line also stands in a later cell: the learner would read it there.
    nb = _notebook(("code", FUNCTION_CELL), ("markdown", "Compare with `eye = np.eye(vocab_size)`."))
    nbformat.write(nb, tmp_path / "03_made_up.ipynb")
    with pytest.raises(student.SolutionLeakError, match="03_made_up.ipynb: .*cell 1 source: 'eye = np.eye"):
        make_student_versions(tmp_path, tmp_path / "out")


def test_real_lessons_have_exercises_and_their_student_versions_leak_no_solution(tmp_path):
    written = make_student_versions(NOTEBOOKS, tmp_path)
    assert written, "no lessons found"
    for path in written:
        solution = nbformat.read(NOTEBOOKS / path.name, as_version=4)
        copy = nbformat.read(path, as_version=4)
        solution_code = [c.source for c in solution.cells if c.cell_type == "code"]
        assert len([s for s in solution_code if student.has_solution(s)]) >= 3, f"{path.name}: fewer than 3 exercises"
        leaked = student.solution_leaks(solution, copy)
        assert leaked == [], f"{path.name}: solution lines leak into the student version: {leaked[:3]}"
        code = [c for c in copy.cells if c.cell_type == "code"]
        assert all(not c.outputs and c.execution_count is None and "execution" not in c.metadata for c in code)
        assert "widgets" not in copy.metadata
        assert "YOUR CODE HERE" in "\n".join(c.source for c in code)
        for before, after in zip(solution.cells, copy.cells, strict=True):  # only solutions change
            if not student.has_solution(before.source, before.cell_type):
                assert after.source == before.source


def test_every_lesson_is_saved_executed_so_nbval_compares_real_outputs():
    # nbval only compares cells that have saved outputs: a lesson saved unexecuted would pass vacuously.
    for path in sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb")):
        code = [c for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code" and c.source.strip()]
        executed = [c for c in code if c.get("execution_count")]
        assert len(executed) == len(code), f"{path.name}: {len(code) - len(executed)} code cells were saved unexecuted"
        errors = [o for c in code for o in c.get("outputs", []) if o.get("output_type") == "error"]
        assert errors == [], f"{path.name} was saved with an error output"

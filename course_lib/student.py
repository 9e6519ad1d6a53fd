"""Make student versions of the lessons: every solution replaced by a stub, every output cleared.

Solutions sit between nbgrader's markers::

    def one_hot(ids, vocab_size):
        ### BEGIN SOLUTION
        return np.eye(vocab_size)[ids]
        ### END SOLUTION

Inside a function body the solution becomes nbgrader's own stub (``# YOUR CODE HERE`` and
``raise NotImplementedError()``), so the checker below it reports "not solved yet" instead of
the notebook crashing. At the top level of a cell, where raising would stop "Run all", each
name the solution assigns becomes ``name = ...  # YOUR CODE HERE``, which the checkers also
report as not solved. Teachers who use nbgrader can take the solution notebooks as they are.

    python -m course_lib.student notebooks/ build/student/
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

import nbformat

BEGIN = "### BEGIN SOLUTION"
END = "### END SOLUTION"
STUB_COMMENT = "# YOUR CODE HERE"


class SolutionMarkerError(ValueError):
    """The solution markers in a cell are unbalanced or nested."""


def _assigned_names(code: str) -> list[str]:
    """Names a top-level solution assigns, in order (``a = ...``, ``a, b = ...``, ``a += ...``)."""
    try:
        tree = ast.parse(code)
    except SyntaxError as err:
        raise SolutionMarkerError(f"a top-level solution must be valid Python on its own: {err}") from err
    names: list[str] = []
    for node in tree.body:
        targets = node.targets if isinstance(node, ast.Assign) else [getattr(node, "target", None)]
        for target in targets:
            for sub in ast.walk(target) if target is not None else []:
                if isinstance(sub, ast.Name) and sub.id not in names:
                    names.append(sub.id)
    if not names:
        raise SolutionMarkerError(
            "a solution at the top level of a cell must assign at least one name, so the student "
            "version can leave `name = ...` for the learner; put other solutions inside a function"
        )
    return names


def _solution_blocks(lines: list[str]) -> Iterator[tuple[int, int, str, str]]:
    """Each marked solution of a cell's lines: (index of BEGIN, index of END, indentation, body)."""
    i = 0
    while i < len(lines):
        line = lines[i]
        if END in line:
            raise SolutionMarkerError(f"'{END}' without a '{BEGIN}' before it (line {i + 1})")
        if BEGIN not in line:
            i += 1
            continue
        j = i + 1
        while j < len(lines) and END not in lines[j]:
            if BEGIN in lines[j]:
                raise SolutionMarkerError(f"nested '{BEGIN}' on line {j + 1}")
            j += 1
        if j == len(lines):
            raise SolutionMarkerError(f"'{BEGIN}' on line {i + 1} has no '{END}'")
        yield i, j, line[: len(line) - len(line.lstrip())], "\n".join(lines[i + 1 : j])
        i = j + 1


def strip_solutions(source: str) -> str:
    """Replace each marked solution in one cell's source by a stub, keeping the indentation."""
    lines = source.split("\n")
    out: list[str] = []
    done = 0  # lines before this index are already handled
    for begin, end, indent, body in _solution_blocks(lines):
        out += lines[done:begin]
        if indent:
            out += [indent + STUB_COMMENT, indent + "raise NotImplementedError()"]
        else:
            out += [f"{name} = ...  {STUB_COMMENT}" for name in _assigned_names(body)]
        done = end + 1
    return "\n".join(out + lines[done:])


def stubbed_names(source: str) -> dict[str, str]:
    """What the student version of one cell leaves for the learner: ``{name: kind}``, in order.

    The kind is ``"function"`` for a function whose body becomes the stub (calling it raises
    ``NotImplementedError``) and ``"value"`` for a name set to ``...``. A solution that is indented
    but not inside a function raises :class:`SolutionMarkerError`: its stub would stop "Run all".
    """
    names: dict[str, str] = {}
    functions = None
    for begin, _end, indent, body in _solution_blocks(source.split("\n")):
        if not indent:
            names.update(dict.fromkeys(_assigned_names(body), "value"))
            continue
        if functions is None:
            try:
                tree = ast.parse(source)
            except SyntaxError as err:
                raise SolutionMarkerError(
                    f"a cell with a solution inside a function must be valid Python: {err}"
                ) from err
            functions = [node for node in ast.walk(tree) if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)]
        around = [node for node in functions if node.lineno <= begin + 1 <= node.end_lineno]
        if not around:
            raise SolutionMarkerError(
                f"the solution on line {begin + 1} is indented but not inside a function, so its stub "
                "`raise NotImplementedError()` would stop the notebook; put it inside a function"
            )
        names[max(around, key=lambda node: node.lineno).name] = "function"
    return names


def hidden_lines(source: str) -> list[str]:
    """The non-blank lines of one cell's solutions, stripped: the text the student version must not show."""
    blocks = _solution_blocks(source.split("\n"))
    return [line.strip() for *_, body in blocks for line in body.split("\n") if line.strip()]


def has_solution(source: str) -> bool:
    return BEGIN in source


def student_notebook(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """A copy of ``nb`` with solutions stubbed and every trace of the solution run cleared.

    That is each code cell's outputs, execution count and timings, and the saved widget state
    (the sliders' last pictures and texts, which were computed with the solutions).
    """
    copy = nbformat.from_dict(nb)
    copy.metadata.pop("widgets", None)
    for cell in copy.cells:
        if cell.cell_type != "code":
            continue
        cell.source = strip_solutions(cell.source)
        cell.outputs = []
        cell.execution_count = None
        cell.metadata.pop("execution", None)
    return copy


def make_student_versions(source_dir: Path, target_dir: Path) -> list[Path]:
    """Write a student version of every lesson in ``source_dir`` into ``target_dir``."""
    notebooks = sorted(Path(source_dir).glob("[0-9][0-9]_*.ipynb"))
    if not notebooks:
        raise FileNotFoundError(f"no lesson notebooks (NN_name.ipynb) in {source_dir}")
    Path(target_dir).mkdir(parents=True, exist_ok=True)
    written = []
    for path in notebooks:
        nb = nbformat.read(path, as_version=4)
        try:
            student = student_notebook(nb)
        except SolutionMarkerError as err:
            raise SolutionMarkerError(f"{path.name}: {err}") from err
        target = Path(target_dir) / path.name
        nbformat.write(student, target)
        written.append(target)
    return written


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        print("usage: python -m course_lib.student SOURCE_DIR TARGET_DIR", file=sys.stderr)
        return 2
    try:
        written = make_student_versions(Path(args[0]), Path(args[1]))
    except (SolutionMarkerError, FileNotFoundError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    for path in written:
        print(f"  wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

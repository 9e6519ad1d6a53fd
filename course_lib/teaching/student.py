"""Make student versions of the lessons: every solution replaced by a stub, every output cleared.

Solutions sit between nbgrader's markers, each alone on its line::

    def one_hot(ids, vocab_size):
        ### BEGIN SOLUTION
        return np.eye(vocab_size)[ids]
        ### END SOLUTION

Inside a function body the solution becomes nbgrader's own stub (``# YOUR CODE HERE`` and
``raise NotImplementedError()``), so the checker below it reports "not solved yet" instead of
the notebook crashing. At the top level of a cell, where raising would stop "Run all", each
name the solution assigns becomes ``name = ...  # YOUR CODE HERE``, which the checkers also
report as not solved. In a markdown or raw cell the region becomes ``YOUR ANSWER HERE``, as
nbgrader writes it, and the attachments only the solution showed are dropped.

A line is a marker when, without its indentation and trailing spaces, it is exactly
``### BEGIN SOLUTION`` or ``### END SOLUTION``. A line that was surely meant as one but is not
(``## BEGIN SOLUTION``, ``### Begin Solution``, ``###BEGIN SOLUTION``, text after it...) is an
error, never copied: nbgrader would take some of those as markers and copy others with the
solution under them. A marker quoted in a sentence or in backticks, or written inside a Python
string, is text. The generator also refuses a solution whose stub would stop "Run all": one
indented outside any function, or a stubbed function called at the top level of its cell.

    python -m course_lib.teaching.student notebooks/ build/student/
"""

from __future__ import annotations

import ast
import base64
import binascii
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import unquote

if TYPE_CHECKING:
    import nbformat

BEGIN = "### BEGIN SOLUTION"
END = "### END SOLUTION"
STUB_COMMENT = "# YOUR CODE HERE"
CODE_STUB = (STUB_COMMENT, "raise NotImplementedError()")
TEXT_STUB = "YOUR ANSWER HERE"  # nbgrader's ClearSolutions.text_stub
TEXT_CELLS = ("markdown", "raw")

# "begin solution" or "end solution" in any case and spacing, with only comment or markup
# characters (#, *, _, >, -, /, %, <!--) before it on the line: meant as a marker.
_LOOKS_LIKE_A_MARKER = re.compile(r"(?:[#*_>/%\s-]|<!--)*(BEGIN|END)[\s_-]*SOLUTION", re.IGNORECASE)
_FENCE = re.compile(r"\s*(`{3,}|~{3,})(.*)$")
_ATTACHMENT = re.compile(r"attachment:([^\s)\"'>]+)")
# A `try` whose handler catches this lets a call of a stub inside it fail quietly.
_CATCHES_STUB = {"NotImplementedError", "RuntimeError", "Exception", "BaseException"}
SHORTEST_LEAK = 13  # solution lines this long or longer must not show anywhere: `return x` may


class StudentVersionError(ValueError):
    """A student version cannot be made without showing a solution or breaking "Run all"."""


class SolutionMarkerError(StudentVersionError):
    """A cell's markers are wrong (not exactly a marker, unbalanced, nested) or its stub would stop "Run all"."""


class SolutionLeakError(StudentVersionError):
    """A solution line would still show in the student version (in another cell, its metadata or attachments)."""


@dataclass(frozen=True)
class Region:
    """One marked solution: the indices of its two marker lines, the BEGIN line's indentation, the lines between."""

    begin: int
    end: int
    indent: str
    body: tuple[str, ...]


def _marker(line: str, number: int, cell_type: str) -> str:
    """``"begin"`` or ``"end"`` for an exact marker, ``""`` for any other line; raises for a near miss."""
    stripped = line.strip()
    if stripped in (BEGIN, END):
        return "begin" if stripped == BEGIN else "end"
    near_miss = _LOOKS_LIKE_A_MARKER.match(stripped)
    if near_miss:
        meant = BEGIN if near_miss[1].upper() == "BEGIN" else END
        raise SolutionMarkerError(
            f"line {number}: {stripped!r} looks like a solution marker but is not exactly {meant!r}; write the "
            "marker exactly, alone on its line, or, if it is text about the marker, "
            + ("quote it in backticks" if cell_type in TEXT_CELLS else "put it in a string or after other words")
        )
    return ""


def _fence_ids(lines: list[str]) -> list[int | None]:
    """For each markdown line, which code fence it belongs to (opening and closing lines included), or None."""
    ids: list[int | None] = []
    opened, count = "", 0  # the open fence's backticks or tildes, and how many fences so far
    for line in lines:
        fence = _FENCE.match(line)
        if not opened and fence and not (fence[1][0] == "`" and "`" in fence[2]):
            opened, count = fence[1], count + 1
            ids.append(count)
        elif opened:
            ids.append(count)
            if fence and fence[1][0] == opened[0] and len(fence[1]) >= len(opened) and not fence[2].strip():
                opened = ""
        else:
            ids.append(None)
    return ids


def solution_regions(source: str, cell_type: str = "code") -> list[Region]:
    """The marked solutions of one cell, in order; raises :class:`SolutionMarkerError` for wrong markers."""
    lines = source.split("\n")
    regions: list[Region] = []
    begin = None
    for i, line in enumerate(lines):
        kind = _marker(line, i + 1, cell_type)
        if kind == "begin" and begin is not None:
            raise SolutionMarkerError(
                f"line {i + 1}: nested '{BEGIN}' (the one on line {begin + 1} has no '{END}' yet)"
            )
        if kind == "begin":
            begin = i
        elif kind == "end" and begin is None:
            raise SolutionMarkerError(f"line {i + 1}: '{END}' without a '{BEGIN}' before it")
        elif kind == "end":
            indent = lines[begin][: len(lines[begin]) - len(lines[begin].lstrip())]
            regions.append(Region(begin, i, indent, tuple(lines[begin + 1 : i])))
            begin = None
    if begin is not None:
        raise SolutionMarkerError(f"line {begin + 1}: '{BEGIN}' has no '{END}'")
    if cell_type in TEXT_CELLS and regions:
        fences = _fence_ids(lines)
        for region in regions:
            if fences[region.begin] != fences[region.end]:
                raise SolutionMarkerError(
                    f"line {region.begin + 1}: the solution starts and ends in different places of a code fence "
                    "(```), so removing it would break the fence; put both markers inside the fence or both outside"
                )
    return regions


def _python(lines: list[str] | tuple[str, ...]) -> str:
    return "\n".join(line.removesuffix("\r") for line in lines)


def _assigned_names(region: Region) -> list[str]:
    """The names a top-level solution assigns in the cell, in order (``a = ...``, ``a, b = ...``, ``a += 1``)."""
    try:
        tree = ast.parse(_python(region.body))
    except SyntaxError as err:
        raise SolutionMarkerError(
            f"line {region.begin + 1}: a top-level solution must be valid Python on its own: {err}"
        ) from err
    found: list[tuple[int, int, str]] = []

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.Lambda):
                continue  # a body with its own names
            if isinstance(child, ast.ListComp | ast.SetComp | ast.DictComp | ast.GeneratorExp):
                continue
            if isinstance(child, ast.Name) and isinstance(child.ctx, ast.Store):
                found.append((child.lineno, child.col_offset, child.id))
            visit(child)

    visit(tree)
    names = list(dict.fromkeys(name for *_, name in sorted(found)))
    if not names:
        raise SolutionMarkerError(
            f"line {region.begin + 1}: a solution at the top level of a cell must assign at least one name "
            "(`name = ...`), so the student version can leave `name = ...` for the learner; put other "
            "solutions inside a function"
        )
    return names


def _stub_lines(lines: list[str], region: Region, stub: list[str]) -> list[str]:
    """``stub`` indented like the BEGIN line, each line ending (CRLF or LF) as the marker line it replaces."""
    begin_cr = "\r" if lines[region.begin].endswith("\r") else ""
    end_cr = "\r" if lines[region.end].endswith("\r") else ""
    return [region.indent + line + (end_cr if k == len(stub) - 1 else begin_cr) for k, line in enumerate(stub)]


def _replace(lines: list[str], regions: list[Region], stubs: list[list[str]]) -> tuple[list[str], list[int]]:
    """The lines with each region replaced by its stub, and for each new line the index of the line it comes from."""
    out: list[str] = []
    origin: list[int] = []
    done = 0  # lines before this index are already handled
    for region, stub in zip(regions, stubs, strict=True):
        out += lines[done : region.begin] + _stub_lines(lines, region, stub)
        origin += [*range(done, region.begin), *[region.begin] * len(stub)]
        done = region.end + 1
    return out + lines[done:], origin + list(range(done, len(lines)))


def _catches_stub(handler: ast.ExceptHandler) -> bool:
    types = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
    return handler.type is None or any(isinstance(t, ast.Name) and t.id in _CATCHES_STUB for t in types)


def _top_level_calls(node: ast.AST) -> list[ast.Call]:
    """Calls that run when the cell runs: not inside a function or lambda body, nor a `try` that catches a stub."""
    calls = []
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
            parts = [*child.decorator_list, *child.args.defaults, *(d for d in child.args.kw_defaults if d)]
            calls += [call for part in parts for call in _top_level_calls(ast.Expression(part))]
            continue
        if isinstance(child, ast.Lambda):
            continue
        if isinstance(child, ast.Try | ast.TryStar) and any(_catches_stub(h) for h in child.handlers):
            for part in [*child.handlers, *child.orelse, *child.finalbody]:
                calls += _top_level_calls(part)
            continue
        if isinstance(child, ast.Call):
            calls.append(child)
        calls += _top_level_calls(child)
    return calls


def _code_student(source: str) -> tuple[str, dict[str, str]]:
    """The student version of one code cell and what its stubs leave for the learner (see :func:`stubbed_names`)."""
    lines = source.split("\n")
    regions = solution_regions(source, "code")
    values = {region: _assigned_names(region) for region in regions if not region.indent}
    stubs = [
        [f"{name} = ...  {STUB_COMMENT}" for name in values[r]] if r in values else list(CODE_STUB) for r in regions
    ]
    new_lines, origin = _replace(lines, regions, stubs)
    functions = _stubbed_functions(new_lines, origin, [r for r in regions if r not in values])
    names: dict[str, str] = {}
    for region in regions:
        names.update(dict.fromkeys(values[region], "value") if region in values else {functions[region]: "function"})
    return "\n".join(new_lines), names


def _stubbed_functions(lines: list[str], origin: list[int], regions: list[Region]) -> dict[Region, str]:
    """The function whose body each indented solution's stub is, checking that no stub can stop "Run all".

    ``lines`` is the student version of the cell and ``origin`` the solution line each comes from.
    Where a stub's ``raise NotImplementedError()`` stands is clearest there, where it is a statement
    (in the solution the markers are comments, which the syntax tree leaves out).
    """
    if not regions:
        return {}
    try:
        tree = ast.parse(_python(lines))
    except SyntaxError as err:
        line = origin[min(err.lineno or 1, len(origin)) - 1] + 1
        raise SolutionMarkerError(
            f"line {line}: a cell with a solution inside a function must be valid Python: {err.msg}"
        ) from err
    defs = [node for node in ast.walk(tree) if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)]
    functions = {}
    for region in regions:
        raise_line = origin.index(region.begin) + len(CODE_STUB)  # 1-based line of the stub's `raise`
        around = [node for node in defs if node.lineno < raise_line <= node.end_lineno]
        if not around:
            raise SolutionMarkerError(
                f"line {region.begin + 1}: the solution is indented but not inside a function, so its stub "
                "`raise NotImplementedError()` would stop the notebook; put it inside a function"
            )
        functions[region] = max(around, key=lambda node: node.lineno).name
    for call in _top_level_calls(tree):
        if isinstance(call.func, ast.Name) and call.func.id in functions.values():
            raise SolutionMarkerError(
                f"line {origin[call.lineno - 1] + 1}: calls {call.func.id}(), whose stub raises NotImplementedError "
                "at the top level of the cell and stops the student's 'Run all'; call it only once its checker "
                f"passed (`fn = {call.func.id} if result else check.reference(...)`)"
            )
    return functions


def strip_solutions(source: str, cell_type: str = "code") -> str:
    """Replace each marked solution in one cell's source by a stub, keeping the indentation and line endings."""
    if cell_type == "code":
        return _code_student(source)[0]
    regions = solution_regions(source, cell_type)
    return "\n".join(_replace(source.split("\n"), regions, [[TEXT_STUB]] * len(regions))[0])


def stubbed_names(source: str) -> dict[str, str]:
    """What the student version of one code cell leaves for the learner: ``{name: kind}``, in order.

    The kind is ``"function"`` for a function whose body becomes the stub (calling it raises
    ``NotImplementedError``) and ``"value"`` for a name set to ``...``. A solution whose stub
    would stop "Run all" raises :class:`SolutionMarkerError`, as in :func:`strip_solutions`.
    """
    return _code_student(source)[1]


def hidden_lines(source: str, cell_type: str = "code") -> list[str]:
    """The non-blank lines of one cell's solutions, stripped: the text the student version must not show."""
    regions = solution_regions(source, cell_type)
    return [line.strip() for region in regions for line in region.body if line.strip()]


def has_solution(source: str, cell_type: str = "code") -> bool:
    return bool(solution_regions(source, cell_type))


def _attachment_names(text: str) -> set[str]:
    return {unquote(name) for name in _ATTACHMENT.findall(text)}


def _strip_text_cell(cell: nbformat.NotebookNode) -> None:
    """A markdown or raw cell's solutions become nbgrader's text stub; the pictures only they showed go too."""
    if not solution_regions(cell.source, cell.cell_type):
        return
    cell.source = strip_solutions(cell.source, cell.cell_type)
    if "attachments" in cell:
        kept = _attachment_names(cell.source)
        cell.attachments = {name: data for name, data in cell.attachments.items() if name in kept}
        if not cell.attachments:
            del cell["attachments"]


def student_notebook(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """A copy of ``nb`` with solutions stubbed and every trace of the solution run cleared.

    That is each code cell's outputs, execution count and timings, the saved widget state (the
    sliders' last pictures and texts, which were computed with the solutions), and the
    attachments only a markdown solution showed. Errors name the cell (index and id) and line.
    """
    # Deferred: nbformat brings jsonschema, about a second to import, and every lesson imports this
    # module (through your_work) for its markers alone.
    import nbformat

    copy = nbformat.from_dict(nb)
    copy.metadata.pop("widgets", None)
    for index, cell in enumerate(copy.cells):
        try:
            if cell.cell_type in TEXT_CELLS:
                _strip_text_cell(cell)
                continue
            if cell.cell_type != "code":
                continue
            cell.source = strip_solutions(cell.source)
        except SolutionMarkerError as err:
            raise SolutionMarkerError(f"cell {index} (id {cell.get('id', 'none')}, {cell.cell_type}), {err}") from err
        cell.outputs = []
        cell.execution_count = None
        cell.metadata.pop("execution", None)
    return copy


def _strings(node: object) -> list[str]:
    """Every string in a piece of notebook JSON, keys included."""
    if isinstance(node, str):
        return [node]
    if isinstance(node, dict):
        return [s for key, value in node.items() for s in [key, *_strings(value)]]
    if isinstance(node, list):
        return [s for value in node for s in _strings(value)]
    return []


def _attachment_texts(cell: nbformat.NotebookNode) -> list[str]:
    """The attachments' data as stored and, where it is base64 of text, decoded."""
    texts = _strings(cell.get("attachments", {}))
    for text in list(texts):
        try:
            texts.append(base64.b64decode(text, validate=True).decode("utf-8"))
        except (binascii.Error, UnicodeDecodeError):
            pass
    return texts


def solution_leaks(solution: nbformat.NotebookNode, student: nbformat.NotebookNode) -> list[str]:
    """Where ``student`` (a student version of ``solution``, executed or not) still shows a solution.

    Each entry names the place (a cell's source, outputs, attachments or metadata, or the
    notebook's metadata) and the solution line found there; solution lines shorter than
    ``SHORTEST_LEAK`` characters (``return x``) are not looked for, since they occur anywhere.
    An attachment that only a solution referred to is a leak too, whatever its content.
    """
    hidden = sorted(
        {
            line
            for cell in solution.cells
            if cell.cell_type in ("code", *TEXT_CELLS)
            for line in hidden_lines(cell.source, cell.cell_type)
            if len(line) >= SHORTEST_LEAK
        }
    )
    places = [("notebook metadata", _strings(student.metadata))]
    for i, cell in enumerate(student.cells):
        places += [
            (f"cell {i} source", [cell.source]),
            (f"cell {i} outputs", _strings(cell.get("outputs", []))),
            (f"cell {i} attachments", _attachment_texts(cell)),
            (f"cell {i} metadata", _strings(cell.metadata)),
        ]
    found = [f"{where}: {line!r}" for where, texts in places for line in hidden if any(line in t for t in texts)]
    for i, (sol, stu) in enumerate(zip(solution.cells, student.cells, strict=True)):
        if sol.cell_type not in TEXT_CELLS or "attachments" not in stu:
            continue
        shown_by_solutions = {
            name
            for region in solution_regions(sol.source, sol.cell_type)
            for name in _attachment_names("\n".join(region.body))
        }
        only_in_solutions = shown_by_solutions - _attachment_names(stu.source)
        found += [
            f"cell {i} attachments: {name!r}, shown only by a solution"
            for name in sorted(only_in_solutions & set(stu.attachments))
        ]
    return found


def make_student_versions(source_dir: Path, target_dir: Path) -> list[Path]:
    """Write a student version of every lesson in ``source_dir`` into ``target_dir``.

    Raises :class:`StudentVersionError` naming the notebook, cell and line when a lesson's
    markers are wrong, a stub would stop "Run all", or a solution line would still show.
    """
    import nbformat  # deferred, as in student_notebook

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
        leaks = solution_leaks(nb, student)
        if leaks:
            raise SolutionLeakError(
                f"{path.name}: the student version would still show a solution: " + "; ".join(leaks)
            )
        target = Path(target_dir) / path.name
        nbformat.write(student, target)
        written.append(target)
    return written


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        print("usage: python -m course_lib.teaching.student SOURCE_DIR TARGET_DIR", file=sys.stderr)
        return 2
    try:
        written = make_student_versions(Path(args[0]), Path(args[1]))
    except (StudentVersionError, FileNotFoundError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    for path in written:
        print(f"  wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The import graph of ``course_lib``, read from the source with ``ast`` (nothing is imported or run).

Each module belongs to a layer (:data:`LAYERS`); a module may import only from its own layer or the layers
below it. The graph is written as a Mermaid diagram (GitHub and most Markdown viewers draw it), one box
per layer, one arrow per import between two modules; arrows inside the lessons', checkers' and teaching
tools' folders are left out so that the picture stays readable (each of those modules imports only what
is below it, which the import-rule test checks).

    python scripts/import_graph.py            print the diagram
    python scripts/import_graph.py --write    put it into CONTRIBUTING.md, between the import-graph markers
    python scripts/import_graph.py --check    exit 1 if CONTRIBUTING.md's diagram is out of date
    python scripts/import_graph.py --stats    module sizes, imports inside functions, layer violations

``tests/test_import_rule.py`` uses :func:`module_imports`, :func:`layer_of` and :func:`violations`.
"""

from __future__ import annotations

import argparse
import ast
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "course_lib"
CONTRIBUTING = ROOT / "CONTRIBUTING.md"
BEGIN, END = "<!-- import-graph: begin (scripts/import_graph.py --write) -->", "<!-- import-graph: end -->"

#: Layer number -> (name, the modules or packages in it). A package name ("course_lib.show") covers
#: every module inside it. Lower layers never import from higher ones.
LAYERS: dict[int, tuple[str, tuple[str, ...]]] = {
    0: (
        "infrastructure",
        ("course_lib", "course_lib.arrays", "course_lib.data", "course_lib.saved_outputs", "course_lib.bootstrap"),
    ),
    1: (
        "ideas",
        (
            "course_lib.tokenizers",
            "course_lib.embeddings",
            "course_lib.attention",
            "course_lib.mlp",
            "course_lib.neurons",
            "course_lib.sampling",
            "course_lib.model",
            "course_lib.model_numpy",
            "course_lib.gpt_functional",
            "course_lib.training",
            "course_lib.speedrun",
            "course_lib.checkpoints",
            "course_lib.sizes",
            "course_lib.toy_sort",
            "course_lib.walkthrough",
            "course_lib.smollm",
        ),
    ),
    2: ("drawing", ("course_lib.show",)),
    3: ("lessons and teaching", ("course_lib.lessons", "course_lib.checks", "course_lib.teaching")),
}
#: Folders drawn as one box of their own, without the arrows between their modules.
FOLDED = ("course_lib.lessons", "course_lib.checks", "course_lib.teaching")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> dict[str, Path]:
    """Every module of the package, by dotted name."""
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _resolve(node: ast.ImportFrom, current: str, is_package: bool) -> str:
    if not node.level:
        return node.module or ""
    base = current.split(".")
    base = base if is_package else base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


@dataclass(frozen=True)
class Import:
    source: str
    target: str
    line: int
    in_function: bool


def _function_lines(tree: ast.AST) -> set[int]:
    """The ids of the import statements that sit inside a function."""
    inside = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            inside |= {id(sub) for sub in ast.walk(node) if isinstance(sub, ast.Import | ast.ImportFrom)}
    return inside


def imports_of(name: str, path: Path, known: set[str]) -> list[Import]:
    """Every import statement of one module (``known``: the package's modules, to tell a module from a name)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    inside = _function_lines(tree)
    found = []
    for node in ast.walk(tree):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = _resolve(node, name, path.name == "__init__.py")
            # `from course_lib import plots` imports the module course_lib.plots; `from x import name` imports x.
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names]
        for target in targets:
            found.append(Import(name, target, node.lineno, id(node) in inside))
    return found


def all_imports() -> list[Import]:
    found = modules()
    known = set(found)
    return [imp for name, path in found.items() for imp in imports_of(name, path, known)]


def module_imports() -> dict[str, set[str]]:
    """Module -> the package's modules it imports (at any depth in the file)."""
    known = set(modules())
    graph: dict[str, set[str]] = {name: set() for name in known}
    for imp in all_imports():
        if imp.target in known and imp.target != imp.source:
            graph[imp.source].add(imp.target)
    return graph


def layer_of(module: str) -> int | None:
    """The layer a module belongs to (the longest matching entry of :data:`LAYERS`), or None."""
    best, best_length = None, -1
    for number, (_, members) in LAYERS.items():
        for member in members:
            inside = module.startswith(member + ".") and member != "course_lib"  # the root holds only __init__
            if (module == member or inside) and len(member) > best_length:
                best, best_length = number, len(member)
    return best


def violations(graph: dict[str, set[str]] | None = None) -> list[str]:
    """Each import of a module from a layer above its own, or of a module that has no layer."""
    graph = module_imports() if graph is None else graph
    problems = []
    for source, targets in sorted(graph.items()):
        own = layer_of(source)
        if own is None:
            problems.append(f"{source} belongs to no layer: add it to LAYERS in scripts/import_graph.py")
            continue
        for target in sorted(targets):
            theirs = layer_of(target)
            if theirs is not None and theirs > own:
                problems.append(f"{source} (layer {own}) imports {target} (layer {theirs})")
    return problems


def _box(module: str) -> str:
    for folder in FOLDED:
        if module.startswith(folder + "."):
            return folder
    return module


def _node_id(module: str) -> str:
    return module.replace(".", "_")


def _label(module: str) -> str:
    short = module.removeprefix("course_lib.") if module != "course_lib" else "course_lib/__init__"
    if module in FOLDED:
        return short + "/*"
    return short


def mermaid(graph: dict[str, set[str]] | None = None) -> str:
    """The graph as a Mermaid flowchart: a subgraph per layer, lower layers at the bottom."""
    graph = module_imports() if graph is None else graph
    boxes = sorted({_box(m) for m in graph})
    lines = ["```mermaid", "flowchart BT"]
    by_layer: dict[int | None, list[str]] = {}
    for box in boxes:
        by_layer.setdefault(layer_of(box), []).append(box)
    for number in sorted(by_layer, key=lambda n: -1 if n is None else n):
        title = "no layer" if number is None else f"layer {number}: {LAYERS[number][0]}"
        lines.append(f'  subgraph L{"x" if number is None else number}["{title}"]')
        lines += [f'    {_node_id(box)}["{_label(box)}"]' for box in by_layer[number]]
        lines.append("  end")
    edges = sorted({(_box(s), _box(t)) for s, targets in graph.items() for t in targets if _box(s) != _box(t)})
    lines += [f"  {_node_id(s)} --> {_node_id(t)}" for s, t in edges]
    lines.append("```")
    return "\n".join(lines) + "\n"


def _write(text: str, check: bool) -> int:
    contributing = CONTRIBUTING.read_text(encoding="utf-8")
    if BEGIN not in contributing or END not in contributing:
        print(f"{CONTRIBUTING.name} has no import-graph markers ({BEGIN} ... {END})", file=sys.stderr)
        return 1
    head, rest = contributing.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    updated = f"{head}{BEGIN}\n{text}{END}{tail}"
    if check:
        if updated != contributing:
            print("CONTRIBUTING.md's import graph is out of date: run python scripts/import_graph.py --write")
            return 1
        return 0
    CONTRIBUTING.write_text(updated, encoding="utf-8")
    return 0


def stats() -> str:
    sizes = sorted(((len(p.read_text(encoding="utf-8").splitlines()), n) for n, p in modules().items()), reverse=True)
    in_function = [imp for imp in all_imports() if imp.in_function]
    lines = [f"largest module: {sizes[0][1]} ({sizes[0][0]} lines)"]
    lines.append("modules over 600 lines: " + (", ".join(f"{n} ({s})" for s, n in sizes if s > 600) or "none"))
    lines.append(f"import statements inside functions: {len({(i.source, i.line) for i in in_function})}")
    lines += [f"  {i.source}:{i.line} {i.target}" for i in sorted(in_function, key=lambda i: (i.source, i.line))]
    problems = violations()
    lines.append(f"layer violations: {len(problems)}")
    lines += [f"  {p}" for p in problems]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--write", action="store_true", help="update CONTRIBUTING.md")
    group.add_argument("--check", action="store_true", help="fail if CONTRIBUTING.md is out of date")
    group.add_argument("--stats", action="store_true", help="sizes, in-function imports, violations")
    args = parser.parse_args(argv)
    if args.stats:
        print(stats())
        return 0
    if args.write or args.check:
        return _write(mermaid(), check=args.check)
    print(mermaid(), end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())

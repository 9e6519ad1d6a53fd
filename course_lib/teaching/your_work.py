"""Your work: the pieces of a GPT you write in the lessons, and the model you train, kept for later lessons.

The exercises ask you to write the parts of a GPT: multi-head attention (lesson 04), the sampling
filters (05), the MLP (06), the whole forward pass and its KV cache (07), the training loop (08).
When a piece's checker passes, the course keeps it: the function's source, with the functions of
yours it calls and the imports it needs, in a file of its own under ``my_work/`` (for example
``my_work/multi_head_attention.py``), which you can open and read. A later lesson asks for the piece
by name with :func:`use`. It gets your function when you kept one that still passes its checker,
and the course's own version otherwise, and it always says which of the two it is using. Lesson 08
keeps the model you train (:func:`keep_model`); lessons 04 to 07 open it with :func:`choose_model`.

The folder is ``my_work/`` in the course folder, or the one ``COURSE_WORK_DIR`` names.
``COURSE_WORK_DIR=off`` keeps and finds nothing: the tests and the lessons' saved outputs are made
that way, so a lesson prints the same whatever was solved before it.
"""

from __future__ import annotations

import datetime
import importlib
import importlib.util
import inspect
import os
import symtable
import textwrap
import types
from collections.abc import Callable
from pathlib import Path

from course_lib.checkpoints import CheckpointError, load_checkpoint, load_course_model, save_checkpoint
from course_lib.data import REPO_ROOT
from course_lib.teaching.student import BEGIN, END

__all__ = [
    "KeepError",
    "choose_model",
    "keep",
    "keep_if_passed",
    "keep_model",
    "kept_path",
    "source_of",
    "use",
    "work_dir",
]

OFF = "off"
LOADED_PREFIX = "your_work_"  # the module name of a kept file use() loaded: your_work_mlp for my_work/mlp.py
MODEL_FOLDER = "model"  # my_work/model/: the checkpoint lesson 08 keeps
_CONSTANTS = (bool, int, float, complex, str, bytes, type(None))


class KeepError(ValueError):
    """A function cannot be kept on its own: it uses something of the notebook that is not code or a number."""


def work_dir() -> Path | None:
    """Where your work is kept, or None when ``COURSE_WORK_DIR=off``."""
    setting = os.environ.get("COURSE_WORK_DIR", "")
    if setting.strip().lower() == OFF:
        return None
    return Path(setting).expanduser() if setting else REPO_ROOT / "my_work"


def kept_path(name: str) -> Path | None:
    """The file that holds your kept ``name`` (it may not exist yet), or None when keeping is off."""
    folder = work_dir()
    if not name.isidentifier():
        raise ValueError(f"name must be a Python name such as 'multi_head_attention', got {name!r}")
    return None if folder is None else folder / f"{name}.py"


# --------------------------------------------------------------------------- a function as a file


def _globals_used(source: str) -> list[str]:
    """Names the function in ``source`` reads from the module level, in order of first appearance."""
    names: list[str] = []

    def walk(table: symtable.SymbolTable) -> None:
        for child in table.get_children():
            for symbol in child.get_symbols():
                if symbol.is_global() and symbol.is_referenced() and symbol.get_name() not in names:
                    names.append(symbol.get_name())
            walk(child)

    walk(symtable.symtable(source, "<your function>", "exec"))
    return names


def _import_line(name: str, obj: object) -> str | None:
    """The import that gives ``name`` the object ``obj`` in a fresh module, or None if there is none."""
    if isinstance(obj, types.ModuleType):
        module = obj.__name__
        return f"import {module}" if name == module else f"import {module} as {name}"
    module, qualname = getattr(obj, "__module__", None), getattr(obj, "__qualname__", None)
    if not module or not qualname or module == "__main__" or "." in qualname:
        return None
    try:
        found = getattr(importlib.import_module(module), qualname)
    except (ImportError, AttributeError):
        return None
    if found is not obj:
        return None
    return f"from {module} import {qualname}" + ("" if name == qualname else f" as {name}")


def _is_constant(value: object) -> bool:
    if isinstance(value, tuple | frozenset):
        return all(_is_constant(v) for v in value)
    return isinstance(value, _CONSTANTS)


def source_of(fn: Callable) -> str:
    """A module's text that defines ``fn`` on its own: its imports, constants, your helpers, then ``fn``.

    Functions of yours that ``fn`` calls (defined in the notebook) come along, each once, before the
    functions that call them. Modules and library functions become imports; numbers and strings
    become assignments. Anything else the function reads from the notebook (an array, a model) cannot
    be kept and raises :class:`KeepError` naming it: pass it as an argument instead.
    """
    if not inspect.isfunction(fn):
        raise TypeError(f"fn must be a function written with def, got {type(fn).__name__}")
    imports: list[str] = []
    constants: list[str] = []
    functions: list[str] = []
    aliases: list[str] = []
    seen: set[str] = set()

    def visit(f: types.FunctionType) -> None:
        if f.__name__ == "<lambda>":
            raise KeepError("a lambda cannot be kept: write the function with `def`")
        if f.__name__ in seen:
            return
        seen.add(f.__name__)
        try:
            source = textwrap.dedent(inspect.getsource(f))
        except (OSError, TypeError) as err:
            raise KeepError(f"the source of {f.__name__} cannot be found ({err}); define it in a cell") from err
        for name in _globals_used(source):
            if name not in f.__globals__:
                continue  # a builtin such as len or range
            value = f.__globals__[name]
            if inspect.isfunction(value) and (value.__module__ == f.__module__ or _kept_module(value)):
                visit(value)  # another function of yours: written next to this one, or one you kept before
                if name != value.__name__:  # e.g. `mlp` in the notebook is your kept `my_mlp`
                    aliases.append(f"{name} = {value.__name__}")
            elif (line := _import_line(name, value)) is not None:
                if line not in imports:
                    imports.append(line)
            elif _is_constant(value):
                constants.append(f"{name} = {value!r}")
            else:
                raise KeepError(
                    f"{f.__name__} reads `{name}`, a {type(value).__name__} of the notebook, which cannot be "
                    "kept in a file: pass it to the function as an argument instead"
                )
        functions.append(source.rstrip() + "\n")

    visit(fn)
    parts = [
        "\n".join(imports),
        "\n".join(dict.fromkeys(constants)),
        "\n\n".join(functions),
        "\n".join(dict.fromkeys(aliases)),
    ]
    return "\n\n\n".join(p for p in parts if p) + "\n"


def keep(name: str, fn: Callable, *, lesson: str) -> Path | None:
    """Keep your ``fn`` as ``my_work/<name>.py`` for later lessons; the file's path, or None when keeping is off."""
    path = kept_path(name)
    if path is None:
        return None
    # The lesson's solution markers are for making student versions; the kept file is the learner's code only.
    body = "".join(line for line in source_of(fn).splitlines(keepends=True) if line.strip() not in (BEGIN, END))
    if fn.__name__ != name:
        body += f"\n\n{name} = {fn.__name__}\n"
    stamp = datetime.date.today().isoformat()
    header = f'"""Your {name}, written in lesson {lesson} and kept on {stamp} when its checker passed."""\n\n'
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(header + body)
    return path


def keep_if_passed(result, name: str, fn: Callable, *, lesson: str, used_in: str):
    """A checker's last step: keep ``fn`` when ``result`` passed, print one line saying where; returns ``result``.

    ``used_in`` says what will use it ("lesson 07's GPT"). A function that cannot be kept on its own
    (it reads an array of the notebook, say) still passes; the line says why it was not kept.
    """
    if not result:
        return result
    try:
        path = keep(name, fn, lesson=lesson)
    except KeepError as err:
        print(f"Not kept for {used_in}: {err}.")
        return result
    if path is not None:
        print(f"Kept as {_shown(path)}: {used_in} uses it.")
    return result


def _kept_module(fn: Callable) -> bool:
    """Whether ``fn`` comes from a file of ``my_work/`` that :func:`use` loaded (its source is there to copy)."""
    return getattr(fn, "__module__", "").startswith(LOADED_PREFIX)


def _load(path: Path, name: str) -> Callable:
    spec = importlib.util.spec_from_file_location(f"{LOADED_PREFIX}{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    fn = getattr(module, name)
    if not callable(fn):
        raise TypeError(f"{path.name} defines {name}, but it is a {type(fn).__name__}, not a function")
    return fn


def use(name: str, reference: Callable, *, lesson: str, check: Callable | None = None) -> Callable:
    """Your kept ``name`` if it still passes ``check`` (called as ``check(fn, quiet=True)``), else ``reference``.

    Prints one line saying which is in use, and why when it is the course's version.
    """
    path = kept_path(name)
    if path is None or not path.is_file():
        print(f"Using the course's {name}: solve lesson {lesson}'s exercise and yours is used here.")
        return reference
    try:
        fn = _load(path, name)
    except Exception as err:  # a file the learner edited by hand, say: report it, never crash the lesson
        print(f"Using the course's {name}: your {path.name} could not be loaded ({type(err).__name__}: {err}).")
        return reference
    if check is not None and not check(fn, quiet=True):
        print(f"Using the course's {name}: your kept version in {path.name} no longer passes its check.")
        return reference
    print(f"Using your {name} from lesson {lesson} ({_shown(path)}).")
    return fn


def _shown(path: Path) -> str:
    try:
        return str(path.relative_to(REPO_ROOT))
    except ValueError:
        return str(path)


# --------------------------------------------------------------------------- your model


def keep_model(model, tokenizer, *, train_log: dict | None = None) -> Path | None:
    """Save the model you trained as ``my_work/model/`` (safetensors, config, log); None when keeping is off."""
    folder = work_dir()
    if folder is None:
        return None
    return save_checkpoint(folder / MODEL_FOLDER, model, tokenizer, train_log=train_log)


def choose_model(which: str = "course"):
    """``(model, tokenizer)``: the course's trained model (``"course"``) or yours from lesson 08 (``"yours"``).

    Prints which model is in use; asks for yours before it exists, and you get the course's, with a note.
    """
    if which not in ("course", "yours"):
        raise ValueError(f"which must be 'course' or 'yours', got {which!r}")
    if which == "yours":
        folder = work_dir()
        if folder is not None and (folder / MODEL_FOLDER).is_dir():
            try:
                model, tokenizer = load_checkpoint(folder / MODEL_FOLDER)
            except CheckpointError as err:
                print(f"Your model could not be opened ({err}); using the course's model instead.")
            else:
                shown = _shown(folder / MODEL_FOLDER)
                print(f"Using your model from lesson 08 ({shown}): {model.num_parameters():,} parameters.")
                return model, tokenizer
        else:
            print("You have not trained a model in lesson 08 yet: using the course's model.")
    model, tokenizer = load_course_model()
    print(f"Using the course's model: {model.num_parameters():,} parameters.")
    return model, tokenizer

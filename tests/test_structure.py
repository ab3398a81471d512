"""The shape of the code, read from its syntax trees (nothing of the app is imported): short classes and
functions, dependencies that point one way, a GUI that uses the engine's public face only, a short README, and
no reference to a design file the repository does not hold.

Each check names its offenders as ``file:line: name`` so that a failure says where to look.
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: The folders whose Python is held to the size limits.
PYTHON_FOLDERS = ("composer_app", "models", "tests", "scripts")
MAX_CLASS_LINES = 350
MAX_FUNCTION_LINES = 80
MAX_README_CHARS = 15_000
#: Spelled in two parts so that this file does not mention it itself.
MISSING_DESIGN_FILE = "DESIGN" + ".md"


def python_files(*folders: str) -> list[Path]:
    return sorted(path for folder in folders for path in (ROOT / folder).rglob("*.py")
                  if "__pycache__" not in path.parts)


@cache
def tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def shown(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else path.name


def where(path: Path, node: ast.AST, name: str) -> str:
    return f"{shown(path)}:{node.lineno}: {name}"


def lines(node: ast.AST) -> int:
    return node.end_lineno - node.lineno + 1


def longer_than(kinds: tuple[type, ...], limit: int) -> list[str]:
    return [where(path, node, f"{node.name} ({lines(node)} lines)")
            for path in python_files(*PYTHON_FOLDERS) for node in ast.walk(tree(path))
            if isinstance(node, kinds) and lines(node) > limit]


def imported_modules(path: Path) -> list[tuple[ast.AST, str]]:
    """Every module ``path`` imports (at any depth: inside functions too), as an absolute dotted name;
    ``from package import name`` also yields ``package.name``, since ``name`` may be a module."""
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
    found = []
    for node in ast.walk(tree(path)):
        if isinstance(node, ast.Import):
            found += [(node, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[:len(package.split(".")) - (node.level - 1)]
                base = ".".join([*parent, base] if base else parent)
            found.append((node, base))
            found += [(node, f"{base}.{alias.name}") for alias in node.names]
    return found


def imports_of(paths: list[Path], forbidden: str) -> list[str]:
    return sorted({where(path, node, name) for path in paths for node, name in imported_modules(path)
                   if name == forbidden or name.startswith(forbidden + ".")})


def test_no_class_is_longer_than_350_lines():
    too_long = longer_than((ast.ClassDef,), MAX_CLASS_LINES)
    assert not too_long, f"classes over {MAX_CLASS_LINES} lines:\n" + "\n".join(too_long)


def test_no_function_is_longer_than_80_lines():
    too_long = longer_than((ast.FunctionDef, ast.AsyncFunctionDef), MAX_FUNCTION_LINES)
    assert not too_long, f"functions over {MAX_FUNCTION_LINES} lines:\n" + "\n".join(too_long)


def test_models_import_nothing_of_the_app():
    found = imports_of(python_files("models"), "composer_app")
    assert not found, "models/ imports app code:\n" + "\n".join(found)


def test_checkpoints_import_nothing_of_training():
    found = imports_of([ROOT / "composer_app" / "checkpoints.py"], "composer_app.training")
    assert not found, "loading a checkpoint depends on the trainer:\n" + "\n".join(found)


def is_engine(node: ast.AST) -> bool:
    """``engine``, ``self.engine``, ``window.live_engine``...: an expression naming the engine."""
    name = node.id if isinstance(node, ast.Name) else node.attr if isinstance(node, ast.Attribute) else ""
    return name.endswith("engine")


def reaches_engine(node: ast.AST) -> bool:
    """Whether the engine is on the way to ``node`` (``self.engine.synth`` goes through it)."""
    while True:
        if is_engine(node):
            return True
        if not isinstance(node, ast.Attribute | ast.Subscript | ast.Call):
            return False
        node = node.func if isinstance(node, ast.Call) else node.value


def is_private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def engine_privates(path: Path) -> list[str]:
    """``engine._x`` (and ``self.engine.part._x``), and ``getattr/hasattr/setattr(engine..., "_x")``."""
    found = []
    for node in ast.walk(tree(path)):
        if isinstance(node, ast.Attribute) and is_private(node.attr) and reaches_engine(node.value):
            found.append(where(path, node, ast.unparse(node)))
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
              and node.func.id in ("getattr", "hasattr", "setattr", "delattr") and len(node.args) >= 2
              and isinstance(node.args[1], ast.Constant) and isinstance(node.args[1].value, str)
              and is_private(node.args[1].value) and reaches_engine(node.args[0])):
            found.append(where(path, node, f"{node.func.id}({ast.unparse(node.args[0])}, {node.args[1].value!r})"))
    return sorted(found, key=lambda hit: int(hit.split(":")[1]))


def test_the_gui_reads_no_private_of_the_engine():
    found = [hit for path in python_files("composer_app/gui") for hit in engine_privates(path)]
    assert not found, "the GUI reads engine privates:\n" + "\n".join(found)


def test_the_engine_privates_check_sees_the_ways_in(tmp_path):
    """The check above finds what it is meant to find (and nothing the GUI may do)."""
    sample = tmp_path / "sample.py"
    sample.write_text("def f(self, engine):\n"
                      "    engine._stepper.count\n"
                      "    self.engine.synth._fs\n"
                      "    getattr(self.engine, '_audio_args', None)\n"
                      "    self.engine.take.__len__()\n"
                      "    self._engine_ready, self.window._busy, engine.take\n")
    found = engine_privates(sample)
    assert [hit.split(": ", 1)[1] for hit in found] == [
        "engine._stepper", "self.engine.synth._fs", "getattr(self.engine, '_audio_args')"]
    assert found[0].startswith("sample.py:2: ")


def test_the_readme_is_short():
    size = len((ROOT / "README.md").read_text(encoding="utf-8"))
    assert size < MAX_README_CHARS, f"README.md:1: README.md has {size} characters (at most {MAX_README_CHARS})"


def test_no_python_file_cites_a_design_file_the_repository_does_not_hold():
    found = [f"{shown(path)}:{number}: {line.strip()[:80]}"
             for path in python_files(*PYTHON_FOLDERS) + sorted(ROOT.glob("*.py"))
             for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
             if MISSING_DESIGN_FILE in line]
    assert not found, f"files citing {MISSING_DESIGN_FILE}:\n" + "\n".join(found)


#: The factors from nanoseconds to seconds, milliseconds and microseconds.
NS_FACTORS = {1e9: "s", 1e6: "ms", 1e3: "us"}


def names_in(node: ast.AST) -> list[str]:
    return [n.id if isinstance(n, ast.Name) else n.attr for n in ast.walk(node) if isinstance(n, ast.Name | ast.Attribute)]


def time_factors(path: Path) -> list[str]:
    """A product or quotient written by hand between nanoseconds and another unit: ``1e9`` beside a name in
    ``_ns`` or ``_s`` (``(t_ns - t0_ns) / 1e9``, ``int(LEAD_S * 1e9)``), ``1e6`` or ``1000`` beside a name in
    ``_ns`` (``step_ns / 1000``). A size in MB, a ``-1e9`` penalty or seconds shown as ms are no hit."""
    found = []
    for node in ast.walk(tree(path)):
        if not (isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mult | ast.Div | ast.FloorDiv)):
            continue
        for factor, other in ((node.right, node.left), (node.left, node.right)):
            if not (isinstance(factor, ast.Constant) and type(factor.value) in (int, float)
                    and factor.value in NS_FACTORS):
                continue
            units = {name.lower().rsplit("_", 1)[-1] for name in names_in(other) if "_" in name}
            if "ns" in units or (factor.value == 1e9 and "s" in units):
                found.append(where(path, node, ast.unparse(node)))
    return sorted(found, key=lambda hit: int(hit.split(":")[1]))


def test_time_units_are_converted_in_one_place():
    """Nanoseconds become seconds (and back) through ``composer_app.clock`` only: no factor written by hand."""
    found = [hit for path in python_files("composer_app") if path.name != "clock.py" for hit in time_factors(path)]
    assert not found, "hand-written time conversions (use composer_app.clock):\n" + "\n".join(found)


def test_the_time_factor_check_sees_a_conversion(tmp_path):
    """The check above finds what it is meant to find, and not a size in MB or a large penalty."""
    sample = tmp_path / "sample.py"
    sample.write_text("a = (t_ns - self.t0_ns) / 1e9\nb = int(LEAD_S * 1e9)\nc = step_ns / 1000\n"
                      "d = size_bytes / 1e6\ne = -1e9\nf = latency_s * 1000\ng = (time.perf_counter_ns() - t0) / 1000.0\n")
    assert [hit.split(": ", 1)[1] for hit in time_factors(sample)] == [
        "(t_ns - self.t0_ns) / 1000000000.0", "LEAD_S * 1000000000.0", "step_ns / 1000",
        "(time.perf_counter_ns() - t0) / 1000.0"]


def melody_columns(path: Path) -> list[str]:
    """Where a melody is read as a bare ``(n, 3)`` array: a column taken by position from a name that says melody
    or notes (``melody[:, 2]``, ``notes[i, 0]``), a parameter of that name typed ``np.ndarray``, or a function
    that makes a melody (``…melody``, ``melody_from…``) returning one."""
    found = []
    for node in ast.walk(tree(path)):
        if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Tuple) and len(node.slice.elts) == 2:
            column = node.slice.elts[1]
            said = {name.lower() for name in names_in(node.value)}
            if isinstance(column, ast.Constant) and column.value in (0, 1, 2) \
                    and any("melod" in name or "notes" in name for name in said):
                found.append(where(path, node, ast.unparse(node)))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            typed = [(a.arg, a.annotation) for a in node.args.args + node.args.kwonlyargs
                     if "melod" in a.arg or a.arg == "notes"]
            if node.name.endswith("melody") or node.name.startswith("melody_from"):  # what makes a melody
                typed.append((node.name, node.returns))
            for name, annotation in typed:
                if annotation is not None and "ndarray" in ast.unparse(annotation):
                    found.append(where(path, node, f"{name}: {ast.unparse(annotation)}"))
    return found


def test_melodies_pass_between_modules_as_notes():
    """A melody goes from one module to another as a ``composer_app.notes.Notes``, whose fields have names, not
    as an array whose third column someone must remember is the pitch."""
    found = [hit for path in python_files("composer_app", "scripts") for hit in melody_columns(path)]
    assert not found, "melodies as bare arrays (use composer_app.notes.Notes):\n" + "\n".join(found)


def test_the_melody_check_sees_a_bare_array(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text("import numpy as np\n\ndef to_melody(x) -> np.ndarray:\n    return x\n\n"
                      "def play(melody: np.ndarray, rows: np.ndarray):\n    a = melody[:, 2]\n    b = self.notes[0, 1]\n"
                      "    c = rows[:, 2]\n    d = melody.pitches[1:]\n")
    assert [hit.split(": ", 1)[1] for hit in melody_columns(sample)] == [
        "to_melody: np.ndarray", "melody: np.ndarray", "melody[:, 2]", "self.notes[0, 1]"]

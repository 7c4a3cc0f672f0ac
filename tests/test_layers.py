"""Lower layers never import upper ones (docs/architecture.md)."""

from __future__ import annotations

import ast
import gc
from pathlib import Path

from support.corpus import REPO

SRC = REPO / "src" / "msuinspect"

# lowest first; a module may import its own layer and any layer before it
LAYERS: list[set[str]] = [
    {"errors", "findings", "limits", "source", "userfile", "__version__", "data"},
    {"cab"},
    {"cms"},
    {"authenticode"},
    {"package"},
    {"host", "servicing"},
    {"verdict", "status"},
    {"api"},
    {"scan"},
    # msuinspect/__init__ re-exports the public names of every layer (lazily)
    {"report", "cli", "__main__", "__init__"},
]


def _layer_of(top: str) -> int:
    for i, names in enumerate(LAYERS):
        if top in names:
            return i
    raise AssertionError(f"msuinspect.{top} is in no layer of tests/test_layers.py")


def _top(path: Path) -> str:
    rel = path.relative_to(SRC)
    return rel.parts[0].removesuffix(".py")


def _parse(path: Path) -> ast.Module:
    """``ast.parse`` with the garbage collector held off: on CPython 3.11 a finaliser that
    runs while the AST is being built (an event loop left by an earlier test, say) fails the
    parse with "AST constructor recursion depth mismatch"."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        return ast.parse(path.read_text(encoding="utf-8"))
    finally:
        if enabled:
            gc.enable()


def _is_module(name: str) -> bool:
    """``from msuinspect import limits`` imports a module, not a public name."""
    return (SRC / f"{name}.py").is_file() or (SRC / name / "__init__.py").is_file()


def _imported_tops(path: Path) -> set[str]:
    tree = _parse(path)
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
            if node.module == "msuinspect":
                # the package's public names live in msuinspect/__init__ (the api layer);
                # __version__ is the one name the lowest layer may take from there
                names = [
                    f"msuinspect.{a.name}"
                    if a.name == "__version__" or _is_module(a.name)
                    else "msuinspect.__init__"
                    for a in node.names
                ]
        else:
            continue
        for name in names:
            parts = name.split(".")
            if parts[0] == "msuinspect" and len(parts) > 1:
                found.add(parts[1])
    return found


def test_no_module_imports_an_upper_layer() -> None:
    modules = sorted(SRC.rglob("*.py"))
    assert modules
    wrong = []
    for path in modules:
        own = _layer_of(_top(path))
        for top in _imported_tops(path):
            if _layer_of(top) > own:
                wrong.append(f"{path.relative_to(SRC)} imports msuinspect.{top}")
    assert wrong == []


def test_relative_imports_are_not_used() -> None:
    """Relative imports would hide cross-layer imports from the check above."""
    for path in sorted(SRC.rglob("*.py")):
        tree = _parse(path)
        rel = [n.lineno for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.level]
        assert rel == [], f"{path.relative_to(SRC)}: relative import at lines {rel}"


def test_codec_modules_import_no_other_codec() -> None:
    """The decoder backends import only the interface (``base``) and ``synthetic``; only
    the registry imports the backends, so no codec module imports another in a circle."""
    codecs = SRC / "cab" / "codecs"
    shared = {"base", "synthetic"}
    wrong = []
    for path in sorted(codecs.glob("*.py")):
        if path.stem in ("__init__", "registry"):
            continue
        tree = _parse(path)
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module:
                mod = node.module.split(".")
                if mod[:3] == ["msuinspect", "cab", "codecs"] and len(mod) > 3:
                    if mod[3] not in shared:
                        wrong.append(f"{path.name} imports {node.module}")
                elif node.module == "msuinspect.cab.codecs":
                    wrong.append(f"{path.name} imports {node.module}")
    assert wrong == []


def test_list_and_extract_do_not_load_the_upper_layers() -> None:
    """`msuinspect list` starts without the signature, package, host and scan layers: the
    other commands are imported when they run (msuinspect.cli._LazyGroup)."""
    import subprocess
    import sys

    code = (
        "import sys, msuinspect.cli; "
        "print(sorted({m.split('.')[1] for m in sys.modules "
        "if m.startswith('msuinspect.') and m.count('.') >= 1}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = set(ast.literal_eval(out.stdout))
    assert not loaded & {"api", "authenticode", "package", "host", "verdict", "scan", "status"}


def test_cli_imports_only_the_public_api_and_report() -> None:
    """The command line is a client of the library: it imports names from ``msuinspect``
    (the public API, docs/architecture.md), the report layer and its own modules."""
    wrong = []
    for path in sorted((SRC / "cli").glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module:
                module = node.module
            elif isinstance(node, ast.Import):
                module = node.names[0].name
            else:
                continue
            if not module.startswith("msuinspect"):
                continue
            if module == "msuinspect" or module.startswith(("msuinspect.report", "msuinspect.cli")):
                continue
            wrong.append(f"{path.name} imports {module}")
    assert wrong == []


def test_inspect_without_a_host_does_not_load_the_verdict() -> None:
    """The host verdict, the host layer and the servicing knowledge base are loaded only
    when a host is given: ``msuinspect inspect FILE`` starts without them (start-up time of
    every inspection, issue 10)."""
    import subprocess
    import sys

    fixture = Path(__file__).parent / "fixtures" / "cab" / "signed_dual_sha1_then_sha256.cab"
    code = (
        "import sys\n"
        "from msuinspect.cli import main\n"
        "try:\n"
        f"    main(['inspect', '--fail-on', 'never', {str(fixture)!r}])\n"
        "except SystemExit:\n"
        "    pass\n"
        "print(sorted({m.split('.')[1] for m in sys.modules "
        "if m.startswith('msuinspect.') and m.count('.') >= 1}), file=sys.stderr)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = set(ast.literal_eval(out.stderr.strip().splitlines()[-1]))
    assert {"api", "package", "authenticode"} <= loaded
    assert not loaded & {"host", "verdict", "servicing", "status"}

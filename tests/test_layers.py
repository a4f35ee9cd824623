"""The package's layers (DEVELOPERS.md, "Layout and data flow"), read from the imports themselves.

A module may import its own package and the layers below it, never a layer
above nor a peer package of its own layer: data flows one way, and the pure
core never learns about files, processes or the command line.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "shuffle_big"

# lowest first; names in one row are peers that must not import each other
LAYERS = [
    ["errors", "signals", "sizes", "progress"],
    ["core"],
    ["storage"],
    ["inputs", "outputs"],
    ["modes", "run"],
    ["config"],
    ["manifest"],
    ["api"],
    ["gnu_syntax"],
    ["cli"],
    ["__init__", "__main__"],
]
LEVEL = {unit: level for level, units in enumerate(LAYERS) for unit in units}


def unit_of(module: str) -> str:
    """The layer unit of a dotted module name below shuffle_big: its subpackage, or its top-level module."""
    return module.split(".")[0] if module else "__init__"


def modules() -> dict[str, Path]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(PACKAGE).with_suffix("").parts)
        if parts[-1] == "__init__" and len(parts) > 1:
            parts.pop()
        found[".".join(parts)] = path
    return found


def internal_imports(module: str, path: Path) -> list[tuple[int, str]]:
    """(line, dotted target below shuffle_big) for every import of the package's own modules, lazy ones too."""
    is_package = path.name == "__init__.py"
    here = module.split(".") if module != "__init__" else []
    base = here if is_package else here[:-1]
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                anchor = base[: len(base) - (node.level - 1)]
                target = ".".join([*anchor, *([node.module] if node.module else [])])
                # ``from . import fs`` imports module fs; ``from . import __version__`` imports from the package
                known = modules()
                names = [f"{target}.{a.name}".lstrip(".") for a in node.names]
                names = [name if name in known else target for name in names]
            elif node.module and (node.module + ".").startswith("shuffle_big."):
                names = [node.module.removeprefix("shuffle_big").lstrip(".")]
            else:
                continue
            found += [(node.lineno, name) for name in names]
        elif isinstance(node, ast.Import):
            found += [(node.lineno, a.name.removeprefix("shuffle_big.")) for a in node.names if a.name.startswith("shuffle_big.")]
    return found


def test_every_module_has_a_layer():
    assert {unit_of(m) for m in modules()} <= set(LEVEL), "place the new module in LAYERS and in DEVELOPERS.md"


@pytest.mark.parametrize("module", sorted(modules()))
def test_imports_go_down_the_layers(module):
    unit = unit_of(module)
    wrong = []
    for line, target in internal_imports(module, modules()[module]):
        to = unit_of(target)
        if to == unit or target == "":  # its own package, or the package's version/errors at the top
            continue
        if LEVEL[to] >= LEVEL[unit]:
            wrong.append(f"line {line}: {module} imports {target} ({to} is not below {unit})")
    assert not wrong, "\n".join(wrong)


def test_the_check_catches_an_import_against_the_layers(tmp_path, monkeypatch):
    """The test bites: a core module importing storage, and a peer importing its peer, are both caught."""
    fake = tmp_path / "shuffle_big"
    (fake / "core").mkdir(parents=True)
    for sub in ("inputs", "outputs", "storage"):
        (fake / sub).mkdir()
    (fake / "storage" / "fs.py").write_text("")
    (fake / "outputs" / "sinks.py").write_text("")
    (fake / "core" / "keys.py").write_text("from ..storage import fs\n")
    (fake / "inputs" / "reader.py").write_text("from ..outputs.sinks import Output\nfrom ..core.keys import keys_of\n")
    monkeypatch.setattr(sys.modules[__name__], "PACKAGE", fake)
    assert [t for _, t in internal_imports("core.keys", fake / "core" / "keys.py")] == ["storage.fs"]
    with pytest.raises(AssertionError, match="core.keys imports storage.fs"):
        test_imports_go_down_the_layers("core.keys")
    with pytest.raises(AssertionError, match="inputs.reader imports outputs.sinks") as caught:
        test_imports_go_down_the_layers("inputs.reader")
    assert "core.keys" not in str(caught.value)  # a lower layer is fine

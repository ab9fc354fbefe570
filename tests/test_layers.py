"""The layers: the service reaches the models through the interface and the runtime only, and the
import contracts of pyproject.toml hold (import-linter)."""

import ast
from pathlib import Path

import codesuggest

PACKAGE = Path(codesuggest.__file__).parent
ALLOWED = ("codesuggest.models.interface", "codesuggest.models.runtime")


def _imports(source: str, package: str) -> set[str]:
    """Absolute names of what ``source`` (a module of ``package``) imports, relative imports resolved."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package.rsplit(".", node.level - 1)[0] if node.level else ""
            module = ".".join(p for p in (base, node.module or "") if p)
            found.update(f"{module}.{alias.name}" for alias in node.names)
    return found


def _service_imports() -> dict[str, set[str]]:
    out = {}
    for path in (PACKAGE / "service").rglob("*.py"):
        package = ".".join(("codesuggest",) + path.relative_to(PACKAGE).parent.parts)
        out[str(path.relative_to(PACKAGE))] = _imports(path.read_text(encoding="utf-8"), package)
    return out


def test_the_service_imports_only_the_models_interface_and_runtime():
    offending = sorted(
        f"{file}: {name}"
        for file, names in _service_imports().items()
        for name in names
        if name.startswith("codesuggest.models.") and not any(name == a or name.startswith(a + ".") for a in ALLOWED)
    )
    assert not offending, offending


def test_relative_and_lazy_imports_are_resolved():
    source = "from ...models.registry import X\nfrom .. import schemas\ndef f():\n    from ...models import runtime\n"
    names = _imports(source, "codesuggest.service.routers")
    assert names == {"codesuggest.models.registry.X", "codesuggest.service.schemas", "codesuggest.models.runtime"}


def test_the_import_contracts_hold():
    """The layer contracts of pyproject.toml ([tool.importlinter]), checked by import-linter."""
    import os
    import subprocess
    import sys

    root = PACKAGE.parent
    env = {**os.environ, "PYTHONPATH": str(root)}
    linter = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run([str(linter), "--no-cache"], cwd=root, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert " 0 broken" in result.stdout.lower().split("contracts:")[-1], result.stdout[-3000:]

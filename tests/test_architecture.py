"""Imports point down only (STYLE.md 8.2); only reports imports matplotlib."""

import ast
from pathlib import Path

PKG = Path(__file__).resolve().parents[1] / "ptdenial"

BASE = {"exceptions", "_utils", "reference"}
ALLOWED = {
    "exceptions": set(),
    "_payment": {"schema"},
    "_linear": set(),
    "_utils": {"exceptions"},
    "config": {"exceptions"},
    "reference": {"exceptions"},
    "schema": {"exceptions", "_utils", "reference"},
    "io": {"schema"} | BASE,
    "datasets": {"schema", "io", "rules"} | BASE,
    "rules": {"schema"} | BASE,
    "features": {"rules", "schema"} | BASE,
    "model": {
        "features",
        "rules",
        "schema",
        "evaluation",
        "monitoring",
        "io",
        "_payment",
        "_linear",
    }
    | BASE,
    "evaluation": {"schema"} | BASE,
    "explain": {"model", "features", "rules", "schema"} | BASE,
    "scoring": {
        "model",
        "explain",
        "features",
        "rules",
        "schema",
        "io",
        "config",
        "evaluation",
    }
    | BASE,
    "analytics": {"schema", "rules", "_payment"} | BASE,
    "monitoring": {"schema", "rules", "evaluation", "features", "io"} | BASE,
    "x12": {"schema", "io"} | BASE,
    "reports": {"analytics", "monitoring", "evaluation", "schema"} | BASE,
    "spark": {"scoring", "model", "schema", "io", "config"} | BASE,
    "cli": None,  # may import anything
    "__init__": None,
}


def _module_name(path: Path) -> str:
    rel = path.relative_to(PKG)
    return rel.parts[0].removesuffix(".py")


def _imports(path: Path):
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name
        elif isinstance(node, ast.ImportFrom) and node.module:
            yield node.module


def test_import_direction():
    problems = []
    for path in PKG.rglob("*.py"):
        own = _module_name(path)
        allowed = ALLOWED.get(own, "unknown")
        if allowed == "unknown":
            problems.append(f"{path}: module {own!r} missing from the table")
            continue
        for name in _imports(path):
            parts = name.split(".")
            if parts[0] != "ptdenial" or len(parts) < 2:
                continue
            target = parts[1]
            if target == "cli" and own != "cli":
                problems.append(f"{path}: imports ptdenial.cli")
            if allowed is not None and target != own and target not in allowed:
                problems.append(f"{path}: {own} -> {target} not allowed")
    assert not problems, "\n".join(problems)


def test_only_reports_imports_matplotlib():
    offenders = [
        str(p)
        for p in PKG.rglob("*.py")
        if _module_name(p) != "reports"
        and any(n.split(".")[0] == "matplotlib" for n in _imports(p))
    ]
    assert offenders == []


def test_no_pickle_loading():
    offenders = [
        str(p)
        for p in PKG.rglob("*.py")
        if any(
            n.split(".")[0] in {"pickle", "joblib", "cloudpickle"} for n in _imports(p)
        )
    ]
    assert offenders == []

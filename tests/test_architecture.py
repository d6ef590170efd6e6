"""Imports point down only (STYLE.md 8.2); only reports imports matplotlib."""

import ast
from pathlib import Path

PKG = Path(__file__).resolve().parents[1] / "ptdenial"

# The lowest layers of LAYOUT.md (issue #17): a module imports only from
# the layers above its own.
LAYER0 = {"exceptions"}
LAYER1 = LAYER0 | {"_utils", "_distinct", "config"}
LAYER2 = LAYER1 | {"reference"}
LAYER3 = LAYER2 | {"schema"}
BASE = {"exceptions", "_utils", "_distinct", "reference"}
ALLOWED = {
    "exceptions": set(),
    "_payment": LAYER3,
    "_linear": {"model"},  # re-exports model's LinearBase for older model files
    "_utils": LAYER0,
    "_distinct": LAYER0,
    "config": LAYER0,
    "reference": LAYER1,
    "schema": LAYER2,
    "io": LAYER3,
    "datasets": {"schema", "io"} | BASE,
    "rules": {"schema"} | BASE,
    "features": {"rules", "schema"} | BASE,
    "model": {
        "features",
        "rules",
        "schema",
        "evaluation",
        "io",
        "_payment",
    }
    | BASE,
    "evaluation": {"schema"} | BASE,
    "explain": {"features", "schema"} | BASE,
    "scoring": {"model", "explain", "features", "rules", "schema", "io", "config"}
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


# Inside a package, a private module imports only the ones listed before it.
PACKAGE_ORDER = {
    "features": ["_columns", "_claim", "_history", "_specs", "_union"],
    "rules": [
        "_catalogue",
        "_arrays",
        "_context",
        "_family",
        "_time_rules",
        "_modifier_rules",
        "_coding_rules",
        "_episode_rules",
        "_claim_rules",
        "_clinical_rules",
        "_payment_rules",
        "_registry",
        "_engine",
        "_flagger",
        "_docs",
    ],
}


def test_package_internal_order():
    problems = []
    for package, order in PACKAGE_ORDER.items():
        files = {p.stem for p in (PKG / package).glob("_*.py")} - {"__init__"}
        if files != set(order):
            problems.append(f"{package}: modules {sorted(files)} != table {order}")
        for own in order:
            for name in _imports(PKG / package / f"{own}.py"):
                parts = name.split(".")
                if parts[:2] != ["ptdenial", package] or len(parts) < 3:
                    continue
                if parts[2] not in order[: order.index(own)]:
                    problems.append(f"{package}.{own} -> {parts[2]} not allowed")
    assert not problems, "\n".join(problems)

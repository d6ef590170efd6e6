"""Imports point down only (STYLE.md 8.2); only reports imports matplotlib."""

import ast
from pathlib import Path

PKG = Path(__file__).resolve().parents[1] / "ptdenial"

# The layers of LAYOUT.md (issue #17), lowest first: a module imports only
# from the layers below its own. Nothing imports cli; the package root
# (``ptdenial/__init__.py``) re-exports the public names and sits above all
# but cli. ``_linear`` is a shim for model files written before the move
# (it re-exports model's LinearBase), so it sits above model.
LAYERS = (
    ("exceptions",),
    ("_utils", "_distinct", "_owner", "config"),
    ("reference",),
    ("schema",),
    ("io", "_payment"),
    ("rules",),
    ("features", "evaluation"),
    ("datasets", "model"),
    ("explain", "analytics", "monitoring", "_linear"),
    ("scoring",),
    ("reports", "x12", "recovery"),
    ("spark",),
    ("__init__",),
    ("cli",),
)
LAYER = {name: level for level, names in enumerate(LAYERS) for name in names}
ALLOWED = {
    name: {other for other, lvl in LAYER.items() if lvl < level}
    for name, level in LAYER.items()
}
MODULES = {
    p.stem if p.suffix == ".py" else p.name
    for p in PKG.iterdir()
    if (p.suffix == ".py" or (p / "__init__.py").exists())
}


def _module_name(path: Path) -> str:
    rel = path.relative_to(PKG)
    return rel.parts[0].removesuffix(".py")


def _imports(path: Path):
    """Dotted names a file imports, ``from ptdenial import x`` as ``ptdenial.x``."""
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name
        elif isinstance(node, ast.ImportFrom) and node.module:
            if node.level == 0 and node.module == "ptdenial":
                for alias in node.names:
                    yield f"ptdenial.{alias.name}"
            else:
                yield node.module


def _target(name: str):
    """The top-level ptdenial module an import reaches (None: not ptdenial)."""
    parts = name.split(".")
    if parts[0] != "ptdenial":
        return None
    if len(parts) == 1 or parts[1] not in MODULES:
        return "__init__"  # the root package, or a name it defines
    return parts[1]


def test_every_module_has_a_layer():
    assert MODULES <= set(LAYER), sorted(MODULES - set(LAYER))


def test_from_ptdenial_import_is_seen():
    assert _target("ptdenial.schema") == "schema"
    assert _target("ptdenial.scoring._batch") == "scoring"
    assert _target("ptdenial") == "__init__"
    assert _target("ptdenial.__version__") == "__init__"
    seen = set(_imports(PKG / "model" / "_card.py"))
    assert "ptdenial.features" in seen  # written `from ptdenial import features as F`


def test_import_direction():
    problems = []
    for path in PKG.rglob("*.py"):
        own = _module_name(path)
        if own not in ALLOWED:
            problems.append(f"{path}: module {own!r} missing from LAYERS")
            continue
        for name in _imports(path):
            target = _target(name)
            if target is None or target == own:
                continue
            if target not in ALLOWED[own]:
                problems.append(f"{path}: {own} -> {target} not allowed ({name})")
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

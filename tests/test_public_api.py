"""Every public name has a numpydoc docstring; __all__ names exist."""

import importlib
import inspect

import pytest

import ptdenial

MODULES = [
    "ptdenial",
    "ptdenial.schema",
    "ptdenial.io",
    "ptdenial.reference",
    "ptdenial.exceptions",
    "ptdenial.config",
    "ptdenial.datasets",
    "ptdenial.rules",
    "ptdenial.features",
    "ptdenial.model",
    "ptdenial.evaluation",
    "ptdenial.scoring",
    "ptdenial.explain",
    "ptdenial.analytics",
    "ptdenial.monitoring",
    "ptdenial.reports",
    "ptdenial.x12",
    "ptdenial.recovery",
    "ptdenial.cli",
    "ptdenial.spark",
]


@pytest.mark.parametrize("module_name", MODULES)
def test_all_names_exist_and_are_documented(module_name):
    module = importlib.import_module(module_name)
    assert module.__doc__, f"{module_name} has no module docstring"
    exported = getattr(module, "__all__", None)
    assert exported is not None, f"{module_name} lacks __all__"
    for name in exported:
        obj = getattr(module, name)
        if inspect.isfunction(obj) or inspect.isclass(obj):
            doc = inspect.getdoc(obj) or ""
            assert doc.strip(), f"{module_name}.{name} has no docstring"


@pytest.mark.parametrize("module_name", MODULES)
def test_public_functions_have_numpydoc_sections(module_name):
    module = importlib.import_module(module_name)
    for name in getattr(module, "__all__", []):
        obj = getattr(module, name)
        if not inspect.isfunction(obj):
            continue
        params = [p for p in inspect.signature(obj).parameters if p not in ("self",)]
        doc = inspect.getdoc(obj) or ""
        if params and len(doc.splitlines()) > 3:
            assert "Parameters" in doc, f"{module_name}.{name}: no Parameters section"


def test_version():
    assert ptdenial.__version__

"""Notebooks stay thin, are committed without outputs, and run top to bottom.

* lint (always): no code cell defines a function or class or imports a private
  ``ptdenial._*`` name; outputs and execution counts are stripped; every
  ``NN-topic.ipynb`` has its jupytext ``py:percent`` twin with the same cells;
* execution (marker ``notebooks``): every notebook runs with nbclient in the
  ``notebooks/`` folder within a timeout.
"""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

import pytest

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
IPYNB = sorted(NOTEBOOKS.glob("*.ipynb"))
NAME = re.compile(r"^\d{2}-[a-z0-9-]+\.ipynb$")
TIMEOUT_S = 300  # per cell; the whole notebook must stay well under a minute


def _nbformat():
    """nbformat, imported by the tests that read notebooks only.

    Importing it costs about 1 CPU-s (jsonschema builds an RFC 3987 grammar),
    which at module level every ``make test`` worker paid while collecting.
    """
    import nbformat

    return nbformat


def _code(cell) -> str:
    """Cell source with IPython magics and shell escapes commented out."""
    return "\n".join(
        "# " + line if line.lstrip().startswith(("%", "!")) else line
        for line in cell.source.splitlines()
    )


def _private_imports(tree) -> list[str]:
    bad = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            bad += [a.name for a in node.names if _is_private(a.name)]
        elif isinstance(node, ast.ImportFrom) and node.module:
            if _is_private(node.module):
                bad.append(node.module)
            elif node.module.split(".")[0] == "ptdenial":
                bad += [
                    f"{node.module}.{a.name}"
                    for a in node.names
                    if a.name.startswith("_")
                ]
    return bad


def _is_private(module: str) -> bool:
    parts = module.split(".")
    return parts[0] == "ptdenial" and any(p.startswith("_") for p in parts[1:])


def test_notebooks_exist():
    names = {p.name for p in IPYNB}
    assert "01-explore-denials.ipynb" in names
    assert "04-monitor-drift.ipynb" in names
    assert all(NAME.match(n) for n in names), names


@pytest.mark.parametrize("path", IPYNB, ids=lambda p: p.name)
def test_notebook_is_thin_and_clean(path):
    nb = _nbformat().read(path, as_version=4)
    problems = []
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        if cell.get("outputs") or cell.get("execution_count") is not None:
            problems.append(f"cell {i}: outputs not stripped")
        tree = ast.parse(_code(cell))
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
                problems.append(f"cell {i}: defines a function (line {node.lineno})")
            elif isinstance(node, ast.ClassDef):
                problems.append(f"cell {i}: defines class {node.name}")
        for name in _private_imports(tree):
            problems.append(f"cell {i}: imports private {name}")
    assert not problems, f"{path.name}: " + "; ".join(problems)


@pytest.mark.parametrize("path", IPYNB, ids=lambda p: p.name)
def test_notebook_has_jupytext_twin_in_sync(path):
    import jupytext

    twin = path.with_suffix(".py")
    assert twin.exists(), f"{path.name} has no jupytext twin {twin.name}"
    nb = _nbformat().read(path, as_version=4)
    py = jupytext.read(twin)
    formats = nb.metadata.get("jupytext", {}).get("formats", "")
    assert "py:percent" in formats, f"{path.name} is not paired with py:percent"

    def cells(book):
        return [(c.cell_type, c.source.strip()) for c in book.cells]

    assert cells(nb) == cells(py), (
        f"{path.name} and {twin.name} differ; run `jupytext --sync {path.name}`"
    )


def test_lint_catches_a_function(tmp_path):
    nbformat = _nbformat()
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("def helper():\n    return 1"),
        nbformat.v4.new_code_cell("from ptdenial._utils import x"),
    ]
    path = tmp_path / "99-bad.ipynb"
    nbformat.write(nb, path)
    with pytest.raises(AssertionError, match="defines a function.*imports private"):
        test_notebook_is_thin_and_clean(path)


def _ensure_kernel() -> str:
    """The name of a kernelspec that runs this interpreter (installs one if needed)."""
    from jupyter_client.kernelspec import KernelSpecManager

    specs = KernelSpecManager().get_all_specs()
    spec = specs.get("python3")
    if spec is not None:
        argv0 = spec["spec"]["argv"][0]
        if argv0 in ("python", "python3", sys.executable) or Path(argv0).resolve() == (
            Path(sys.executable).resolve()
        ):
            return "python3"
    from ipykernel.kernelspec import install

    install(user=True, kernel_name="ptdenial-test", display_name="ptdenial (tests)")
    return "ptdenial-test"


@pytest.mark.notebooks
@pytest.mark.parametrize("path", IPYNB, ids=lambda p: p.name)
def test_notebook_executes(path):
    from nbclient import NotebookClient

    nb = _nbformat().read(path, as_version=4)
    client = NotebookClient(
        nb,
        timeout=TIMEOUT_S,
        kernel_name=_ensure_kernel(),
        resources={"metadata": {"path": str(NOTEBOOKS)}},
    )
    client.execute()
    errors = [
        o for c in nb.cells for o in c.get("outputs", []) if o.output_type == "error"
    ]
    assert not errors

"""The test suite's own machinery (``conftest.py``) does what it claims.

* a doctest that uses the shared model shows the fit that made it;
* a test that modifies a shared sample table fails the run;
* ``make test``'s parallel run keeps the Spark tests on one worker,
  started first (checked on a throwaway project with the same conftest).
"""

from __future__ import annotations

import doctest
import importlib
import pkgutil
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

import ptdenial
from conftest import (
    DOCTEST_NAMES,
    HEAVY_TESTS,
    LONG_FILES,
    SAMPLE_HISTORY_LINE,
    SAMPLE_MODEL_PARAMS,
    SAMPLE_MODEL_RECIPE,
    _guarded,
    names_read,
)
from ptdenial.model import DenialRiskModel

ROOT = Path(__file__).resolve().parents[1]


def _doctests():
    finder = doctest.DocTestFinder(exclude_empty=True)
    for info in pkgutil.walk_packages(ptdenial.__path__, "ptdenial."):
        if info.name.endswith(".__main__"):  # runs the command line on import
            continue
        module = importlib.import_module(info.name)
        for test in finder.find(module):
            if test.examples and test.name.startswith(info.name):
                yield test


_DIRECTIVE = re.compile(r"\s*#[^\n]*$")


def test_doctests_show_the_fit_of_the_model_they_use():
    """A doctest that uses ``model`` defines it; a skipped fit is conftest's."""
    assert list(DOCTEST_NAMES) == ["model"]
    using_shared = []
    for test in _doctests():
        # each example's code, its trailing comment (the doctest directive) aside
        sources = [_DIRECTIVE.sub("", ex.source.strip()) for ex in test.examples]
        skipped = [ex.options.get(doctest.SKIP, False) for ex in test.examples]
        if not any(
            "model" in names_read(s) and not skip
            for s, skip in zip(sources, skipped, strict=True)
        ):
            continue  # never reads `model` when it runs
        defined = [
            (s, skip)
            for s, skip in zip(sources, skipped, strict=True)
            if s.startswith("model = ")
        ]
        assert defined, f"{test.name} uses `model` without showing where it comes from"
        source, skipped = defined[0]
        if skipped:
            assert source == SAMPLE_MODEL_RECIPE, test.name
            assert SAMPLE_HISTORY_LINE in sources, test.name
            using_shared.append(test.name)
    assert len(using_shared) >= 5, using_shared
    # ... and the shared model is the one that line shows
    assert f"= {DenialRiskModel(**SAMPLE_MODEL_PARAMS)!r}.fit(" in SAMPLE_MODEL_RECIPE


def test_a_modified_shared_table_fails_the_run():
    frame = pd.DataFrame({"a": [1, 2, 3]})
    shared = _guarded("sample_x", frame)
    assert next(shared) is frame
    frame.loc[0, "a"] = 99
    with pytest.raises(pytest.fail.Exception, match="modified the shared .*sample_x"):
        next(shared)
    untouched = _guarded("sample_y", pd.DataFrame({"a": [1]}))
    next(untouched)
    with pytest.raises(StopIteration):
        next(untouched)


def test_parallel_run_keeps_heavy_tests_on_one_worker_first(tmp_path):
    """The heavy (Spark) tests: one worker, before anything else on it.

    About 4 s (two pytest-xdist workers start): worth it, because the way
    this breaks is silent; xdist's own grouping stopped working with pytest
    9.2 and nothing failed, the run only got slower.
    """
    shutil.copy(ROOT / "conftest.py", tmp_path / "conftest.py")
    (tmp_path / "tests").mkdir()
    body = "import os\n\n" + "".join(
        f"def test_{i}():\n    print('RAN', os.environ['PYTEST_XDIST_WORKER'])\n\n"
        for i in range(4)
    )
    notebooks = "import os\n" + (  # fewer tests than any other file
        "import pytest\n\n@pytest.mark.parametrize('n', range(3))\n"
        "def test_notebook_executes(n):\n"
        "    print('RAN', os.environ['PYTEST_XDIST_WORKER'])\n"
    )
    for name, text in {
        "test_spark.py": body,
        "test_notebooks.py": notebooks,
        **{f"test_other{k}.py": body for k in range(4)},
    }.items():
        (tmp_path / "tests" / name).write_text(text)
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-n", "2", "--dist", "loadfile", "-v",
         "-p", "no:cacheprovider", "-p", "no:randomly", "tests"],
        cwd=tmp_path, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr
    ran = re.findall(r"\[(gw\d)\] \[ *\d+%\] PASSED (\S+)", run.stdout)
    assert len(ran) == 4 * 5 + 3
    heavy = {worker for worker, test in ran if test.startswith(HEAVY_TESTS)}
    assert len(heavy) == 1, ran
    (worker,) = heavy
    first = next(test for w, test in ran if w == worker)
    assert first.startswith(HEAVY_TESTS), ran
    assert {w for w, _ in ran} == {"gw0", "gw1"}
    # the other worker starts on the long files (the notebooks: fewest tests,
    # so xdist alone would start them last)
    other = [test for w, test in ran if w != worker]
    assert other[0].startswith("tests/test_notebooks.py::"), ran
    assert all((ROOT / name).is_file() for name in LONG_FILES), LONG_FILES

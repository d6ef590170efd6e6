"""Fixtures shared by the tests in ``tests/`` and the doctests in ``ptdenial/``.

Fitting a model takes seconds, so the suite fits one, once per test process,
on the committed sample::

    history = load_sample_claims("history")
    model = DenialRiskModel(n_estimators=30).fit(history)

Tests ask for it as ``sample_model``, beside ``sample_history``,
``sample_new_claims``, ``sample_model_file`` and ``sample_explainer``. Doctests
find it under the name ``model``: a docstring shows the two lines above, the
fit marked ``# doctest: +SKIP``, so the page reads as a complete example a user
can paste while the suite still fits once. ``tests/test_common.py`` checks that
every skipped fit line is exactly :data:`SAMPLE_MODEL_RECIPE`, so an example
never shows another model than the one it runs with.

The session fixtures are shared by every test of a process: never modify
them (take a ``.copy()``). The claim tables are checked at the end of the
session and a change fails the run.

This file sits at the repository root, not in ``tests/``: fixtures there would
be invisible to the doctests under ``ptdenial/``, and a conftest inside the
package would ship in the wheel.
"""

from __future__ import annotations

import ast
import doctest
import re

import pandas as pd
import pytest

#: The fit line doctests show (with ``# doctest: +SKIP``) for the model they use,
SAMPLE_MODEL_RECIPE = "model = DenialRiskModel(n_estimators=30).fit(history)"
#: after this line in the same example.
SAMPLE_HISTORY_LINE = 'history = load_sample_claims("history")'
#: The shared model's parameters, as in :data:`SAMPLE_MODEL_RECIPE`.
SAMPLE_MODEL_PARAMS = {"n_estimators": 30}
#: Names a doctest may use without defining them, and the fixture behind each.
DOCTEST_NAMES = {"model": "sample_model"}


# --- the committed sample and one model fitted on it -------------------------------
def _guarded(name: str, frame: pd.DataFrame):
    """Yield ``frame``; fail at teardown if a test changed it."""
    original = frame.copy(deep=True)
    yield frame
    try:
        pd.testing.assert_frame_equal(frame, original)
    except AssertionError as exc:
        pytest.fail(
            f"a test modified the shared session fixture {name!r}; take a .copy() "
            f"before changing it.\n{exc}"
        )


@pytest.fixture(scope="session")
def sample_history():
    """The committed sample history (every code, with outcomes). Read only."""
    from ptdenial.datasets import load_sample_claims

    yield from _guarded("sample_history", load_sample_claims("history"))


@pytest.fixture(scope="session")
def sample_new_claims():
    """The committed sample's new claims (no outcomes). Read only."""
    from ptdenial.datasets import load_sample_claims

    yield from _guarded("sample_new_claims", load_sample_claims("new_claims"))


@pytest.fixture(scope="session")
def _sample_model_saved(sample_history, tmp_path_factory):
    from ptdenial.model import DenialRiskModel, save_model

    model = DenialRiskModel(**SAMPLE_MODEL_PARAMS).fit(sample_history)
    # saved at once, so its ``model_id`` is final from the start: a test that
    # saves it again, or compares model_version in scores to it, sees one id
    path = save_model(model, tmp_path_factory.mktemp("model") / "model.skops")
    return model, path


@pytest.fixture(scope="session")
def sample_model(_sample_model_saved):
    """The one fitted model of the suite (see :data:`SAMPLE_MODEL_RECIPE`).

    Read only: call methods that leave it unchanged. ``save_model`` writes
    the model id into ``card_``, the same id it holds already.
    """
    return _sample_model_saved[0]


@pytest.fixture(scope="session")
def sample_model_file(_sample_model_saved):
    """``sample_model`` written by ``save_model``, its card beside it. Read only."""
    return _sample_model_saved[1]


@pytest.fixture(scope="session")
def sample_explainer(sample_model):
    """An :class:`ptdenial.explain.Explainer` of ``sample_model``."""
    from ptdenial.explain import Explainer

    return Explainer(sample_model)


@pytest.fixture(autouse=True)
def _doctest_sample_names(request, doctest_namespace):
    """Give a doctest the shared objects it names (the model is fitted only then)."""
    dtest = getattr(request.node, "dtest", None)  # set on doctest items only
    if dtest is None:
        return
    run = [ex for ex in dtest.examples if not ex.options.get(doctest.SKIP)]
    used = set().union(*(names_read(example.source) for example in run))
    for name, fixture in DOCTEST_NAMES.items():
        if name in used:
            doctest_namespace[name] = request.getfixturevalue(fixture)


def names_read(source: str) -> set[str]:
    """The variable names a piece of code reads (``ptdenial.model`` reads none)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:  # not Python (e.g. console output): look for words
        return set(re.findall(r"\b\w+\b", source))
    return {
        node.id
        for node in ast.walk(tree)
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load)
    }


# --- parallel runs (`make test`: pytest -n auto --dist loadfile) -----------------
#: The Spark tests share one local[2] session and are the longest file: one
#: work unit for pytest-xdist, started first on one worker, while the other
#: worker takes the remaining files (the notebooks among them; with the
#: notebooks in the same unit, that worker alone ran longer than the whole
#: rest of the suite once Spark training was tested). Marks cannot say this:
#: xdist's ``xdist_group`` is silently ignored with pytest 9.2, pytest-xdist
#: issue #1386.
HEAVY_GROUP = "spark"
HEAVY_TESTS = ("tests/test_spark.py::",)
#: Files that take longest after the Spark tests (about 20 to 70 s each on
#: 2 idle cores), longest first: started next, so the run ends on short files
#: on both workers. xdist alone orders files by their number of tests, which
#: left the notebooks (17 tests, the second-longest file) near the end. Only
#: the order depends on this list; a file missing from it still runs.
LONG_FILES = (
    "tests/test_scoring.py",
    "tests/test_notebooks.py",
    "tests/test_x12.py",
    "tests/test_deployment.py",
    "tests/test_model.py",
    "tests/test_common.py",
    "tests/test_datasets.py",
    "tests/test_typed_inputs.py",
    "tests/test_cli.py",
    "tests/test_reports.py",
    "tests/test_docs.py",
    "tests/test_scoring_parallel.py",
    "tests/test_x12_stream.py",
)


@pytest.hookimpl(tryfirst=True, optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    """``--dist loadfile``: the heavy unit first, then :data:`LONG_FILES`."""
    if config.getvalue("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadFileScheduling

    class HeavyFirstFileScheduling(LoadFileScheduling):
        def _split_scope(self, nodeid):
            if nodeid.startswith(HEAVY_TESTS):
                return HEAVY_GROUP
            return super()._split_scope(nodeid)

        def _assign_work_unit(self, node):
            if not getattr(self, "_long_first", False):
                self._long_first = True
                for unit in (*reversed(LONG_FILES), HEAVY_GROUP):
                    if unit in self.workqueue:
                        self.workqueue.move_to_end(unit, last=False)
            super()._assign_work_unit(node)

    return HeavyFirstFileScheduling(config, log)


# --- five hand-written lines -------------------------------------------------------
def tiny_raw() -> pd.DataFrame:
    """Five hand-written lines of one Medicare visit and one commercial visit."""
    return pd.DataFrame(
        {
            "claim_id": ["C1", "C1", "C1", "C2", "C2"],
            "line_number": ["1", "2", "3", "1", "2"],
            "patient_id": ["P1", "P1", "P1", "P2", "P2"],
            "payer_id": ["MCR-J15", "MCR-J15", "MCR-J15", "BCBS01", "BCBS01"],
            "payer_class": ["medicare", "medicare", "medicare", "commercial",
                            "commercial"],
            "date_of_service": ["2025-03-03"] * 3 + ["2025-03-04"] * 2,
            "cpt_code": ["97112", "97110", "97140", "97112", "97530"],
            "units": ["2", "1", "1", "3", "1"],
            "charge_amount": ["80.00", "60.00", "55.00", "120.00", "65.00"],
            "diagnosis_codes": ["R26.81", "R26.81|M62.81", "R2681", "S93.401A",
                                "S93.401A"],
            "rendering_provider_id": ["1111111111"] * 3 + ["2222222222"] * 2,
            "modifiers": ["GP", "GP,KX", "GP 59", "", None],
            "minutes": ["30", "10", "8", "40", "10"],
            "submission_date": ["2025-03-05"] * 3 + ["2025-03-06"] * 2,
        }
    )  # fmt: skip


@pytest.fixture
def tiny_claims() -> pd.DataFrame:
    """:func:`tiny_raw`, a fresh copy per test."""
    return tiny_raw()

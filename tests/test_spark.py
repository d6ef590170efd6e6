"""Scoring on Spark: the same scores as the one-machine job, visits never split.

These tests start one local Spark session (``local[2]``), so they need the
``spark`` extra (``pip install -e '.[spark]'``; ``make test`` installs it)
and a Java 17+ runtime. Without either they are skipped with the reason, except
under CI (``CI`` set), where they fail: CI must not pass without running them.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from ptdenial import schema as S
from ptdenial.cli import main
from ptdenial.config import ScoringConfig
from ptdenial.datasets import load_sample_claims
from ptdenial.exceptions import ClaimsSchemaError, ModelVersionError
from ptdenial.io import write_table
from ptdenial.model import save_model
from ptdenial.scoring import score_batch, score_file

AS_OF = "2026-01-01"
LISTS = (S.RULE_HITS, S.REASONS, S.SUGGESTED_FIXES)

# PySpark 4 warns that it does not fully support pandas 3 whenever it touches
# pandas; ptdenial.spark hands Spark Arrow data only, so the notice is noise.
pytestmark = pytest.mark.filterwarnings(
    "ignore:PySpark does not yet fully support pandas:FutureWarning"
)


def _skip_reason():
    try:
        import pyspark  # noqa: F401
    except ImportError:
        return "pyspark is not installed (pip install -e '.[spark]')"
    java_home = os.environ.get("JAVA_HOME")
    if shutil.which("java") is None and not (
        java_home and os.path.exists(os.path.join(java_home, "bin", "java"))
    ):
        return "no Java runtime (Spark needs Java 17+ on PATH or in JAVA_HOME)"
    return None


# --- without Spark --------------------------------------------------------------
def test_import_ptdenial_does_not_import_pyspark():
    code = (
        "import sys, ptdenial, ptdenial.spark, ptdenial.scoring; "
        "print('pyspark' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "False"


def test_missing_pyspark_names_the_extra(monkeypatch):
    from ptdenial import spark as ps

    monkeypatch.setitem(sys.modules, "pyspark", None)
    with pytest.raises(ps.SparkUnavailableError, match=r"ptdenial\[spark\]"):
        ps.score_spark(None, "model.skops")


def test_schemas_follow_the_contracts():
    from ptdenial.spark import quarantine_ddl, scored_ddl

    names = [p.split(" ")[0].strip("`") for p in scored_ddl().split(", ")]
    assert tuple(names) == S.SCORED_COLUMNS
    names = [p.split(" ")[0].strip("`") for p in quarantine_ddl().split(", ")]
    assert tuple(names) == S.QUARANTINE_COLUMNS


# --- fixtures ---------------------------------------------------------------------
@pytest.fixture(scope="module")
def spark():
    reason = _skip_reason()
    if reason and os.environ.get("CI"):  # CI must run them: a skip would hide it
        pytest.fail(f"CI cannot run the Spark tests: {reason}")
    if reason:
        pytest.skip(reason)
    from ptdenial.spark import local_session

    # a short-lived JVM on a small heap: the quick JIT tier only (C2's
    # compiler threads cost the other test worker CPU and pay back only in
    # long runs) and the serial collector (G1's concurrent and parallel GC
    # threads: run side by side, this file's JVM took 59 CPU-s with it, 67
    # with G1); same results
    java = "-Duser.timezone=UTC -XX:TieredStopAtLevel=1 -XX:+UseSerialGC"
    session = local_session(
        2, shuffle_partitions=4, conf={"spark.driver.extraJavaOptions": java}
    )
    yield session
    session.stop()


@pytest.fixture(scope="module")
def model(sample_model):
    """The suite's shared model (conftest.py); read only."""
    return sample_model


@pytest.fixture(scope="module")
def new(sample_new_claims):
    return sample_new_claims


@pytest.fixture(scope="module")
def files(tmp_path_factory, model, new):
    d = tmp_path_factory.mktemp("spark")
    model_path = save_model(model, d / "model.skops")
    one = write_table(new, d / "one" / "new.parquet")
    # the same lines in two files, every visit of two or more lines split
    split = d / "split"
    split.mkdir()
    visit = new.groupby(list(S.VISIT_KEYS), sort=False).cumcount().to_numpy()
    write_table(new.loc[visit % 2 == 0], split / "part-a.parquet")
    write_table(new.loc[visit % 2 == 1], split / "part-b.parquet")
    return {"dir": d, "model": model_path, "one": one, "split": split}


@pytest.fixture(scope="module")
def reference(files, model):
    """What `ptdenial score` writes on one machine (scores and worklist)."""
    out = files["dir"] / "ref" / "scored.parquet"
    run = score_file(
        model, files["one"], out, worklist=out.with_name("worklist.csv"), as_of=AS_OF
    )
    scored = pq.read_table(out).to_pandas()
    return {"scored": scored, "worklist": run.worklist}


def _collect(sdf) -> pd.DataFrame:
    import pyarrow as pa

    table = sdf.toArrow() if hasattr(sdf, "toArrow") else None
    if table is None:  # Spark 3.5
        table = pa.Table.from_batches(sdf._collect_as_arrow())
    return table.to_pandas()


def _assert_same_scores(got: pd.DataFrame, ref: pd.DataFrame):
    assert len(got) == len(ref)
    keys = [S.CLAIM_ID, S.LINE_NUMBER]
    m = ref.merge(got, on=keys, how="outer", suffixes=("_ref", "_spark"),
                  indicator=True)  # fmt: skip
    assert (m["_merge"] == "both").all()
    p_ref = m[f"{S.DENIAL_PROBABILITY}_ref"].to_numpy(dtype=float, na_value=np.nan)
    p_got = m[f"{S.DENIAL_PROBABILITY}_spark"].to_numpy(dtype=float, na_value=np.nan)
    assert np.array_equal(np.isnan(p_ref), np.isnan(p_got))
    assert np.nanmax(np.abs(p_ref - p_got)) <= 1e-9
    loss_ref = m[f"{S.EXPECTED_LOSS}_ref"].to_numpy(dtype=float, na_value=np.nan)
    loss_got = m[f"{S.EXPECTED_LOSS}_spark"].to_numpy(dtype=float, na_value=np.nan)
    np.testing.assert_allclose(loss_got, loss_ref, rtol=0, atol=1e-9)
    for name in (S.RISK_BAND, S.CPT_CODE, S.PAYER_ID, S.MODEL_VERSION):
        assert (m[f"{name}_ref"].astype(str) == m[f"{name}_spark"].astype(str)).all()
    for name in LISTS:
        a = [tuple(v) for v in m[f"{name}_ref"]]
        b = [tuple(v) for v in m[f"{name}_spark"]]
        assert a == b, name
    for name in (S.DATE_OF_SERVICE, S.SCORED_AT):
        a = pd.to_datetime(m[f"{name}_ref"], utc=True)
        b = pd.to_datetime(m[f"{name}_spark"], utc=True)
        assert (a == b).all(), name


# --- with Spark -------------------------------------------------------------------
@pytest.fixture(scope="module")
def one_file_run(spark, files):
    from ptdenial.spark import read_claims_spark, score_spark

    result = score_spark(
        read_claims_spark(spark, files["one"]), files["model"], as_of=AS_OF
    )
    scored = _collect(result.scored)
    quarantine = _collect(result.quarantine)
    summary = result.summary()
    result.unpersist()
    return {"result": result, "scored": scored, "quarantine": quarantine,
            "summary": summary}  # fmt: skip


@pytest.mark.spark
def test_spark_scores_equal_the_one_machine_job(one_file_run, reference, new):
    got = one_file_run["scored"]
    assert tuple(got.columns) == S.SCORED_COLUMNS
    assert len(got) + len(one_file_run["quarantine"]) == len(new)
    _assert_same_scores(got, reference["scored"])
    summary = one_file_run["summary"]
    assert summary["counts"]["rows_in"] == len(new)
    assert summary["counts"]["scored_97112"] == int(
        reference["scored"][S.DENIAL_PROBABILITY].notna().sum()
    )


@pytest.mark.spark
def test_spark_worklist_equals_the_one_machine_worklist(one_file_run, reference):
    wl = one_file_run["result"].worklist
    ref = reference["worklist"]
    assert len(wl) == len(ref) > 0
    cols = ["rank", S.CLAIM_ID, S.LINE_NUMBER, S.REASONS, S.SUGGESTED_FIXES,
            "fix_kind"]  # fmt: skip
    for c in cols:
        assert wl[c].tolist() == ref[c].tolist(), c
    for c in ("dollars_at_risk", "dollars_saved", "p_after_fix"):  # fixes re-scored
        np.testing.assert_allclose(
            wl[c].to_numpy(float), ref[c].to_numpy(float), rtol=0, atol=1e-9
        )
    assert (wl["fix_kind"] == "claim edit").any()


@pytest.mark.spark
def test_a_visit_split_across_files_scores_as_in_one_file(
    spark, files, new, one_file_run
):
    from ptdenial.spark import read_claims_spark, score_spark

    halves = [pq.read_table(p).to_pandas() for p in sorted(files["split"].iterdir())]
    key = list(S.VISIT_KEYS)
    both = set(map(tuple, halves[0][key].drop_duplicates().to_numpy())) & set(
        map(tuple, halves[1][key].drop_duplicates().to_numpy())
    )
    assert len(both) > 100  # many visits really are split
    # small scoring batches and three partitions: cuts inside partitions too
    result = score_spark(
        read_claims_spark(spark, files["split"]), files["model"], as_of=AS_OF,
        config=ScoringConfig(batch_rows=50), partitions=3,
    )  # fmt: skip
    got = _collect(result.scored)
    result.unpersist()
    _assert_same_scores(got, one_file_run["scored"])


def _bad_lines(new: pd.DataFrame) -> pd.DataFrame:
    bad = new.copy()
    bad.loc[3, S.UNITS] = 0  # units out of range
    bad.loc[10, S.DATE_OF_SERVICE] = pd.Timestamp("2027-03-01")  # after the run
    twin = bad.loc[[20]].copy()  # the same line key, another patient
    twin[S.PATIENT_ID] = "SOMEONE-ELSE"
    return pd.concat([bad, twin], ignore_index=True)


@pytest.mark.spark
def test_cli_engine_spark_writes_partitioned_parquet_quarantine_and_manifest(
    spark, files, model, new, tmp_path, capsys
):
    bad = _bad_lines(new)
    src = write_table(bad, tmp_path / "in" / "claims.parquet")
    out = tmp_path / "scored"
    code = main(
        ["score", "--engine", "spark", str(src.parent), "--model", str(files["model"]),
         "--out", str(out), "--as-of", AS_OF, "--worklist",
         str(tmp_path / "worklist.csv")]
    )  # fmt: skip
    assert code == 3, capsys.readouterr().err
    months = sorted(p.name for p in out.iterdir() if p.is_dir())
    assert months and all(m.startswith("service_month=") for m in months)
    scored = pq.read_table(out).to_pandas()
    quarantine = pq.read_table(tmp_path / "scored.quarantine.parquet").to_pandas()
    assert len(scored) + len(quarantine) == len(bad)
    # the pandas path on the same file quarantines the same rows for the same checks
    ref = score_batch(model, bad, as_of=AS_OF)
    ref_out = tmp_path / "ref" / "scored.parquet"
    score_file(model, src, ref_out, as_of=AS_OF)
    as_set = lambda q: set(  # noqa: E731
        zip(q[S.CLAIM_ID].astype(str), q[S.Q_CHECK].astype(str), strict=True)
    )
    assert as_set(quarantine) == as_set(ref.quarantine)
    assert len(quarantine) == 4  # units, date, and both copies of the key
    assert sorted(quarantine[S.SOURCE_ROW]) == sorted(ref.quarantine[S.SOURCE_ROW])
    assert (quarantine[S.Q_SOURCE] == str(src)).all()
    # scored months match the partition folders
    month = pd.to_datetime(scored[S.DATE_OF_SERVICE]).dt.strftime("%Y-%m")
    assert (month == scored["service_month"].astype(str)).all()
    # same scores as the one-machine job on the same lines
    _assert_same_scores(
        scored[list(S.SCORED_COLUMNS)], pq.read_table(ref_out).to_pandas()
    )
    manifest = json.loads((tmp_path / "scored.manifest.json").read_text())
    assert manifest["engine"] == "spark"
    assert manifest["counts"]["rows_in"] == len(bad)
    assert manifest["counts"]["quarantined"] == 4
    assert manifest["model"]["sha256"] and manifest["inputs"][0]["sha256"]
    assert (tmp_path / "worklist.csv").exists() and (
        tmp_path / "worklist.html"
    ).exists()
    printed = capsys.readouterr().out
    assert "SOMEONE-ELSE" not in printed


@pytest.mark.spark
def test_cli_engine_spark_refuses_bad_input_with_exit_2(spark, files, new, tmp_path,
                                                        capsys):  # fmt: skip
    missing = write_table(new.drop(columns=[S.UNITS]), tmp_path / "m" / "x.parquet")
    args = ["score", "--engine", "spark", "--model", str(files["model"]),
            "--as-of", AS_OF]  # fmt: skip
    assert main([*args, str(missing), "--out", str(tmp_path / "o1")]) == 2
    assert "units" in capsys.readouterr().err
    fake = tmp_path / "fake.skops"
    fake.write_bytes(b"not a model")
    args[4] = str(fake)
    assert main([*args, str(files["one"]), "--out", str(tmp_path / "o2")]) == 2
    assert "fake.skops" in capsys.readouterr().err
    assert not (tmp_path / "o1").exists() and not (tmp_path / "o2").exists()


@pytest.mark.spark
def test_missing_column_raises_on_the_driver(spark, files):
    from ptdenial.spark import score_spark

    frame = spark.read.parquet(str(files["one"])).drop(S.UNITS)
    with pytest.raises(ClaimsSchemaError, match="units"):
        score_spark(frame, files["model"])


def _job(model_path, *, batch_rows, ship=False):
    """A job description as the driver builds it, for a model on a shared path."""
    from ptdenial.io import file_sha256
    from ptdenial.scoring._batch import _run_dates
    from ptdenial.spark._base import _arrow_schema, _combined_ddl

    as_of, stamp = _run_dates(AS_OF, None)
    return {"model_name": model_path.name, "model_sha256": file_sha256(model_path),
            "model_local_path": None if ship else str(model_path),
            "config": ScoringConfig(batch_rows=batch_rows).to_dict(), "as_of": as_of,
            "scored_at": stamp, "source": "test",
            "arrow_schema": _arrow_schema(_combined_ddl(), False)}  # fmt: skip


def _keyed_batches(path, rows_per_batch):
    """Input rows as Spark hands them to a task: keyed, sorted, in small batches."""
    import pyarrow as pa

    from ptdenial.spark._base import _GROUP, _SRC_FILE, _SRC_ROW

    table = pq.read_table(path)
    group, _ = pd.factorize(table.column(S.PATIENT_ID).to_pandas())
    order = np.argsort(group, kind="stable")
    table = table.take(order).append_column(
        _GROUP, pa.array(group[order].astype(np.int64))
    )
    table = table.append_column(_SRC_FILE, pa.array([str(path)] * len(table)))
    table = table.append_column(_SRC_ROW, pa.array(order.astype(np.int64)))
    return table.to_batches(max_chunksize=rows_per_batch)


def test_model_is_not_in_the_closure_and_loads_once_per_worker(files):
    pytest.importorskip("pyspark", reason="pyspark is not installed")
    from pyspark import cloudpickle

    from ptdenial.io import file_sha256
    from ptdenial.spark import _worker

    sha = file_sha256(files["model"])
    closure = cloudpickle.dumps(
        _worker.make_partition_scorer(_job(files["model"], batch_rows=10))
    )
    assert len(closure) < 50_000 < files["model"].stat().st_size
    _worker._CONTEXTS.clear()
    first = _worker.model_context(sha, name="m", local_path=str(files["model"]))
    again = _worker.model_context(sha, name="m", local_path=str(files["model"]))
    assert again is first and first.model.estimator_.n_jobs == 1
    _worker._CONTEXTS.clear()
    with pytest.raises(ModelVersionError, match="SHA-256"):
        _worker.model_context("0" * 64, name="m", local_path=str(files["model"]))


def test_per_model_setup_runs_once_per_process_for_many_batches(
    files, new, monkeypatch
):
    """Two tasks of many batches in one process: one model load, one explainer."""
    from ptdenial import scoring
    from ptdenial.io import file_sha256
    from ptdenial.spark import _worker

    sha = file_sha256(files["model"])
    _worker._CONTEXTS.clear()
    _worker._STATS.pop(sha, None)
    seen = []
    original = scoring.score_batch

    def spy(*args, **kwargs):
        seen.append(kwargs.get("explainer"))
        return original(*args, **kwargs)

    monkeypatch.setattr(scoring, "score_batch", spy)
    scorer = _worker.make_partition_scorer(_job(files["model"], batch_rows=60))
    out_rows = 0
    for _task in range(2):
        for rb in scorer(_keyed_batches(files["one"], 40)):
            out_rows += rb.num_rows
    assert out_rows == 2 * len(new)  # every row comes back (scored or quarantined)
    stats = _worker.worker_stats()[sha]
    assert stats["batches"] == len(seen) >= 10
    assert stats["model_loads"] == 1
    assert stats["explainer_builds"] == 1
    assert seen[0] is not None and all(e is seen[0] for e in seen)
    # explain="none" needs no explainer: none is built or passed
    _worker._CONTEXTS.clear()
    _worker._STATS.pop(sha, None)
    seen.clear()
    job = _job(files["model"], batch_rows=60)
    job["config"] = ScoringConfig(batch_rows=60, explain="none").to_dict()
    for _ in _worker.make_partition_scorer(job)(_keyed_batches(files["one"], 40)):
        pass
    assert _worker.worker_stats()[sha]["explainer_builds"] == 0
    assert seen and all(e is None for e in seen)


@pytest.mark.spark
def test_on_spark_each_python_worker_sets_up_the_model_once(spark, files):
    """Six tasks of small batches on local[2]: per worker process, one set-up."""
    from ptdenial.io import file_sha256
    from ptdenial.scoring._batch import _run_dates
    from ptdenial.spark import _driver, _session, _worker, read_claims_spark
    from ptdenial.spark._base import _GROUP, _SRC_FILE, _SRC_ROW

    sha = file_sha256(files["model"])
    as_of, stamp = _run_dates(AS_OF, None)
    job = _driver._job_spec(
        spark, files["model"], sha, config=ScoringConfig(batch_rows=60), as_of=as_of,
        scored_at=stamp, ship_model=True, source="test",
    )  # fmt: skip
    scorer = _worker.make_partition_scorer(job)

    def probe(batches):  # runs in the Python worker; reports that process's counts
        import os

        import pyarrow as pa

        from ptdenial.spark import _worker as here

        rows = sum(rb.num_rows for rb in scorer(batches))
        counts = here.worker_stats().get(job["model_sha256"], {})
        yield pa.RecordBatch.from_pydict({
            "pid": [os.getpid()], "rows": [rows],
            "model_loads": [counts.get("model_loads", 0)],
            "explainer_builds": [counts.get("explainer_builds", 0)],
            "batches": [counts.get("batches", 0)],
        })  # fmt: skip

    keyed = _session._keyed(read_claims_spark(spark, files["one"]), "test")
    tasks = _collect(
        keyed.repartition(6, _GROUP)
        .sortWithinPartitions(_GROUP, _SRC_FILE, _SRC_ROW)
        .mapInArrow(
            probe,
            "pid bigint, rows bigint, model_loads bigint, "
            "explainer_builds bigint, batches bigint",
        )
    )
    assert len(tasks) == 6
    per_pid = tasks.groupby("pid").agg(
        tasks=("rows", "size"), loads=("model_loads", "max"),
        builds=("explainer_builds", "max"), batches=("batches", "max"),
    )  # fmt: skip
    assert (per_pid["loads"] == 1).all() and (per_pid["builds"] == 1).all()
    assert per_pid["tasks"].max() >= 2  # a worker really ran several tasks
    assert per_pid["batches"].max() > per_pid["tasks"].max()  # several batches each


@pytest.mark.spark
def test_cli_engine_spark_accepts_history_like_the_local_job(spark, files, model,
                                                             tmp_path):  # fmt: skip
    history = load_sample_claims("history")
    older = history[history[S.SUBMISSION_DATE] <= "2025-10-31"]
    outcomes = write_table(older, tmp_path / "outcomes.parquet")
    out = tmp_path / "scored"
    code = main(
        ["score", "--engine", "spark", str(files["one"]), "--model",
         str(files["model"]), "--out", str(out), "--as-of", AS_OF,
         "--history", str(outcomes)]
    )  # fmt: skip
    assert code == 0
    manifest = json.loads((tmp_path / "scored.manifest.json").read_text())
    snap = manifest["history_snapshot"]
    assert snap["refreshed"] and snap["source"]["path"] == str(outcomes)
    assert snap["last_outcome_date"] <= "2025-12-31" and snap["age_days"] > 0
    assert (tmp_path / "scored.refreshed-model.skops").exists()
    ref_out = tmp_path / "ref" / "scored.parquet"
    score_file(model, files["one"], ref_out, as_of=AS_OF, history=outcomes)
    got = pq.read_table(out).to_pandas()[list(S.SCORED_COLUMNS)]
    ref = pq.read_table(ref_out).to_pandas()
    # Spark scores with the refreshed model file, which has its own id
    ref[S.MODEL_VERSION] = got[S.MODEL_VERSION].iloc[0]
    _assert_same_scores(got, ref)


# --- the history snapshot and training on Spark (issue 19) ------------------------
@pytest.fixture(scope="module")
def small_history(sample_history):
    """A few hundred patients of the sample, some providers missing (null keys)."""
    from ptdenial.model import prepare_history

    patients = sample_history[S.PATIENT_ID].drop_duplicates().iloc[:150]
    h = prepare_history(sample_history[sample_history[S.PATIENT_ID].isin(patients)])
    h = h.reset_index(drop=True)
    h.loc[h.index % 17 == 0, S.RENDERING_PROVIDER_ID] = None
    return h


def _by_line(frame, order) -> pd.DataFrame:
    key = frame[S.CLAIM_ID].astype(str) + "|" + frame[S.LINE_NUMBER].astype(str)
    want = order[S.CLAIM_ID].astype(str) + "|" + order[S.LINE_NUMBER].astype(str)
    return frame.set_index(key.to_numpy()).loc[want.to_numpy()].reset_index(drop=True)


@pytest.mark.spark
@pytest.mark.parametrize(
    ("lag", "training", "as_of"),
    [("deployment", True, None), ("anchored", False, "2025-09-01")],
)
def test_history_snapshot_equals_the_local_encoder(spark, small_history, tmp_path,
                                                   lag, training, as_of):  # fmt: skip
    from ptdenial.features import AsOfHistoryEncoder
    from ptdenial.spark import history_snapshot, read_claims_spark

    path = write_table(small_history, tmp_path / "history.parquet")
    sdf = read_claims_spark(spark, path)
    enc = AsOfHistoryEncoder(lag=lag, as_of=as_of, window_days=60, smoothing=5.0)
    snap = history_snapshot(sdf, enc, training=training)
    local = AsOfHistoryEncoder(lag=lag, as_of=as_of, window_days=60, smoothing=5.0)
    if training:
        expected = local.fit_transform(small_history)
    else:
        expected = local.fit(small_history).transform(small_history)
    # the stored snapshot: the same arrays, to the last bit
    assert snap.encoder.snapshot_.keys() == local.snapshot_.keys()
    for name, arrays in local.snapshot_.items():
        for part, values in arrays.items():
            np.testing.assert_array_equal(snap.encoder.snapshot_[name][part], values)
    for attr in ("global_days_", "global_ncum_", "global_cum_"):
        np.testing.assert_array_equal(getattr(snap.encoder, attr), getattr(local, attr))
    assert snap.encoder.n_history_ == local.n_history_
    assert snap.encoder.last_outcome_date_ == local.last_outcome_date_
    # the lines' features, exactly
    got = _by_line(_collect(snap.features), small_history)
    assert list(got.columns[2:]) == list(expected.columns)
    pd.testing.assert_frame_equal(
        got[list(expected.columns)], expected.reset_index(drop=True), check_exact=True
    )
    assert (expected.filter(like="_n_recent").to_numpy() > 0).any()  # not all empty


@pytest.mark.spark
def test_snapshot_refuses_a_bounded_count_window(spark, small_history, tmp_path):
    """The Spark engine has no bounded-window counts: a clear refusal, not a
    snapshot that silently counts all time."""
    from ptdenial.exceptions import ConfigError
    from ptdenial.features import AsOfHistoryEncoder
    from ptdenial.spark import history_snapshot, read_claims_spark

    sdf = read_claims_spark(spark, write_table(small_history, tmp_path / "h.parquet"))
    enc = AsOfHistoryEncoder(count_window_days=365)
    with pytest.raises(ConfigError, match="count_window_days=365"):
        history_snapshot(sdf, enc, training=True)


#: The training tests' history: every sixth patient of the sample (about 7.8k
#: lines, all months, so the holdout and calibration slices stay full).
TRAIN_EVERY = 6


@pytest.fixture(scope="module")
def train_history(sample_history):
    patients = sample_history[S.PATIENT_ID].drop_duplicates().iloc[::TRAIN_EVERY]
    return sample_history[sample_history[S.PATIENT_ID].isin(patients)]


@pytest.fixture(scope="module")
def history_file(tmp_path_factory, train_history):
    return write_table(train_history, tmp_path_factory.mktemp("hist") / "h.parquet")


@pytest.mark.spark
def test_train_spark_unsampled_is_the_local_model(spark, history_file, train_history,
                                                  new):  # fmt: skip
    from conftest import SAMPLE_MODEL_PARAMS
    from ptdenial.model import DenialRiskModel
    from ptdenial.spark import train_spark

    result = train_spark(history_file, params=SAMPLE_MODEL_PARAMS, spark=spark)
    assert result.info["fraction"] == 1.0
    assert (
        result.info["sampled_lines"]
        == result.info["history_lines"]
        == len(train_history)
    )
    local = DenialRiskModel(**SAMPLE_MODEL_PARAMS).fit(train_history)
    got = result.model.predict_proba(new)[:, 1]
    np.testing.assert_array_equal(got, local.predict_proba(new)[:, 1])
    enc, ref = result.model.features_.history_encoder, local.features_
    assert enc.n_history_ == ref.history_encoder.n_history_
    assert result.model.card_["training_sample"]["engine"] == "spark"


@pytest.mark.spark
def test_cli_train_engine_spark_bounds_the_learner(spark, history_file, new,
                                                   tmp_path, capsys):  # fmt: skip
    from ptdenial.model import load_model

    bound = 3_000
    out = tmp_path / "model.skops"
    code = main(
        ["train", "--engine", "spark", str(history_file), "--out", str(out),
         "--max-lines", str(bound), "--seed", "3", "--no-linear-base"]
    )  # fmt: skip
    assert code == 0
    printed = capsys.readouterr().out
    assert f"--max-lines {bound}" in printed
    model = load_model(out)
    sample = model.card_["training_sample"]
    assert 0 < sample["sampled_lines"] <= bound < sample["history_lines"]
    assert 0 < sample["fraction"] < 1
    # the snapshot knows the whole history, the learner saw the sample only
    assert model.features_.history_encoder.n_history_ > bound
    p = model.predict_proba(new)[:, 1]
    assert np.isfinite(p).all() and 0 < p.mean() < 1


@pytest.mark.spark
def test_cli_train_spark_refuses_a_big_sample(spark, history_file, tmp_path,
                                                capsys):  # fmt: skip
    # checked after counting the rows, before any line is validated or collected
    out = tmp_path / "m.skops"
    code = main(
        ["train", "--engine", "spark", str(history_file), "--out", str(out),
         "--memory-limit", "20MiB"]
    )  # fmt: skip
    assert code == 4
    assert "--max-lines" in capsys.readouterr().err and not out.exists()

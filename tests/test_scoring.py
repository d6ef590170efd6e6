"""The nightly job: scores, reasons, streaming, accounting, worklist, CLI."""

from __future__ import annotations

import json
import logging

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ptdenial import schema as S
from ptdenial.cli import main
from ptdenial.config import ConfigError, ScoringConfig
from ptdenial.datasets import write_sample
from ptdenial.datasets._sample import _as_text
from ptdenial.exceptions import DataQualityWarning
from ptdenial.io import file_sha256, read_claims, write_table
from ptdenial.model import save_model
from ptdenial.scoring import (
    WORKLIST_COLUMNS,
    build_worklist,
    score_batch,
    score_claims,
    score_file,
    worklist_html,
)

AS_OF = "2026-01-01"
NOTE = "PRIVATE NOTE TEXT 4471"


@pytest.fixture(scope="module")
def model(sample_model):
    """The suite's shared model (conftest.py); read only."""
    return sample_model


@pytest.fixture(scope="module")
def new(sample_new_claims):
    return sample_new_claims.assign(**{S.NOTE_TEXT: NOTE})


@pytest.fixture(scope="module")
def files(tmp_path_factory, model, new):
    d = tmp_path_factory.mktemp("scoring")
    model_path = save_model(model, d / "model.skops")
    parquet = write_table(new, d / "new.parquet")
    csv = write_table(new, d / "new.csv")
    return {"dir": d, "model": model_path, "parquet": parquet, "csv": csv}


@pytest.fixture(scope="module")
def batch(model, new):
    return score_batch(model, new, as_of=AS_OF)


def _read(path):
    return pq.read_table(path).to_pandas()


# --- the batch function -------------------------------------------------------------
def test_batch_follows_the_output_contract(batch, new, model):
    scored = batch.scored
    assert tuple(scored.columns) == S.SCORED_COLUMNS
    assert len(scored) + len(batch.quarantine) == len(new)
    assert len(batch.quarantine) == 0
    is_code = (scored[S.CPT_CODE] == "97112").to_numpy()
    p = scored[S.DENIAL_PROBABILITY].to_numpy(dtype=float, na_value=np.nan)
    assert np.isnan(p[~is_code]).all()
    assert (scored.loc[~is_code, S.RISK_BAND] == "not_scored").all()
    assert ((p[is_code] >= 0) & (p[is_code] <= 1)).all()
    cfg = ScoringConfig()
    band = np.select(
        [p >= cfg.high_cut, p >= cfg.medium_cut], ["high", "medium"], "low"
    )
    assert (scored.loc[is_code, S.RISK_BAND].to_numpy() == band[is_code]).all()
    payment = model.expected_payment(batch.claims)
    np.testing.assert_allclose(
        scored[S.EXPECTED_LOSS].to_numpy(dtype=float, na_value=np.nan)[is_code],
        (p * payment)[is_code],
    )
    assert (scored[S.MODEL_VERSION] == model.model_id).all()
    assert (scored[S.SCORED_AT] == pd.Timestamp(AS_OF, tz="UTC")).all()
    # rules on every line, 97112 or not
    hit_lines = scored.loc[scored[S.RULE_HITS].list.len() > 0, S.CPT_CODE]
    assert (hit_lines != "97112").any() and (hit_lines == "97112").any()


def test_scores_come_from_the_model_and_the_snapshot(batch, model):
    code = batch.features.index.to_numpy()
    expected = model.predict_proba(batch.claims, as_of=AS_OF)[:, 1][code]
    got = batch.scored[S.DENIAL_PROBABILITY].to_numpy(dtype=float)[code]
    np.testing.assert_array_equal(got, expected)
    Xf = model.transform_features(batch.claims, as_of=AS_OF).iloc[code]
    pd.testing.assert_frame_equal(
        batch.features.reset_index(drop=True), Xf.reset_index(drop=True)
    )


def test_scores_do_not_depend_on_batch_mates(model, new, batch):
    patients = new[S.PATIENT_ID].unique()
    first = new[S.PATIENT_ID].isin(patients[::2])
    parts = [
        score_batch(model, new.loc[m], as_of=AS_OF).scored for m in (first, ~first)
    ]
    split = pd.concat(parts).set_index([S.CLAIM_ID, S.LINE_NUMBER]).sort_index()
    whole = batch.scored.set_index([S.CLAIM_ID, S.LINE_NUMBER]).sort_index()
    pd.testing.assert_series_equal(
        split[S.DENIAL_PROBABILITY], whole[S.DENIAL_PROBABILITY]
    )
    assert split[S.REASONS].tolist() == whole[S.REASONS].tolist()


def test_every_scored_97112_line_says_why(batch):
    s = batch.scored
    high = s[s[S.RISK_BAND] == "high"]
    assert len(high) and (high[S.REASONS].list.len() > 0).all()
    # every line with a probability has a reason, low-risk ones included
    scored97 = s[s[S.DENIAL_PROBABILITY].notna()]
    assert (scored97[S.REASONS].list.len() > 0).all()
    low = scored97[
        (scored97[S.RISK_BAND] == "low") & (scored97[S.RULE_HITS].list.len() == 0)
    ]
    assert len(low)
    first = low[S.REASONS].list[0]
    assert first.str.startswith("low risk (").all()
    assert first.str.contains("no billing rule hit").all()
    # a fix per fixable reason: every rule hit with a fix shows up
    with_hits = s[s[S.RULE_HITS].list.len() > 0]
    assert (with_hits[S.SUGGESTED_FIXES].list.len() > 0).all()


def test_score_claims_in_memory_gives_exact_reasons_to_the_worklist(model, new):
    cfg = ScoringConfig(worklist_top=20)
    scored = score_claims(model, new, as_of=AS_OF, config=cfg)
    assert tuple(scored.columns) == S.SCORED_COLUMNS and len(scored) == len(new)
    res = score_batch(model, new, as_of=AS_OF, config=cfg)
    wl = build_worklist(res, config=cfg, model=model)
    assert len(wl) == 20
    model_lines = (wl["basis"] == "model").to_numpy()
    assert model_lines.any() and (wl.loc[model_lines, "explanation"] == "exact").all()
    assert (wl.loc[~model_lines, "explanation"] == "rules").all()
    keyed = scored.set_index([S.CLAIM_ID, S.LINE_NUMBER])
    for row in wl.head(5).itertuples(index=False):
        assert (
            tuple(keyed.loc[(row.claim_id, row.line_number), S.REASONS]) == row.reasons
        )


def test_score_claims_warns_about_quarantined_rows(model, new):
    bad = _as_text(new.head(300))
    bad.loc[3, S.UNITS] = "lots"
    with pytest.warns(DataQualityWarning, match="failed validation"):
        scored = score_claims(model, bad, as_of=AS_OF)
    assert len(scored) == 299


# --- streaming job ------------------------------------------------------------------
def test_streaming_equals_one_batch_and_reruns_are_identical(model, files, tmp_path):
    one = score_file(model, files["parquet"], tmp_path / "one.parquet", as_of=AS_OF)
    many = score_file(
        model,
        files["parquet"],
        tmp_path / "many.parquet",
        as_of=AS_OF,
        config=ScoringConfig(batch_rows=300),
    )
    assert one.manifest["batches"] == 1 and many.manifest["batches"] > 4
    a, b = _read(tmp_path / "one.parquet"), _read(tmp_path / "many.parquet")
    pd.testing.assert_frame_equal(a, b)  # same rows, same order, same reasons
    again = tmp_path / "again.parquet"
    score_file(
        model, files["parquet"], again, as_of=AS_OF,
        config=ScoringConfig(batch_rows=300),
    )  # fmt: skip
    assert file_sha256(again) == file_sha256(tmp_path / "many.parquet")


def test_unsorted_input_and_csv_give_the_same_scores(model, files, new, tmp_path):
    shuffled = _as_text(new).sample(frac=1.0, random_state=3)
    write_table(shuffled, tmp_path / "shuffled.csv")
    score_file(model, tmp_path / "shuffled.csv", tmp_path / "s.csv", as_of=AS_OF,
               config=ScoringConfig(batch_rows=250))  # fmt: skip
    score_file(model, files["parquet"], tmp_path / "p.parquet", as_of=AS_OF)
    from_csv = pd.read_csv(tmp_path / "s.csv", dtype=str, keep_default_na=False)
    ref = _read(tmp_path / "p.parquet")
    assert len(from_csv) == len(ref)
    key = [S.CLAIM_ID, S.LINE_NUMBER]
    from_csv[S.LINE_NUMBER] = from_csv[S.LINE_NUMBER].astype(int)
    m = ref.merge(from_csv, on=key, suffixes=("", "_csv"), validate="one_to_one")
    p_csv = pd.to_numeric(m[S.DENIAL_PROBABILITY + "_csv"], errors="coerce")
    np.testing.assert_allclose(p_csv, m[S.DENIAL_PROBABILITY].astype(float))
    assert (m[S.RISK_BAND] == m[S.RISK_BAND + "_csv"]).all()
    joined = m[S.REASONS].map(lambda r: " | ".join(r))
    assert (joined == m[S.REASONS + "_csv"]).all()


def test_visits_are_never_split(model, files, tmp_path):
    whole = score_file(model, files["parquet"], tmp_path / "w.parquet", as_of=AS_OF)
    tiny = score_file(model, files["parquet"], tmp_path / "t.parquet", as_of=AS_OF,
                      config=ScoringConfig(batch_rows=300))  # fmt: skip
    assert tiny.manifest["batches"] > 5
    a, b = _read(tmp_path / "w.parquet"), _read(tmp_path / "t.parquet")
    assert a[S.RULE_HITS].map(tuple).tolist() == b[S.RULE_HITS].map(tuple).tolist()
    assert whole.manifest["rule_lines"] == tiny.manifest["rule_lines"]


def test_bad_rows_are_quarantined_counted_and_exit_3(files, new, tmp_path):
    raw = _as_text(new)
    bad = {5: (S.UNITS, "two"), 77: (S.DATE_OF_SERVICE, "2025-13-45"),
           901: (S.CHARGE_AMOUNT, "abc"), 1500: (S.CPT_CODE, "9711")}  # fmt: skip
    for row, (col, value) in bad.items():
        raw.loc[row, col] = value
    write_table(raw, tmp_path / "bad.csv")
    out = tmp_path / "scored.parquet"
    code = main(["score", str(tmp_path / "bad.csv"), "--model", str(files["model"]),
                 "--out", str(out), "--as-of", AS_OF,
                 "--batch-rows", "500"])  # fmt: skip
    assert code == 3
    q = _read(tmp_path / "scored.quarantine.parquet")
    assert sorted(q[S.SOURCE_ROW].tolist()) == sorted(bad)
    assert set(q[S.Q_COLUMN]) == {c for c, _ in bad.values()}
    manifest = json.loads((tmp_path / "scored.manifest.json").read_text())
    c = manifest["counts"]
    assert c["rows_in"] == len(raw) == c["scored"] + c["quarantined"]
    assert len(_read(out)) == c["scored"] == len(raw) - len(bad)


_CORRUPT = {
    S.UNITS: ["x", "0", "-1", "1.5", "100"],
    S.CHARGE_AMOUNT: ["abc", "-5"],
    S.DATE_OF_SERVICE: ["2025-02-30", "not a date", "1999-01-01", "2030-01-01"],
    S.CPT_CODE: ["9711", "ABCDEF"],
    S.PAYER_CLASS: ["hmo"],
    S.DIAGNOSIS_CODES: ["123", "R26.81|??"],
    S.PATIENT_ID: [""],
}


@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    cells=st.lists(
        st.tuples(
            st.integers(0, 159),
            st.sampled_from(sorted(_CORRUPT)),
            st.integers(0, 4),
        ),
        max_size=25,
    ),
    dups=st.lists(st.integers(0, 159), max_size=3),
    batch_rows=st.integers(25, 300),
)
def test_rows_in_equal_rows_scored_plus_quarantined(
    model, new, tmp_path_factory, cells, dups, batch_rows
):
    raw = _as_text(new.head(160)).reset_index(drop=True)
    for row, col, k in cells:
        options = _CORRUPT[col]
        raw.loc[row, col] = options[k % len(options)]
    if dups:  # copies of existing keys on other rows (other patients too)
        copies = raw.loc[dups].copy()
        copies[S.PATIENT_ID] = "PDUP"
        raw = pd.concat([raw, copies], ignore_index=True)
    d = tmp_path_factory.mktemp("prop")
    write_table(raw, d / "in.csv")
    run = score_file(model, d / "in.csv", d / "out.parquet", as_of=AS_OF,
                     config=ScoringConfig(batch_rows=batch_rows))  # fmt: skip
    scored = _read(d / "out.parquet")
    q_path = d / "out.quarantine.parquet"
    q = _read(q_path) if q_path.exists() else pd.DataFrame({S.SOURCE_ROW: []})
    assert len(scored) + len(q) == len(raw) == run.manifest["counts"]["rows_in"]
    assert not scored.duplicated([S.CLAIM_ID, S.LINE_NUMBER]).any()
    quarantined = set(q[S.SOURCE_ROW].astype(int))
    assert len(quarantined) == len(q)
    assert quarantined <= set(range(len(raw)))
    # every row not quarantined is in the output under its own key
    kept = raw.drop(index=sorted(quarantined))
    keys = set(zip(kept[S.CLAIM_ID].str.strip(), kept[S.LINE_NUMBER].astype(int),
                   strict=True))  # fmt: skip
    assert keys == set(zip(scored[S.CLAIM_ID], scored[S.LINE_NUMBER], strict=True))
    if dups:  # every copy of a duplicated key is quarantined
        assert set(range(160, len(raw))) <= quarantined


def test_a_folder_of_parquet_files_is_one_input(model, new, tmp_path):
    folder = tmp_path / "night"
    raw = _as_text(new)
    raw.loc[len(raw) - 5, S.UNITS] = "none"  # a bad row in the second file
    half = len(raw) // 2
    write_table(raw.iloc[:half], folder / "a.parquet")
    write_table(raw.iloc[half:], folder / "b.parquet")
    out = tmp_path / "out" / "scored.parquet"  # the folder does not exist yet
    run = score_file(model, folder, out, as_of=AS_OF,
                     config=ScoringConfig(batch_rows=700))  # fmt: skip
    assert [i["rows"] for i in run.manifest["inputs"]] == [half, len(raw) - half]
    q = _read(tmp_path / "out" / "scored.quarantine.parquet")
    assert q[S.SOURCE_ROW].tolist() == [len(raw) - 5]
    assert q[S.Q_SOURCE].tolist() == [str(folder / "b.parquet")]
    assert len(_read(out)) == len(raw) - 1


def test_duplicate_keys_meet_even_in_different_batches(model, new, tmp_path):
    raw = _as_text(new.head(300))
    copy = raw.iloc[[10]].copy()
    copy[S.PATIENT_ID] = "PZZZZ99"  # another patient: another hash slot
    raw = pd.concat([raw, copy], ignore_index=True)
    write_table(raw, tmp_path / "dup.csv")
    run = score_file(model, tmp_path / "dup.csv", tmp_path / "o.parquet", as_of=AS_OF,
                     config=ScoringConfig(batch_rows=40))  # fmt: skip
    assert run.manifest["batches"] > 3
    q = _read(tmp_path / "o.quarantine.parquet")
    assert sorted(q[S.SOURCE_ROW]) == [10, 300]
    assert set(q[S.Q_CHECK]) == {"duplicate_key"}
    assert run.exit_code == 3


def test_missing_column_exits_2_and_writes_nothing(files, new, tmp_path, capsys):
    write_table(_as_text(new.head(50)).drop(columns=[S.UNITS]), tmp_path / "m.csv")
    out = tmp_path / "o.parquet"
    code = main(["score", str(tmp_path / "m.csv"), "--model", str(files["model"]),
                 "--out", str(out)])  # fmt: skip
    assert code == 2
    assert "units" in capsys.readouterr().err
    assert not out.exists() and not list(tmp_path.glob(".ptdenial-*"))


def test_tampered_or_foreign_model_is_refused(files, tmp_path, capsys):
    data = bytearray(files["model"].read_bytes())
    data[len(data) // 2] ^= 0xFF
    bad = tmp_path / "bad.skops"
    bad.write_bytes(bytes(data))
    (tmp_path / "bad.skops.card.json").write_text(
        (files["dir"] / "model.skops.card.json").read_text()
    )
    code = main(["score", str(files["parquet"]), "--model", str(bad),
                 "--out", str(tmp_path / "o.parquet")])  # fmt: skip
    assert code == 2
    assert "refused" in capsys.readouterr().err
    pickle_file = tmp_path / "p.skops"
    pickle_file.write_bytes(b"\x80\x04K\x01.")
    code = main(["score", str(files["parquet"]), "--model", str(pickle_file),
                 "--out", str(tmp_path / "o.parquet")])  # fmt: skip
    assert code == 2
    assert not (tmp_path / "o.parquet").exists()


def test_manifest_records_the_run(model, files, tmp_path):
    out = tmp_path / "s.parquet"
    run = score_file(model, files["parquet"], out, as_of=AS_OF,
                     model_path=files["model"])  # fmt: skip
    m = json.loads((tmp_path / "s.manifest.json").read_text())
    assert m == json.loads(json.dumps(run.manifest, default=str))
    assert m["inputs"][0]["sha256"] == file_sha256(files["parquet"])
    assert m["model"]["model_id"] == model.model_id
    assert m["model"]["sha256"] == file_sha256(files["model"])
    assert m["as_of"] == AS_OF and m["scored_at"].startswith(AS_OF)
    c = m["counts"]
    assert c["rows_in"] == c["valid"] + c["quarantined"]
    assert c["scored_97112"] == sum(
        m["risk_bands"][b] for b in ("low", "medium", "high")
    )
    for stage in ("key_pass", "validate", "rules", "features", "predict", "explain",
                  "write_outputs", "total"):  # fmt: skip
        assert stage in m["timings_s"]
    assert {"pandas", "lightgbm", "pyarrow"} <= set(m["versions"])
    assert m["config"]["worklist_top"] == 200


def test_manifest_timings_are_the_named_stages(model, files, tmp_path):
    """One stage timer: the batch stages sum over batches beside the job's own."""
    run = score_file(model, files["parquet"], tmp_path / "s.parquet", as_of=AS_OF,
                     config=ScoringConfig(batch_rows=500))  # fmt: skip
    timings = run.manifest["timings_s"]
    assert run.manifest["batches"] > 1
    assert list(timings) == [
        "hash_inputs", "key_pass", "spill", "read_batches", "validate", "rules",
        "features", "predict", "explain", "assemble", "bookkeeping",
        "fix_value", "worklist_exact", "write_outputs", "total",
    ]  # fmt: skip
    assert all(v >= 0 for v in timings.values())
    stages = sum(v for k, v in timings.items() if k != "total")
    assert stages <= timings["total"] + 0.01


def test_empty_input_scores_nothing(model, new, tmp_path):
    write_table(_as_text(new.head(0)), tmp_path / "empty.csv")
    run = score_file(model, tmp_path / "empty.csv", tmp_path / "o.parquet", as_of=AS_OF)
    assert run.exit_code == 0 and len(_read(tmp_path / "o.parquet")) == 0


# --- worklist -----------------------------------------------------------------------
def test_worklist_ranks_by_dollars_and_respects_capacity(model, files, tmp_path):
    # by dollars at risk; the default order (dollars a fix saves): test_fix_value
    cfg = ScoringConfig(worklist_top=25, worklist_rank="expected_loss")
    run = score_file(model, files["parquet"], tmp_path / "s.parquet", as_of=AS_OF,
                     worklist=tmp_path / "wl.csv", config=cfg)  # fmt: skip
    wl = run.worklist
    assert len(wl) == 25 and list(wl.columns) == list(WORKLIST_COLUMNS)
    dollars = wl["dollars_at_risk"].to_numpy(dtype=float)
    assert (np.diff(dollars) <= 1e-9).all()
    assert (wl.loc[wl["basis"] == "model", "explanation"] == "exact").all()
    assert (wl[S.REASONS].map(len) > 0).all()
    scored = _read(tmp_path / "s.parquet").set_index([S.CLAIM_ID, S.LINE_NUMBER])
    everything = scored[S.EXPECTED_LOSS].dropna().sort_values(ascending=False)
    assert dollars[0] >= everything.iloc[0] - 1e-9
    for row in wl.itertuples(index=False):  # worklist reasons are in the scored file
        assert (
            tuple(scored.loc[(row.claim_id, row.line_number), S.REASONS]) == row.reasons
        )
    csv = pd.read_csv(tmp_path / "wl.csv")
    assert len(csv) == 25
    page = (tmp_path / "wl.html").read_text()
    assert page.startswith("<!DOCTYPE html>")
    for forbidden in ("http://", "https://", "<script", "src=", NOTE, S.PATIENT_ID):
        assert forbidden not in page
    for pid in read_claims(files["parquet"])[S.PATIENT_ID].unique():
        assert pid not in page


def test_worklist_can_show_the_pseudonymous_patient(batch):
    wl = build_worklist(batch, config=ScoringConfig(worklist_patient_id=True))
    assert S.PATIENT_ID in wl.columns and wl[S.PATIENT_ID].notna().all()


def test_worklist_html_escapes_everything():
    frame = pd.DataFrame(
        {
            "rank": [1],
            S.CLAIM_ID: ["<img src=x onerror=alert(1)>"],
            S.REASONS: [("payer A&B <denies>",)],
            S.SUGGESTED_FIXES: [("add <KX>",)],
            "dollars_at_risk": [12.5],
        }
    )
    page = worklist_html(frame, title="<t>")
    assert "<img" not in page and "&lt;img" in page
    assert "A&amp;B &lt;denies&gt;" in page and "&lt;KX&gt;" in page
    assert "<title>&lt;t&gt;</title>" in page


# --- operations ---------------------------------------------------------------------
def test_logs_carry_no_phi(model, files, new, tmp_path, caplog, capsys):
    caplog.set_level(logging.DEBUG)
    code = main(["-vv", "score", str(files["csv"]), "--model", str(files["model"]),
                 "--out", str(tmp_path / "s.parquet"), "--as-of", AS_OF,
                 "--worklist", str(tmp_path / "wl.csv"),
                 "--batch-rows", "500"])  # fmt: skip
    assert code == 0
    captured = capsys.readouterr()
    text = caplog.text + captured.out + captured.err
    assert "scored" in text
    assert NOTE not in text
    for pid in new[S.PATIENT_ID].unique():
        assert pid not in text
    # no progress bar when stderr is not a terminal (cron)
    assert "scoring:" not in captured.err and "batch/s" not in captured.err


def test_report_is_self_contained(files, tmp_path):
    code = main(["score", str(files["parquet"]), "--model", str(files["model"]),
                 "--out", str(tmp_path / "s.parquet"), "--as-of", AS_OF,
                 "--report", str(tmp_path / "report")])  # fmt: skip
    assert code == 0
    page = (tmp_path / "report" / "report.html").read_text()
    assert page.count("data:image/png;base64,") >= 2  # scores and drift
    for forbidden in ("http://", "https://", "<script", 'src="http', "href=", NOTE):
        assert forbidden not in page


def test_demo_runs_end_to_end(tmp_path, capsys):
    write_sample(tmp_path / "sample", n_patients=250, random_state=11)
    code = main(["demo", "--out", str(tmp_path / "out"), "--sample",
                 str(tmp_path / "sample"), "--n-estimators", "20"])  # fmt: skip
    assert code == 0
    out = tmp_path / "out"
    for name in ("scored.parquet", "worklist.csv", "worklist.html",
                 "report/report.html", "scored.manifest.json",
                 "model.skops"):  # fmt: skip
        assert (out / name).exists(), name
    assert "worklist.html" in capsys.readouterr().out


# --- configuration ------------------------------------------------------------------
def test_config_precedence_arguments_toml_environment(tmp_path):
    toml = tmp_path / "scoring.toml"
    toml.write_text("[scoring]\nhigh_cut = 0.5\nworklist_top = 40\n")
    env = {"PTDENIAL_HIGH_CUT": "0.45", "PTDENIAL_MEDIUM_CUT": "0.2",
           "PTDENIAL_WORKLIST_TOP": "10"}  # fmt: skip
    cfg = ScoringConfig.from_sources({"worklist_top": 7, "high_cut": None},
                                     toml=toml, env=env)  # fmt: skip
    assert (cfg.worklist_top, cfg.high_cut, cfg.medium_cut) == (7, 0.5, 0.2)
    assert ScoringConfig.from_sources(env={}) == ScoringConfig()


@pytest.mark.parametrize(
    ("values", "env", "match"),
    [
        ({"high_cut": 0.1}, {}, "medium_cut < high_cut"),
        ({}, {"PTDENIAL_BATCH_ROWS": "many"}, "PTDENIAL_BATCH_ROWS"),
        ({"explain": "sometimes"}, {}, "explain"),
        ({"colour": "red"}, {}, "unknown setting"),
    ],
)
def test_config_errors_name_the_setting(values, env, match):
    with pytest.raises(ConfigError, match=match):
        ScoringConfig.from_sources(values, env=env)


def test_cli_bad_as_of_is_exit_2(files, tmp_path, capsys):
    code = main(["score", str(files["parquet"]), "--model", str(files["model"]),
                 "--out", str(tmp_path / "o.parquet"),
                 "--as-of", "yesterday-ish"])  # fmt: skip
    assert code == 2 and "--as-of" in capsys.readouterr().err


def test_a_file_that_is_not_parquet_is_refused_by_name(model, tmp_path):
    from ptdenial.exceptions import InputFileError

    bad = tmp_path / "night.parquet"
    bad.write_bytes(b"claim_id,line_number\nC1,1\n")  # CSV text under a .parquet name
    with pytest.raises(InputFileError, match=r"night\.parquet: cannot read as Parquet"):
        score_file(model, bad, tmp_path / "out.parquet", as_of=AS_OF)
    assert not (tmp_path / "out.parquet").exists()

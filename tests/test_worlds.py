"""bench.worlds: the independent claims world meets the contract and its knobs work."""

from __future__ import annotations

import ast
import doctest
import importlib
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ptdenial.io import read_claims
from ptdenial.schema import derive_outcomes, validate_claims

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # bench/ is not installed; it runs from the checkout
    sys.path.insert(0, str(ROOT))
worlds = importlib.import_module("bench.worlds")

N = 6_000
DOC_DATES = ("poc_certified_date", "last_progress_report_date", "note_signed_date")
OUTCOME_LISTS = ("adjustment_codes", "remark_codes")


@pytest.fixture(scope="module")
def world():
    return worlds.make_world(N, seed=20)


def _export_date(claims):
    return claims.attrs["world"]["export_date"]


def _same_outside(a, b, columns):
    for col in columns:
        pd.testing.assert_series_equal(a[col], b[col], check_names=False)


@pytest.mark.parametrize(
    ("typing", "suffix", "bool_style"),
    [
        ("strings", "parquet", None),
        ("warehouse", "parquet", None),
        ("warehouse", "parquet", "yn"),
        ("warehouse", "parquet", "01"),
        ("csv", "csv", None),
    ],
)
def test_every_typing_meets_the_contract(world, tmp_path, typing, suffix, bool_style):
    claims, truth = world
    path = worlds.write_world(
        claims, tmp_path / f"claims.{suffix}", typing, bool_style=bool_style
    )
    raw = read_claims(path)
    valid, quarantine = validate_claims(raw, run_date=_export_date(claims))
    assert len(quarantine) == 0, quarantine[["column", "check", "value"]].head()
    assert len(valid) == N
    # the labels ptdenial derives from the remittance fields are the truth's
    labels = derive_outcomes(valid)
    got = pd.DataFrame(
        {
            "claim_id": valid["claim_id"].astype(str).to_numpy(),
            "line_number": valid["line_number"].astype(int).to_numpy(),
            "derived": labels["denied"].to_numpy(),
        }
    )
    want = truth[["claim_id", "line_number", "denied"]].astype(
        {"claim_id": str, "line_number": int}
    )
    both = got.merge(want, on=["claim_id", "line_number"], validate="1:1")
    assert len(both) == N
    derived = both["derived"].astype("boolean")
    true = both["denied"].astype("boolean")
    assert (derived.isna() == true.isna()).all()
    assert (derived.dropna() == true.dropna()).all()


def test_warehouse_types(world, tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    claims, _ = world
    path = worlds.write_world(claims, tmp_path / "w.parquet", "warehouse")
    schema = pq.read_schema(path)
    assert schema.field("date_of_service").type == pa.date32()
    assert schema.field("charge_amount").type == pa.decimal128(12, 2)
    assert schema.field("adjudication_date").type.tz == "America/Chicago"
    assert schema.field("submission_date").type.tz is None
    assert pa.types.is_dictionary(schema.field("cpt_code").type)
    assert schema.field("claim_id").type == pa.large_string()
    assert schema.field("rendering_provider_id").type == pa.int64()
    assert schema.field("line_number").type == pa.int8()
    assert pa.types.is_list(schema.field("diagnosis_codes").type)


def test_in_memory_frames_validate(world):
    claims, _ = world
    for frame in (claims, worlds.as_of_night(claims)):
        valid, quarantine = validate_claims(frame, run_date=_export_date(claims))
        assert len(quarantine) == 0
        assert len(valid) == N


def test_truth_is_a_probability_and_matches_the_realized_rate(world):
    claims, truth = world
    p = truth["true_probability"].to_numpy()
    assert ((p > 0) & (p < 1)).all()
    done = ~truth["pending"].to_numpy()
    denied = truth["denied"].to_numpy(dtype=bool, na_value=False)[done]
    assert 0.03 < denied.mean() < 0.4
    assert abs(denied.mean() - p[done].mean()) < 0.025
    assert worlds.auc(denied, p[done]) > 0.7
    # pending lines have no outcome anywhere
    pend = truth["pending"].to_numpy()
    assert truth["denied"][pend].isna().all()
    assert claims["adjudication_date"][pend].isna().all()
    assert claims["adjustment_codes"][pend].isna().all()
    assert claims["adjudication_date"][~pend].notna().all()


def test_exact_line_count_and_line_numbers():
    for n in (1, 37, 2_503):
        claims, truth = worlds.make_world(n, seed=3)
        assert len(claims) == len(truth) == n
        numbers = claims.groupby("claim_id")["line_number"].agg(["min", "max", "size"])
        assert (numbers["min"] == 1).all()
        assert (numbers["max"] == numbers["size"]).all()


def test_deterministic_per_seed(world):
    claims, truth = world
    again_claims, again_truth = worlds.make_world(N, seed=20)
    pd.testing.assert_frame_equal(claims, again_claims)
    pd.testing.assert_frame_equal(truth, again_truth)
    other, _ = worlds.make_world(N, seed=21)
    assert not other["claim_id"].equals(claims["claim_id"])


def test_late_documents_exist_in_history_and_are_blank_on_their_night(world):
    claims, truth = world
    sent = claims["submission_date"]
    night = worlds.as_of_night(claims)
    for col in DOC_DATES:
        late = (claims[col] > sent).to_numpy()
        assert late.any(), col
        assert night[col][late].isna().all()
        assert not (night[col] > sent).any()
        # documents signed in time are kept
        kept = claims[col].notna().to_numpy() & ~late
        assert night[col][kept].equals(claims[col][kept])
    late_cert = (claims["poc_certified_date"] > sent).to_numpy()
    assert night["cert_through_date"][late_cert].isna().all()
    # the truth knows what existed when the claim went out
    at_send = truth["cert_at_send"].to_numpy()
    signed_by_send = (claims["poc_certified_date"] <= sent).to_numpy()
    assert not (late_cert & at_send).any()
    assert (signed_by_send[at_send]).all()


def test_truth_depends_on_documents_at_sending():
    claims, truth = worlds.make_world(20_000, seed=8)
    medicare_112 = (claims["payer_class"] == "medicare") & (
        claims["cpt_code"] == "97112"
    )
    p = truth["true_probability"][medicare_112]
    at_send = truth["cert_at_send"][medicare_112]
    assert p[~at_send].mean() > p[at_send].mean() + 0.03
    note = truth["note_signed_at_send"]
    assert (
        truth["true_probability"][~note].mean() > truth["true_probability"][note].mean()
    )


def test_without_late_docs_nothing_is_signed_after_sending():
    claims, _ = worlds.make_world(N, seed=20, late_docs=False)
    for col in DOC_DATES:
        assert not (claims[col] > claims["submission_date"]).any()


def test_as_of_a_night_hides_later_outcomes(world):
    claims, _ = world
    night = pd.Timestamp("2025-03-01")
    seen = worlds.as_of_night(claims, night)
    later = (claims["adjudication_date"] > night).to_numpy()
    assert later.any()
    assert seen["adjudication_date"][later].isna().all()
    assert seen["paid_amount"][later].isna().all()
    assert seen["adjustment_codes"][later].isna().all()
    earlier = claims["adjudication_date"].notna().to_numpy() & ~later
    assert seen["paid_amount"][earlier].equals(claims["paid_amount"][earlier])
    hist = worlds.history_as_of(claims, night)
    assert (hist["submission_date"] <= night).all()
    batch = worlds.night_batch(claims, "2025-03-04")
    assert (batch["submission_date"] == pd.Timestamp("2025-03-04")).all()
    assert batch["adjudication_date"].isna().all()


def test_policy_change_raises_that_payer_after_its_date(world):
    claims, truth = world
    change = ("COM-UHC-CP", "2025-03-01", 1.5)
    c2, t2 = worlds.make_world(N, seed=20, policy_change=change)
    structural = [
        c
        for c in claims.columns
        if c
        not in ("adjudication_date", "allowed_amount", "paid_amount") + OUTCOME_LISTS
    ]
    _same_outside(claims, c2, structural)
    hit = (claims["payer_id"] == "COM-UHC-CP") & (
        claims["submission_date"] >= pd.Timestamp("2025-03-01")
    )
    assert hit.sum() > 50
    diff = t2["true_logit"] - truth["true_logit"]
    assert np.allclose(diff[hit], 1.5)
    assert np.allclose(diff[~hit], 0.0)
    # realized: the payer's denial rate rises after the date
    c3, t3 = worlds.make_world(
        20_000, seed=9, policy_change=("COM-UHC-CP", "2025-03-01", 2.0)
    )
    payer = (c3["payer_id"] == "COM-UHC-CP") & ~t3["pending"]
    after = c3["submission_date"] >= pd.Timestamp("2025-03-01")
    rate = t3["denied"].astype("boolean")
    assert rate[payer & after].mean() > rate[payer & ~after].mean() + 0.1
    with pytest.raises(ValueError, match="unknown payer_id"):
        worlds.make_world(100, seed=1, policy_change=("NOPE", "2025-01-01", 1.0))


def test_payer_edit_hits_the_pair_unless_59(world):
    claims, truth = world
    c2, t2 = worlds.make_world(N, seed=20, payer_edit=("COM-BCBSTX", "97112", "97530"))
    claims_530 = claims.loc[claims["cpt_code"] == "97530", "claim_id"]
    with_530 = claims["claim_id"].isin(claims_530)
    bypass = claims["modifiers"].map(
        lambda m: bool({"59", "XE", "XP", "XS", "XU"} & set(m))
    )
    hit = (
        (claims["payer_id"] == "COM-BCBSTX")
        & (claims["cpt_code"] == "97112")
        & with_530
        & ~bypass
    )
    assert hit.any()
    diff = t2["true_logit"] - truth["true_logit"]
    assert np.allclose(diff[hit], 2.5)
    assert np.allclose(diff[~hit], 0.0)


def test_trend_drifts_with_the_calendar(world):
    claims, truth = world
    _, t2 = worlds.make_world(N, seed=20, trend=0.5)
    years = (claims["submission_date"] - pd.Timestamp("2024-01-01")).dt.days / 365.25
    diff = t2["true_logit"] - truth["true_logit"]
    assert np.allclose(diff, (0.5 - 0.08) * years)


def test_kx_is_needed_from_the_crossing_visit(world):
    claims, truth = world
    thresholds = {2024: 2330.0, 2025: 2410.0}
    thr = claims["date_of_service"].dt.year.map(thresholds)
    medicare = claims["payer_class"] == "medicare"
    crossing = medicare & (claims["ytd_therapy_allowed"] < thr) & truth["kx_needed"]
    assert crossing.any()
    has_kx = claims["modifiers"].map(lambda m: "KX" in m)
    assert has_kx[crossing].any() and not has_kx[crossing].all()
    assert claims["ytd_therapy_allowed"][~medicare].isna().all()


def test_more_payers_and_unknown_parameters():
    claims, _ = worlds.make_world(3_000, seed=4, n_payers=14)
    assert claims["payer_id"].nunique() > 11
    claims, _ = worlds.make_world(3_000, seed=4, n_payers=3)
    assert claims["payer_id"].nunique() <= 3
    with pytest.raises(TypeError, match="unknown parameters"):
        worlds.make_world(100, seed=1, no_such_knob=True)


def test_cli_writes_claims_truth_and_summary(tmp_path):
    from bench.worlds.__main__ import main

    rc = main(
        [
            "--lines", "3000", "--seed", "5", "--typing", "warehouse",
            "--out", str(tmp_path), "--cut", "2025-06-30",
        ]
    )  # fmt: skip
    assert rc == 0
    meta = json.loads((tmp_path / "world.json").read_text())
    assert meta["summary"]["lines"] == 3000
    assert 0 < meta["summary"]["auc_truth_97112"] <= 1
    for name in ("claims", "history", "new_claims"):
        raw = read_claims(tmp_path / f"{name}.parquet")
        _, quarantine = validate_claims(raw, run_date=meta["export_date"])
        assert len(quarantine) == 0
    assert main(["--lines", "10", "--seed", "1", "--out", str(tmp_path / "x"),
                 "--policy-change", "NOPE,2025-01-01,1"]) == 2  # fmt: skip


def test_generator_shares_no_code_with_ptdenial():
    for path in (ROOT / "bench" / "worlds").glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            assert not any(n.split(".")[0] == "ptdenial" for n in names), path


def test_doctests():
    for name in ("_generate", "_export", "_summary", "__init__"):
        module = importlib.import_module(
            "bench.worlds" if name == "__init__" else f"bench.worlds.{name}"
        )
        result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
        assert result.failed == 0, name

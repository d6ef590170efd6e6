"""The synthetic claims world: contract, determinism, realism and the sample files."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ptdenial import schema as S
from ptdenial.datasets import (
    CAUSES,
    HARD_CAUSES,
    TRUTH_BEST_PROBABILITY,
    TRUTH_CAUSE,
    TRUTH_PROBABILITY,
    PolicyChange,
    SyntheticParams,
    load_sample_claims,
    make_claims,
    make_sample,
    write_sample,
)
from ptdenial.exceptions import ClaimsSchemaError
from ptdenial.io import read_claims
from ptdenial.reference import load_reference
from ptdenial.schema import derive_outcomes, validate_claims

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample"
END = "2025-12-31"


@pytest.fixture(scope="module")
def world():
    """A world large enough for rates by payer and cause (about 43k lines)."""
    return make_claims(1500, random_state=11)


@pytest.fixture(scope="module")
def labelled(world):
    return derive_outcomes(world.claims)


def _has(mods: pd.Series, code: str) -> pd.Series:
    return mods.map(lambda t: code in t).astype(bool)


def _assert_same(got: pd.DataFrame, expected: pd.DataFrame, obj: str) -> None:
    """assert_frame_equal, with tuple columns compared through their text (fast)."""
    assert list(got.columns) == list(expected.columns), obj
    lists = [c for c in expected.columns if c in S.LIST_COLUMNS]
    for col in lists:
        codes, uniques = pd.factorize(
            pd.concat([got[col], expected[col]], ignore_index=True)
        )
        text = np.array(["|".join(u) for u in uniques], dtype=object)[codes]
        assert got[col].map(type).eq(tuple).all(), (obj, col)
        np.testing.assert_array_equal(
            text[: len(got)], text[len(got) :], err_msg=f"{obj}: {col}"
        )
    pd.testing.assert_frame_equal(
        got.drop(columns=lists), expected.drop(columns=lists), obj=obj
    )


# --- contract -------------------------------------------------------------------
def test_deterministic_for_a_seed():
    a = make_claims(120, random_state=4)
    b = make_claims(120, random_state=4)
    pd.testing.assert_frame_equal(a.claims, b.claims)
    pd.testing.assert_frame_equal(a.truth, b.truth)
    c = make_claims(120, random_state=5)
    assert not a.claims[S.CLAIM_ID].equals(c.claims[S.CLAIM_ID]) or not a.claims[
        S.UNITS
    ].equals(c.claims[S.UNITS])


def test_claims_are_canonical_and_nothing_is_quarantined(world):
    claims = world.claims
    valid, quarantine = validate_claims(claims, run_date=END)
    assert len(quarantine) == 0
    pd.testing.assert_frame_equal(valid, claims)
    expected = [
        c
        for c in S.REQUIRED_COLUMNS + S.OPTIONAL_COLUMNS + S.OUTCOME_COLUMNS
        if c not in (S.NOTE_TEXT, S.DENIED)
    ]
    assert list(claims.columns) == expected
    assert not claims.duplicated([S.CLAIM_ID, S.LINE_NUMBER]).any()


def test_truth_is_separate_and_aligned(world):
    claims, truth = world
    assert list(truth.columns) == [
        S.CLAIM_ID,
        S.LINE_NUMBER,
        TRUTH_PROBABILITY,
        TRUTH_BEST_PROBABILITY,
        TRUTH_CAUSE,
    ]
    assert TRUTH_PROBABILITY not in claims and TRUTH_CAUSE not in claims
    assert S.DENIED not in claims
    pd.testing.assert_series_equal(truth[S.CLAIM_ID], claims[S.CLAIM_ID])
    pd.testing.assert_series_equal(truth[S.LINE_NUMBER], claims[S.LINE_NUMBER])
    p = truth[TRUTH_PROBABILITY]
    assert ((p > 0) & (p < 1)).all()
    assert set(truth[TRUTH_CAUSE]) <= set(CAUSES)


def test_best_achievable_probability_integrates_out_only_the_noise():
    from sklearn.metrics import roc_auc_score

    world = make_claims(400, random_state=11)
    t = world.truth
    best, oracle = t[TRUTH_BEST_PROBABILITY], t[TRUTH_PROBABILITY]
    assert ((best > 0) & (best < 1)).all()
    # averaging over unseen noise pulls probabilities toward the middle, keeps
    # the mean, and ranks the drawn outcomes worse than the noisy oracle
    assert best.std() < oracle.std()
    assert abs(best.mean() - oracle.mean()) < 0.01
    labelled = derive_outcomes(world.claims)
    done = ~labelled[S.PENDING].to_numpy(dtype=bool)
    y = labelled.loc[done, S.DENIED].astype(bool)
    assert roc_auc_score(y, best[done]) < roc_auc_score(y, oracle[done])
    # without noise in the latent model the two are the same
    quiet = dataclasses.replace(
        SyntheticParams(), noise_claim_sd=0.0, noise_line_sd=0.0
    )
    t0 = make_claims(200, random_state=11, params=quiet).truth
    np.testing.assert_allclose(t0[TRUTH_BEST_PROBABILITY], t0[TRUTH_PROBABILITY])


def test_codes_billed_beside_97112(world):
    codes = set(world.claims[S.CPT_CODE])
    assert {
        "97112",
        "97110",
        "97140",
        "97530",
        "97116",
        "97161",
        "97162",
        "97163",
        "97164",
        "97010",
        "97014",
        "G0283",
        "97032",
        "97035",
        "97760",
        "97022",
    } <= codes
    share = (world.claims[S.CPT_CODE] == "97112").mean()
    assert 0.25 < share < 0.5


def test_dates_are_consistent_and_known_at_submission(world):
    c = world.claims
    sub = c[S.SUBMISSION_DATE]
    assert (sub >= c[S.DATE_OF_SERVICE]).all()
    assert (sub <= pd.Timestamp(END)).all()
    for col in (S.POC_CERTIFIED_DATE, S.NOTE_SIGNED_DATE):
        assert (c[col].dropna() <= sub[c[col].notna()]).all(), col
    assert (c[S.EPISODE_START_DATE] <= c[S.DATE_OF_SERVICE]).all()
    assert (c[S.LAST_PROGRESS_REPORT_DATE] <= c[S.DATE_OF_SERVICE]).all()
    span = (c[S.CERT_THROUGH_DATE] - c[S.EPISODE_START_DATE]).dt.days
    assert (span >= 0).all()
    # certification intervals are at most 90 days (initial or recertification)
    recert = load_reference().parameter("recert_interval_days")
    first = c[S.CERT_THROUGH_DATE] - c[S.EPISODE_START_DATE] < pd.Timedelta(days=recert)
    assert first.mean() > 0.5
    # some late or missing certifications, overdue progress reports
    assert c[S.POC_CERTIFIED_DATE].isna().any()
    assert (c[S.VISITS_SINCE_PROGRESS_REPORT] > 10).any()
    assert (c[S.VISITS_SINCE_PROGRESS_REPORT] <= 10).mean() > 0.9


# --- outcomes ---------------------------------------------------------------------
def test_denial_rate_in_range(labelled):
    adjudicated = ~labelled[S.PENDING].astype(bool)
    rate = labelled.loc[adjudicated, S.DENIED].astype(float).mean()
    assert 0.08 <= rate <= 0.15


def test_denial_rate_is_configurable():
    rates = []
    for target in (0.05, 0.2):
        params = SyntheticParams(target_denial_rate=target)
        d = derive_outcomes(make_claims(400, random_state=2, params=params).claims)
        rates.append(d[S.DENIED].astype(float).mean())
    assert rates[0] < 0.08 < 0.15 < rates[1]
    assert abs(rates[0] - 0.05) < 0.02 and abs(rates[1] - 0.2) < 0.03


def test_pending_lines_have_no_outcome():
    claims = make_claims(300, random_state=3, as_of="2025-10-31").claims
    as_of = pd.Timestamp("2025-10-31")
    assert (claims[S.SUBMISSION_DATE] <= as_of).all()
    assert (claims[S.ADJUDICATION_DATE].dropna() <= as_of).all()
    pending = claims[S.ADJUDICATION_DATE].isna()
    assert pending.sum() > 50
    assert claims.loc[pending, [S.ALLOWED_AMOUNT, S.PAID_AMOUNT]].isna().all().all()
    assert (claims.loc[pending, S.ADJUSTMENT_CODES].map(len) == 0).all()
    assert (claims.loc[pending, S.REMARK_CODES].map(len) == 0).all()
    labels = derive_outcomes(claims)
    assert labels.loc[pending, S.DENIED].isna().all()
    assert labels[S.PENDING].astype(bool).equals(pending)


def test_hard_edits_are_denied_far_more_often(world, labelled):
    cause = world.truth[TRUTH_CAUSE]
    done = ~labelled[S.PENDING].astype(bool)
    denied = labelled[S.DENIED].astype(float)
    hard = cause.isin(HARD_CAUSES)
    assert denied[hard & done].mean() > 0.8
    assert denied[~hard & done].mean() < 0.12
    present = set(cause[hard])
    assert {
        "GP_MISSING",
        "KX_MISSING",
        "MUE",
        "NCCI_PTP",
        "TIMELY",
        "AUTH_ABSENT",
        "AUTH_EXCEEDED",
        "DX_MISSING",
        "REFERRING_NPI",
        "DUPLICATE",
    } <= present


def test_oracle_discriminates_realistically(world, labelled):
    from sklearn.metrics import roc_auc_score

    m = (world.claims[S.CPT_CODE] == "97112") & ~labelled[S.PENDING].astype(bool)
    auc = roc_auc_score(
        labelled.loc[m, S.DENIED].astype(bool), world.truth.loc[m, TRUTH_PROBABILITY]
    )
    assert 0.75 <= auc <= 0.88


_EXPECTED_CARC = {
    "GP_MISSING": "CO-4",
    "KX_MISSING": "CO-119",
    "BENEFIT_LIMIT": "CO-119",
    "TIMELY": "CO-29",
    "AUTH_ABSENT": "CO-197",
    "AUTH_EXCEEDED": "CO-198",
    "MUE": "CO-151",
    "DX_MISSING": "CO-16",
    "DUPLICATE": "OA-18",
}


def test_denied_lines_carry_the_codes_of_their_cause(world, labelled):
    denied = labelled[S.DENIED].fillna(False).astype(bool)
    cause = world.truth[TRUTH_CAUSE]
    adj = world.claims[S.ADJUSTMENT_CODES]
    rem = world.claims[S.REMARK_CODES]
    for name, carc in _EXPECTED_CARC.items():
        sel = denied & (cause == name)
        assert sel.sum() > 0, name
        assert adj[sel].map(lambda t, c=carc: c in t).all(), name
    assert rem[denied & (cause == "GP_MISSING")].map(lambda t: "N519" in t).all()
    assert rem[denied & (cause == "DX_MISSING")].map(lambda t: "M76" in t).all()
    ncci = adj[denied & (cause == "NCCI_PTP")]
    assert ncci.map(lambda t: "CO-97" in t or "CO-236" in t).all()
    # every code is in the CARC/RARC catalogue
    carc = load_reference().carc
    known = set(carc.loc[carc["kind"] == "CARC", "code"])
    rarcs = set(carc.loc[carc["kind"] == "RARC", "code"])
    used = {c.split("-")[1] for t in adj for c in t}
    assert used <= known
    assert {r for t in rem for r in t} <= rarcs
    assert denied.any()
    assert (world.claims.loc[denied, S.PAID_AMOUNT] == 0).all()
    assert (world.claims.loc[denied, S.ALLOWED_AMOUNT] == 0).all()


def test_paid_lines_look_like_remittances(world, labelled):
    c = world.claims
    done = ~labelled[S.PENDING].astype(bool)
    paid = done & ~labelled[S.DENIED].fillna(False).astype(bool)
    adj = c[S.ADJUSTMENT_CODES]
    assert adj[paid].map(lambda t: "CO-45" in t).mean() > 0.95
    assert (c.loc[paid, S.ALLOWED_AMOUNT] <= c.loc[paid, S.CHARGE_AMOUNT]).all()
    assert (c.loc[paid, S.PAID_AMOUNT] <= c.loc[paid, S.ALLOWED_AMOUNT]).all()
    for code in ("PR-1", "PR-2", "PR-3", "CO-253"):
        assert adj[paid].map(lambda t, k=code: k in t).any(), code
    # lines fully absorbed by the deductible: paid 0, not denied
    absorbed = paid & (c[S.PAID_AMOUNT] == 0) & adj.map(lambda t: "PR-1" in t)
    assert absorbed.sum() > 0
    # partial denials: CO-151 with a positive payment
    partial = labelled[S.PARTIALLY_DENIED].fillna(False).astype(bool)
    assert partial.sum() > 0
    assert (c.loc[partial, S.PAID_AMOUNT] > 0).all()
    assert adj[partial].map(lambda t: "CO-151" in t).all()


def test_policy_change_shifts_the_denial_rate(world, labelled):
    change = SyntheticParams().policy_changes[0]
    assert change.kind == "auth_required"
    c = world.claims
    follow_up = (c[S.PAYER_ID] == change.payer_id) & (c[S.VISIT_NUMBER] > 1)
    day = pd.Timestamp(change.effective_date)
    dos = c[S.DATE_OF_SERVICE]
    denied = labelled[S.DENIED].astype(float)
    before = denied[follow_up & (dos < day) & (dos >= day - pd.Timedelta(days=180))]
    after = denied[follow_up & (dos >= day) & (dos < day + pd.Timedelta(days=60))]
    assert after.mean() > before.mean() + 0.3
    # the practice adapts: a year later the missing-auth denials are gone
    late = follow_up & (dos >= day + pd.Timedelta(days=200))
    assert c.loc[late, S.PRIOR_AUTH_NUMBER].notna().mean() > 0.9
    causes = world.truth.loc[follow_up & (dos >= day), TRUTH_CAUSE]
    assert (causes == "payer_policy_change").any()


def test_no_policy_change_means_no_shift():
    params = SyntheticParams(policy_changes=())
    truth = make_claims(300, random_state=6, params=params).truth
    assert not (truth[TRUTH_CAUSE] == "payer_policy_change").any()


# --- billing realism --------------------------------------------------------------
def test_medicare_modifiers(world):
    c = world.claims
    ref = load_reference()
    mods = c[S.MODIFIERS]
    mcr = c[S.PAYER_CLASS] == "medicare"
    assert _has(mods[mcr], "GP").mean() > 0.97
    kx = ref.kx_thresholds.set_index("year")["kx_threshold"]
    threshold = c[S.DATE_OF_SERVICE].dt.year.map(kx)
    needs_kx = mcr & (c[S.YTD_THERAPY_ALLOWED] >= threshold)
    assert needs_kx.sum() > 100
    assert _has(mods[needs_kx], "KX").mean() > 0.85
    assert _has(mods[mcr & ~needs_kx], "KX").mean() < 0.05
    assert c.loc[~mcr, S.YTD_THERAPY_ALLOWED].isna().all()
    pta = c[S.PROVIDER_CREDENTIAL] == "PTA"
    assert _has(mods[mcr & pta], "CQ").mean() > 0.85
    assert not _has(mods[~pta], "CQ").any()
    # Medicare lines without a referring provider are rare
    assert c.loc[mcr, S.REFERRING_PROVIDER_ID].isna().mean() < 0.02


def test_units_follow_the_payers_time_rule(world):
    c = world.claims
    timed = c[S.MINUTES].notna()
    visits = c[timed].groupby(S.CLAIM_ID, sort=False)
    total_units = visits[S.UNITS].sum()
    minutes = visits[S.VISIT_TIMED_MINUTES].first().astype(int)
    cls = visits[S.PAYER_CLASS].first()
    cms_rule = ~cls.isin(["workers_comp", "auto"]).to_numpy()
    expected = np.where(minutes >= 8, (minutes + 7) // 15, 0)
    match = total_units.to_numpy() == expected
    assert match[cms_rule].mean() > 0.85
    # the mismatches concentrate in a few over-billing providers
    prov = visits[S.RENDERING_PROVIDER_ID].first()[cms_rule]
    by_provider = pd.Series(~match[cms_rule]).groupby(prov.to_numpy()).mean()
    assert by_provider.max() > 3 * by_provider.median()
    # per-code midpoint payers: units = floor((minutes + 7) / 15) per line
    per_code = timed & c[S.PAYER_CLASS].isin(["workers_comp", "auto"])
    m = c.loc[per_code, S.MINUTES].astype(int)
    assert (c.loc[per_code, S.UNITS] == (m + 7) // 15).mean() > 0.85
    # the MUE of 97112 is exceeded now and then
    mue = int(load_reference().mue.set_index("cpt_code").loc["97112", "mue_units"])
    u112 = c.loc[c[S.CPT_CODE] == "97112", S.UNITS]
    assert 0 < (u112 > mue).mean() < 0.02


def test_ncci_pairs_with_and_without_bypass_modifiers(world):
    c = world.claims
    day = c.groupby(S.CLAIM_ID)[S.CPT_CODE].agg(lambda s: frozenset(s))
    has_pair = day.map(lambda s: {"97140", "97530"} <= s)
    col2 = c[(c[S.CPT_CODE] == "97530") & c[S.CLAIM_ID].map(has_pair)]
    bypass = col2[S.MODIFIERS].map(lambda t: bool({"59", "XU", "XS"} & set(t)))
    assert 0.7 < bypass.mean() < 0.99
    assert day.map(lambda s: {"97760", "97112"} <= s).any()
    assert day.map(lambda s: {"97112", "97022"} <= s).any()


def test_diagnoses_and_documentation(world):
    c = world.claims
    dx = c.loc[c[S.CPT_CODE] == "97112", S.DIAGNOSIS_CODES]
    primary = dx.map(lambda t: t[0] if t else "")
    assert primary.isin(["M54.50", "M25.561", "M17.11"]).any()
    assert primary.str.startswith("S93.4").any()
    assert primary.isin(["M62.81"]).any()
    assert (c[S.DIAGNOSIS_CODES].map(len) == 0).any()
    ankle = c[S.DIAGNOSIS_CODES].map(lambda t: bool(t) and t[0].startswith("S93.4"))
    proprio = c[S.DEFICITS_DOCUMENTED].map(lambda t: "PROPRIOCEPTION" in t)
    assert (ankle & proprio).any() and (ankle & ~proprio).any()
    iv = c.loc[c[S.CPT_CODE] == "97112", S.INTERVENTIONS_DOCUMENTED]
    nmr = {
        "NEUROMUSCULAR_REEDUCATION",
        "BALANCE_TRAINING",
        "PROPRIOCEPTIVE_TRAINING",
        "POSTURAL_TRAINING",
        "COORDINATION_TRAINING",
    }
    mismatch = iv.map(lambda t: not (nmr & set(t)))
    assert 0.01 < mismatch.mean() < 0.15
    assert iv[mismatch].map(lambda t: "GAIT_TRAINING" in t or "NMES" in t).mean() > 0.8
    # documentation quality depends on the provider
    obj = c[S.OBJECTIVE_MEASURES_DOCUMENTED].astype(float)
    by_provider = obj.groupby(c[S.RENDERING_PROVIDER_ID]).mean()
    assert by_provider.max() - by_provider.min() > 0.2


def test_payer_policies_come_from_the_reference(world):
    c = world.claims
    classes = set(c[S.PAYER_CLASS].astype(str))
    assert classes == set(S.PAYER_CLASSES)
    assert (c.groupby(S.PAYER_CLASS, observed=True)[S.PAYER_ID].nunique() >= 1).all()
    assert c.loc[c[S.PAYER_CLASS] == "commercial", S.PAYER_ID].nunique() >= 3
    ref = load_reference()
    auth_classes = set(
        ref.payer_policies.loc[ref.payer_policies["auth_required"], "payer_class"]
    )
    follow = c[S.VISIT_NUMBER] > 1
    with_auth = c[S.PRIOR_AUTH_NUMBER].notna()
    in_auth = c[S.PAYER_CLASS].isin(auth_classes)
    assert with_auth[follow & in_auth].mean() > 0.9
    # timely filing: lags beyond the payer's limit occur but are rare
    lag = (c[S.SUBMISSION_DATE] - c[S.DATE_OF_SERVICE]).dt.days
    assert lag.median() <= 5
    assert (lag > 90).mean() < 0.03 and (lag > 90).any()


def test_reference_overrides_reach_the_generator():
    ref = load_reference()
    mine = ref.payer_policies.query("payer_class == 'commercial'").assign(
        payer_id="COM02", time_rule="PER_CODE_MIDPOINT", filing_limit_days=30
    )
    ref2 = load_reference({"payer_policies": mine})
    claims = make_claims(400, random_state=8, reference=ref2).claims
    com2 = claims[(claims[S.PAYER_ID] == "COM02") & claims[S.MINUTES].notna()]
    m = com2[S.MINUTES].astype(int)
    assert (com2[S.UNITS] == (m + 7) // 15).mean() > 0.85


def test_bad_arguments_are_refused():
    with pytest.raises(TypeError, match="random_state"):
        make_claims(10, random_state="x")
    with pytest.raises(ValueError, match="n_patients"):
        make_claims(0)
    with pytest.raises(ValueError, match="target_denial_rate"):
        make_claims(10, params=SyntheticParams(target_denial_rate=1.5))
    bad = SyntheticParams(policy_changes=(PolicyChange("COM01", "2025-01-01", "oops"),))
    with pytest.raises(ValueError, match="PolicyChange.kind"):
        make_claims(50, params=bad)
    with pytest.raises(ValueError, match="kind"):
        load_sample_claims("everything")


def test_params_are_frozen_and_hashable():
    p = SyntheticParams()
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.target_denial_rate = 0.5  # type: ignore[misc]
    assert hash(p) == hash(SyntheticParams())


# --- the sample --------------------------------------------------------------------
def test_make_sample_new_claims_are_one_night_without_outcomes():
    s = make_sample(200, random_state=9, new_claims_lines=400)
    night = pd.Timestamp(END) + pd.Timedelta(days=1)
    assert (s.history[S.SUBMISSION_DATE] <= pd.Timestamp(END)).all()
    assert (s.new_claims[S.SUBMISSION_DATE] == night).all()
    assert not set(S.OUTCOME_COLUMNS) & set(s.new_claims.columns)
    assert 250 < len(s.new_claims) < 600
    _, q = validate_claims(s.new_claims, run_date=night)
    assert len(q) == 0
    keys = [S.CLAIM_ID, S.LINE_NUMBER]
    both = pd.concat([s.history[keys], s.new_claims[keys]])
    assert not both.duplicated().any()
    pd.testing.assert_series_equal(
        s.new_claims_truth[S.CLAIM_ID], s.new_claims[S.CLAIM_ID]
    )
    assert len(s.history_truth) == len(s.history)
    # some of the night's claims belong to patients of the history
    assert s.new_claims[S.PATIENT_ID].isin(s.history[S.PATIENT_ID]).any()


def test_write_sample_round_trips(tmp_path):
    paths = write_sample(tmp_path, n_patients=80, random_state=2)
    names = {p.relative_to(tmp_path).as_posix() for p in paths}
    assert {
        "history.parquet",
        "history.csv",
        "new_claims.parquet",
        "new_claims.csv",
        "history_truth.parquet",
        "new_claims_truth.parquet",
        "malformed/bad_types.csv",
        "malformed/missing_columns.csv",
        "malformed/duplicate_keys.csv",
        "malformed/unknown_payer_class.csv",
        "malformed/expected.json",
    } == names
    for kind in ("history", "new_claims"):
        from_csv = validate_claims(read_claims(tmp_path / f"{kind}.csv"))
        from_pq = validate_claims(read_claims(tmp_path / f"{kind}.parquet"))
        assert len(from_csv.quarantine) == 0
        _assert_same(from_csv.valid, from_pq.valid, obj=kind)


def test_committed_sample_equals_the_generator():
    """data/sample/ is exactly `ptdenial sample --out data/sample`."""
    for kind in ("history", "new_claims"):
        expected = load_sample_claims(kind)
        for suffix in ("parquet", "csv"):
            path = SAMPLE / f"{kind}.{suffix}"
            valid, quarantine = validate_claims(read_claims(path), source=str(path))
            assert len(quarantine) == 0, path
            _assert_same(valid, expected, obj=str(path))
    for kind in ("history_truth", "new_claims_truth"):
        got = pd.read_parquet(SAMPLE / f"{kind}.parquet")
        expected = load_sample_claims(kind)
        pd.testing.assert_frame_equal(got, expected, check_dtype=False, obj=kind)
    history = load_sample_claims("history")
    assert 40_000 <= len(history) <= 60_000
    assert 1_500 <= len(load_sample_claims("new_claims")) <= 2_500
    span = history[S.DATE_OF_SERVICE]
    assert span.min() <= pd.Timestamp("2024-01-05") and span.max() >= pd.Timestamp(
        "2025-12-20"
    )
    size = sum(p.stat().st_size for p in SAMPLE.rglob("*.csv"))
    assert size < 15_000_000


def _quarantine(name):
    path = SAMPLE / "malformed" / name
    return validate_claims(read_claims(path), source=str(path))


def test_malformed_bad_types_quarantines_exactly_three_rows():
    valid, quarantine = _quarantine("bad_types.csv")
    assert (len(valid), len(quarantine)) == (997, 3)
    got = quarantine.set_index(S.SOURCE_ROW)[[S.Q_COLUMN, S.Q_CHECK, S.Q_VALUE]]
    assert got.loc[17].tolist() == [S.UNITS, "type", "two"]
    assert got.loc[342].tolist() == [S.DATE_OF_SERVICE, "type", "2025-13-45"]
    assert got.loc[777].tolist() == [S.CHARGE_AMOUNT, "type", "abc"]
    assert quarantine[S.Q_REASON].str.len().gt(0).all()


def test_malformed_missing_columns_is_one_error_naming_file_and_columns():
    path = SAMPLE / "malformed" / "missing_columns.csv"
    with pytest.raises(ClaimsSchemaError) as err:
        validate_claims(read_claims(path), source=str(path))
    message = str(err.value)
    assert str(path) in message
    assert S.UNITS in message and S.DIAGNOSIS_CODES in message
    assert sorted(err.value.missing) == sorted([S.UNITS, S.DIAGNOSIS_CODES])


def test_malformed_duplicates_and_payer_class():
    valid, quarantine = _quarantine("duplicate_keys.csv")
    assert (len(valid), len(quarantine)) == (98, 4)
    assert set(quarantine[S.Q_CHECK]) == {"duplicate_key"}
    assert sorted(quarantine[S.SOURCE_ROW]) == [0, 1, 100, 101]
    valid, quarantine = _quarantine("unknown_payer_class.csv")
    assert (len(valid), len(quarantine)) == (97, 3)
    assert set(quarantine[S.Q_COLUMN]) == {S.PAYER_CLASS}
    assert sorted(quarantine[S.SOURCE_ROW]) == [5, 50, 95]


def test_expected_json_describes_the_malformed_files():
    expected = json.loads((SAMPLE / "malformed" / "expected.json").read_text())
    for name, spec in expected.items():
        if "error" in spec:
            continue
        valid, quarantine = _quarantine(name)
        assert len(valid) == spec["valid"] and len(quarantine) == spec["quarantined"]
        assert sorted(quarantine[S.SOURCE_ROW]) == sorted(
            f["source_row"] for f in spec["failures"]
        )


def test_sample_guide_lists_every_assumption():
    guide = Path(__file__).resolve().parents[1] / "docs" / "guides" / "sample-data.md"
    text = guide.read_text()
    section = text[text.index("## Every assumption is a parameter") :]
    missing = [
        f.name
        for f in dataclasses.fields(SyntheticParams)
        if f"`{f.name}`" not in section
    ]
    assert not missing, f"document these SyntheticParams fields in {guide}: {missing}"


def _observable_hard_edits(c: pd.DataFrame, ref) -> dict:
    """Each hard edit computed from the claim columns only, as a rules layer would."""
    pol = ref.payer_policies[ref.payer_policies["payer_id"] == ""].set_index(
        "payer_class"
    )
    cls = c[S.PAYER_CLASS].astype(str)
    mods = c[S.MODIFIERS]
    out = {}
    out["GP_MISSING"] = cls.map(pol["requires_gp"]).astype(bool) & ~_has(mods, "GP")
    kx = ref.kx_thresholds.set_index("year")["kx_threshold"]
    # KX from the visit that crosses the threshold (Errata R08): the visit's
    # allowed amount is not a column, its charges bound it from above
    charges = c.groupby([S.PATIENT_ID, S.DATE_OF_SERVICE])[S.CHARGE_AMOUNT]
    reach = c[S.YTD_THERAPY_ALLOWED] + charges.transform("sum")
    above = reach >= c[S.DATE_OF_SERVICE].dt.year.map(kx)
    out["KX_MISSING"] = (
        cls.map(pol["kx_applies"]).astype(bool)
        & above.fillna(False).astype(bool)
        & ~_has(mods, "KX")
    )
    mue = ref.mue.set_index("cpt_code")["mue_units"]
    out["MUE"] = (c[S.UNITS] > c[S.CPT_CODE].map(mue)).fillna(False).astype(bool)
    lag = (c[S.SUBMISSION_DATE] - c[S.DATE_OF_SERVICE]).dt.days
    out["TIMELY"] = lag > cls.map(pol["filing_limit_days"])
    out["DX_MISSING"] = c[S.DIAGNOSIS_CODES].map(len) == 0
    out["REFERRING_NPI"] = (
        cls.map(pol["referring_npi_required"]).astype(bool)
        & c[S.REFERRING_PROVIDER_ID].isna()
    )
    out["AUTH_ABSENT"] = (
        cls.map(pol["auth_required"]).astype(bool)
        & (c[S.VISIT_NUMBER] > 1)
        & c[S.PRIOR_AUTH_NUMBER].isna()
    )
    used = c[S.AUTH_VISITS_USED] >= c[S.AUTH_VISITS_APPROVED]
    out["AUTH_EXCEEDED"] = used.fillna(False).astype(bool)
    codes = c.groupby(S.CLAIM_ID)[S.CPT_CODE].agg(lambda s: frozenset(s))
    on_claim = c[S.CLAIM_ID].map(codes)
    bypass = mods.map(lambda t: bool({"59", "XE", "XP", "XS", "XU"} & set(t)))
    ncci = pd.Series(False, index=c.index)
    dos = c[S.DATE_OF_SERVICE]
    for r in ref.ncci_ptp.itertuples():
        active = dos >= r.effective_from
        if pd.notna(r.effective_to):
            active &= dos <= r.effective_to
        pair = (c[S.CPT_CODE] == r.column2) & on_claim.map(
            lambda s, a=r.column1: a in s
        )
        ok = (r.modifier_indicator == 1) & bypass
        ncci |= pair & active & ~(ok & cls.map(pol["accepts_59_bypass"]).astype(bool))
    out["NCCI_PTP"] = ncci
    same = [
        S.PATIENT_ID,
        S.DATE_OF_SERVICE,
        S.CPT_CODE,
        S.UNITS,
        S.RENDERING_PROVIDER_ID,
    ]
    key = c[same].assign(m=mods.map("|".join)).groupby(same + ["m"]).ngroup()
    first = c.assign(k=key).sort_values([S.SUBMISSION_DATE, S.CLAIM_ID])
    out["DUPLICATE"] = c[S.CLAIM_ID] != key.map(first.groupby("k")[S.CLAIM_ID].first())
    # visits on file: earlier visits this year whose claims went out no later
    v = c.groupby([S.PATIENT_ID, S.DATE_OF_SERVICE], as_index=False)[
        S.SUBMISSION_DATE
    ].min()
    v["year"] = v[S.DATE_OF_SERVICE].dt.year
    pairs = v.merge(v, on=[S.PATIENT_ID, "year"], suffixes=("", "_o"))
    pairs = pairs[pairs[S.DATE_OF_SERVICE + "_o"] < pairs[S.DATE_OF_SERVICE]]
    pairs = pairs.assign(
        on_file=pairs[S.SUBMISSION_DATE + "_o"] <= pairs[S.SUBMISSION_DATE]
    )
    count = pairs.groupby([S.PATIENT_ID, S.DATE_OF_SERVICE])["on_file"].sum()
    where = pd.MultiIndex.from_frame(c[[S.PATIENT_ID, S.DATE_OF_SERVICE]])
    n_on_file = count.reindex(where).fillna(0).to_numpy()
    limit = cls.map(pol["visit_limit"]).to_numpy(dtype=float)
    out["BENEFIT_LIMIT"] = pd.Series(
        ~np.isnan(limit) & (n_on_file >= np.nan_to_num(limit, nan=np.inf)),
        index=c.index,
    )
    per_code = cls.map(pol["time_rule"]) == "PER_CODE_MIDPOINT"
    out["PER_CODE_MIDPOINT"] = per_code & (c[S.MINUTES] < 8).fillna(False).astype(bool)
    return out


def test_hard_edits_are_detectable_from_the_claim_columns(world):
    """Every hard-edit cause except PROVIDER_ELIG is a rule on visible columns."""
    observable = _observable_hard_edits(world.claims, load_reference())
    cause = world.truth[TRUTH_CAUSE]
    hard = cause.isin(HARD_CAUSES)
    c = world.claims
    kx = load_reference().kx_thresholds.set_index("year")["kx_threshold"]
    at_kx = c[S.YTD_THERAPY_ALLOWED] >= c[S.DATE_OF_SERVICE].dt.year.map(kx)
    for name, fires in observable.items():
        dominant = cause == name
        assert fires[dominant].all(), name
        # a KX crossing is known from charges only as a bound: the lines
        # already at the threshold must be hard edits
        sure = fires & at_kx.fillna(False) if name == "KX_MISSING" else fires
        assert hard[sure].all(), name
    explained = np.logical_or.reduce([f.to_numpy() for f in observable.values()])
    assert set(cause[hard & ~explained]) <= {"PROVIDER_ELIG"}


def test_soft_rule_causes_are_visible_in_the_claim_columns(world):
    c, truth = world
    ref = load_reference()
    pol = ref.payer_policies[ref.payer_policies["payer_id"] == ""].set_index(
        "payer_class"
    )
    cls = c[S.PAYER_CLASS].astype(str)
    poc = cls.map(pol["poc_rules_apply"]).astype(bool)
    is112 = c[S.CPT_CODE] == "97112"
    start = c[S.EPISODE_START_DATE]
    days = pd.Timedelta(days=ref.parameter("initial_cert_days"))
    cert = c[S.POC_CERTIFIED_DATE]
    support = ref.dx_support
    prefixes = [p.replace(".", "") for p in support["code_prefix"]]
    needs = dict(zip(prefixes, support["requires_documented_deficit"], strict=True))

    def supported(row):
        # the generator's payers judge the primary code (the rules look at
        # every pointed code: a line they pass may still be denied here)
        dx, deficits = row
        if not dx:
            return True
        bare = dx[0].replace(".", "")
        match = [p for p in prefixes if bare.startswith(p)]
        if not match:
            return False
        return not needs[max(match, key=len)] or bool(
            {"PROPRIOCEPTION", "BALANCE"} & set(deficits)
        )

    pairs = pd.Series(
        list(zip(c[S.DIAGNOSIS_CODES], c[S.DEFICITS_DOCUMENTED], strict=True)),
        index=c.index,
    )
    nmr = {
        "NEUROMUSCULAR_REEDUCATION",
        "BALANCE_TRAINING",
        "PROPRIOCEPTIVE_TRAINING",
        "POSTURAL_TRAINING",
        "COORDINATION_TRAINING",
    }
    visible = {
        "DX_SUPPORT": is112 & ~pairs.map(supported),
        "CODE_CONTENT": is112
        & (
            c[S.INTERVENTIONS_DOCUMENTED].map(lambda t: not (nmr & set(t)))
            | (c[S.DEFICITS_DOCUMENTED].map(len) == 0)
        ),
        "CERT_30D": poc
        & (c[S.DATE_OF_SERVICE] > start + days)
        & (cert.isna() | (cert > start + days)),
        "RECERT_90": poc & (c[S.DATE_OF_SERVICE] > c[S.CERT_THROUGH_DATE]),
        "PROGRESS_10": poc & (c[S.VISITS_SINCE_PROGRESS_REPORT] > 10),
        "CQ_MISSING": cls.map(pol["cq_applies"]).astype(bool)
        & (c[S.PROVIDER_CREDENTIAL] == "PTA")
        & ~_has(c[S.MODIFIERS], "CQ"),
    }
    for name, cond in visible.items():
        dominant = truth[TRUTH_CAUSE] == name
        assert dominant.sum() > 0, name
        assert cond[dominant].all(), name

"""Denial analytics: Wilson intervals, rates, Pareto sums, trend, rule tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import binomtest

from ptdenial import analytics as A
from ptdenial import schema as S
from ptdenial.exceptions import ClaimsSchemaError


def toy_claims(n: int = 2000, *, seed: int = 0) -> pd.DataFrame:
    """Canonical-dtype claim lines with remittance outcomes, for tests.

    Two payers with different denial rates, two clinics, three providers, six
    months of service; denials carry CARC 50 or 4 (the latter twice as likely
    when ``GP`` is missing), paid lines CO-45; the last month is mostly
    pending.
    """
    rng = np.random.default_rng(seed)
    payer = rng.choice(["MCR", "BCBS"], n, p=[0.6, 0.4])
    payer_class = np.where(payer == "MCR", "medicare", "commercial")
    dos = pd.Timestamp("2025-01-01") + pd.to_timedelta(rng.integers(0, 181, n), "D")
    code = rng.choice(["97112", "97110"], n, p=[0.7, 0.3])
    units = rng.integers(1, 4, n)
    gp = rng.uniform(size=n) > 0.1
    base = np.where(payer == "MCR", 0.08, 0.15) + np.where(gp, 0.0, 0.4)
    denied = rng.uniform(size=n) < base
    carc = np.where(~gp & (rng.uniform(size=n) < 0.7), "CO-4", "CO-50")
    adjudicated = (dos < pd.Timestamp("2025-06-01")) | (rng.uniform(size=n) < 0.2)
    allowed = np.where(denied, 0.0, 30.0 * units)
    adj = [
        () if not a else (c,) if d else ("CO-45",)
        for a, d, c in zip(adjudicated, denied, carc, strict=True)
    ]
    frame = pd.DataFrame(
        {
            S.CLAIM_ID: pd.array([f"C{i:05d}" for i in range(n)], dtype="string"),
            S.LINE_NUMBER: pd.array(np.ones(n, int), dtype="Int64"),
            S.PATIENT_ID: pd.array([f"P{i % 300}" for i in range(n)], dtype="string"),
            S.PAYER_ID: pd.array(payer, dtype="string"),
            S.PAYER_CLASS: pd.Categorical(payer_class, categories=S.PAYER_CLASSES),
            S.DATE_OF_SERVICE: dos.astype("datetime64[ns]"),
            S.CPT_CODE: pd.array(code, dtype="string"),
            S.UNITS: pd.array(units, dtype="Int64"),
            S.CHARGE_AMOUNT: 50.0 * units,
            S.DIAGNOSIS_CODES: pd.Series([("R26.81",)] * n, dtype=object),
            S.RENDERING_PROVIDER_ID: pd.array(
                rng.choice(["1111111111", "2222222222", "3333333333"], n),
                dtype="string",
            ),
            S.CLINIC_ID: pd.array(rng.choice(["NORTH", "SOUTH"], n), dtype="string"),
            S.MODIFIERS: pd.Series([("GP",) if g else () for g in gp], dtype=object),
            S.ADJUDICATION_DATE: (dos + pd.Timedelta(days=20))
            .where(adjudicated)
            .astype("datetime64[ns]"),
            S.ALLOWED_AMOUNT: np.where(adjudicated, allowed, np.nan),
            S.PAID_AMOUNT: np.where(adjudicated, allowed * 0.8, np.nan),
            S.ADJUSTMENT_CODES: pd.Series(adj, dtype=object),
            S.REMARK_CODES: pd.Series(
                [
                    ("N115",) if d and c == "CO-50" else ()
                    for d, c in zip(denied, carc, strict=True)
                ],
                dtype=object,
            ),
        }
    )
    return frame


def toy_hits(claims: pd.DataFrame) -> pd.DataFrame:
    """GP_MISSING (hard) on every line without GP; a soft rule on clinic SOUTH."""
    no_gp = claims[S.MODIFIERS].map(len).to_numpy() == 0
    south = (claims[S.CLINIC_ID] == "SOUTH").to_numpy(dtype=bool)
    parts = [
        claims.loc[no_gp, list(S.LINE_KEYS)].assign(
            rule_id="GP_MISSING", kind="hard", detail="no GP", fix="add GP"
        ),
        claims.loc[south, list(S.LINE_KEYS)].assign(
            rule_id="SOUTH_NOTE", kind="soft", detail="note", fix="check"
        ),
    ]
    return pd.concat(parts, ignore_index=True)


@pytest.fixture(scope="module")
def claims():
    return toy_claims()


@pytest.fixture(scope="module")
def hits(claims):
    return toy_hits(claims)


# --- Wilson -------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("k", "n", "conf"),
    [
        (0, 10, 0.95),
        (5, 10, 0.95),
        (10, 10, 0.95),
        (81, 263, 0.95),
        (3, 1000, 0.9),
        (1, 2, 0.99),
    ],
)
def test_wilson_matches_scipy(k, n, conf):
    low, high = A.wilson_interval(k, n, confidence=conf)
    ref = binomtest(k, n).proportion_ci(confidence_level=conf, method="wilson")
    assert float(low) == pytest.approx(ref.low, abs=1e-10)
    assert float(high) == pytest.approx(ref.high, abs=1e-10)


def test_wilson_known_values_and_vectorized():
    # textbook value: 0 successes of 10 -> upper bound 0.2775 at 95%
    low, high = A.wilson_interval(np.array([0, 0]), np.array([10, 0]))
    assert low[0] == 0.0 and high[0] == pytest.approx(0.27753, abs=1e-5)
    assert np.isnan(low[1]) and np.isnan(high[1])
    with pytest.raises(ValueError):
        A.wilson_interval(1, 2, confidence=1.5)


# --- rates --------------------------------------------------------------------------
def test_denial_rates_counts_and_pending(claims):
    rates = A.denial_rates(claims, S.PAYER_ID)
    labelled = S.derive_outcomes(claims)
    assert rates["lines"].sum() == len(claims)
    assert rates["pending"].sum() == int(labelled[S.PENDING].sum())
    assert rates["denied"].sum() == int(labelled[S.DENIED].sum())
    assert (rates["adjudicated"] + rates["pending"] == rates["lines"]).all()
    mcr = rates.set_index(S.PAYER_ID).loc["MCR"]
    assert mcr["denial_rate"] == pytest.approx(mcr["denied"] / mcr["adjudicated"])
    assert mcr["ci_low"] < mcr["denial_rate"] < mcr["ci_high"]
    assert rates["share_of_denials"].sum() == pytest.approx(1.0)
    # BCBS denies more in the toy world
    r = rates.set_index(S.PAYER_ID)["denial_rate"]
    assert r["BCBS"] > r["MCR"]


def test_denial_rates_multiple_dimensions_and_month(claims):
    rates = A.denial_rates(claims, [S.CLINIC_ID, A.MONTH], cpt_code="97112")
    assert list(rates.columns[:2]) == [S.CLINIC_ID, A.MONTH]
    assert len(rates) == 2 * 6
    assert rates["lines"].sum() == int((claims[S.CPT_CODE] == "97112").sum())
    assert pd.api.types.is_datetime64_any_dtype(rates[A.MONTH])


def test_denial_rates_missing_values_group_and_errors(claims):
    c = claims.copy()
    c.loc[c.index[:10], S.CLINIC_ID] = pd.NA
    rates = A.denial_rates(c, S.CLINIC_ID)
    assert "(missing)" in set(rates[S.CLINIC_ID])
    assert rates["lines"].sum() == len(c)
    with pytest.raises(ClaimsSchemaError, match="no such column"):
        A.denial_rates(c, "nope")
    bare = c.drop(columns=[S.ADJUDICATION_DATE])
    with pytest.raises(ClaimsSchemaError, match="need outcomes"):
        A.denial_rates(bare, S.PAYER_ID)


def test_denial_rates_sort_and_min_lines(claims):
    rates = A.denial_rates(claims, S.RENDERING_PROVIDER_ID, sort=True, min_lines=10)
    assert rates["denial_rate"].is_monotonic_decreasing
    assert (rates["adjudicated"] >= 10).all()


def test_monthly_trend_keeps_gaps(claims):
    c = claims.loc[claims[S.DATE_OF_SERVICE].dt.month != 3]
    trend = A.monthly_trend(c)
    assert len(trend) == 6
    march = trend.loc[trend[A.MONTH] == pd.Timestamp("2025-03-01")].iloc[0]
    assert march["adjudicated"] == 0 and np.isnan(march["denial_rate"])
    by = A.monthly_trend(claims, by=S.PAYER_ID)
    assert len(by) == 12


# --- Pareto -------------------------------------------------------------------------
def test_carc_pareto_sums_to_denied_totals(claims):
    pareto = A.carc_pareto(claims)
    labelled = S.derive_outcomes(claims)
    denied = labelled[S.DENIED].fillna(False).to_numpy(dtype=bool)
    assert pareto["lines"].sum() == denied.sum()
    assert pareto["charges"].sum() == pytest.approx(
        claims.loc[denied, S.CHARGE_AMOUNT].sum()
    )
    assert pareto["cumulative_share"].iloc[-1] == pytest.approx(1.0)
    assert pareto["lines"].is_monotonic_decreasing
    assert set(pareto["code"]) == {"50", "4"}
    texts = pareto.set_index("code")["text"]
    assert "medical necessity" in texts["50"]
    assert (pareto["group"] == "CO").all()
    # non-denial CARC 45 never appears
    assert "45" not in set(pareto["code"])
    assert (pareto["expected_payment"] > 0).all()


def test_carc_pareto_primary_attribution_and_top():
    lines = toy_claims(300, seed=3)
    labelled = S.derive_outcomes(lines)
    denied_idx = labelled.index[labelled[S.DENIED].fillna(False).to_numpy(dtype=bool)]
    lines.loc[denied_idx[:5], S.ADJUSTMENT_CODES] = pd.Series(
        [("CO-45", "CO-197", "CO-50")] * 5, index=denied_idx[:5]
    )
    pareto = A.carc_pareto(lines).set_index("code")
    assert pareto.loc["197", "lines"] == 5
    assert pareto.loc["50", "lines_any"] >= pareto.loc["50", "lines"] + 5
    topped = A.carc_pareto(lines, top=1)
    assert list(topped["code"])[-1] == "(other)"
    assert topped["lines"].sum() == pareto["lines"].sum()


def test_rarc_pareto(claims):
    pareto = A.carc_pareto(claims, kind="RARC")
    assert "N115" in set(pareto["code"])
    assert pareto["cumulative_share"].iloc[-1] == pytest.approx(1.0)
    with pytest.raises(ValueError):
        A.carc_pareto(claims, kind="XYZ")


def test_expected_payment_fallbacks(claims):
    pay = A.expected_payment(claims)
    assert pay.index.equals(claims.index)
    assert pay.notna().all()
    # toy world pays 30 per unit everywhere
    assert np.allclose(pay.to_numpy(), 30.0 * claims[S.UNITS].to_numpy(dtype=float))
    new = claims.drop(columns=[S.ALLOWED_AMOUNT]).assign(
        **{S.PAYER_ID: pd.array(["NEW"] * len(claims), dtype="string")}
    )
    pay_new = A.expected_payment(new, history=claims)
    assert np.allclose(pay_new.to_numpy(), 30.0 * claims[S.UNITS].to_numpy(dtype=float))
    # without any history: the charge
    assert np.allclose(
        A.expected_payment(new).to_numpy(), new[S.CHARGE_AMOUNT].to_numpy()
    )


# --- rules x outcomes --------------------------------------------------------------
def test_rule_hit_matrix(claims, hits):
    m, kinds = A.rule_hit_matrix(claims, hits)
    assert set(m.columns) == {"GP_MISSING", "SOUTH_NOTE"}
    assert kinds == {"GP_MISSING": "hard", "SOUTH_NOTE": "soft"}
    assert m["GP_MISSING"].sum() == (claims[S.MODIFIERS].map(len) == 0).sum()
    with pytest.raises(ClaimsSchemaError):
        A.rule_hit_matrix(claims, hits.drop(columns="rule_id"))


def test_rule_outcome_table(claims, hits):
    table = A.rule_outcome_table(claims, hits)
    assert table["rule_id"].iloc[-1] == A.NO_RULE_HIT
    gp = table.set_index("rule_id").loc["GP_MISSING"]
    none = table.set_index("rule_id").loc[A.NO_RULE_HIT]
    assert gp["lift"] > 2.0
    assert none["lift"] == pytest.approx(1.0)
    assert gp["denial_rate"] == pytest.approx(gp["denied"] / gp["adjudicated"])
    assert (table["adjudicated"] + table["pending"] == table["lines"]).all()


def test_revenue_at_risk(claims, hits):
    rar = A.revenue_at_risk(claims, hits)
    row = rar.iloc[0]
    labelled = S.derive_outcomes(claims)
    denied = labelled[S.DENIED].fillna(False).to_numpy(dtype=bool)
    no_gp = (claims[S.MODIFIERS].map(len) == 0).to_numpy()
    assert row["denied"] == denied.sum()
    assert row["recoverable_lines"] == (denied & no_gp).sum()
    assert row["revenue_at_risk"] == pytest.approx(
        (30.0 * claims[S.UNITS].to_numpy(dtype=float))[denied].sum()
    )
    assert 0 < row["recoverable_share"] < 1
    assert row["pending_lines"] == int(labelled[S.PENDING].sum())
    anyk = A.revenue_at_risk(claims, hits, kinds=None).iloc[0]
    assert anyk["recoverable_lines"] > row["recoverable_lines"]
    by = A.revenue_at_risk(claims, hits, by=S.PAYER_ID)
    assert by["revenue_at_risk"].sum() == pytest.approx(row["revenue_at_risk"])


def test_rule_what_if(claims, hits):
    w = A.rule_what_if(claims, hits).set_index("rule_id")
    gp = w.loc["GP_MISSING"]
    # hits deny ~40 points more than comparable lines: most of those are avoidable
    assert gp["denials_avoided"] > 0.5 * gp["denied"]
    assert gp["avoided_low"] < gp["denials_avoided"] < gp["avoided_high"]
    assert gp["counterfactual_rate"] < 0.2
    assert gp["dollars_avoided"] > 0
    # the soft rule is unrelated to outcomes: its interval covers zero
    south = w.loc["SOUTH_NOTE"]
    assert south["avoided_low"] < 0 < south["avoided_high"]
    only = A.rule_what_if(claims, hits, rules=["GP_MISSING"])
    assert list(only["rule_id"]) == ["GP_MISSING"]

"""Tests of the rule layer: catalogue, every rule (fires / near miss), the
8-minute-rule allocation, KX by year, NCCI bypass modifiers, payer overrides,
the transformer contract and the ``ptdenial rules`` command."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from ptdenial import schema as S
from ptdenial.cli import main
from ptdenial.exceptions import (
    ClaimsSchemaError,
    DataQualityWarning,
    ReferenceDataError,
)
from ptdenial.io import read_claims, write_table
from ptdenial.reference import load_reference
from ptdenial.rules import (
    GAP_COLUMNS,
    RULES,
    PayerRuleFlagger,
    RuleResult,
    apply_rules,
    rule_catalogue,
    rule_hit_summary,
    rule_ids,
    units_supported,
)
from ptdenial.rules._arrays import (
    _as_str,
    _date_str,
    _factorize,
    _Field,
    _format_one,
    _format_uniques,
    _int_str,
    _money_str,
    _render_hits,
    _units_str,
)

RUN_DATE = "2026-12-31"

# A clean Medicare 97112 line with every optional column: no rule fires on it.
CLEAN = {
    "claim_id": "C1",
    "line_number": 1,
    "patient_id": "P1",
    "payer_id": "MCR-JH",
    "payer_class": "medicare",
    "date_of_service": "2025-06-02",
    "cpt_code": "97112",
    "units": 1,
    "charge_amount": 40.0,
    "diagnosis_codes": "R26.81",
    "rendering_provider_id": "1111111111",
    "modifiers": "GP",
    "minutes": 15,
    "visit_timed_minutes": None,
    "place_of_service": "11",
    "provider_credential": "PT",
    "clinic_id": "CL1",
    "referring_provider_id": "2222222222",
    "submission_date": "2025-06-04",
    "prior_auth_number": "",
    "auth_visits_approved": None,
    "auth_visits_used": None,
    "episode_start_date": "2025-05-01",
    "visit_number": 6,
    "poc_certified_date": "2025-05-05",
    "cert_through_date": "2025-07-29",
    "last_progress_report_date": "2025-05-01",
    "visits_since_progress_report": 5,
    "deficits_documented": "balance|proprioception",
    "interventions_documented": "balance_training",
    "objective_measures_documented": True,
    "note_signed_date": "2025-06-02",
    "ytd_therapy_allowed": 900.0,
}


_BUILT: dict[str, pd.DataFrame] = {}


def lines(*specs, drop=(), **common) -> pd.DataFrame:
    """Canonical claim lines: CLEAN updated by ``common`` then by each spec.

    Lines get line numbers 1..n on claim C1 unless a spec says otherwise.
    Validated frames are cached by their arguments (a copy is returned).
    """
    key = repr((specs, sorted(drop), sorted(common.items())))
    if key not in _BUILT:
        rows = []
        for i, spec in enumerate(specs or ({},), start=1):
            rows.append({**CLEAN, "line_number": i, **common, **spec})
        raw = pd.DataFrame(rows).drop(columns=list(drop))
        valid, quarantine = S.validate_claims(raw, run_date=RUN_DATE)
        assert quarantine.empty, quarantine[["column", "check", "value"]]
        _BUILT[key] = valid
    return _BUILT[key].copy()


def flag(claims, rule_id, **kwargs) -> list:
    out = apply_rules(claims, **kwargs).flags[rule_id]
    return [None if v is pd.NA else bool(v) for v in out]


def hits_of(claims, rule_id, **kwargs) -> pd.DataFrame:
    hits = apply_rules(claims, hit_kinds=("hard", "soft", "payment"), **kwargs).hits
    return hits[hits["rule_id"] == rule_id].reset_index(drop=True)


# --- catalogue ----------------------------------------------------------------
SECTION_9_1 = [
    "UNITS_TOTAL", "UNITS_ALLOC", "MIN_8", "PER_CODE_MIDPOINT", "GP_MISSING",
    "CQ_RULE", "CQ_PAYMENT", "KX_MISSING", "TMR", "CERT_30D", "RECERT_90",
    "PROGRESS_10", "DX_MISSING", "DX_SUPPORT", "NCCI_PTP", "NCCI_MI0",
    "MOD59_COMMERCIAL", "MUE", "AUTH_ABSENT", "AUTH_INVALID", "AUTH_EXCEEDED",
    "BENEFIT_LIMIT", "TIMELY", "DUPLICATE", "ELIGIBILITY", "NO_BENEFIT",
    "REFERRING_NPI", "PROVIDER_ELIG", "CODE_CONTENT", "MPPR", "EVAL_SAME_DAY_OK",
    "CODE_NOT_PAYABLE", "DAILY_UNIT_CAP",
]  # fmt: skip
NOT_EVALUABLE = ["AUTH_INVALID", "ELIGIBILITY", "NO_BENEFIT", "PROVIDER_ELIG"]


def test_catalogue_has_every_reference_rule_in_order():
    cat = rule_catalogue()
    assert cat["rule_id"].tolist() == SECTION_9_1
    assert cat["ref"].tolist() == [f"R{i:02d}" for i in range(1, 34)]
    assert set(cat["kind"]) == {"hard", "soft", "payment", "negative"}
    assert cat["fix"].str.len().gt(10).all()
    assert cat["source"].str.match(r"^S\d+").all()


def test_catalogue_lists_what_the_unevaluable_rules_would_need():
    cat = rule_catalogue().set_index("rule_id")
    assert sorted(cat.index[~cat["evaluable"]]) == sorted(NOT_EVALUABLE)
    for rid in NOT_EVALUABLE:
        assert cat.loc[rid, "would_need"], rid
    assert "coverage_start_date" in cat.loc["ELIGIBILITY", "would_need"]
    assert set(rule_ids(evaluable_only=True)) == set(SECTION_9_1) - set(NOT_EVALUABLE)


def test_catalogue_needs_are_contract_columns():
    contract = set(S.COLUMNS)
    for rule in RULES:
        for alternatives in rule.needs:
            assert set(alternatives) <= contract, rule.rule_id


def test_registry_has_one_family_per_catalogue_rule():
    from ptdenial.rules._registry import FAMILIES, RULE_FAMILY

    cat = rule_catalogue()
    assert set(RULE_FAMILY) == set(cat["rule_id"])
    assert sum(len(f.rules) for f in FAMILIES) == len(cat)
    unevaluable = {rid for rid, f in RULE_FAMILY.items() if f.name == "not_evaluable"}
    assert unevaluable == set(cat.loc[~cat["evaluable"], "rule_id"])
    assert unevaluable == set(NOT_EVALUABLE)
    gaps = [g for f in FAMILIES for g in f.gaps]
    assert sorted(gaps) == sorted(GAP_COLUMNS)


def test_registry_policies_are_the_resolved_payer_policies():
    from ptdenial.rules._context import _Ctx
    from ptdenial.rules._registry import FAMILIES

    ctx = _Ctx(lines(), load_reference(), None)
    declared = [p for f in FAMILIES for p in f.policies]
    assert sorted(declared) == sorted(set(ctx.pol) - {"row"})


def test_a_family_must_return_what_it_declares():
    from ptdenial.rules._context import _Ctx
    from ptdenial.rules._family import RuleFamily
    from ptdenial.rules._payment_rules import mppr_rules

    ctx = _Ctx(lines(), load_reference(), None)
    wrong = RuleFamily("mppr", mppr_rules, rules=("MPPR", "TMR"), gaps=())
    with pytest.raises(RuntimeError, match="declares"):
        wrong.run(ctx)
    evals, gaps = RuleFamily(
        "mppr", mppr_rules, rules=("MPPR",), gaps=("mppr_reduced_units",)
    ).run(ctx)
    assert list(evals) == ["MPPR"] and list(gaps) == ["mppr_reduced_units"]


def test_templates_only_use_fields_the_engine_fills():
    # every variant named by the engine exists; every template formats
    for rule in RULES:
        for variant in ["", *rule.variants]:
            detail, fix = rule.template(variant)
            assert detail and fix


# --- the clean line and "not evaluated" ---------------------------------------
def test_clean_line_fires_nothing_and_everything_evaluable_is_evaluated():
    result = apply_rules(lines())
    row = result.flags.iloc[0]
    for rid in SECTION_9_1:
        if rid in NOT_EVALUABLE:
            assert row[rid] is pd.NA, rid
        else:
            assert row[rid] is not pd.NA, rid
            assert not row[rid], rid
    assert result.hits.empty
    assert set(result.not_evaluated["rule_id"]) == set(NOT_EVALUABLE)


def test_missing_optional_column_is_reported_not_evaluated():
    claims = lines(drop=["ytd_therapy_allowed"])
    result = apply_rules(claims)
    assert result.flags.loc[claims.index[0], "KX_MISSING"] is pd.NA
    ne = result.not_evaluated.set_index("rule_id")
    assert "ytd_therapy_allowed" in ne.loc["KX_MISSING", "reason"]
    assert ne.loc["KX_MISSING", "n_lines"] == 1
    # a rule that does not apply to the payer is evaluated (False), not NA
    commercial = lines(payer_class="commercial", payer_id="BCBS", drop=["modifiers"])
    assert flag(commercial, "GP_MISSING") == [False]


def test_requires_contract_columns():
    with pytest.raises(ClaimsSchemaError, match="units"):
        apply_rules(lines().drop(columns=[S.UNITS]))


# --- the 8-minute rule --------------------------------------------------------
def test_cms_example_33_plus_7_minutes_is_3_units_as_2_plus_1():
    claims = lines(
        {"cpt_code": "97110", "minutes": 33, "units": 2},
        {"cpt_code": "97140", "minutes": 7, "units": 1},
    )
    assert units_supported(claims).tolist() == [2.0, 1.0]
    result = apply_rules(claims)
    assert not result.flags[["UNITS_TOTAL", "UNITS_ALLOC", "MIN_8"]].any().any()
    # billing all three units on 97110 breaks the allocation
    wrong = lines(
        {"cpt_code": "97110", "minutes": 33, "units": 3},
        {"cpt_code": "97140", "minutes": 7, "units": 0 + 1},
    )
    assert flag(wrong, "UNITS_TOTAL") == [True, False]
    fix = hits_of(wrong, "UNITS_TOTAL").loc[0, "fix"]
    assert fix == "bill 2 units of 97110: 40 timed minutes support 3 units in total"


def test_8_plus_8_minutes_is_one_unit_in_total():
    base = [{"cpt_code": "97112", "minutes": 8}, {"cpt_code": "97110", "minutes": 8}]
    claims = lines({**base[0], "units": 1}, {**base[1], "units": 1})
    assert units_supported(claims).sum() == 1.0
    assert flag(claims, "UNITS_TOTAL").count(True) == 1
    assert apply_rules(claims).gaps["visit_units_over_supported"].tolist() == [1, 1]
    # one unit on either code is right (tie in remaining minutes)
    for first in (True, False):
        one = lines(
            {**base[0], "units": 1, "cpt_code": "97112" if first else "97110"},
            {**base[1], "units": 1, "cpt_code": "97530"},
        )
        one = one.iloc[:1] if first else one.iloc[1:]
        assert not apply_rules(one).flags[["UNITS_TOTAL", "UNITS_ALLOC"]].any().any()


def test_8_plus_8_under_the_midpoint_rule_is_two_units():
    claims = lines(
        {"cpt_code": "97112", "minutes": 8, "units": 1},
        {"cpt_code": "97110", "minutes": 8, "units": 1},
        payer_class="workers_comp",
        payer_id="WC1",
    )
    assert units_supported(claims).tolist() == [1.0, 1.0]
    assert flag(claims, "PER_CODE_MIDPOINT") == [False, False]
    assert flag(claims, "UNITS_TOTAL") == [False, False]
    over = lines({"minutes": 22, "units": 2}, payer_class="workers_comp", payer_id="W")
    assert flag(over, "UNITS_TOTAL") == [True]
    assert flag(over, "PER_CODE_MIDPOINT") == [False]
    assert hits_of(over, "UNITS_TOTAL").loc[0, "fix"] == (
        "bill 1 unit of 97112: 22 minutes support 1 unit under the per-code "
        "midpoint rule"
    )


def test_two_codes_each_at_most_7_minutes_give_one_unit_to_the_larger():
    claims = lines(
        {"cpt_code": "97112", "minutes": 7, "units": 1},
        {"cpt_code": "97110", "minutes": 5, "units": 1},
    )
    assert units_supported(claims).tolist() == [1.0, 0.0]
    assert flag(claims, "UNITS_TOTAL") == [False, True]
    # beside a 30-minute code: 42 minutes support 3 units, 97530 gets its two
    # blocks and the leftover unit goes to 97112 (7 remaining minutes beat 5)
    visit = lines(
        {"cpt_code": "97530", "minutes": 30, "units": 2},
        {"cpt_code": "97112", "minutes": 7, "units": 1},
        {"cpt_code": "97110", "minutes": 5, "units": 1},
    )
    assert units_supported(visit).tolist() == [2.0, 1.0, 0.0]
    assert flag(visit, "UNITS_TOTAL") == [False, False, True]


def test_unit_allocation_leftover_goes_to_most_remaining_minutes():
    # CMS example: 24 min 97112 + 23 min 97110 = 47 min -> 3 units, 2 + 1
    claims = lines(
        {"cpt_code": "97112", "minutes": 24, "units": 1},
        {"cpt_code": "97110", "minutes": 23, "units": 2},
    )
    assert units_supported(claims).tolist() == [2.0, 1.0]
    assert flag(claims, "UNITS_TOTAL") == [False, False]
    assert flag(claims, "UNITS_ALLOC") == [True, True]
    hit = hits_of(claims, "UNITS_ALLOC")
    assert hit["fix"].str.startswith("bill 2 units of 97112").iloc[0]
    assert hit["fix"].str.startswith("bill 1 unit of 97110").iloc[1]


def test_tie_in_remaining_minutes_accepts_either_allocation():
    for units in ((2, 1), (1, 2)):
        claims = lines(
            {"cpt_code": "97112", "minutes": 20, "units": units[0]},
            {"cpt_code": "97110", "minutes": 20, "units": units[1]},
        )
        result = apply_rules(claims)
        assert not result.flags[["UNITS_TOTAL", "UNITS_ALLOC"]].any().any(), units
        assert result.gaps["units_over_supported"].tolist() == [0, 0]
    # the named allocation breaks the tie deterministically (billed units first)
    claims = lines(
        {"cpt_code": "97112", "minutes": 20, "units": 2},
        {"cpt_code": "97110", "minutes": 20, "units": 1},
    )
    assert units_supported(claims).tolist() == [2.0, 1.0]


def test_untimed_codes_do_not_count_toward_timed_minutes():
    claims = lines(
        {"cpt_code": "97161", "minutes": 45, "units": 1},
        {"cpt_code": "97112", "minutes": 20, "units": 1},
    )
    result = apply_rules(claims)
    assert not result.flags.loc[:, ["UNITS_TOTAL", "MIN_8"]].any().any()
    assert np.isnan(result.gaps["units_supported"].iloc[0])


def test_visit_timed_minutes_alone_checks_the_total():
    claims = lines(
        {"cpt_code": "97112", "units": 3, "visit_timed_minutes": 31, "minutes": None},
    )
    assert flag(claims, "UNITS_TOTAL") == [True]
    assert flag(claims, "UNITS_ALLOC") == [False]  # the total is already off
    right_total = lines({"units": 2, "visit_timed_minutes": 31, "minutes": None})
    assert flag(right_total, "UNITS_ALLOC") == [None]  # per-code minutes unknown
    fix = hits_of(claims, "UNITS_TOTAL").loc[0, "fix"]
    assert fix.startswith("bill 2 units of timed codes in total on this date")


def test_visits_are_patient_provider_and_date():
    # same patient and date, another provider: a separate visit
    claims = lines(
        {"cpt_code": "97112", "minutes": 20, "units": 1},
        {"cpt_code": "97110", "minutes": 20, "units": 1, "rendering_provider_id": "9"},
    )
    assert not apply_rules(claims).flags["UNITS_TOTAL"].any()


# --- one firing line and one near miss per rule -------------------------------
MA = {"payer_class": "medicare_advantage", "payer_id": "MA1", "prior_auth_number": "A1"}
CASES = {
    # rule: (firing lines, near-miss lines, common fields, line index checked)
    "UNITS_TOTAL": ([{"minutes": 37, "units": 3}], [{"minutes": 38, "units": 3}], {}),
    "UNITS_ALLOC": (
        [{"minutes": 30, "units": 1}, {"cpt_code": "97110", "minutes": 10, "units": 2}],
        [{"minutes": 30, "units": 2}, {"cpt_code": "97110", "minutes": 10, "units": 1}],
        {},
    ),
    "MIN_8": ([{"minutes": 7}], [{"minutes": 8}], {}),
    "PER_CODE_MIDPOINT": (
        [{"minutes": 7, "units": 1}],
        [{"minutes": 8, "units": 1}],
        {"payer_class": "workers_comp", "payer_id": "WC1", "prior_auth_number": "W"},
    ),
    "GP_MISSING": ([{"modifiers": "KX"}], [{"modifiers": "KX GP"}], {}),
    "CQ_RULE": (
        [{"provider_credential": "PTA"}],
        [{"provider_credential": "PTA", "modifiers": "GP,CQ"}],
        {},
    ),
    "CQ_PAYMENT": (
        [{"modifiers": "GP CQ", "provider_credential": "PTA"}],
        [{"modifiers": "GP CQ", "provider_credential": "PTA",
          "date_of_service": "2021-12-31", "submission_date": "2022-01-03",
          "episode_start_date": "2021-12-01", "poc_certified_date": "2021-12-02",
          "cert_through_date": "2022-02-28", "note_signed_date": "2021-12-31"}],
        {},
    ),
    # KX from the visit that crosses the threshold: 2025 $2,410; this 97112
    # unit is expected at $31.70 (fee_schedule.csv) and charged $40
    "KX_MISSING": (
        [{"ytd_therapy_allowed": 2380.0}], [{"ytd_therapy_allowed": 2369.0}], {}
    ),
    "TMR": (
        [{"ytd_therapy_allowed": 3000.5, "modifiers": "GP KX"}],
        [{"ytd_therapy_allowed": 3000.0, "modifiers": "GP KX"}],
        {},
    ),
    "CERT_30D": (
        [{"poc_certified_date": None}],
        [{"poc_certified_date": None, "date_of_service": "2025-05-31",
          "submission_date": "2025-06-02", "note_signed_date": "2025-05-31"}],
        {},
    ),
    "RECERT_90": (
        [{"cert_through_date": "2025-06-01"}], [{"cert_through_date": "2025-06-02"}], {}
    ),
    "PROGRESS_10": (
        [{"visits_since_progress_report": 11}],
        [{"visits_since_progress_report": 10}],
        {},
    ),
    "DX_MISSING": ([{"diagnosis_codes": ""}], [{"diagnosis_codes": "R27.0"}], {}),
    # every pointed code counts, not only the primary
    "DX_SUPPORT": (
        [{"diagnosis_codes": "M54.50|M17.11"}],
        [{"diagnosis_codes": "M54.50|R26.81"}],
        {},
    ),
    "NCCI_PTP": (
        [{}, {"cpt_code": "97760", "minutes": 15}],
        [{"modifiers": "GP 59"}, {"cpt_code": "97760", "minutes": 15}],
        {},
    ),
    "NCCI_MI0": (
        [{"cpt_code": "97530", "modifiers": "GP 59"}, {"cpt_code": "97161"}],
        [{"cpt_code": "97530", "modifiers": "GP 59"}, {"cpt_code": "97161",
          "date_of_service": "2020-01-24"}],
        {"date_of_service": "2020-01-10", "submission_date": "2020-01-30",
         "episode_start_date": "2020-01-10", "poc_certified_date": "2020-01-12",
         "cert_through_date": "2020-04-01", "note_signed_date": "2020-01-24"},
    ),
    "MUE": (
        [{"minutes": 75, "units": 5}], [{"minutes": 60, "units": 4}], {}
    ),
    "AUTH_ABSENT": ([{**MA, "prior_auth_number": ""}], [MA], {}),
    "AUTH_EXCEEDED": (
        [{"auth_visits_approved": 12, "auth_visits_used": 12}],
        [{"auth_visits_approved": 12, "auth_visits_used": 11}],
        {},
    ),
    "BENEFIT_LIMIT": (
        [{"visits_ytd": 26}],
        [{"visits_ytd": 25}],
        {"payer_class": "commercial", "payer_id": "BCBS"},
    ),
    "TIMELY": (
        [{"submission_date": "2026-06-03"}], [{"submission_date": "2026-06-02"}], {}
    ),
    "DUPLICATE": (
        [{}, {"claim_id": "C2", "line_number": 1, "submission_date": "2025-07-01"}],
        [{}, {"claim_id": "C2", "line_number": 1, "submission_date": "2025-07-01",
              "modifiers": "GP 59"}],
        {},
    ),
    "REFERRING_NPI": (
        [{"referring_provider_id": ""}], [{"referring_provider_id": "33"}], {}
    ),
    "CODE_CONTENT": (
        [{"interventions_documented": "gait_training"}],
        [{"interventions_documented": "gait_training|balance_training"}],
        {},
    ),
    "MPPR": ([{"minutes": 30, "units": 2}], [{"minutes": 15, "units": 1}], {}),
    "CODE_NOT_PAYABLE": (
        [{}, {"cpt_code": "97014", "minutes": None}],
        [{}, {"cpt_code": "G0283", "minutes": None}],
        {},
    ),
}  # fmt: skip
CHECKED_LINE = {"NCCI_MI0": 0, "DUPLICATE": 1, "CODE_NOT_PAYABLE": 1}


def test_every_evaluable_rule_has_a_case():
    # MOD59_COMMERCIAL and DAILY_UNIT_CAP need a payer override: see their tests
    expected = set(SECTION_9_1) - set(NOT_EVALUABLE) - {"EVAL_SAME_DAY_OK"}
    expected -= {"MOD59_COMMERCIAL", "DAILY_UNIT_CAP"}
    assert set(CASES) == expected


@pytest.mark.parametrize("rule_id", sorted(CASES))
def test_rule_fires_and_near_miss_does_not(rule_id):
    fire, miss, common = CASES[rule_id]
    at = CHECKED_LINE.get(rule_id, 0)
    fired = flag(lines(*fire, **common), rule_id)
    missed = flag(lines(*miss, **common), rule_id)
    assert fired[at] is True, fired
    assert missed[at] is False, missed
    if any(r.rule_id == rule_id and r.kind in ("hard", "soft") for r in RULES):
        hit = hits_of(lines(*fire, **common), rule_id)
        assert len(hit) >= 1
        assert (hit["fix"].str.len() > 10).all()
        assert not hit["fix"].str.contains(r"\{|\?|nan", regex=True).any(), hit["fix"]
        assert not hit["detail"].str.contains(r"\{|nan", regex=True).any()


def test_negative_rule_97112_with_evaluation_never_flags():
    for ev in ("97161", "97162", "97163", "97164"):
        claims = lines({}, {"cpt_code": ev})
        result = apply_rules(claims)
        assert not result.flags["EVAL_SAME_DAY_OK"].any()
        assert (
            not result.flags[["NCCI_PTP", "NCCI_MI0", "MOD59_COMMERCIAL"]].any().any()
        )
        assert result.hits.empty, result.hits


# --- fix texts ----------------------------------------------------------------
def test_fix_texts_are_concrete():
    assert hits_of(lines({"minutes": 31, "units": 3}), "UNITS_TOTAL").loc[0, "fix"] == (
        "bill 2 units of 97112: 31 timed minutes support 2 units in total"
    )
    assert hits_of(lines({"modifiers": ""}), "GP_MISSING").loc[0, "fix"] == (
        "add modifier GP"
    )
    assert hits_of(lines({"ytd_therapy_allowed": 2612}), "KX_MISSING").loc[
        0, "fix"
    ] == (
        "add KX: ytd therapy allowed $2,612 exceeds the 2025 threshold $2,410 "
        "(value verified)"
    )
    ncci = hits_of(lines({}, {"cpt_code": "97760"}), "NCCI_PTP")
    assert ncci.loc[0, "fix"].startswith("append 59 or XU to 97112 (column 2 of 97760)")
    assert ncci.loc[0, "line_number"] == 1
    mue = hits_of(lines({"minutes": 75, "units": 5}), "MUE").loc[0, "fix"]
    assert mue == (
        "bill at most 4 units of 97112 on this date of service "
        "(MUE 4, value not verified)"
    )


def test_timely_filing_fix_past_the_limit_and_submit_by():
    # commercial: 90 days; DOS 2025-01-02 -> deadline 2025-04-02
    common = {"payer_class": "commercial", "payer_id": "BCBS", "date_of_service":
              "2025-01-02", "note_signed_date": "2025-01-02",
              "episode_start_date": "2024-12-20", "poc_certified_date": "2024-12-21",
              "cert_through_date": "2025-03-01"}  # fmt: skip
    late = lines({"submission_date": "2025-04-14"}, **common)
    hit = hits_of(late, "TIMELY")
    assert hit.loc[0, "fix"].startswith("past the filing limit by 12 days")
    assert "2025-04-02" in hit.loc[0, "fix"]
    # a planned submission after the deadline, checked on 2025-03-20
    planned = lines({"submission_date": "2025-04-14"}, **common)
    hit = hits_of(planned, "TIMELY", as_of="2025-03-20")
    assert hit.loc[0, "fix"] == "submit by 2025-04-02 (filing limit 90 days)"
    # no submission date: not evaluated unless a run date is given
    unsent = lines({"submission_date": None}, **common)
    assert flag(unsent, "TIMELY") == [None]
    assert flag(unsent, "TIMELY", as_of="2025-04-03") == [True]
    assert flag(unsent, "TIMELY", as_of="2025-04-02") == [False]


# --- KX by year ---------------------------------------------------------------
KX = {2021: 2110, 2022: 2150, 2023: 2230, 2024: 2330, 2025: 2410, 2026: 2480}


@pytest.mark.parametrize("year", sorted(KX))
def test_kx_threshold_just_above_and_below_each_year(year):
    dates = {
        "date_of_service": f"{year}-03-02",
        "submission_date": f"{year}-03-04",
        "note_signed_date": f"{year}-03-02",
        "episode_start_date": f"{year}-02-15",
        "poc_certified_date": f"{year}-02-16",
        "cert_through_date": f"{year}-05-15",
    }
    thr = KX[year]
    above = lines({"ytd_therapy_allowed": thr + 0.01}, **dates)
    at = lines({"ytd_therapy_allowed": thr}, **dates)
    # the $40 charge of this visit cannot take it to the threshold
    below = lines({"ytd_therapy_allowed": thr - 40.01}, **dates)
    with_kx = lines({"ytd_therapy_allowed": thr + 500, "modifiers": "GP KX"}, **dates)
    assert flag(above, "KX_MISSING") == [True]
    assert flag(at, "KX_MISSING") == [True]  # at the threshold: KX is required
    assert flag(below, "KX_MISSING") == [False]
    assert flag(with_kx, "KX_MISSING") == [False]
    gap = apply_rules(above).gaps["ytd_over_kx_threshold"].iloc[0]
    assert gap == pytest.approx(0.01)


def test_kx_year_outside_the_table_is_not_evaluated():
    claims = lines(
        {"ytd_therapy_allowed": 5000.0},
        date_of_service="2020-06-01",
        submission_date="2020-06-03",
        note_signed_date="2020-06-01",
        episode_start_date="2020-05-20",
        poc_certified_date="2020-05-21",
        cert_through_date="2020-08-01",
    )
    result = apply_rules(claims)
    assert result.flags["KX_MISSING"].iloc[0] is pd.NA
    assert (
        "kx_thresholds"
        in result.not_evaluated.set_index("rule_id").loc["KX_MISSING", "reason"]
    )


def test_kx_applies_only_to_payers_whose_policy_says_so():
    claims = lines({"ytd_therapy_allowed": 9000.0}, **MA)
    assert flag(claims, "KX_MISSING") == [False]


# --- NCCI ---------------------------------------------------------------------
@pytest.mark.parametrize("modifier", ["", "59", "XE", "XP", "XS", "XU"])
def test_ncci_pair_with_and_without_bypass(modifier):
    claims = lines({"modifiers": f"GP {modifier}".strip()}, {"cpt_code": "97760"})
    fired = flag(claims, "NCCI_PTP")
    assert fired == [modifier == "", False]


def test_ncci_pair_only_within_the_same_visit():
    other_day = lines(
        {}, {"cpt_code": "97760", "date_of_service": "2025-06-03", "line_number": 2}
    )
    assert flag(other_day, "NCCI_PTP") == [False, False]


def test_ncci_in_force_only_within_effective_dates():
    # 97161 + 97530 was a hard edit 2020-01-01..2020-01-23 only (reversed)
    common = CASES["NCCI_MI0"][2]
    claims = lines({"cpt_code": "97530", "modifiers": "GP 59"}, {"cpt_code": "97161"},
                   **{**common, "date_of_service": "2020-02-03",
                      "submission_date": "2020-02-05"})  # fmt: skip
    assert flag(claims, "NCCI_MI0") == [False, False]


def test_mod59_commercial_fires_for_a_payer_that_rejects_the_bypass(tmp_path):
    ref0 = load_reference()
    row = ref0.payer_policies.query("payer_class == 'commercial'").assign(
        payer_id="AETNA1", accepts_59_bypass=False
    )
    ref = load_reference({"payer_policies": row})
    common = {"payer_class": "commercial", "payer_id": "AETNA1"}
    claims = lines(
        {"cpt_code": "97530", "modifiers": "GP 59"}, {"cpt_code": "97140"}, **common
    )
    assert flag(claims, "MOD59_COMMERCIAL", reference=ref) == [True, False]
    assert flag(claims, "NCCI_PTP", reference=ref) == [False, False]
    assert flag(claims, "MOD59_COMMERCIAL") == [False, False]  # shipped default


# --- payer overrides ----------------------------------------------------------
def test_payer_override_file_changes_the_filing_limit_hits(tmp_path):
    shipped = load_reference().payer_policies
    mine = shipped[shipped["payer_class"] == "commercial"].assign(
        payer_id="BCBS01", filing_limit_days=60
    )
    path = tmp_path / "payer_policies.csv"
    mine.to_csv(path, index=False)
    claims = lines(
        {"payer_id": "BCBS01"},
        {"payer_id": "OTHER", "claim_id": "C2", "line_number": 1},
        payer_class="commercial",
        date_of_service="2025-06-02",
        submission_date="2025-08-16",  # 75 days later
    )
    assert apply_rules(claims).flags["TIMELY"].tolist() == [False, False]
    for overrides in ({"payer_policies": path}, tmp_path):
        ref = load_reference(overrides)
        result = apply_rules(claims, reference=ref)
        assert result.flags["TIMELY"].tolist() == [True, False]
        fix = result.hits.query("rule_id == 'TIMELY'")["fix"].item()
        assert fix.startswith("past the filing limit by 15 days")
        assert "filing limit 60 days" in fix


def test_payer_policy_effective_dates_pick_the_row_in_force():
    shipped = load_reference().payer_policies
    base = shipped[shipped["payer_class"] == "commercial"]
    rows = pd.concat(
        [
            base.assign(payer_id="UHC", filing_limit_days=180,
                        effective_from=pd.Timestamp("2021-01-01"),
                        effective_to=pd.Timestamp("2024-12-31")),
            base.assign(payer_id="UHC", filing_limit_days=90,
                        effective_from=pd.Timestamp("2025-01-01")),
        ]
    )  # fmt: skip
    ref = load_reference({"payer_policies": rows}, mode={"payer_policies": "replace"})
    claims = lines(
        {"date_of_service": "2024-06-03", "submission_date": "2024-10-01"},
        {"date_of_service": "2025-06-02", "submission_date": "2025-10-01",
         "claim_id": "C2"},
        payer_class="commercial", payer_id="UHC",
        episode_start_date="2024-05-20", poc_certified_date="2024-05-21",
        note_signed_date="2024-06-03",
    )  # fmt: skip
    assert flag(claims, "TIMELY", reference=ref) == [False, True]


def test_unknown_payer_class_row_is_a_clear_error():
    ref0 = load_reference()
    only_medicare = ref0.payer_policies.query("payer_class == 'medicare'")
    ref = load_reference({"payer_policies": only_medicare}, mode="replace")
    claims = lines(payer_class="commercial", payer_id="X")
    with pytest.raises(ReferenceDataError, match="commercial"):
        apply_rules(claims, reference=ref)


# --- other rule details -------------------------------------------------------
def test_cert_30d_variants():
    late = lines(
        {
            "poc_certified_date": "2025-06-05",
            "date_of_service": "2025-06-06",
            "submission_date": "2025-06-08",
            "note_signed_date": "2025-06-06",
        }
    )
    hit = hits_of(late, "CERT_30D")  # fmt: skip
    assert hit.loc[0, "fix"].startswith("keep the delayed-certification justification")
    missing = hits_of(lines({"poc_certified_date": None}), "CERT_30D")
    assert "2025 exception" in missing.loc[0, "fix"]
    gap = apply_rules(lines({"poc_certified_date": None})).gaps["days_past_cert_due"]
    assert gap.iloc[0] == 2.0  # due 2025-05-31, DOS 2025-06-02


def test_dx_support_needs_a_documented_deficit_for_some_codes():
    sprain = {"diagnosis_codes": "S93.401A"}
    assert flag(lines({**sprain, "deficits_documented": ""}), "DX_SUPPORT") == [True]
    assert flag(lines({**sprain}), "DX_SUPPORT") == [False]
    # only balance or proprioception ties an ankle sprain to 97112 (S43)
    posture = lines({**sprain, "deficits_documented": "posture"})
    assert flag(posture, "DX_SUPPORT") == [True]
    assert flag(posture, "CODE_CONTENT") == [False]  # a deficit is documented
    assert flag(lines({**sprain}, drop=["deficits_documented"]), "DX_SUPPORT") == [None]
    # the list applies to 97112 only
    assert flag(lines({"cpt_code": "97110", "diagnosis_codes": "M54.50"}),
                "DX_SUPPORT") == [False]  # fmt: skip


def test_code_content_suggests_the_code_the_note_describes():
    hit = hits_of(lines({"interventions_documented": "gait_training"}), "CODE_CONTENT")
    assert hit.loc[0, "fix"].startswith("bill 97116 for gait training")
    no_deficit = lines({"deficits_documented": ""})
    assert flag(no_deficit, "CODE_CONTENT") == [True]


def test_mue_sums_units_of_the_code_over_the_visit():
    claims = lines(
        {"units": 3, "minutes": 45},
        {"units": 2, "minutes": 30, "modifiers": "GP 59", "line_number": 2},
    )
    assert flag(claims, "MUE") == [True, True]
    assert apply_rules(claims).gaps["units_over_mue"].tolist() == [1.0, 1.0]


def test_benefit_limit_counts_visits_in_the_input():
    days = pd.date_range("2025-01-06", periods=27, freq="7D")
    claims = lines(
        *[
            {"claim_id": f"C{i}", "line_number": 1, "date_of_service": d.date(),
             "submission_date": d.date(), "note_signed_date": d.date()}
            for i, d in enumerate(days)
        ],
        payer_class="commercial", payer_id="BCBS",
        episode_start_date="2025-01-06", poc_certified_date="2025-01-06",
        cert_through_date="2025-12-31",
    )  # fmt: skip
    fired = flag(claims, "BENEFIT_LIMIT")
    assert fired == [False] * 26 + [True]
    gap = apply_rules(claims).gaps["visits_over_benefit_limit"]
    assert gap.iloc[-1] == 1.0


def test_duplicate_names_the_original_claim():
    claims = lines(
        {"claim_id": "C9", "line_number": 1, "submission_date": "2025-06-10"},
        {"claim_id": "C1", "line_number": 1, "submission_date": "2025-06-04"},
    )
    assert flag(claims, "DUPLICATE") == [True, False]
    hit = hits_of(claims, "DUPLICATE")
    assert "claim C1 line 1" in hit.loc[0, "fix"]


# --- "done when": clear-cut cases on lines no other test produced -------------
def test_clear_cut_cases_are_flagged_without_false_alarms():
    rng = np.random.default_rng(7)
    n = 40
    base = pd.DataFrame([CLEAN] * n)
    base["claim_id"] = [f"Z{i}" for i in range(n)]
    base["patient_id"] = [f"PZ{i}" for i in range(n)]
    base["date_of_service"] = pd.Timestamp("2025-03-03") + pd.to_timedelta(
        rng.integers(0, 60, n), unit="D"
    )
    base["submission_date"] = base["date_of_service"] + pd.Timedelta(days=3)
    base["note_signed_date"] = base["date_of_service"]
    base["episode_start_date"] = base["date_of_service"] - pd.Timedelta(days=10)
    base["poc_certified_date"] = base["episode_start_date"] + pd.Timedelta(days=2)
    base["cert_through_date"] = base["episode_start_date"] + pd.Timedelta(days=89)
    base["minutes"] = rng.integers(8, 23, n)  # one unit each
    base["ytd_therapy_allowed"] = rng.uniform(0, 2400, n).round(2)
    planted = {
        0: ("GP_MISSING", {"modifiers": ""}),
        1: ("KX_MISSING", {"ytd_therapy_allowed": 2900.0}),
        2: ("TIMELY", {"submission_date": pd.Timestamp("2026-06-30")}),
        4: ("MUE", {"units": 6, "minutes": 90}),
        5: ("UNITS_TOTAL", {"units": 3, "minutes": 25}),
    }
    for i, (_, values) in planted.items():
        for k, v in values.items():
            base.loc[i, k] = v
    extra = {**CLEAN, "claim_id": "Z3", "line_number": 2, "cpt_code": "97760",
             "patient_id": "PZ3", "minutes": 15}  # fmt: skip
    for k in (
        "date_of_service",
        "submission_date",
        "note_signed_date",
        "episode_start_date",
        "poc_certified_date",
        "cert_through_date",
    ):
        extra[k] = base.loc[3, k]  # fmt: skip
    base.loc[3, "minutes"] = 15
    raw = pd.concat([base, pd.DataFrame([extra])], ignore_index=True)
    raw["line_number"] = raw["line_number"].astype(int)
    valid, quarantine = S.validate_claims(raw, run_date=RUN_DATE)
    assert quarantine.empty
    result = apply_rules(valid)
    expected = {(f"Z{i}", 1, rid) for i, (rid, _) in planted.items()}
    expected.add(("Z3", 1, "NCCI_PTP"))
    got = {
        (c, int(ln), r)
        for c, ln, r in result.hits[["claim_id", "line_number", "rule_id"]].itertuples(
            index=False
        )
    }
    assert got == expected


# --- properties ---------------------------------------------------------------
CODES = [
    "97112",
    "97110",
    "97140",
    "97530",
    "97116",
    "97760",
    "97161",
    "97022",
    "99213",
]


@st.composite
def claim_frames(draw):
    n = draw(st.integers(min_value=0, max_value=25))
    rows = []
    for i in range(n):
        rows.append(
            {
                **CLEAN,
                "claim_id": f"C{draw(st.integers(0, 4))}",
                "line_number": i + 1,
                "patient_id": f"P{draw(st.integers(0, 2))}",
                "payer_class": draw(st.sampled_from(S.PAYER_CLASSES)),
                "cpt_code": draw(st.sampled_from(CODES)),
                "units": draw(st.integers(1, 6)),
                "minutes": draw(st.one_of(st.none(), st.integers(0, 70))),
                "modifiers": draw(st.sampled_from(["", "GP", "GP KX", "59", "GP CQ"])),
                "ytd_therapy_allowed": draw(st.floats(0, 4000)),
                "date_of_service": draw(st.sampled_from(["2025-06-02", "2024-02-29"])),
            }
        )
    index = draw(st.permutations(list(range(100, 100 + n)))) if n else []
    frame = pd.DataFrame(rows, columns=list(CLEAN), index=index)
    return frame


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(claim_frames())
def test_apply_rules_preserves_rows_and_index(raw):
    valid, quarantine = S.validate_claims(raw, run_date=RUN_DATE)
    result = apply_rules(valid, as_of="2025-07-01")
    assert len(result.flags) == len(valid) == len(result.gaps)
    assert result.flags.index.equals(valid.index)
    assert result.gaps.index.equals(valid.index)
    assert list(result.flags.columns) == SECTION_9_1
    assert list(result.gaps.columns) == list(GAP_COLUMNS)
    # every hit is a flagged line, and every flagged hard/soft line has a hit
    kinds = rule_catalogue().set_index("rule_id")["kind"]
    hard_soft = [r for r in SECTION_9_1 if kinds[r] in ("hard", "soft")]
    n_flags = int(result.flags[hard_soft].fillna(False).to_numpy(dtype=bool).sum())
    assert n_flags == len(result.hits)
    assert not result.hits["fix"].str.contains("{", regex=False).any()
    _assert_hit_rows_match(result, valid)


# --- hit rows and hit text ----------------------------------------------------
def _assert_hit_rows_match(result, claims):
    rows = result.hit_rows
    assert isinstance(rows, np.ndarray) and rows.dtype == np.int64
    assert len(rows) == len(result.hits)
    lines_hit = claims.iloc[rows]
    assert lines_hit["claim_id"].tolist() == result.hits["claim_id"].tolist()
    assert lines_hit["line_number"].tolist() == result.hits["line_number"].tolist()


def test_hit_rows_give_the_position_of_each_hit_line():
    claims = lines(
        {"modifiers": ""}, {"cpt_code": "97760", "line_number": 2}, {"line_number": 3}
    )
    claims.index = pd.Index([30, 10, 20])  # positions, not labels
    result = apply_rules(claims, hit_kinds=("hard", "soft", "payment"))
    assert len(result.hits) >= 2
    _assert_hit_rows_match(result, claims)
    gp = (result.hits["rule_id"] == "GP_MISSING").to_numpy()
    assert result.hit_rows[gp].tolist() == [0]
    assert list(result.hits.columns) == [
        "claim_id", "line_number", "rule_id", "detail", "fix", "kind", "carc",
    ]  # fmt: skip
    for no_hits in (apply_rules(lines()), apply_rules(claims, hits=False)):
        assert no_hits.hits.empty
        assert no_hits.hit_rows.dtype == np.int64 and len(no_hits.hit_rows) == 0
    # results built by hand (four fields) still work
    built = RuleResult(result.flags, result.gaps, result.hits, result.not_evaluated)
    assert len(built.hit_rows) == 0


def _render_per_hit(templates, variant, fields, k):
    """The hit texts formatted one hit at a time (the reference behaviour)."""
    import string

    out = []
    for i in range(k):
        name = "" if variant is None else variant[i]
        values = {}
        for f, field in fields.items():
            if field.kind == "coded":
                u = field.uniques[field.values[i]]
                values[f] = u if isinstance(u, str) else ""
            else:
                values[f] = _format_one(field.values[i], field.kind)
        texts = []
        for tpl in templates[name]:
            parts = string.Formatter().parse(tpl)
            texts.append(
                "".join(lit + (values[f] if f else "") for lit, f, _, _ in parts)
            )
        out.append(tuple(texts))
    return out


def test_hit_text_is_rendered_as_one_hit_at_a_time():
    rng = np.random.default_rng(7)
    k = 3000
    templates = {
        "": ("{a} of {code} ({money}) {{literal}}", "fix {when}: {n}, {n} again"),
        "alt": ("only text", "{a}{code}"),
        "other": ("{name} and {money}", "{when} / {a}"),
    }
    fields = {
        "a": _units_str(rng.choice([0.0, 1.0, 2.0, 1.5, np.nan, 12.0], k)),
        "n": _int_str(rng.choice([-3.0, 0.0, 7.9, np.inf, 1e19, 4.0], k)),
        "money": _money_str(rng.choice([2612.0, 2410.5, 0.004, -12.25, np.nan], k)),
        "when": _date_str(rng.choice([20240.0, 0.0, -1.0, np.nan, 20500.0], k)),
        "name": _as_str(rng.choice(np.array(["x", "", "é", "{a}"], dtype=object), k)),
    }
    codes_u = np.array(["97112", None, "G0283"], dtype=object)
    fields["code"] = _Field(rng.integers(0, 3, k), "coded", codes_u)
    for variant in (None, rng.choice(np.array(["", "alt", "other"]), k)):
        (d_codes, d_text), (f_codes, f_text) = _render_hits(
            templates, variant, fields, k
        )
        got = list(
            zip(
                d_text.take(d_codes).to_pylist(),
                f_text.take(f_codes).to_pylist(),
                strict=True,
            )
        )
        assert got == _render_per_hit(templates, variant, fields, k)
    with pytest.raises(KeyError):
        _render_hits(templates, np.array(["", "nope"]), fields, 2)


def test_field_texts_match_the_one_value_formatting():
    values = np.array(
        [np.nan, np.inf, -np.inf, 0.0, -0.0, 1.0, 1.5, -1.5, 0.999, 12345.675, 2612.0,
         1e18, 2.0**62, -(2.0**63), 1e300, 20240.0, -719162.0]
    )  # fmt: skip
    for kind in ("int", "units", "money", "date"):
        vals = values if kind != "date" else values[np.abs(values) < 2.0**40]
        assert list(_format_uniques(vals, kind)) == [_format_one(v, kind) for v in vals]


def test_object_columns_factorize_like_pandas():
    rng = np.random.default_rng(3)
    pool = [("A",), ("B", "C"), None, np.nan, float("nan"), (), ("A",), pd.NA, "x", 1]
    shared = np.empty(5000, dtype=object)
    shared[:] = [pool[i] for i in rng.integers(0, len(pool), 5000)]
    distinct = np.empty(5000, dtype=object)
    distinct[:] = [("T", str(i % 700)) for i in range(5000)]  # one object per row
    for arr in (shared, distinct, shared[:10]):
        codes, uniques = _factorize(pd.Series(arr, dtype=object))
        want_codes, want_uniques = pd.factorize(arr, use_na_sentinel=False)
        assert np.array_equal(codes, want_codes)
        assert [repr(u) for u in uniques] == [repr(u) for u in want_uniques]


# --- transformer --------------------------------------------------------------
def test_flagger_outputs_ints_and_gaps_with_the_input_index():
    claims = lines({"modifiers": "", "ytd_therapy_allowed": 2500.0})
    claims.index = pd.Index([42])
    before = claims.copy()
    ft = PayerRuleFlagger().fit(claims)
    out = ft.transform(claims)
    pd.testing.assert_frame_equal(claims, before)
    assert out.index.equals(claims.index)
    assert list(out.columns) == list(ft.get_feature_names_out())
    assert out.loc[42, "rule__gp_missing"] == 1
    assert out.loc[42, "rule__kx_missing"] == 1
    assert out.loc[42, "gap__ytd_over_kx_threshold"] == pytest.approx(90.0)
    flags = [c for c in out.columns if c.startswith("rule__")]
    assert all(out[c].dtype == np.int64 for c in flags)
    assert "rule__eligibility" not in out.columns
    assert "rule__eval_same_day_ok" not in out.columns
    assert len(set(out.columns)) == len(out.columns)


def test_flagger_estimator_contract():
    claims = lines({"minutes": 31, "units": 3}, {"cpt_code": "97760"})
    ft = PayerRuleFlagger(rules=["UNITS_TOTAL", "NCCI_PTP"], include_gaps=False)
    with pytest.raises(NotFittedError):
        ft.transform(claims)
    assert ft.fit(claims) is ft
    assert ft.n_features_in_ == claims.shape[1]
    assert list(ft.feature_names_in_) == list(claims.columns)
    cloned = clone(ft)
    assert cloned.get_params() == ft.get_params()
    assert "include_gaps=False" in repr(ft)
    out = ft.transform(claims)
    # 97112 (line 1) is over-billed and is column 2 of 97760 (line 2)
    assert out.to_numpy().tolist() == [[1, 1], [0, 0]]
    again = pickle.loads(pickle.dumps(ft)).transform(claims)
    pd.testing.assert_frame_equal(out, again)
    ft.set_output(transform="pandas")
    pd.testing.assert_frame_equal(ft.transform(claims), out)
    ft.set_output(transform="default")
    assert ft.transform(claims).shape == (2, 2)
    # refit resets state
    ft.set_params(rules=["MUE"]).fit(claims)
    assert list(ft.get_feature_names_out()) == ["rule__mue"]


def test_flagger_parameter_and_column_errors():
    claims = lines()
    with pytest.raises(ValueError, match="'rules' parameter of PayerRuleFlagger"):
        PayerRuleFlagger(rules=["NOPE"]).fit(claims)
    with pytest.raises(ValueError, match="'include_gaps' parameter"):
        PayerRuleFlagger(include_gaps="yes").fit(claims)
    ft = PayerRuleFlagger().fit(claims)
    with pytest.raises(ClaimsSchemaError, match="cpt_code"):
        ft.transform(claims.drop(columns=[S.CPT_CODE]))
    with pytest.warns(DataQualityWarning, match="modifiers"):
        ft.transform(claims.drop(columns=[S.MODIFIERS]))


# --- summary and CLI ----------------------------------------------------------
def test_rule_hit_summary_counts_hits_and_denials():
    claims = lines({"modifiers": ""}, {"line_number": 2, "cpt_code": "97110"})
    claims[S.DENIED] = pd.array([True, False], dtype="boolean")
    summary = rule_hit_summary(apply_rules(claims), claims)
    row = summary.set_index("rule_id").loc["GP_MISSING"]
    assert row["lines"] == 1
    assert row["denial_rate"] == 1.0


def test_cli_rules_writes_hits_and_returns_exit_codes(tmp_path, capsys):
    claims = lines({"modifiers": ""}, {"cpt_code": "97760", "line_number": 2})
    src = tmp_path / "claims.csv"
    write_table(claims, src)
    out = tmp_path / "hits.parquet"
    assert main(["rules", str(src), "--out", str(out), "--as-of", RUN_DATE]) == 0
    hits = read_claims(out)
    assert list(hits.columns)[:5] == ["claim_id", "line_number", "rule_id", "detail",
                                      "fix"]  # fmt: skip
    assert set(hits["rule_id"]) == {"GP_MISSING", "NCCI_PTP"}
    printed = capsys.readouterr().out
    assert "GP_MISSING" in printed
    # a bad row is quarantined: exit code 3, the other rows still processed
    raw = pd.read_csv(src, dtype=str)
    raw.loc[1, "units"] = "0"
    raw.to_csv(src, index=False)
    q = tmp_path / "q.csv"
    code = main(["rules", str(src), "--out", str(out), "--quarantine", str(q),
                 "--as-of", RUN_DATE])  # fmt: skip
    assert code == 3
    assert read_claims(q)["column"].tolist() == ["units"]
    assert set(read_claims(out)["rule_id"]) == {"GP_MISSING"}
    # a required column missing: nothing processed
    raw.drop(columns=["units"]).to_csv(src, index=False)
    assert main(["rules", str(src), "--out", str(out)]) == 2


def test_a_float_sums_negative_zero_reads_as_zero_dollars():
    # a year-to-date total of 0.3 - 0.1 - 0.2 is -2.8e-17: the biller reads "$0"
    field = _money_str(np.array([0.3 - 0.1 - 0.2, -0.004, 0.0]))
    assert list(_format_uniques(field.values, "money")) == ["$0", "$0", "$0"]

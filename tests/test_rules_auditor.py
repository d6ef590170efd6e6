"""Auditor cases: small hand-built claims for each finding of issue #14.

Each case is a claim a billing-compliance reviewer would check first; none
comes from ``ptdenial.datasets``. Findings: (1) KX on the crossing visit,
(2) NCCI pairs at claim scope, (3) the missing therapy codes, (4) 97014 to
Medicare and NMES fixes, (5) diagnosis validity and support, (6) payer-class
defaults only as soft labelled hits, (7) CQ for a PTA's share.
``_ISSUE_PROBES`` holds the issue's own probes, one case each; the tests
after it go around each finding (variants, the no-hit side, the fixes).
"""

from __future__ import annotations

import pandas as pd
import pytest

from ptdenial import schema as S
from ptdenial.reference import icd10_code_set, load_reference
from ptdenial.rules import apply_rules

# A clean Medicare line of a PT private practice, June 2025.
LINE = {
    "claim_id": "A1",
    "patient_id": "P1",
    "payer_id": "MCR-NOVITAS",
    "payer_class": "medicare",
    "date_of_service": "2025-06-02",
    "cpt_code": "97112",
    "units": 1,
    "charge_amount": 45.0,
    "diagnosis_codes": "R26.81",
    "rendering_provider_id": "1234567893",
    "modifiers": "GP",
    "minutes": 15,
    "provider_credential": "PT",
    "referring_provider_id": "1987654320",
    "submission_date": "2025-06-04",
    "ytd_therapy_allowed": 600.0,
}


def claim(*specs, **common) -> pd.DataFrame:
    """Valid claim lines: LINE updated by ``common`` then by each spec.

    A line given another date of service is sent two days later unless its
    submission date is given too.
    """
    rows = []
    for i, spec in enumerate(specs or ({},), start=1):
        row = {**LINE, "line_number": i, **common, **spec}
        if "date_of_service" in {**common, **spec} and "submission_date" not in {
            **common,
            **spec,
        }:
            dos = pd.Timestamp(row["date_of_service"])
            row["submission_date"] = str((dos + pd.Timedelta(days=2)).date())
        rows.append(row)
    valid, quarantine = S.validate_claims(pd.DataFrame(rows), run_date="2026-12-31")
    assert quarantine.empty, quarantine[["column", "check", "value"]]
    return valid


def hits(claims, **kwargs) -> pd.DataFrame:
    return apply_rules(claims, **kwargs).hits


def fired(claims, rule_id, **kwargs) -> list:
    col = apply_rules(claims, **kwargs).flags[rule_id]
    return [None if v is pd.NA else bool(v) for v in col]


def hit_of(claims, rule_id, line=1, claim_id=None, **kwargs) -> pd.Series:
    h = hits(claims, **kwargs)
    h = h[(h["rule_id"] == rule_id) & (h["line_number"] == line)]
    if claim_id is not None:
        h = h[h["claim_id"] == claim_id]
    assert len(h) == 1, hits(claims, **kwargs)
    return h.iloc[0]


# --- the issue's probes, one case per finding -------------------------------
# (lines, rule, expected flag per line, kind of the rule's hits); each case
# is checked on its own, starting from a clean line (no hit at all).
_ISSUE_PROBES = {
    "1 KX on the crossing visit": (
        [{"ytd_therapy_allowed": 2390.0, "units": 2, "minutes": 30}],
        "KX_MISSING", [True], "hard"),
    "2 97150 with 97112": (
        [{}, {"cpt_code": "97150", "minutes": None}], "NCCI_PTP", [True, False],
        "hard"),
    "2 PT 97140 and OT 97530, two claims": (
        [{"cpt_code": "97140"},
         {"cpt_code": "97530", "claim_id": "A2", "line_number": 1, "modifiers": "GO",
          "rendering_provider_id": "1555555556", "provider_credential": "OT"}],
        "NCCI_PTP", [False, True], "hard"),
    "3 97124 without GP": (
        [{}, {"cpt_code": "97124", "modifiers": ""}], "GP_MISSING", [False, True],
        "hard"),
    "3 97124 minutes count in the total": (
        [{}, {"cpt_code": "97124", "modifiers": ""}], "UNITS_TOTAL", [False, False],
        None),
    "4 97014 to Medicare": (
        [{"cpt_code": "97014", "minutes": None}], "CODE_NOT_PAYABLE", [True], "hard"),
    "5 R26.8 is a header": (
        [{"diagnosis_codes": "R26.8"}], "DX_MISSING", [True], "hard"),
    "5 G35 from 2025-10-01": (
        [{"diagnosis_codes": "G35", "date_of_service": "2025-11-03"}], "DX_MISSING",
        [True], "hard"),
    "5 E11.42 supports 97112": (
        [{"diagnosis_codes": "E11.42"}], "DX_SUPPORT", [False], None),
    "5 Z47.1 then R26.81 supports 97112": (
        [{"diagnosis_codes": "Z47.1|R26.81"}], "DX_SUPPORT", [False], None),
    "6 commercial visit limit is a guess": (
        [{"payer_class": "commercial", "payer_id": "BCBS-TX", "modifiers": "",
          "visits_ytd": 27}], "BENEFIT_LIMIT", [True], "soft"),
    "7 PTA at TRICARE without CQ": (
        [{"payer_class": "tricare", "payer_id": "TRICARE-EAST",
          "provider_credential": "PTA"}], "CQ_RULE", [True], "soft"),
}  # fmt: skip


@pytest.mark.parametrize("case", list(_ISSUE_PROBES))
def test_the_issue_probe(case):
    lines, rule, expected, kind = _ISSUE_PROBES[case]
    probe = claim(*lines)
    result = apply_rules(probe)
    assert [None if v is pd.NA else bool(v) for v in result.flags[rule]] == expected
    got = result.hits[result.hits["rule_id"] == rule]
    assert set(got["kind"]) == ({kind} if kind else set())


def test_the_line_the_probes_start_from_is_clean():
    assert hits(claim()).empty


# --- finding 1: KX on the visit that crosses the threshold --------------------
def test_kx_on_the_visit_that_crosses_the_threshold():
    # 2025 threshold $2,410; $2,390 so far, then 2 units of 97112 without KX
    crossing = claim({"ytd_therapy_allowed": 2390.0, "units": 2, "minutes": 30,
                      "charge_amount": 90.0})  # fmt: skip
    hit = hit_of(crossing, "KX_MISSING")
    assert hit["kind"] == "hard" and hit["carc"] == "CO-119"
    assert "$2,390" in hit["detail"] and "$2,410" in hit["detail"]
    assert hit["fix"].startswith("add KX to this visit's therapy lines")
    with_kx = claim({"ytd_therapy_allowed": 2390.0, "units": 2, "minutes": 30,
                     "modifiers": "GP KX"})  # fmt: skip
    assert fired(with_kx, "KX_MISSING") == [False]
    far = claim({"ytd_therapy_allowed": 2000.0, "units": 2, "minutes": 30})
    assert fired(far, "KX_MISSING") == [False]


def test_kx_crossing_counts_every_line_of_the_visit():
    # 97110 has no row of its own (the TIMED proxy, unverified); 97112's
    # expected $55.80 (2 units, MPPR) alone crosses, so both lines need KX
    visit = claim(
        {"units": 2, "minutes": 30, "ytd_therapy_allowed": 2360.0},
        {"cpt_code": "97110", "units": 1, "minutes": 15, "charge_amount": 60.0,
         "ytd_therapy_allowed": 2360.0},
    )  # fmt: skip
    assert fired(visit, "KX_MISSING") == [True, True]


def test_kx_crossing_that_rests_on_the_estimate_is_soft_and_unknown_is_not_evaluated():
    # $2,380 + one unit expected at $31.70: crosses, but not if the estimate
    # were 25% lower: a soft hit that names the unverified fee
    near = claim({"ytd_therapy_allowed": 2380.0})
    hit = hit_of(near, "KX_MISSING")
    assert hit["kind"] == "soft" and "not verified" in hit["detail"]
    # an untimed code without a fee row whose charge could cross: not evaluated
    unknown = claim({"cpt_code": "97150", "minutes": None,
                     "ytd_therapy_allowed": 2395.0, "charge_amount": 60.0})  # fmt: skip
    result = apply_rules(unknown)
    assert result.flags["KX_MISSING"].iloc[0] is pd.NA
    reason = result.not_evaluated.set_index("rule_id").loc["KX_MISSING", "reason"]
    assert "expected allowed amount is unknown" in reason
    # the practice's own expected amount decides it
    own = unknown.assign(expected_allowed=[20.0])
    assert fired(own, "KX_MISSING") == [True]
    assert hit_of(own, "KX_MISSING")["kind"] == "hard"
    assert fired(unknown.assign(expected_allowed=[10.0]), "KX_MISSING") == [False]


def test_kx_buckets_pt_with_slp_and_ot_apart():
    # an OT line (GO) is not judged on the PT+SLP year-to-date
    ot = claim({"cpt_code": "97530", "modifiers": "GO", "provider_credential": "OT",
                "ytd_therapy_allowed": 2900.0})  # fmt: skip
    assert fired(ot, "KX_MISSING") == [None]
    assert fired(ot.assign(ytd_ot_allowed=[300.0]), "KX_MISSING") == [False]
    assert fired(ot.assign(ytd_ot_allowed=[2500.0]), "KX_MISSING") == [True]
    # SLP (GN) shares the PT bucket
    slp = claim({"cpt_code": "97530", "modifiers": "GN", "ytd_therapy_allowed": 2900.0})
    assert fired(slp, "KX_MISSING") == [True]


# --- finding 2: NCCI pairs at claim scope ------------------------------------
@pytest.mark.parametrize(
    ("column1", "column2"),
    [
        ("97150", "97112"),
        ("97150", "97110"),
        ("97150", "97535"),
        ("97530", "97116"),
        ("97113", "97110"),
        ("97140", "97530"),
        ("97012", "97140"),
        ("97161", "97140"),
        ("97530", "97164"),
    ],
)
def test_ncci_pairs_the_review_confirmed(column1, column2):
    pair = claim({"cpt_code": column2}, {"cpt_code": column1})
    assert fired(pair, "NCCI_PTP") == [True, False]
    hit = hit_of(pair, "NCCI_PTP")
    assert hit["kind"] == "hard" and column1 in hit["detail"]
    bypassed = claim({"cpt_code": column2, "modifiers": "GP 59"}, {"cpt_code": column1})
    assert fired(bypassed, "NCCI_PTP") == [False, False]


ONE_ON_ONE = ["97110", "97112", "97113", "97116", "97124", "97129", "97130", "97140",
              "97530", "97533", "97535", "97537", "97542"]  # fmt: skip


@pytest.mark.parametrize("code", ONE_ON_ONE)
def test_97150_with_every_one_on_one_code_97110_to_97542(code):
    # the review's family, each a verified built-in pair: a hard hit on the
    # one-on-one line, gone with a distinct-session modifier on it
    day = claim({"cpt_code": code}, {"cpt_code": "97150", "minutes": None})
    hit = hit_of(day, "NCCI_PTP")
    assert hit["kind"] == "hard" and "97150" in hit["detail"]
    assert fired(day.assign(modifiers=[("GP", "59"), ("GP",)]), "NCCI_PTP") == [
        False,
        False,
    ]


def test_97150_with_97112_with_and_without_59():
    group = {"cpt_code": "97150", "minutes": None}
    assert fired(claim({}, group), "NCCI_PTP") == [True, False]
    assert fired(claim({"modifiers": "GP XU"}, group), "NCCI_PTP") == [False, False]


def test_ncci_modifier_on_the_column_1_code_does_not_bypass_and_the_hit_says_so():
    # the 59 belongs on the column-2 code: on 97150 it bypasses nothing
    group = {"cpt_code": "97150", "minutes": None, "modifiers": "GP 59"}
    day = claim({"cpt_code": "97110"}, group)
    hit = hit_of(day, "NCCI_PTP")
    assert "the modifier is on 97150, the column-1 code" in hit["detail"]
    assert hit["fix"].startswith("append 59 or XU to 97110")
    plain = hit_of(claim({"cpt_code": "97110"}, {"cpt_code": "97150", "minutes": None}),
                   "NCCI_PTP")  # fmt: skip
    assert "column-1 code" not in plain["detail"]


def test_ncci_edits_meet_across_clinicians_disciplines_and_claims():
    # the PT bills 97140 on one claim, the OT 97530 on another, same day
    pt_ot = claim(
        {"cpt_code": "97140"},
        {"cpt_code": "97530", "claim_id": "A2", "line_number": 1, "modifiers": "GO",
         "rendering_provider_id": "1555555556", "provider_credential": "OT"},
    )  # fmt: skip
    assert fired(pt_ot, "NCCI_PTP") == [False, True]
    hit = hit_of(pt_ot, "NCCI_PTP", line=1)
    assert hit["claim_id"] == "A2" and "another clinician" in hit["detail"]
    assert "XP" in hit["fix"]
    other_patient = pt_ot.assign(patient_id=["P1", "P2"])
    assert fired(other_patient, "NCCI_PTP") == [False, False]


def test_withdrawn_evaluation_edits_only_in_january_2020():
    dates = {"submission_date": "2020-02-20", "ytd_therapy_allowed": 100.0}
    jan = claim({"cpt_code": "97150", "minutes": None, "modifiers": "GP 59"},
                {"cpt_code": "97165", "minutes": None, "modifiers": "GO"},
                date_of_service="2020-01-15", **dates)  # fmt: skip
    assert fired(jan, "NCCI_MI0") == [True, False]
    feb = jan.assign(date_of_service=pd.Timestamp("2020-02-03"))
    assert fired(feb, "NCCI_MI0") == [False, False]


# --- finding 3: the missing therapy codes -------------------------------------
NEW_TIMED = ["97124", "97129", "97130", "97533", "97537", "97542", "97755", "97034",
             "G0237", "G0238"]  # fmt: skip


@pytest.mark.parametrize("code", NEW_TIMED)
def test_new_timed_codes_count_in_the_8_minute_total_and_need_gp(code):
    # 15 + 15 minutes: 2 units in total, billed 1 + 1: right
    visit = claim({}, {"cpt_code": code, "minutes": 15})
    assert fired(visit, "UNITS_TOTAL") == [False, False]
    # 15 + 10: 2 units; 97112 alone billed 2 -> the total is right, the split
    # is not (each code has its own minutes)
    result = apply_rules(claim({"units": 2}, {"cpt_code": code, "minutes": 10,
                                              "units": 0 + 1}))  # fmt: skip
    assert result.gaps["visit_units_over_supported"].iloc[0] == 1.0
    no_gp = claim({"cpt_code": code, "modifiers": ""})
    assert fired(no_gp, "GP_MISSING") == [True]
    assert fired(claim({"cpt_code": code, "ytd_therapy_allowed": 3000.0}),
                 "KX_MISSING") == [True]  # fmt: skip
    assert fired(claim({}, {"cpt_code": code}), "MPPR") == [True, True]


def test_97124_without_gp_and_no_false_unit_hit():
    visit = claim(
        {"minutes": 15}, {"cpt_code": "97124", "modifiers": "", "minutes": 15}
    )
    got = hits(visit)
    assert set(zip(got["line_number"], got["rule_id"], strict=True)) == {
        (2, "GP_MISSING")
    }


def test_ot_evaluations_and_sometimes_therapy_codes():
    ot_eval = claim({"cpt_code": "97166", "minutes": None, "modifiers": "GO",
                     "provider_credential": "OT"})  # fmt: skip
    assert hits(ot_eval).empty
    no_modifier = claim({"cpt_code": "97166", "minutes": None, "modifiers": "",
                         "provider_credential": "OT"})  # fmt: skip
    assert hit_of(no_modifier, "GP_MISSING")["fix"] == (
        "add modifier GO (occupational therapy plan of care)"
    )
    # canalith repositioning: therapy when a PT does it, not when a physician does
    by_pt = claim({"cpt_code": "95992", "minutes": None, "modifiers": ""})
    assert fired(by_pt, "GP_MISSING") == [True]
    by_md = by_pt.assign(provider_credential=["MD"])
    assert fired(by_md, "GP_MISSING") == [False]


# --- finding 4: 97014 to Medicare; NMES fixes ---------------------------------
def test_97014_to_medicare_is_g0283():
    estim = {"cpt_code": "97014", "minutes": None}
    hit = hit_of(claim({}, estim), "CODE_NOT_PAYABLE", line=2)
    assert hit["kind"] == "hard" and hit["fix"].startswith(
        "bill G0283 instead of 97014"
    )
    commercial = claim({}, estim, payer_class="commercial", payer_id="BCBS-TX")
    assert fired(commercial, "CODE_NOT_PAYABLE") == [False, False]
    g0283 = claim({}, {"cpt_code": "G0283", "minutes": None})
    assert fired(g0283, "CODE_NOT_PAYABLE") == [False, False]


def test_nmes_fix_names_the_attended_and_unattended_codes_the_payer_pays():
    note = {"interventions_documented": "nmes", "deficits_documented": "balance"}
    medicare = hit_of(claim(note), "CODE_CONTENT")["fix"]
    assert medicare.startswith("bill 97032 (attended) or G0283 (unattended) for nmes")
    bcbs = claim(note, payer_class="commercial", payer_id="BCBS-TX", modifiers="")
    assert hit_of(bcbs, "CODE_CONTENT")["fix"].startswith(
        "bill 97032 (attended) or 97014 (unattended)"
    )


# --- finding 5: diagnosis validity and support --------------------------------
def test_icd10_release_the_package_carries():
    cs = icd10_code_set()
    assert (cs.release, cs.fiscal_year) == ("April 2026", 2026)
    assert "R2681" in cs.billable and "R268" not in cs.billable


def test_a_category_header_is_not_a_valid_diagnosis():
    header = claim({"diagnosis_codes": "R26.8"})
    hit = hit_of(header, "DX_MISSING")
    assert hit["kind"] == "hard" and "category header" in hit["detail"]
    assert "R26.81" in hit["fix"] and "R26.89" in hit["fix"]
    # a header among valid codes still makes the claim incomplete
    assert fired(claim({"diagnosis_codes": "R26.81|R26.8"}), "DX_MISSING") == [True]


def test_g35_stopped_being_billable_on_2025_10_01():
    dates = {"submission_date": "2025-11-05"}
    after = claim({"diagnosis_codes": "G35", "date_of_service": "2025-11-03", **dates})
    hit = hit_of(after, "DX_MISSING")
    assert "2025-10-01" in hit["detail"] and "G35.A" in hit["fix"]
    before = claim({"diagnosis_codes": "G35", "date_of_service": "2025-09-02"})
    assert fired(before, "DX_MISSING") == [False]
    # and its new children did not exist before then
    new_child = claim({"diagnosis_codes": "G35.A", "date_of_service": "2025-09-02"})
    assert fired(new_child, "DX_MISSING") == [True]
    assert fired(after.assign(diagnosis_codes=[("G35.A",)]), "DX_MISSING") == [False]


def test_dates_outside_the_covered_releases_are_not_evaluated():
    old = claim({"diagnosis_codes": "R26.8", "date_of_service": "2024-03-04",
                 "ytd_therapy_allowed": 100.0})  # fmt: skip
    result = apply_rules(old)
    assert result.flags["DX_MISSING"].iloc[0] is pd.NA
    reason = result.not_evaluated.set_index("rule_id").loc["DX_MISSING", "reason"]
    assert "2024-10-01" in reason and "2026-09-30" in reason
    # no diagnosis at all is missing on any date
    assert fired(old.assign(diagnosis_codes=[()]), "DX_MISSING") == [True]


@pytest.mark.parametrize(
    "codes",
    ["E11.42", "Z47.1|R26.81", "R27.0", "R29.6", "R53.1", "R53.81", "G20.A1",
     "G35.A", "G61.0", "G80.0", "G81.91", "G82.20", "G83.4", "G12.21", "I69.351",
     "S06.0X0D", "H81.10", "H83.2X1", "M54.50|R26.81"],
)  # fmt: skip
def test_supporting_families_over_every_pointed_code(codes):
    cs = icd10_code_set()
    for code in codes.split("|"):
        assert code.replace(".", "") in cs.billable, code
    line = claim({"diagnosis_codes": codes, "date_of_service": "2026-04-06",
                  "ytd_therapy_allowed": 100.0})  # fmt: skip
    assert fired(line, "DX_SUPPORT") == [False]
    assert fired(line, "DX_MISSING") == [False]


@pytest.mark.parametrize(
    "code", ["G30.9", "G37.9", "G40.909", "G45.9", "G56.01", "G60.0", "G70.00",
             "G71.00", "G93.40", "G95.9", "S14.109D"],
)  # fmt: skip
def test_g_codes_of_neurological_disease_support_97112(code):
    line = claim({"diagnosis_codes": code})
    assert fired(line, "DX_MISSING") == [False]
    assert fired(line, "DX_SUPPORT") == [False]


@pytest.mark.parametrize("code", ["G43.909", "G47.33", "G89.29"])
def test_headache_sleep_and_pain_g_codes_do_not(code):
    hit = hit_of(claim({"diagnosis_codes": code}), "DX_SUPPORT")
    assert hit["kind"] == "soft" and code in hit["detail"]
    # another pointed code that supports 97112 is enough
    assert fired(claim({"diagnosis_codes": f"{code}|R26.81"}), "DX_SUPPORT") == [False]


@pytest.mark.parametrize("code", ["S82.891D", "S42.201D", "S33.5XXA", "S13.4XXD"])
def test_injury_s_codes_support_97112_with_a_documented_deficit(code):
    line = claim({"diagnosis_codes": code, "deficits_documented": "BALANCE"})
    assert fired(line, "DX_SUPPORT") == [False]
    assert fired(line.assign(deficits_documented=[()]), "DX_SUPPORT") == [True]
    # without the documentation column the rule cannot tell: not evaluated
    no_column = claim({"diagnosis_codes": code})
    assert fired(no_column, "DX_SUPPORT") == [None]


@pytest.mark.parametrize(
    ("codes", "reason"),
    [("R26", "category header"), ("M54.5", "category header"),
     ("Z96.65", "category header"), ("R99.99", ""), ("R26.81|M79.1", "")],
)  # fmt: skip
def test_codes_that_are_not_billable_on_the_date_of_service(codes, reason):
    # M54.5 became a header on 2021-10-01 (M54.50-M54.59), M79.1 on
    # 2022-10-01; R99.99 is no ICD-10-CM code at all
    hit = hit_of(claim({"diagnosis_codes": codes}), "DX_MISSING")
    assert hit["kind"] == "hard" and reason in hit["detail"]


def test_support_needs_a_documented_deficit_for_aftercare_alone():
    aftercare = claim({"diagnosis_codes": "Z47.1", "deficits_documented": ""})
    assert fired(aftercare, "DX_SUPPORT") == [True]
    assert fired(aftercare.assign(deficits_documented=[("BALANCE",)]),
                 "DX_SUPPORT") == [False]  # fmt: skip
    none = claim({"diagnosis_codes": "M54.50|M17.11"})
    hit = hit_of(none, "DX_SUPPORT")
    assert hit["kind"] == "soft" and "M54.50, M17.11" in hit["detail"]


# --- finding 6: payer guesses only as soft, labelled hits ---------------------
BCBS = {"payer_class": "commercial", "payer_id": "BCBS-TX", "modifiers": ""}


def test_commercial_visit_limit_default_is_a_soft_labelled_hit():
    over = claim({"visits_ytd": 26}, **BCBS)
    hit = hit_of(over, "BENEFIT_LIMIT")
    assert hit["kind"] == "soft"
    assert "BCBS-TX" in hit["detail"] and "class default" in hit["detail"]
    assert "not verified" in hit["detail"]


def test_the_payers_own_verified_value_gives_a_hard_hit(tmp_path):
    own = pd.DataFrame({"payer_class": ["commercial"], "payer_id": ["BCBS-TX"],
                        "visit_limit": [20], "source": ["contract 2025 s4"],
                        "verified": [True]})  # fmt: skip
    own.to_csv(tmp_path / "payer_policies.csv", index=False)
    ref = load_reference(tmp_path)
    line = claim({"visits_ytd": 20}, **BCBS)
    hit = hit_of(line, "BENEFIT_LIMIT", reference=ref)
    assert hit["kind"] == "hard" and "own policy row" in hit["detail"]
    # the fields the payer row leaves empty still come from the class default
    late = claim({"submission_date": "2025-10-01"}, **BCBS)
    timely = hit_of(late, "TIMELY", reference=ref)
    assert timely["kind"] == "soft" and "class default" in timely["detail"]


def test_other_payer_defaults_are_soft_and_medicare_stays_hard():
    medicaid = claim({"prior_auth_number": ""}, payer_class="medicaid",
                     payer_id="TX-MCD", modifiers="")  # fmt: skip
    assert hit_of(medicaid, "AUTH_ABSENT")["kind"] == "soft"
    commercial_late = claim({"submission_date": "2025-10-01"}, **BCBS)
    assert hit_of(commercial_late, "TIMELY")["kind"] == "soft"
    medicare_late = claim({"submission_date": "2026-06-10"})
    assert hit_of(medicare_late, "TIMELY")["kind"] == "hard"
    assert hit_of(claim({"modifiers": ""}), "GP_MISSING")["kind"] == "hard"
    ma = claim({"modifiers": "", "prior_auth_number": "PA-1"},
               payer_class="medicare_advantage", payer_id="WELLCARE-MA")  # fmt: skip
    assert hit_of(ma, "GP_MISSING")["kind"] == "soft"


CLASS_DEFAULTS = ["medicare_advantage", "commercial", "medicaid", "workers_comp",
                  "auto", "tricare", "other"]  # fmt: skip
# A visit whose every fault is one a payer policy decides: no GP, no
# referring provider, no authorization, visit 60 of the year, filed 400 days
# after the date of service, a PTA without CQ, 97110 under 8 minutes (a
# per-code payer's unit) and 5 units of the day.
POLICY_FAULTS = (
    {"modifiers": "", "referring_provider_id": "", "prior_auth_number": "",
     "visits_ytd": 60, "provider_credential": "PTA", "units": 4, "minutes": 60,
     "charge_amount": 180.0, "date_of_service": "2025-03-03",
     "submission_date": "2026-04-07"},
    {"cpt_code": "97110", "minutes": 5, "modifiers": "", "referring_provider_id": "",
     "prior_auth_number": "", "visits_ytd": 60, "provider_credential": "PTA",
     "date_of_service": "2025-03-03", "submission_date": "2026-04-07"},
)  # fmt: skip


@pytest.mark.parametrize("payer_class", CLASS_DEFAULTS)
def test_no_hard_hit_rests_on_a_payer_class_default(payer_class):
    visit = claim(*POLICY_FAULTS, payer_class=payer_class, payer_id="ACME-PLAN")
    got = hits(visit)
    # the hard rules that read the matrix (CQ_RULE is soft by its kind)
    policy_rules = {"GP_MISSING", "REFERRING_NPI", "AUTH_ABSENT", "BENEFIT_LIMIT",
                    "TIMELY", "PER_CODE_MIDPOINT", "DAILY_UNIT_CAP",
                    "KX_MISSING"}  # fmt: skip
    policy = got[got["rule_id"].isin(policy_rules)]
    assert not policy.empty, got
    assert (got["kind"] == "soft").all(), got[["rule_id", "kind", "detail"]]
    assert policy["detail"].str.contains("class default").all()
    assert policy["detail"].str.contains("ACME-PLAN").all()


def test_the_same_faults_at_medicare_are_hard():
    visit = claim(*POLICY_FAULTS)
    hard = set(hits(visit).query("kind == 'hard'")["rule_id"])
    assert {"GP_MISSING", "REFERRING_NPI", "TIMELY"} <= hard


def test_medicare_advantage_authorization_default_is_soft_and_uhc_own_is_hard():
    ma = {"payer_class": "medicare_advantage", "prior_auth_number": ""}
    assert hit_of(claim(ma, payer_id="WELLCARE-MA"), "AUTH_ABSENT")["kind"] == "soft"
    # UnitedHealthcare's own MA authorization requirement from 2024-09-01
    # (S49) is a verified payer value
    uhc = claim(ma, payer_id="UHC-MA")
    assert hit_of(uhc, "AUTH_ABSENT")["kind"] == "hard"
    before = claim({**ma, "date_of_service": "2024-06-03"}, payer_id="UHC-MA")
    # before then UHC's row is silent: the unverified class default, soft
    assert hit_of(before, "AUTH_ABSENT")["kind"] == "soft"


# --- finding 7: CQ ------------------------------------------------------------
@pytest.mark.parametrize(
    ("payer_class", "payer_id"),
    [("commercial", "UHC"), ("commercial", "COM-UHC-CP"),
     ("medicare_advantage", "UNITEDHEALTHCARE MA"),
     ("medicare_advantage", "HUMANA-GOLD"),
     ("tricare", "TRICARE-EAST"), ("medicare", "MCR")],
)  # fmt: skip
def test_cq_on_a_pta_line_for_payers_that_use_cq(payer_class, payer_id):
    pta = claim({"provider_credential": "PTA", "modifiers": "GP",
                 "prior_auth_number": "PA-1"},
                payer_class=payer_class, payer_id=payer_id)  # fmt: skip
    hit = hit_of(pta, "CQ_RULE")
    assert "proxy" in hit["detail"]
    assert fired(pta.assign(modifiers=[("GP", "CQ")]), "CQ_RULE") == [False]


def test_no_cq_for_a_payer_without_the_policy():
    bcbs = claim({"provider_credential": "PTA"}, **BCBS)
    assert fired(bcbs, "CQ_RULE") == [False]


def test_cq_from_pta_minutes_when_a_documentation_export_gives_them():
    # billed under the supervising PT, but the PTA did 10 of the 15 minutes:
    # the PT's own 5 minutes support no unit, so CQ is needed
    line = claim({}).assign(pta_minutes=[10.0])
    hit = hit_of(line, "CQ_RULE")
    assert "furnished 10 of the 15 minutes" in hit["detail"]
    # 1 minute of 15 is within the 10% de minimis standard
    assert fired(line.assign(pta_minutes=[1.0]), "CQ_RULE") == [False]
    # the PT furnished 9 minutes past the midpoint: the unit is the PT's
    assert fired(line.assign(pta_minutes=[6.0]), "CQ_RULE") == [False]
    # measured minutes beat the credential proxy
    pta = line.assign(provider_credential=["PTA"], pta_minutes=[0.0])
    assert fired(pta, "CQ_RULE") == [False]


def test_pta_payment_cut_only_where_the_matrix_knows_it():
    medicare = claim({"provider_credential": "PTA", "modifiers": "GP CQ"})
    assert apply_rules(medicare).gaps["cq_payment_factor"].tolist() == [0.85]
    uhc = claim({"provider_credential": "PTA", "modifiers": "GP CQ"},
                payer_class="commercial", payer_id="UHC")  # fmt: skip
    assert fired(uhc, "CQ_PAYMENT") == [False]


# --- MUE adjudication indicator and the daily cap -----------------------------
def _mue(tmp_path, mai):
    pd.DataFrame({"cpt_code": ["97112"], "mue_units": [4], "mai": [mai],
                  "source": ["CMS practitioner MUE 2025Q2"], "verified": [True],
                  "effective_from": ["2025-04-01"]}).to_csv(
        tmp_path / "mue.csv", index=False)  # fmt: skip
    return load_reference(tmp_path)


def test_mue_date_of_service_edit_sums_lines_of_two_clinicians(tmp_path):
    two = claim({"units": 3, "minutes": 45},
                {"units": 2, "minutes": 30, "claim_id": "A2", "line_number": 1,
                 "rendering_provider_id": "1555555556"})  # fmt: skip
    ref3 = _mue(tmp_path, "3")
    assert fired(two, "MUE", reference=ref3) == [True, True]
    assert hit_of(two, "MUE", claim_id="A1", reference=ref3)["kind"] == "hard"
    per_line = tmp_path / "one"
    per_line.mkdir()
    assert fired(two, "MUE", reference=_mue(per_line, "1")) == [False, False]
    # the shipped 97112 = 4 is unverified: soft
    assert hit_of(two, "MUE", claim_id="A2")["kind"] == "soft"


def test_daily_cap_from_the_payers_own_row(tmp_path):
    pd.DataFrame({"payer_class": ["commercial"], "payer_id": ["UHC"],
                  "daily_timed_unit_cap": [4], "source": ["UHC policy 2025"],
                  "verified": [True]}).to_csv(
        tmp_path / "payer_policies.csv", index=False)  # fmt: skip
    ref = load_reference(tmp_path)
    visit = claim({"units": 3, "minutes": 45}, {"cpt_code": "97110", "units": 2,
                                                 "minutes": 30},
                  payer_class="commercial", payer_id="UHC")  # fmt: skip
    assert fired(visit, "DAILY_UNIT_CAP", reference=ref) == [True, True]
    assert hit_of(visit, "DAILY_UNIT_CAP", reference=ref)["kind"] == "hard"
    assert fired(visit, "DAILY_UNIT_CAP") == [False, False]  # none shipped


def test_cli_says_how_many_hard_rule_hits_are_soft(tmp_path, capsys):
    from ptdenial.cli import main

    raw = pd.DataFrame([{**LINE, "line_number": 1, **BCBS, "visits_ytd": 30}])
    raw.to_csv(tmp_path / "claims.csv", index=False)
    assert main(["rules", str(tmp_path / "claims.csv"), "--out",
                 str(tmp_path / "hits.csv")]) == 0  # fmt: skip
    out = capsys.readouterr().out
    assert "1 hits of hard rules are reported soft" in out
    row = next(line for line in out.splitlines() if "BENEFIT_LIMIT" in line)
    assert row.split()[-1] == "1"  # the rule's reported_soft column
    hits = pd.read_csv(tmp_path / "hits.csv")
    assert hits.set_index("rule_id").loc["BENEFIT_LIMIT", "kind"] == "soft"
    # without visits_ytd the visits are counted from the input: a caveat on
    # evaluated lines, printed as a note (not "not evaluated on 0 lines")
    raw.drop(columns="visits_ytd").to_csv(tmp_path / "claims.csv", index=False)
    assert main(["rules", str(tmp_path / "claims.csv"), "--out",
                 str(tmp_path / "hits.csv")]) == 0  # fmt: skip
    out = capsys.readouterr().out
    assert "note: BENEFIT_LIMIT: visits counted from the input lines" in out
    assert "not evaluated: BENEFIT_LIMIT" not in out

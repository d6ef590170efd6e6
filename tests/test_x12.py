"""X12 835/837P ingest: edge cases, malformed files, joins, round trips, CLI,
and conformance on the public files in ../shared/data/x12-public/."""

from __future__ import annotations

import json
import os
import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from conftest import tiny_raw
from ptdenial import schema as S
from ptdenial.cli import main
from ptdenial.exceptions import DataQualityWarning
from ptdenial.x12 import (
    FIXTURE_PATIENT_NAME,
    X12FormatError,
    apply_payer_classes,
    ingest,
    join_docs,
    join_remits,
    pseudonymize_patient,
    read_835,
    read_837p,
    read_export,
    read_mapping,
    read_x12,
    write_835,
    write_837p,
)

CASES = Path(__file__).resolve().parent / "x12_cases"
KEY = "test-key"
PUBLIC = Path(
    os.environ.get("PTDENIAL_X12_PUBLIC")
    or Path(__file__).resolve().parents[2] / "shared" / "data" / "x12-public"
)


def _835(name, **kw):
    return read_835(CASES / name, key=KEY, **kw)


def _837(name, **kw):
    return read_837p(CASES / name, key=KEY, **kw)


# --- point 1: one test per listed case ------------------------------------------------
def test_claim_level_cas_kept_and_applied_to_denied_claim_lines():
    r = _835("claim_level_cas.835").set_index(S.CLAIM_ID)
    # paid claim: own line CAS; the claim-level OA-23 is kept beside it
    assert r.loc["CLA1", S.ADJUSTMENT_CODES] == ("CO-45",)
    assert r.loc["CLA1", "claim_adjustment_codes"] == ("OA-23",)
    # denied claim whose line carries no CAS: the claim-level reason applies
    assert r.loc["CLA2", S.ADJUSTMENT_CODES] == ("CO-16",)
    assert r.loc["CLA2", "claim_remark_codes"] == ("MA130",)
    assert r.loc["CLA2", S.REMARK_CODES] == ("N382",)
    labelled = S.derive_outcomes(r.reset_index())
    assert labelled.set_index(S.CLAIM_ID).loc["CLA2", S.DENIED]


def test_claim_without_svc_lines_gives_claim_level_row_spread_over_claim_lines():
    r = _835("no_svc.835")
    assert len(r) == 2 and r["claim_level"].all()
    row = r.set_index(S.CLAIM_ID).loc["NOSVC2"]
    assert row[S.PAID_AMOUNT] == 80.0 and row[S.ADJUSTMENT_CODES] == ("CO-45",)
    assert row[S.DATE_OF_SERVICE] == pd.Timestamp("2025-03-06")
    claims = pd.DataFrame(
        {
            S.CLAIM_ID: ["NOSVC2", "NOSVC2", "NOSVC1"],
            S.LINE_NUMBER: [1, 2, 1],
            S.PAYER_ID: ["SH01"] * 3,
            S.CPT_CODE: ["97112", "97110", "97112"],
            S.DATE_OF_SERVICE: pd.to_datetime(["2025-03-06"] * 2 + ["2025-03-05"]),
            S.UNITS: [2, 1, 3],
            S.CHARGE_AMOUNT: [75.0, 25.0, 150.0],
            "line_control_number": ["1", "2", "1"],
        }
    )
    j = join_remits(claims, r)
    assert j.joined["remit_match"].tolist() == ["claim_level"] * 3
    assert j.joined[S.PAID_AMOUNT].tolist() == [60.0, 20.0, 0.0]
    assert j.joined[S.DENIED].tolist() == [False, False, True]
    assert len(j.unmatched_claims) == 0 and len(j.unmatched_remits) == 0


def test_clp02_4_denied_claim_is_denied():
    r = _835("denied.835")
    assert r[CLAIM := "claim_status"].tolist() == ["4"]
    labelled = S.derive_outcomes(r)
    assert labelled[S.DENIED].tolist() == [True]
    assert labelled.loc[0, S.REMARK_CODES] == ("N115",)
    assert CLAIM in r


def test_clp02_22_reversal_netted_against_original():
    res = read_x12(CASES / "reversal.835", key=KEY)
    # original (paid 70) and its reversal (-70) cancel; the re-adjudication stays
    assert res.remits[S.CLAIM_ID].tolist() == ["REV1"]
    assert res.remits["claim_status"].tolist() == ["4"]
    assert res.remits[S.ADJUSTMENT_CODES].tolist() == [("CO-197",)]
    assert sorted(res.reversed["claim_status"]) == ["1", "22"]
    raw_sum = res.reversed[S.PAID_AMOUNT].sum()
    assert raw_sum == pytest.approx(0.0)


def test_partial_reversal_keeps_netted_amounts():
    from ptdenial.x12 import net_reversals

    r = pd.DataFrame(
        {
            S.CLAIM_ID: ["C", "C"],
            S.PAYER_ID: ["P", "P"],
            "line_control_number": ["1", "1"],
            S.CPT_CODE: ["97112"] * 2,
            S.DATE_OF_SERVICE: pd.to_datetime(["2025-01-02"] * 2),
            S.UNITS: [2, -2],
            S.CHARGE_AMOUNT: [80.0, -80.0],
            S.ALLOWED_AMOUNT: [60.0, -20.0],
            S.PAID_AMOUNT: [48.0, -16.0],
            "claim_status": ["1", "22"],
            "remit_claim_index": [1, 2],
        }
    )
    kept, cancelled = net_reversals(r)
    assert kept[S.PAID_AMOUNT].tolist() == [32.0]
    assert cancelled["claim_status"].tolist() == ["22"]


def test_several_payer_loops_per_file():
    r = _835("multi_payer.835").set_index(S.CLAIM_ID)
    assert (
        r.loc["MP1", S.PAYER_ID] == "PA01"
        and r.loc["MP1", "payer_name"] == "PAYER ALPHA"
    )
    # second ST: N1*PR without an id, REF*2U gives it
    assert (
        r.loc["MP2", S.PAYER_ID] == "PB02" and r.loc["MP2", S.PAYER_CLASS] == "medicaid"
    )
    assert r.loc["MP2", S.ADJUDICATION_DATE] == pd.Timestamp("2025-03-21")


def test_colon_and_gt_component_separators_read_alike():
    a, b = _835("separator_colon.835"), _835("separator_gt.835")
    cols = [S.CPT_CODE, S.MODIFIERS, S.UNITS, S.PAID_AMOUNT, S.ADJUSTMENT_CODES]
    pd.testing.assert_frame_equal(a[cols], b[cols])
    assert a.loc[0, S.MODIFIERS] == ("GP", "KX")
    c, d = _837("edge_5010.837"), _837("edge_gt.837")
    cols = [S.CPT_CODE, S.MODIFIERS, S.DIAGNOSIS_CODES, S.PLACE_OF_SERVICE, S.UNITS]
    pd.testing.assert_frame_equal(c[cols], d[cols])


def test_versions_4010_and_5010():
    a, b = _835("v4010.835"), _835("separator_colon.835")
    cols = [S.CLAIM_ID, S.CPT_CODE, S.MODIFIERS, S.PAID_AMOUNT, S.ALLOWED_AMOUNT]
    pd.testing.assert_frame_equal(a[cols], b[cols])
    assert a.loc[0, "x12_version"] == "004010X091A1"
    old = _837("v4010.837")
    # BK/BF are ICD-9: kept aside, not passed off as ICD-10
    assert old.loc[0, S.DIAGNOSIS_CODES] == ()
    assert old.loc[0, "icd9_diagnosis_codes"] == ("781.2", "780.79")
    assert old.loc[0, S.PAYER_CLASS] == "commercial"
    assert old.loc[0, S.DATE_OF_SERVICE] == pd.Timestamp("2006-01-05")


def test_several_isa_envelopes_per_file_with_their_own_delimiters():
    r = _835("two_isa.835")
    assert r[S.CLAIM_ID].tolist() == ["MP1", "MP2"]
    assert r.loc[1, S.MODIFIERS] == ("GP",)  # second interchange uses '^' and '|'
    assert r.loc[1, S.ADJUSTMENT_CODES] == ("CO-45", "PR-3")


# --- 835 / 837P field mapping ---------------------------------------------------------
def test_835_fields():
    r = _835("multi_payer.835").set_index(S.CLAIM_ID).loc["MP2"]
    assert r[S.CPT_CODE] == "97112" and r[S.UNITS] == 2
    assert (r[S.CHARGE_AMOUNT], r[S.ALLOWED_AMOUNT], r[S.PAID_AMOUNT]) == (60, 40, 30)
    assert r["line_control_number"] == "1"
    assert r[S.DATE_OF_SERVICE] == pd.Timestamp("2025-03-06")


def test_837p_fields_and_overrides():
    c = _837("edge_5010.837").set_index([S.CLAIM_ID, S.LINE_NUMBER])
    one, two = c.loc[("E1", 1)], c.loc[("E1", 2)]
    assert one[S.DIAGNOSIS_CODES] == ("R26.81", "I69.351")  # pointers 1:3
    assert two[S.DIAGNOSIS_CODES] == ("M62.81",)
    assert (
        one[S.RENDERING_PROVIDER_ID] == "1111111111"
        and one[S.PROVIDER_CREDENTIAL] == "PT"
    )
    assert (
        two[S.RENDERING_PROVIDER_ID] == "4444444444"
        and two[S.PROVIDER_CREDENTIAL] == "PTA"
    )
    assert one[S.REFERRING_PROVIDER_ID] == "3333333333"
    assert (one[S.PLACE_OF_SERVICE], two[S.PLACE_OF_SERVICE]) == ("11", "22")
    assert one[S.PRIOR_AUTH_NUMBER] == "AUTH77"
    assert one[S.EPISODE_START_DATE] == pd.Timestamp("2025-02-01")
    assert one[S.SUBMISSION_DATE] == pd.Timestamp("2025-03-10")
    assert one["line_control_number"] == "E1-1"
    assert two[S.MODIFIERS] == ("GP", "KX") and two[S.UNITS] == 2
    # no NM1*82: the billing provider renders; the COB loop's payer is ignored
    e2 = c.loc[("E2", 1)]
    assert e2[S.RENDERING_PROVIDER_ID] == "1999999999" and e2[S.PAYER_ID] == "MCR01"
    d1 = c.loc[("D1", 1)]
    assert d1[S.PAYER_CLASS] == "medicare_advantage"


def test_institutional_837_recognized_and_skipped():
    res = read_x12(CASES / "institutional.837", key=KEY)
    assert res.claims.empty and not res.errors
    assert res.files[0]["status"] == "skipped" and res.files[0]["kinds"] == ["837I"]


# --- pseudonymization -----------------------------------------------------------------
def test_patient_identifiers_never_reach_the_output():
    c = _837("edge_5010.837")
    r = _835("multi_payer.835")
    text = " ".join(str(v) for v in pd.concat([c, r]).to_numpy().ravel())
    for raw in ("MEM100", "MEM200", "ROE", "RITA", "RUBY", "ROBERT", "OTHER9"):
        assert raw not in text
    # subscriber's member id + patient's name, same key -> same pseudonym
    expect = pseudonymize_patient("MEM100", "ROE", "RITA", key=KEY)
    assert set(c.loc[c[S.CLAIM_ID] == "E1", S.PATIENT_ID]) == {expect}
    assert set(r[S.PATIENT_ID]) == {expect}
    dep = c.loc[c[S.CLAIM_ID] == "D1", S.PATIENT_ID].iloc[0]
    assert dep == pseudonymize_patient("MEM200", "ROE", "RUBY", key=KEY)


def test_key_from_env_and_ephemeral_key_warning(monkeypatch):
    monkeypatch.setenv("PTDENIAL_PSEUDONYM_KEY", KEY)
    a = read_835(CASES / "denied.835")
    assert a.loc[0, S.PATIENT_ID] == pseudonymize_patient(
        "MEM100", "ROE", "RITA", key=KEY
    )
    monkeypatch.delenv("PTDENIAL_PSEUDONYM_KEY")
    with pytest.warns(DataQualityWarning, match="random key"):
        b = read_835(CASES / "denied.835")
    assert b.loc[0, S.PATIENT_ID] != a.loc[0, S.PATIENT_ID]


# --- malformed X12 --------------------------------------------------------------------
def _mutate(tmp_path, name, new_name, fn):
    p = tmp_path / new_name
    p.write_text(fn((CASES / name).read_text()))
    return p


def test_truncated_segment_names_file_and_segment(tmp_path):
    p = _mutate(
        tmp_path, "denied.835", "cut.835", lambda t: t[: t.index("CAS*CO*50") + 9]
    )
    with pytest.raises(
        X12FormatError,
        match=r"cut\.835: segment 14 \(CAS, line 14\): "
        r"truncated segment",
    ) as info:
        read_835(p, key=KEY)
    assert info.value.segment == 14 and info.value.segment_id == "CAS"
    p2 = _mutate(
        tmp_path,
        "denied.835",
        "short.835",
        lambda t: t.replace("CLP*DEN1*4*120*0*0*MB*ICN5", "CLP*DEN1"),
    )
    # a cut CLP no longer refuses the file: its lines carry the problem, and
    # ingest quarantines them (the other claims of the file are read)
    r = read_835(p2, key=KEY)
    (problem,) = r.loc[r[S.CLAIM_ID].eq("DEN1"), "x12_problems"].iloc[0]
    assert problem[0] == "claim_id" and "segment 10 (CLP)" in problem[2]
    assert "CLP01-CLP04" in problem[2]


def test_wrong_counts_name_file_and_segment(tmp_path):
    p = _mutate(
        tmp_path,
        "denied.835",
        "count.835",
        lambda t: t.replace("SE*16*0001", "SE*15*0001"),
    )
    with pytest.raises(X12FormatError, match=r"count\.835: segment 18 \(SE.*SE count"):
        read_835(p, key=KEY, strict=True)
    # by default the data is read and the count problem reported
    res = read_x12(p, key=KEY)
    assert len(res.remits) == 1 and not res.errors
    assert "segment 18 (SE" in str(res.problems[0])
    with pytest.warns(DataQualityWarning, match="SE count"):
        read_835(p, key=KEY)
    g = _mutate(
        tmp_path, "multi_payer.835", "ge.835", lambda t: t.replace("GE*2*51", "GE*3*51")
    )
    with pytest.raises(X12FormatError, match=r"ge\.835: segment \d+ \(GE.*GE count"):
        read_835(g, key=KEY, strict=True)
    i = _mutate(
        tmp_path, "denied.835", "iea.835", lambda t: t.replace("IEA*1*", "IEA*2*")
    )
    with pytest.raises(X12FormatError, match=r"iea\.835: segment \d+ \(IEA.*IEA count"):
        read_835(i, key=KEY, strict=True)


def test_missing_trailer_is_fatal(tmp_path):
    p = _mutate(
        tmp_path, "denied.835", "nose.835", lambda t: re.sub(r"SE\*16\*0001~\n", "", t)
    )
    with pytest.raises(
        X12FormatError,
        match=r"nose\.835: segment 18 \(GE.*trailer \(SE or GE\) is missing",
    ):
        read_835(p, key=KEY)


def test_bad_separators(tmp_path):
    p = _mutate(tmp_path, "denied.835", "alnum.835", lambda t: "ISAX" + t[4:])
    with pytest.raises(X12FormatError, match=r"alnum\.835: segment 1 \(ISA.*separator"):
        read_835(p, key=KEY)
    same = _mutate(
        tmp_path, "denied.835", "same.835", lambda t: t.replace("*T*:~", "*T**~", 1)
    )
    with pytest.raises(X12FormatError, match=r"same\.835: segment 1 \(ISA"):
        read_835(same, key=KEY)
    mixed = _mutate(
        tmp_path,
        "denied.835",
        "mixed.835",
        lambda t: t.replace("BPR*I*0*C*NON", "BPR|I|0|C|NON"),
    )
    with pytest.raises(
        X12FormatError,
        match=r"mixed\.835: segment 4 \(BPR and \d+ more characters.*"
        r"identifier .* is invalid",
    ):
        read_835(mixed, key=KEY)
    comp = _mutate(
        tmp_path,
        "separator_colon.835",
        "comp.835",
        lambda t: t.replace("HC:97112:GP:KX", "HC>97112>GP>KX"),
    )
    with pytest.raises(X12FormatError, match=r"comp\.835: segment \d+ \(SVC"):
        read_835(comp, key=KEY, strict=True)
    assert read_835(comp, key=KEY).loc[0, S.MODIFIERS] == ("GP", "KX")


def test_other_files_in_folder_still_ingest(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    for name in ("denied.835", "multi_payer.835"):
        (folder / name).write_text((CASES / name).read_text())
    (folder / "bad.835").write_text((CASES / "no_svc.835").read_text()[:300])
    (folder / "notes.txt").write_text("not x12")
    res = read_x12(folder, key=KEY)
    assert sorted(res.remits[S.CLAIM_ID]) == ["DEN1", "MP1", "MP2"]
    assert len(res.errors) == 1 and "bad.835" in str(res.errors[0])
    status = {Path(f["path"]).name: f["status"] for f in res.files}
    assert status == {
        "bad.835": "error",
        "denied.835": "read",
        "multi_payer.835": "read",
        "notes.txt": "skipped",
    }
    with pytest.raises(X12FormatError, match="bad.835"):
        read_835(folder, key=KEY)
    with pytest.warns(DataQualityWarning, match="bad.835"):
        assert len(read_835(folder, key=KEY, on_error="warn")) == 3


# --- join -----------------------------------------------------------------------------
def _claims_for_join():
    return pd.DataFrame(
        {
            S.CLAIM_ID: ["J1", "J1", "J1", "J2"],
            S.LINE_NUMBER: [1, 2, 3, 1],
            S.PAYER_ID: ["P"] * 4,
            S.CPT_CODE: ["97112", "97110", "97110", "97112"],
            S.DATE_OF_SERVICE: pd.to_datetime(["2025-01-02"] * 3 + ["2025-01-03"]),
            S.UNITS: [2, 1, 1, 1],
            S.CHARGE_AMOUNT: [80.0, 40.0, 40.0, 40.0],
            "line_control_number": ["L1", None, None, None],
        }
    )


def _remits_for_join():
    return pd.DataFrame(
        {
            S.CLAIM_ID: ["J1", "J1", "J1", "J1", "X9"],
            S.LINE_NUMBER: [1, 2, 3, 1, 1],
            S.PAYER_ID: ["P"] * 5,
            S.CPT_CODE: ["97112", "97110", "97110", "97112", "97112"],
            S.DATE_OF_SERVICE: pd.to_datetime(["2025-01-02"] * 4 + ["2025-01-05"]),
            S.UNITS: [2, 1, 1, 2, 1],
            S.CHARGE_AMOUNT: [80.0, 40.0, 40.0, 80.0, 40.0],
            "line_control_number": ["L1", None, None, "L1", None],
            "claim_status": ["1", "1", "1", "2", "1"],
            "claim_level": [False] * 5,
            "remit_claim_index": [1, 1, 1, 2, 3],
            S.ADJUDICATION_DATE: pd.to_datetime(
                ["2025-01-20"] * 3 + ["2025-02-20"] * 2
            ),
            S.ALLOWED_AMOUNT: [60.0, 30.0, 0.0, 10.0, 30.0],
            S.PAID_AMOUNT: [48.0, 24.0, 0.0, 10.0, 24.0],
            S.ADJUSTMENT_CODES: [("CO-45",), ("CO-45",), ("CO-50",), ("OA-23",), ()],
            S.REMARK_CODES: [()] * 5,
        }
    )


def test_join_by_control_number_then_procedure_dos_units():
    res = join_remits(_claims_for_join(), _remits_for_join())
    j = res.joined
    assert j["remit_match"].tolist()[:3] == [
        "line_control_number",
        "procedure_dos_units",
        "procedure_dos_units",
    ]
    assert pd.isna(j["remit_match"].iloc[3])
    # the two 97110 lines pair in order; the primary remit beats the secondary
    assert j[S.PAID_AMOUNT].tolist()[:3] == [48.0, 24.0, 0.0]
    assert j[S.DENIED].tolist()[:3] == [False, False, True]
    assert j[S.PENDING].tolist() == [False, False, False, True]
    assert res.unmatched_claims[S.CLAIM_ID].tolist() == ["J2"]
    reasons = res.unmatched_remits.set_index(S.CLAIM_ID)["unmatched_reason"]
    assert reasons["X9"].startswith("no claim line")
    assert reasons["J1"].startswith("another remittance")
    assert len(j) + 0 == len(_claims_for_join())


# --- exports --------------------------------------------------------------------------
def test_docs_export_by_claim_keys_with_mapping(tmp_path):
    csv = tmp_path / "docs.csv"
    csv.write_text(
        "Claim #,Line,Minutes,Deficits\nJ1,1,30,balance|posture\nJ1,2,10,\nZZ,1,5,\n"
    )
    toml = tmp_path / "map.toml"
    toml.write_text(
        '[columns]\n"Claim #" = "claim_id"\n"Line" = "line_number"\n'
        '"Minutes" = "minutes"\n"Deficits" = "deficits_documented"\n'
    )
    docs = read_export(csv, mapping=toml)
    res = join_docs(_claims_for_join(), docs)
    assert res.keys == S.LINE_KEYS
    assert res.joined[S.MINUTES].tolist() == ["30", "10", None, None]
    assert res.unmatched_docs[S.CLAIM_ID].tolist() == ["ZZ"]


def test_docs_export_by_visit_keys_with_pseudonymized_identifiers(tmp_path):
    claims = _837("edge_5010.837")
    csv = tmp_path / "emr.csv"
    csv.write_text(
        "Member,Last,First,Therapist,Visit date,Mins\n"
        "MEM100,Roe,Rita,1111111111,03/03/2025,38\n"
    )
    toml = tmp_path / "map.toml"
    toml.write_text(
        '[pseudonymize]\npatient_id = ["Member", "Last", "First"]\n'
        '[columns]\n"Therapist" = "rendering_provider_id"\n'
        '"Visit date" = "date_of_service"\n"Mins" = "visit_timed_minutes"\n'
        '[payer_class]\n"MCR01" = "medicare"\n'
    )
    m = read_mapping(toml)
    docs = read_export(csv, mapping=m, key=KEY)
    assert "Member" not in docs and "Last" not in docs
    res = join_docs(claims, docs)
    assert res.keys == S.VISIT_KEYS
    hit = res.joined[S.VISIT_TIMED_MINUTES].notna()
    assert (
        res.joined.loc[hit, S.CLAIM_ID].tolist() == ["E1", "E1"] * 1
        or res.joined.loc[hit, S.CLAIM_ID].tolist().count("E1") >= 1
    )
    assert apply_payer_classes(claims, m.payer_class)[S.PAYER_CLASS].notna().all()


# --- round trip -----------------------------------------------------------------------
X12_CARRIED = [
    S.CLAIM_ID,
    S.LINE_NUMBER,
    S.PAYER_ID,
    S.PAYER_CLASS,
    S.DATE_OF_SERVICE,
    S.CPT_CODE,
    S.MODIFIERS,
    S.UNITS,
    S.CHARGE_AMOUNT,
    S.DIAGNOSIS_CODES,
    S.RENDERING_PROVIDER_ID,
    S.PROVIDER_CREDENTIAL,
    S.CLINIC_ID,
    S.REFERRING_PROVIDER_ID,
    S.PLACE_OF_SERVICE,
    S.SUBMISSION_DATE,
    S.PRIOR_AUTH_NUMBER,
    S.EPISODE_START_DATE,
]
OUTCOMES = [
    S.ADJUDICATION_DATE,
    S.ALLOWED_AMOUNT,
    S.PAID_AMOUNT,
    S.ADJUSTMENT_CODES,
    S.REMARK_CODES,
    S.DENIED,
    S.PARTIALLY_DENIED,
    S.PENDING,
]


def _hand_world():
    raw = tiny_raw()
    raw["place_of_service"] = ["11", "11", "11", "22", "22"]
    raw["referring_provider_id"] = ["3333333333"] * 3 + [None, None]
    raw["prior_auth_number"] = [None] * 3 + ["AUTH9", "AUTH9"]
    raw["provider_credential"] = ["PT", "PT", "PTA", "PT", "PT"]
    raw["clinic_id"] = ["CL1"] * 5
    raw["episode_start_date"] = ["2025-02-01"] * 3 + [None, None]
    raw["adjudication_date"] = ["2025-03-20"] * 3 + ["2025-03-25", None]
    raw["allowed_amount"] = ["60", "0", "40", "0", None]
    raw["paid_amount"] = ["48", "0", "32", "0", None]
    raw["adjustment_codes"] = ["CO-45|PR-2", "CO-50", "CO-45|PR-2|CO-253", "CO-197", ""]
    raw["remark_codes"] = ["", "N115", "", "N54", ""]
    valid, quarantine = S.validate_claims(raw, run_date="2025-04-01")
    assert quarantine.empty
    return S.derive_outcomes(valid).reset_index(drop=True)


def _round_trip(world, tmp_path, component=":"):
    write_837p(world, tmp_path / "claims.837", component=component)
    write_835(world, tmp_path / "remits.835", component=component)
    res = read_x12(tmp_path, key=KEY, strict=True)
    assert not res.errors and not res.problems
    joined = join_remits(res.claims, res.remits)
    assert joined.unmatched_remits.empty
    return res, joined.joined


def _compare(world, back):
    key = [S.CLAIM_ID, S.LINE_NUMBER]
    w = world.sort_values(key).reset_index(drop=True)
    b = back.sort_values(key).reset_index(drop=True)
    cols = [c for c in X12_CARRIED + OUTCOMES if c in w]
    for col in cols:
        left, right = w[col], b[col]
        if col == S.PAYER_CLASS or col == S.PROVIDER_CREDENTIAL:
            left, right = left.astype(object), right.astype(object)
        if col in (S.UNITS, S.LINE_NUMBER):
            left, right = left.astype("Int64"), right.astype("Int64")
        if left.dtype == object or right.dtype == object:
            lv = [None if not isinstance(v, tuple) and pd.isna(v) else v for v in left]
            rv = [None if not isinstance(v, tuple) and pd.isna(v) else v for v in right]
            assert lv == rv, col
        else:
            pd.testing.assert_series_equal(
                left, right, check_names=False, check_dtype=False, obj=col
            )
    pids = w[S.PATIENT_ID].map(
        lambda p: pseudonymize_patient(p, *FIXTURE_PATIENT_NAME, key=KEY)
    )
    assert pids.tolist() == b[S.PATIENT_ID].tolist()


@pytest.mark.parametrize("component", [":", ">"])
def test_round_trip_hand_built_world(tmp_path, component):
    world = _hand_world()
    res, back = _round_trip(world, tmp_path, component)
    _compare(world, back)
    assert back[S.DENIED].fillna(False).tolist() == [False, True, False, True, False]
    assert back[S.PENDING].tolist() == [False] * 4 + [True]


def _sample_history():
    root = Path(__file__).resolve().parents[1]
    path = root / "data" / "sample" / "history.parquet"  # committed: never skipped
    from ptdenial.io import read_claims

    valid, _ = S.validate_claims(read_claims(path), source=str(path))
    return S.derive_outcomes(valid).reset_index(drop=True)


def test_round_trip_sample_subset(tmp_path):
    """300 claims of the shipped sample, every column X12 carries, exactly."""
    world = _sample_history()
    keep = world[S.CLAIM_ID].drop_duplicates().sort_values().iloc[:300]
    world = world[world[S.CLAIM_ID].isin(keep)].reset_index(drop=True)
    _, back = _round_trip(world, tmp_path, component=">")
    assert len(back) == len(world)
    _compare(world, back)


@pytest.mark.slow
def test_round_trip_sample_history(tmp_path):
    """A third of the sample's claims (about 15k lines), every payer among them.

    Every third claim, plus each payer's first claim; all months. A third of
    the sample keeps the suite fast (the whole one took 22 s of it).
    """
    full = _sample_history()
    claims = full[S.CLAIM_ID].drop_duplicates()
    firsts = full.drop_duplicates(S.PAYER_ID)[S.CLAIM_ID]
    keep = set(claims.iloc[::3]) | set(firsts)
    world = full[full[S.CLAIM_ID].isin(keep)].reset_index(drop=True)
    for column in (S.PAYER_ID, S.PAYER_CLASS):
        assert set(world[column].dropna()) == set(full[column].dropna())
    _, back = _round_trip(world, tmp_path)
    assert len(back) == len(world)
    _compare(world, back)


# --- CLI ------------------------------------------------------------------------------
def test_cli_ingest_both_835_only_837_only(tmp_path, monkeypatch):
    monkeypatch.setenv("PTDENIAL_PSEUDONYM_KEY", KEY)
    world = _hand_world()
    write_837p(world, tmp_path / "c.837")
    write_835(world, tmp_path / "r.835")
    out = tmp_path / "out" / "history.parquet"
    code = main(
        [
            "ingest",
            "--claims-837",
            str(tmp_path / "c.837"),
            "--remits-835",
            str(tmp_path / "r.835"),
            "--out",
            str(out),
            "--as-of",
            "2025-04-01",
        ]
    )
    assert code == 3  # one claim line is still pending (unmatched)
    manifest = json.loads((out.parent / "history.manifest.json").read_text())
    assert manifest["counts"]["unmatched_claims"] == 1
    assert manifest["unmatched_claims"] == [
        {"claim_id": "C2", "line_number": 2, "line_control_number": "2"}
    ]
    assert len(manifest["files"]) == 2 and all(
        len(f["sha256"]) == 64 for f in manifest["files"]
    )
    assert manifest["versions"]["pyx12"] and manifest["pseudonym_key_source"] == "env"
    assert KEY not in json.dumps(manifest)
    table = pd.read_parquet(out)
    assert len(table) == 5 and table[S.DENIED].sum() == 2

    only = tmp_path / "out" / "remits.csv"
    assert (
        main(
            [
                "ingest",
                "--remits-835",
                str(tmp_path / "r.835"),
                "--out",
                str(only),
                "--as-of",
                "2025-04-01",
            ]
        )
        == 0
    )
    assert len(pd.read_csv(only)) == 4
    claims_only = tmp_path / "out" / "claims.csv"
    assert (
        main(
            [
                "ingest",
                "--claims-837",
                str(tmp_path),
                "--out",
                str(claims_only),
                "--as-of",
                "2025-04-01",
            ]
        )
        == 0
    )
    assert len(pd.read_csv(claims_only)) == 5


def test_cli_ingest_exit_codes_for_bad_files(tmp_path, monkeypatch):
    monkeypatch.setenv("PTDENIAL_PSEUDONYM_KEY", KEY)
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "ok.835").write_text((CASES / "denied.835").read_text())
    (folder / "bad.835").write_text("ISA*00*broken")
    out = tmp_path / "t.csv"
    assert main(["ingest", "--remits-835", str(folder), "--out", str(out)]) == 3
    manifest = json.loads((tmp_path / "t.manifest.json").read_text())
    assert manifest["counts"]["files_unreadable"] == 1
    assert "bad.835" in manifest["errors"][0]
    assert (
        main(["ingest", "--remits-835", str(folder / "bad.835"), "--out", str(out)])
        == 2
    )
    assert main(["ingest", "--out", str(out)]) == 2


def test_ingest_with_docs_export(tmp_path):
    world = _hand_world()
    write_837p(world, tmp_path / "c.837")
    write_835(world, tmp_path / "r.835")
    docs = tmp_path / "docs.csv"
    docs.write_text("claim_id,line_number,minutes\nC1,1,30\nC1,2,10\nC9,1,8\n")
    res = ingest(
        claims_837=[tmp_path / "c.837"],
        remits_835=[tmp_path / "r.835"],
        docs=docs,
        key=KEY,
        run_date="2025-04-01",
    )
    assert res.table[S.MINUTES].tolist()[:2] == [30, 10]
    assert res.table[S.MINUTES].dtype == "Int64"
    assert res.manifest["counts"]["docs_rows_unmatched"] == 1


# --- conformance on public files ------------------------------------------------------
def _public_files():
    if not PUBLIC.is_dir():
        return []
    return sorted(
        p
        for p in PUBLIC.rglob("*")
        if p.is_file() and p.name not in ("README.md", "LICENSE", "COMMIT")
    )


def _count(path):
    """Count claims and service lines straight from the text, independently."""
    text = path.read_text(encoding="latin-1").lstrip()
    ele = text[2] if text.startswith("ST") else text[3]
    ids = [
        seg.strip().lstrip("~").strip().split(ele)[0]
        for seg in re.split(r"[~\n]", text)
        if seg.strip()
    ]
    return {
        "CLP": ids.count("CLP"),
        "SVC": ids.count("SVC"),
        "CLM": ids.count("CLM"),
        "LX": ids.count("LX"),
        "ST835": text.count(f"ST{ele}835"),
        "ST837": text.count(f"ST{ele}837"),
    }


@pytest.mark.parametrize("path", _public_files(), ids=lambda p: p.name)
def test_public_file_ingests_with_exact_counts(path):
    counts = _count(path)
    res = read_x12(path, key=KEY)
    assert not res.errors, res.errors
    if counts["ST835"]:
        r = res.remits
        assert r["remit_claim_index"].nunique() == counts["CLP"]
        svc_rows = int((~r["claim_level"]).sum())
        assert svc_rows == counts["SVC"]
        no_svc = r.groupby("remit_claim_index")["claim_level"].all().sum()
        assert len(r) == counts["SVC"] + no_svc
    if counts["ST837"]:
        c = res.claims
        assert c[S.CLAIM_ID].nunique() == counts["CLM"]
        assert len(c) == counts["LX"]  # in an 837P, every LX opens a service line


def test_public_folder_present_or_skipped():
    if not PUBLIC.is_dir():
        pytest.skip(f"{PUBLIC} is absent")
    assert len(_public_files()) >= 30


def test_public_denials_derive(tmp_path):
    path = PUBLIC / "tigershark" / "5010-835-example-2.txt"
    if not path.exists():
        pytest.skip("public file absent")
    r = read_835(path, key=KEY, on_error="warn")
    labelled = S.derive_outcomes(r)
    denied = labelled.loc[labelled[S.ADJUSTMENT_CODES].map(lambda t: "CO-16" in t)]
    assert len(denied) == 5 and denied[S.DENIED].all()


def test_no_warnings_from_clean_fixture():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert len(_835("denied.835")) == 1
    assert np.isfinite(_835("denied.835")[S.CHARGE_AMOUNT]).all()

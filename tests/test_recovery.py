"""KX/TMR planner and denial work queue on constructed lines with known answers."""

import os
from pathlib import Path

import pandas as pd
import pytest

from ptdenial.cli import EXIT_OK, main
from ptdenial.exceptions import ClaimsSchemaError, ConfigError, ReferenceDataError
from ptdenial.io import csv_safe
from ptdenial.recovery import (
    ACTIONS,
    QUEUE_COLUMNS,
    denial_queue,
    plan_kx,
    recovery_html,
    recovery_likelihoods,
    write_recovery,
)
from ptdenial.reference import load_reference
from ptdenial.rules import HIT_COLUMNS

PUBLIC = Path(
    os.environ.get("PTDENIAL_X12_PUBLIC")
    or Path(__file__).resolve().parents[2] / "shared" / "data" / "x12-public"
)
AS_OF = pd.Timestamp("2026-03-02")


# --- the planner --------------------------------------------------------------------
def _visit(
    patient,
    day,
    *,
    ytd=None,
    allowed=100.0,
    payer_class="medicare",
    cert="2026-05-31",
    visit=10,
    mods=("GP",),
    cred="PT",
    code="97112",
):
    return {
        "claim_id": f"{patient}-{day}-{code}", "line_number": 1,
        "patient_id": patient, "payer_id": "MCR", "payer_class": payer_class,
        "date_of_service": pd.Timestamp(day), "cpt_code": code, "units": 2,
        "charge_amount": 150.0, "modifiers": mods, "provider_credential": cred,
        "episode_start_date": pd.Timestamp("2026-01-05"), "visit_number": visit,
        "cert_through_date": pd.Timestamp(cert), "ytd_therapy_allowed": ytd,
        "adjudication_date": pd.Timestamp(day) + pd.Timedelta(days=14),
        "allowed_amount": allowed, "paid_amount": allowed * 0.8,
        "adjustment_codes": ("CO-45", "PR-2"), "remark_codes": (),
    }  # fmt: skip


def _plan_lines():
    rows = [
        # A: 2300 before the visit + 100 = 2400; the next visit (2500) crosses
        # the 2026 KX amount of 2480 in the middle of the visit
        _visit("A", "2026-03-02", ytd=2300.0),
        # B: 2380 after the visit: the next reaches exactly 2480 (>= counts)
        _visit("B", "2026-03-02", ytd=2280.0),
        # C: one cent less: the next visit ends at 2479.99, the one after crosses
        _visit("C", "2026-03-02", ytd=2279.99),
        # D: already over the threshold
        _visit("D", "2026-03-02", ytd=2600.0),
        # G: certification ends after two more weekly visits, far from 2480
        _visit("G", "2026-03-02", ytd=500.0, cert="2026-03-16"),
        # not planned: a commercial patient, a Medicare plan already expired
        _visit("E", "2026-03-02", ytd=2400.0, payer_class="commercial"),
        _visit("F", "2026-03-02", ytd=2400.0, cert="2026-03-01"),
        # A's OT lines: their own bucket, summed from the lines (no ytd column)
        _visit("A", "2026-02-23", mods=("GO",), cred="OT", allowed=50.0, code="97530"),
        _visit("A", "2026-03-02", mods=("GO",), cred="OT", allowed=50.0, code="97530"),
        # billed to a commercial plan earlier in the year: not a Medicare amount
        _visit(
            "A",
            "2026-02-02",
            mods=("GO",),
            cred="OT",
            allowed=999.0,
            code="97530",
            payer_class="commercial",
        ),
        # after as_of: never seen by the plan
        _visit("A", "2026-03-05", ytd=2400.0, allowed=5000.0, visit=11),
    ]
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def plan():
    out = plan_kx(_plan_lines(), as_of=AS_OF, visits_per_week=1)
    return out.set_index(["patient_id", "bucket"])


def test_plan_crossing_mid_visit_needs_kx_on_that_visit(plan):
    row = plan.loc[("A", "PT_SLP")]
    assert row["ytd_allowed"] == pytest.approx(2400.0)  # the 5000 after as_of ignored
    assert row["kx_threshold"] == 2480  # verified as the reference table says
    ref = load_reference().kx_thresholds.set_index("year")
    assert bool(row["kx_verified"]) == bool(ref.loc[2026, "verified"])
    assert row["kx_visit_number"] == 11
    assert row["kx_date"] == pd.Timestamp("2026-03-09")
    # 2400 + 6 x 100 = 3000: review before visit 16, five weeks later
    assert row["tmr_visit_number"] == 16
    assert row["tmr_date"] == pd.Timestamp("2026-04-13")
    assert "add KX from visit 11 (2026-03-09)" in row["action"]
    assert "review documentation before visit 16 (2026-04-13)" in row["action"]


def test_plan_threshold_boundary_is_inclusive(plan):
    assert plan.loc[("B", "PT_SLP"), "kx_visit_number"] == 11
    assert plan.loc[("C", "PT_SLP"), "kx_visit_number"] == 12
    assert plan.loc[("C", "PT_SLP"), "kx_date"] == pd.Timestamp("2026-03-16")


def test_plan_already_over_and_certification_end(plan):
    assert "over the KX threshold" in plan.loc[("D", "PT_SLP"), "action"]
    assert plan.loc[("D", "PT_SLP"), "kx_visit_number"] == 11
    g = plan.loc[("G", "PT_SLP")]
    assert g["remaining_planned_visits"] == 2
    assert pd.isna(g["kx_visit_number"]) and pd.isna(g["kx_date"])
    assert "not reached" in g["action"]


def test_plan_buckets_are_separate_and_non_medicare_excluded(plan):
    ot = plan.loc[("A", "OT")]
    assert ot["ytd_allowed"] == pytest.approx(100.0)
    assert ot["ytd_source"] == "sum of lines this year"
    assert pd.isna(ot["kx_visit_number"])
    patients = set(plan.index.get_level_values(0))
    assert patients == {"A", "B", "C", "D", "G"}


def test_plan_observed_frequency_and_reference_year():
    lines = pd.DataFrame(
        [_visit("A", d, ytd=1000.0 + 100 * i, visit=i + 1)
         for i, d in enumerate(["2024-03-04", "2024-03-11", "2024-03-18"])]
    )  # fmt: skip
    lines["cert_through_date"] = pd.Timestamp("2024-06-30")
    plan = plan_kx(lines, as_of="2024-03-18")
    row = plan.iloc[0]
    assert row["frequency_source"] == "observed"
    assert row["visits_per_week"] == pytest.approx(1.0)
    assert row["kx_threshold"] == 2330 and bool(row["kx_verified"])
    # 1300 after the last visit; 100 a visit: 2330 needs 11 more (1300 + 1100 >= 2330)
    assert row["kx_visit_number"] == 3 + 11


def test_plan_stops_at_the_year_end():
    lines = pd.DataFrame([_visit("Y", "2026-12-14", ytd=500.0, cert="2027-02-28")])
    row = plan_kx(lines, as_of="2026-12-14", visits_per_week=1).iloc[0]
    assert row["remaining_planned_visits"] == 2  # 21 and 28 December
    assert "before 31 December" in row["action"]


def test_plan_errors_name_the_fix():
    with pytest.raises(ReferenceDataError, match="kx_thresholds has no row for 2031"):
        plan_kx(_plan_lines(), as_of="2031-01-05")
    with pytest.raises(ClaimsSchemaError, match="cert_through_date"):
        plan_kx(_plan_lines().drop(columns="cert_through_date"), as_of=AS_OF)
    with pytest.raises(ConfigError, match="visits_per_week"):
        plan_kx(_plan_lines(), as_of=AS_OF, visits_per_week=0)


# --- the denial queue ---------------------------------------------------------------
def _denial(
    cid,
    codes,
    *,
    remarks=(),
    payer_class="medicare",
    units=1,
    paid=0.0,
    allowed=0.0,
    sent=None,
    dos="2026-01-05",
    adjudicated="2026-02-01",
):
    return {
        "claim_id": cid, "line_number": 1, "patient_id": "P1", "payer_id": "PAY",
        "payer_class": payer_class, "date_of_service": pd.Timestamp(dos),
        "cpt_code": "97112", "units": units, "charge_amount": 60.0 * units,
        "submission_date": pd.Timestamp(sent) if sent else pd.NaT,
        "adjudication_date": pd.Timestamp(adjudicated), "allowed_amount": allowed,
        "paid_amount": paid, "adjustment_codes": codes, "remark_codes": remarks,
    }  # fmt: skip


def _paid(i):  # paid lines price the denied ones: 30 allowed a unit
    return _denial(f"PAID{i}", ("CO-45",), paid=24.0, allowed=30.0)


def _queue_lines():
    rows = [_paid(i) for i in range(6)] + [
        _denial("MEDNEC", ("CO-50",), remarks=("N115",)),
        _denial("MEDNEC-COM", ("CO-50",), payer_class="commercial"),
        _denial("DX", ("CO-16",), remarks=("M76",)),
        _denial(
            "LATE",
            ("CO-29",),
            sent="2025-12-20",
            dos="2024-11-01",
            adjudicated="2026-01-10",
        ),
        _denial("LATE-OK", ("CO-29",), sent="2026-01-20"),
        _denial("KX", ("CO-119",)),
        _denial("MUE", ("CO-151",), units=6),
        _denial("DUP", ("OA-18",)),
        _denial("CODE", ("CO-181",)),
        _denial("UNKNOWN", ("CO-999",)),
        _denial("PATIENT", ("PR-204",)),
        _denial("OLD", ("CO-50",), adjudicated="2025-01-02", dos="2024-12-01"),
    ]
    return pd.DataFrame(rows)


def _hits():
    return pd.DataFrame(
        [("KX", 1, "KX_MISSING", "", "add KX: year-to-date 2,500 >= 2,480", "hard",
          "CO-119"),
         ("MUE", 1, "MUE", "", "bill at most 4 units of 97112", "hard", "CO-151")],
        columns=list(HIT_COLUMNS),
    )  # fmt: skip


@pytest.fixture(scope="module")
def queue():
    q = denial_queue(_queue_lines(), as_of="2026-02-10", hits=_hits())
    return q.set_index("claim_id")


def test_queue_actions_from_known_carcs(queue):
    assert "PAID0" not in queue.index  # contractual CO-45 on a paid line
    expected = {
        "MEDNEC": "appeal", "MEDNEC-COM": "appeal", "DX": "corrected_claim",
        "LATE": "write_off", "LATE-OK": "appeal", "KX": "corrected_claim",
        "MUE": "corrected_claim", "DUP": "no_action",
        "PATIENT": "patient_responsibility",
        "CODE": "corrected_claim",
        "UNKNOWN": "appeal", "OLD": "appeal",
    }  # fmt: skip
    assert queue["action"].to_dict() == expected
    assert set(queue["action"]) <= set(ACTIONS)
    assert set(queue.reset_index().columns) == set(QUEUE_COLUMNS)
    assert "LCD" in queue.loc["MEDNEC", "documents"]
    assert "diagnosis" in queue.loc["DX", "todo"]
    assert "add KX" in queue.loc["KX", "todo"]
    assert "timely filing" in queue.loc["LATE-OK", "documents"]
    assert "not in the decision table" in queue.loc["UNKNOWN", "todo"]


def test_queue_deadlines(queue):
    med = queue.loc["MEDNEC"]
    assert med["deadline"] == pd.Timestamp("2026-06-01")  # 120 days after 2026-02-01
    assert bool(med["deadline_verified"]) and med["days_left"] == 111
    com = queue.loc["MEDNEC-COM"]
    assert com["deadline"] == pd.Timestamp("2026-07-31")
    assert not bool(com["deadline_verified"])
    assert queue.loc["DX", "deadline"] == pd.Timestamp("2027-01-05")  # 365 from DOS
    assert pd.isna(queue.loc["PATIENT", "deadline"])
    old = queue.loc["OLD"]
    assert old["days_left"] < 0 and old["expected_recovery"] == 0
    assert old["todo"].startswith("deadline passed")


def test_queue_dollars_and_rank(queue):
    assert queue.loc["DX", "recoverable"] == pytest.approx(30.0)
    # a units fix recovers 4 of the 6 billed units only
    assert queue.loc["MUE", "recoverable"] == pytest.approx(120.0)
    assert (
        queue.loc["LATE", "recoverable"] == 0 and queue.loc["DUP", "recoverable"] == 0
    )
    assert queue.loc["MEDNEC", "likelihood"] == pytest.approx(0.51)
    assert "OIG" in queue.loc["MEDNEC", "likelihood_source"]
    assert queue.loc["MEDNEC-COM", "likelihood"] == pytest.approx(0.40)
    assert "assumption" in queue.loc["MEDNEC-COM", "likelihood_source"]
    ranked = queue.sort_values("rank")
    assert ranked.index[0] == "MUE"
    assert ranked["expected_recovery"].is_monotonic_decreasing


def test_queue_likelihood_overrides(tmp_path):
    path = tmp_path / "like.csv"
    path.write_text("action,payer_class,likelihood,source\n"
                    "appeal,commercial,0.9,our 2025 appeal outcomes\n")  # fmt: skip
    q = denial_queue(_queue_lines(), as_of="2026-02-10", likelihoods=path)
    row = q.set_index("claim_id").loc["MEDNEC-COM"]
    assert row["likelihood"] == 0.9 and row["likelihood_source"].startswith("our 2025")
    assert len(recovery_likelihoods(path)) == len(recovery_likelihoods()) + 1
    path.write_text("action,payer_class,likelihood,source\nappeal,,1.5,x\n")
    with pytest.raises(ConfigError, match="likelihood"):
        recovery_likelihoods(path)


def test_queue_needs_outcomes():
    lines = _queue_lines().drop(columns=["adjudication_date", "paid_amount"])
    with pytest.raises(ClaimsSchemaError, match="remittance"):
        denial_queue(lines)


def test_csv_is_formula_safe_and_html_escaped(tmp_path):
    lines = _queue_lines()
    lines.loc[lines["claim_id"] == "DX", "claim_id"] = '=HYPERLINK("http://x")'
    q = denial_queue(lines, as_of="2026-02-10")
    csv_path, html_path = write_recovery(q, tmp_path / "q.csv", title="<queue>")
    text = csv_path.read_text()
    assert "'=HYPERLINK" in text and ",=HYPERLINK" not in text
    back = pd.read_csv(csv_path)
    assert (back["expected_payment"] >= 0).all()  # numbers stay numbers
    page = html_path.read_text()
    assert "&lt;queue&gt;" in page and "<script" not in page
    assert csv_safe(pd.Series(["\tx", "+x", "@SUM(A1)", "a-b"])).tolist() == [
        "'\tx",
        "'+x",
        "'@SUM(A1)",
        "a-b",
    ]
    assert "&amp;" in recovery_html(pd.DataFrame({"a": ["a & b"]}), title="t")
    page = recovery_html(
        pd.DataFrame({"p_after_fix": [0.25], "dollars_saved": [-3.5]}), title="t"
    )
    assert "<td>25%</td>" in page and "<td>-$3.50</td>" in page


# --- public 835 files and the command line -----------------------------------------
needs_public = pytest.mark.skipif(not PUBLIC.exists(), reason="public X12 files absent")


@needs_public
@pytest.mark.filterwarnings("ignore::ptdenial.exceptions.DataQualityWarning")
def test_queue_on_public_835s():
    from ptdenial.x12 import read_835

    # TigerShark: a claim denied line by line with CO-16 (missing information)
    lines = read_835(PUBLIC / "tigershark" / "5010-835-example-2.txt", key="k")
    q = denial_queue(lines, as_of="2011-10-15")
    assert len(q) and (q["denial_reason"] == "CO-16").all()
    assert (q["action"] == "corrected_claim").all()
    assert (q["days_left"] > 0).all() and (q["expected_recovery"] > 0).all()
    # a claim denied for timely filing under the patient's group: written off
    late = denial_queue(
        read_835(PUBLIC / "tigershark" / "5010-835-example-3.txt", key="k"),
        as_of="2012-01-01",
    )
    assert late["denial_reason"].tolist() == ["PR-29"]
    assert late["action"].tolist() == ["write_off"]


@needs_public
@pytest.mark.filterwarnings("ignore::ptdenial.exceptions.DataQualityWarning")
def test_denials_command_on_an_835(tmp_path, capsys):
    out = tmp_path / "queue.csv"
    src = PUBLIC / "tigershark" / "5010-835-example-2.txt"
    assert main(["denials", str(src), "--as-of", "2011-10-15", "--out", str(out)]) == 0
    assert len(pd.read_csv(out)) > 0 and out.with_suffix(".html").exists()
    assert "rule hits not evaluated" in capsys.readouterr().out


def test_plan_kx_and_denials_commands_on_tables(tmp_path, capsys):
    from ptdenial.io import write_table

    claims = _plan_lines()
    # what a run on 2026-03-02 can know: no line or remittance dated later
    claims = claims[claims["date_of_service"] <= AS_OF].copy()
    claims["adjudication_date"] = claims["date_of_service"]
    claims["diagnosis_codes"] = [("R26.81",)] * len(claims)
    claims["rendering_provider_id"] = "R1"
    src = write_table(claims, tmp_path / "claims.parquet")
    plan = tmp_path / "plan.csv"
    code = main(["plan-kx", str(src), "--as-of", "2026-03-02", "--out", str(plan),
                 "--visits-per-week", "1"])  # fmt: skip
    assert code == EXIT_OK, capsys.readouterr()
    got = pd.read_csv(plan).set_index(["patient_id", "bucket"])
    assert got.loc[("A", "PT_SLP"), "kx_visit_number"] == 11
    assert plan.with_suffix(".html").read_text().startswith("<!DOCTYPE html>")
    queue = tmp_path / "queue.csv"
    hist = _queue_lines()
    hist["diagnosis_codes"] = [("R26.81",)] * len(hist)
    hist["rendering_provider_id"] = "R1"
    src = write_table(hist, tmp_path / "hist.parquet")
    code = main(["denials", str(src), "--as-of", "2026-02-10", "--out", str(queue)])
    assert code == EXIT_OK, capsys.readouterr()
    assert set(pd.read_csv(queue)["claim_id"]) >= {"MEDNEC", "DX", "MUE"}


def test_denials_command_refuses_empty_input(tmp_path, capsys):
    out = tmp_path / "q.csv"
    assert main(["denials", str(tmp_path), "--out", str(out)]) == 2
    assert "no 835 service lines found" in capsys.readouterr().err
    table = tmp_path / "new.parquet"
    from ptdenial.io import write_table

    lines = _plan_lines().drop(
        columns=["adjudication_date", "paid_amount", "adjustment_codes"]
    )
    lines["diagnosis_codes"] = [("R26.81",)] * len(lines)
    lines["rendering_provider_id"] = "R1"
    write_table(lines, table)  # fmt: skip
    assert main(["denials", str(table), "--out", str(out)]) == 2
    assert "needs remittance outcomes" in capsys.readouterr().err
    assert not out.exists()


def test_html_page_can_show_fewer_rows_than_the_file(tmp_path):
    q = denial_queue(_queue_lines(), as_of="2026-02-10")
    shown = q["expected_recovery"] > 0
    csv_path, html_path = write_recovery(q, tmp_path / "q.csv", title="q",
                                         html_rows=shown)  # fmt: skip
    assert len(pd.read_csv(csv_path)) == len(q)
    page = html_path.read_text()
    assert f"shows {int(shown.sum())} of {len(q)} rows" in page
    assert page.count("<tr>") == int(shown.sum()) + 1  # + the header row

"""The rules reference page, the payer policy matrix and the ICD-10-CM tables."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ptdenial.cli import main
from ptdenial.exceptions import ReferenceDataError
from ptdenial.reference import (
    POLICY_FIELDS,
    icd10_changes,
    icd10_code_set,
    load_reference,
    read_reference_table,
)
from ptdenial.reference._payers import payer_matrix
from ptdenial.rules import rule_catalogue, rules_markdown

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "docs" / "rules.md"


# --- docs/rules.md ------------------------------------------------------------
def test_committed_rules_page_is_current():
    """docs/rules.md is what `ptdenial reference rules-page` writes now."""
    assert PAGE.read_text() == rules_markdown(), (
        "docs/rules.md is out of date: run `ptdenial reference rules-page`"
    )


def test_rules_page_lists_every_rule_with_kind_carc_source_and_verified():
    page = rules_markdown()
    rows = {
        line.split(" | ")[1].strip("`"): line
        for line in page.splitlines()
        if line.startswith("| R") and line.split(" | ")[1].startswith("`")
    }
    cat = rule_catalogue()
    assert set(rows) == set(cat["rule_id"])
    for r in cat.itertuples():
        row = rows[r.rule_id]
        assert f"| {r.kind} |" in row and r.source in row
        assert row.rstrip(" |").endswith("yes" if r.verified else "no")
    assert "## Payer policy matrix" in page and "## Sources" in page
    # the README points to the page instead of keeping its own rule table
    readme = (ROOT / "README.md").read_text()
    assert "docs/rules.md" in readme
    assert "| R13 | DX_MISSING |" not in readme


def _unverified_lines(page: str) -> dict:
    section = page.split("## What is not verified", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("* `")]
    return {line.split("`")[1]: line for line in rows}


def test_rules_page_names_every_value_not_verified(tmp_path):
    shipped = _unverified_lines(rules_markdown())
    assert "`97112`" in shipped["mue.csv"]
    assert "`commercial/default`" in shipped["payer_policies.csv"]
    assert "`medicare/default`" not in shipped["payer_policies.csv"]
    # the practice's own verified MUE row leaves nothing unverified there
    own_mue = pd.DataFrame({"cpt_code": ["97112"], "mue_units": [4], "mai": ["3"],
                            "source": ["CMS practitioner MUE 2026Q3"],
                            "verified": [True]})  # fmt: skip
    own_mue.to_csv(tmp_path / "mue.csv", index=False)
    own = _unverified_lines(rules_markdown(load_reference(tmp_path)))
    assert own["mue.csv"].endswith("0 of 1 rows")


def test_every_source_tag_of_the_catalogue_is_listed():
    sources = set(read_sources()["tag"])
    for tags in rule_catalogue()["source"]:
        for tag in tags.split():
            assert tag in sources, tag


def read_sources():
    from ptdenial.rules._docs import _sources

    return _sources()


# --- the payer policy matrix --------------------------------------------------
def test_payer_rows_inherit_the_fields_they_leave_empty():
    ref = load_reference()
    uhc = ref.payer_policy("commercial", "UHC01")
    assert uhc["cq_applies"] and uhc["filing_limit_days"] == 90
    assert uhc["visit_limit"] == 26 and "visit_limit" in uhc["defaults"]
    assert "visit_limit" in uhc["unverified"] and "cq_applies" not in uhc["unverified"]
    # UHC Medicare Advantage: prior authorization from 2024-09-01 (S49)
    before = ref.payer_policy("medicare_advantage", "UHC-MA", "2024-08-30")
    after = ref.payer_policy("medicare_advantage", "UHC-MA", "2024-09-03")
    assert "auth_required" in before["defaults"]
    assert "auth_required" not in after["defaults"]
    assert "auth_required" not in after["unverified"]
    medicare = ref.payer_policy("medicare", "MCR")
    assert medicare["verified"] and medicare["appeal_deadline_days"] == 120
    assert medicare["pta_payment_factor"] == pytest.approx(0.85)
    assert ref.payer_policy("tricare", "TRI")["cq_applies"]


def test_none_means_no_limit_and_bad_values_are_named(tmp_path):
    own = pd.DataFrame({"payer_class": ["commercial"], "payer_id": ["AETNA1"],
                        "visit_limit": ["none"], "source": ["contract"],
                        "verified": ["true"]})  # fmt: skip
    own.to_csv(tmp_path / "payer_policies.csv", index=False)
    pol = load_reference(tmp_path).payer_policy("commercial", "AETNA1")
    assert pol["visit_limit"] == np.inf
    own.assign(visit_limit=["twenty"]).to_csv(tmp_path / "payer_policies.csv",
                                               index=False)  # fmt: skip
    with pytest.raises(ReferenceDataError, match="visit_limit"):
        load_reference(tmp_path)
    own.assign(time_rule=["AMA"]).to_csv(tmp_path / "payer_policies.csv", index=False)
    with pytest.raises(ReferenceDataError, match="time_rule"):
        load_reference(tmp_path).payer_policy("commercial", "AETNA1")


def test_payer_matrix_and_template_for_the_claims_payers():
    policies = read_reference_table("payer_policies")
    payers = pd.DataFrame({"payer_class": ["commercial", "medicare", "commercial"],
                           "payer_id": ["UHC01", "MCR", "BCBS"]})  # fmt: skip
    m = payer_matrix(policies, payers).set_index("payer_id")
    assert set(POLICY_FIELDS) <= set(m.columns)
    assert m.loc["UHC01", "payer_name"] == "UnitedHealthcare (commercial)"
    assert m.loc["BCBS", "own_fields"] == ""
    assert "visit_limit" in m.loc["BCBS", "unverified_fields"]
    template = payer_matrix(policies, payers, template=True)
    assert list(template["payer_id"]) == ["UHC01", "MCR", "BCBS"]
    assert (template[list(POLICY_FIELDS)] == "").all().all()


def test_cli_payers_template_round_trips(tmp_path, capsys):
    claims = pd.DataFrame([{"claim_id": "C1", "line_number": 1, "patient_id": "P1",
                            "payer_id": "BCBS", "payer_class": "commercial",
                            "date_of_service": "2025-06-02", "cpt_code": "97112",
                            "units": 1, "charge_amount": 40.0,
                            "diagnosis_codes": "R26.81",
                            "rendering_provider_id": "1234567893",
                            "modifiers": "GP", "visits_ytd": 30}])  # fmt: skip
    claims.to_csv(tmp_path / "claims.csv", index=False)
    folder = tmp_path / "mine"
    folder.mkdir()
    path = folder / "payer_policies.csv"
    assert main(["reference", "payers", "--claims", str(tmp_path / "claims.csv"),
                 "--template", "--out", str(path)]) == 0  # fmt: skip
    filled = pd.read_csv(path, dtype=str, keep_default_na=False)
    filled.loc[0, ["visit_limit", "verified"]] = ["40", "true"]
    filled.to_csv(path, index=False)
    assert main(["reference", "payers", "--claims", str(tmp_path / "claims.csv"),
                 "--reference", str(folder), "--out",
                 str(tmp_path / "m.csv")]) == 0  # fmt: skip
    matrix = pd.read_csv(tmp_path / "m.csv")
    assert matrix.loc[0, "visit_limit"] == 40
    assert matrix.loc[0, "own_fields"] == "visit_limit"
    assert "BCBS" in capsys.readouterr().out
    assert main(["reference", "payers", "--template"]) == 2


# --- ICD-10-CM ----------------------------------------------------------------
def test_billable_codes_agree_with_the_package():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # its own data loading
        import simple_icd_10_cm as cm

    cs = icd10_code_set()
    rng = np.random.default_rng(0)
    sample = rng.choice(sorted(cs.codes), 400, replace=False)
    for code in [*sample, "R268", "R2681", "G35", "G35A", "S93401", "S93401A"]:
        assert (code in cs.billable) == cm.is_leaf(code), code


def test_shipped_changes_are_the_fy2025_to_fy2026_differences():
    changes = read_reference_table("icd10cm_changes")
    g35 = changes.set_index("code").loc["G35"]
    assert (g35["billable_before"], g35["billable_from"]) == (True, False)
    assert g35["effective_from"] == pd.Timestamp("2025-10-01")
    cs = icd10_code_set()
    after = changes.loc[changes["billable_from"], "code"].str.replace(".", "")
    assert after.isin(cs.billable).all()


def test_cli_icd10_changes_from_two_code_lists(tmp_path, capsys):
    old = tmp_path / "old.txt"
    new = tmp_path / "new.txt"
    old.write_text("G35\nR268\nR2681\nR2689\n")
    new.write_text("G35\nG35A\nR268\nR2681\nR2689\n")
    out = tmp_path / "icd10cm_changes.csv"
    assert main(["reference", "icd10-changes", str(old), str(new),
                 "--effective-from", "2025-10-01", "--out", str(out)]) == 0  # fmt: skip
    table = read_reference_table("icd10cm_changes", out)
    assert table["code"].tolist() == ["G35", "G35.A"]
    assert "2 codes changed" in capsys.readouterr().out
    assert icd10_changes(["R268"], ["R268"], "2025-10-01", old_release="a",
                         new_release="b").empty  # fmt: skip

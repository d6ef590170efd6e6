"""CMS NCCI importers on small fixtures written in CMS's layouts.

The fixtures copy the layout of the quarterly practitioner files (AMA
copyright line, ``Column1/Column2 Edits`` banner, the header split over
several lines, tab-delimited edits with ``*`` for "no deletion date", a
quoted multi-line preamble and ``HCPCS/<newline>CPT Code`` header in the MUE
CSV); the codes and rationales are made up for the tests.
"""

from __future__ import annotations

import json
import warnings

import pandas as pd
import pytest

from ptdenial import schema as S
from ptdenial.cli import main
from ptdenial.exceptions import DataQualityWarning, ReferenceDataError
from ptdenial.reference import (
    import_mue,
    import_ncci,
    load_reference,
    read_mue_file,
    read_ptp_file,
)
from ptdenial.reference._cms import ncci_quarter
from ptdenial.rules import apply_rules

PTP_HEAD = [
    "CPT only copyright 2025 American Medical Association.  All rights reserved."
    + "\t" * 6,
    "Column1/Column2 Edits" + "\t" * 6,
    "Column 1\tColumn 2\t*=in existence\tEffective\tDeletion\tModifier\t"
    "PTP Edit Rationale",
    "\t\tprior to 1996\tDate\tDate\t0=not allowed\t",
    "\t\t\t\t*=no data\t1=allowed\t",
    "\t\t\t\t\t9=not applicable\t",
]
PART1 = [
    "97150\t97112\t\t20200101\t*\t1\tMutually exclusive procedures",
    "97530\t97116\t\t20200101\t*\t1\tStandards of medical / surgical practice",
    "97140\t97530\t\t20200101\t*\t1\tMutually exclusive procedures",
    # deleted 2020-01-24: in force through 2020-01-23
    "97161\t97530\t\t20200101\t20200124\t0\tMisuse of column two code",
    # deleted the day it started: never in force
    "97162\t97530\t\t20200101\t20200101\t0\tMisuse of column two code",
    # not applicable
    "97112\t97022\t\t20240101\t*\t9\tMutually exclusive procedures",
    # not a therapy pair
    "99213\t97112\t*\t19960101\t*\t1\tCPT Manual or CMS manual coding instructions",
    "27447\t97110\t\t20000101\t*\t0\tStandards of medical / surgical practice",
]
PART2 = [
    "97113\t97110\t\t20200101\t*\t1\tStandards of medical / surgical practice",
    "Total edits in this file: 1",
]


def _ptp(tmp_path, name, rows):
    path = tmp_path / name
    text = "\r\n".join(PTP_HEAD + rows) + "\r\n"
    path.write_bytes(text.encode("latin-1"))
    return path


def _mue(tmp_path, name="MCR_MUE_PractitionerServices_Eff_01-01-2026.csv",
         setting="Practitioner"):  # fmt: skip
    preamble = (
        '"Current Procedural Terminology (CPT) codes, descriptions and other data '
        "only are copyright 2025 American Medical Association. All rights "
        "reserved.\n\nApplicable FARS/DFARS Restrictions Apply to Government "
        'Use.",,,\n'
    )
    rows = [
        f'"HCPCS/\nCPT Code",{setting} Services MUE Values,MUE Adjudication '
        "Indicator,MUE Rationale",
        "97110,6,3 Date of Service Edit: Clinical,Clinical: Data",
        "97112,4,3 Date of Service Edit: Clinical,Clinical: Data",
        "97150,1,2 Date of Service Edit: Policy,Code Descriptor / CPT Instruction",
        "97014,1,1 Line Edit,Nature of Service/Procedure",
        "99213,1,2 Date of Service Edit: Policy,Code Descriptor / CPT Instruction",
        "",
        "Note: MUE values are subject to change,,,",
    ]
    path = tmp_path / name
    path.write_text(preamble + "\n".join(rows) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def cms_files(tmp_path):
    return (
        _ptp(tmp_path, "ccipra-v320r0-f1.txt", PART1),
        _ptp(tmp_path, "ccipra-v320r0-f2.txt", PART2),
        _mue(tmp_path),
    )


def test_quarter_from_the_file_names():
    assert ncci_quarter("ccipra-v322r0-f1.txt")[0] == "2026Q3"
    assert ncci_quarter("ccipra-v260r0-f4.TXT")[0] == "2020Q1"
    assert ncci_quarter("MCR_MUE_PractitionerServices_Eff_10-01-2025.csv")[0] == (
        "2025Q4"
    )
    assert ncci_quarter("edits.txt") is None


def test_read_ptp_file_skips_the_header_lines_and_counts_footnotes(cms_files):
    edits, info = read_ptp_file(cms_files[0])
    assert len(edits) == len(PART1) and info["skipped"] == 0
    row = edits.set_index(["column1", "column2"]).loc[("97161", "97530")]
    assert row["effective_to"] == pd.Timestamp("2020-01-23")
    assert row["modifier_indicator"] == 0
    assert edits.set_index(["column1", "column2"]).loc[("99213", "97112"),
                                                       "prior_1996"]  # fmt: skip
    _, info2 = read_ptp_file(cms_files[1])
    assert info2["rows"] == 1 and info2["skipped"] == 1
    assert "Total edits" in info2["examples"][0][1]


def test_read_mue_file_finds_the_quoted_header(cms_files):
    mue, info = read_mue_file(cms_files[2])
    assert mue.set_index("cpt_code")["mai"].to_dict()["97014"] == "1"
    assert mue.set_index("cpt_code")["mue_units"].to_dict()["97112"] == 4
    assert info["skipped"] == 1 and "Practitioner" in info["setting"]


def test_import_ncci_writes_the_therapy_pairs_and_records_the_quarter(
    cms_files, tmp_path
):
    out = tmp_path / "ref"
    entry = import_ncci(cms_files[:2], out, as_of="2026-02-01")
    table = pd.read_csv(out / "ncci_ptp.csv", dtype=str)
    pairs = set(zip(table["column1"], table["column2"], strict=True))
    assert pairs == {("97150", "97112"), ("97530", "97116"), ("97140", "97530"),
                     ("97161", "97530"), ("97113", "97110")}  # fmt: skip
    assert entry["quarter"] == "2026Q1" and entry["version"] == "v320r0"
    assert entry["dropped_not_applicable"] == 1
    assert entry["dropped_never_in_force"] == 1
    assert entry["warning"] == ""
    record = json.loads((out / "imports.json").read_text())
    assert record["ncci_ptp"]["quarter"] == "2026Q1"
    # an E/M code the practice bills can be kept too
    extra = import_ncci(cms_files[:2], tmp_path / "ref2", extra_codes=["99213"],
                        as_of="2026-02-01")  # fmt: skip
    assert extra["written"] == 6


def test_imported_tables_replace_the_hand_lists_and_drive_the_rules(
    cms_files, tmp_path
):
    out = tmp_path / "ref"
    import_ncci(cms_files[:2], out, as_of="2026-02-01")
    import_mue([cms_files[2]], out, as_of="2026-02-01")
    ref = load_reference(out)
    assert set(ref.imports) == {"ncci_ptp", "mue"}
    assert len(ref.ncci_ptp) == 5 and ref.ncci_ptp["verified"].all()
    assert ref.mue.set_index("cpt_code").loc["97014", "mai"] == "1"
    rows = [
        {"claim_id": "C1", "line_number": i, "patient_id": "P1", "payer_id": "MCR",
         "payer_class": "medicare", "date_of_service": "2026-02-02",
         "cpt_code": code, "units": 1, "charge_amount": 40.0,
         "diagnosis_codes": "R26.81", "rendering_provider_id": "1234567893",
         "modifiers": "GP", "minutes": 15}
        for i, code in enumerate(["97112", "97150", "97760"], start=1)
    ]  # fmt: skip
    claims, _ = S.validate_claims(pd.DataFrame(rows))
    result = apply_rules(claims, reference=ref)
    hit = result.hits.set_index("rule_id").loc["NCCI_PTP"]
    assert hit["kind"] == "hard" and "CMS file v320r0 2026Q1" in hit["detail"]
    # the shipped 97760/97112 pair (a vendor list) is gone with the CMS file
    assert result.flags["NCCI_PTP"].tolist() == [True, False, False]
    shipped = apply_rules(claims)
    assert shipped.hits.query("rule_id == 'NCCI_PTP'")["kind"].tolist() == ["hard"]


def test_mue_line_edit_from_the_imported_mai(cms_files, tmp_path):
    out = tmp_path / "ref"
    import_mue([cms_files[2]], out, as_of="2026-02-01")
    ref = load_reference(out)
    rows = [
        {"claim_id": "C1", "line_number": i, "patient_id": "P1", "payer_id": "MCR",
         "payer_class": "medicare", "date_of_service": "2026-02-02",
         "cpt_code": "97014", "units": 1, "charge_amount": 20.0,
         "diagnosis_codes": "R26.81", "rendering_provider_id": "1234567893",
         "modifiers": "GP 59" if i == 2 else "GP"}
        for i in (1, 2)
    ]  # fmt: skip
    claims, _ = S.validate_claims(pd.DataFrame(rows))
    # MAI 1: one unit per line is within the MUE of 1
    assert not apply_rules(claims, reference=ref).flags["MUE"].any()


def test_old_quarter_is_warned_about_at_import_and_when_rules_run(cms_files, tmp_path):
    out = tmp_path / "ref"
    with pytest.warns(DataQualityWarning, match="2026Q1"):
        entry = import_ncci(cms_files[:2], out, as_of="2026-09-15")
    assert "load the current one" in entry["warning"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        import_ncci(cms_files[:2], out, as_of="2026-03-15")
    ref = load_reference(out)
    rows = [{"claim_id": "C1", "line_number": 1, "patient_id": "P1",
             "payer_id": "MCR", "payer_class": "medicare",
             "date_of_service": "2026-08-03", "cpt_code": "97112", "units": 1,
             "charge_amount": 40.0, "diagnosis_codes": "R26.81",
             "rendering_provider_id": "1234567893", "modifiers": "GP"}]  # fmt: skip
    claims, _ = S.validate_claims(pd.DataFrame(rows))
    ne = apply_rules(claims, reference=ref).not_evaluated.set_index("rule_id")
    assert "2026Q1" in ne.loc["NCCI_PTP", "reason"]
    assert "import-ncci" in ne.loc["NCCI_PTP", "reason"]


def test_bad_files_stop_with_a_clear_message(cms_files, tmp_path):
    with pytest.raises(ReferenceDataError, match="YYYYQn"):
        import_ncci([_ptp(tmp_path, "edits.txt", PART1)], tmp_path / "x")
    with pytest.raises(ReferenceDataError, match="file names say"):
        import_ncci(cms_files[:1], tmp_path / "x", quarter="2025Q4")
    with pytest.raises(ReferenceDataError, match="outpatient hospital"):
        import_ncci([_ptp(tmp_path, "ccioph-v320r0-f1.txt", PART1)], tmp_path / "x")
    with pytest.raises(ReferenceDataError, match="not a CMS NCCI PTP file"):
        import_ncci([cms_files[2]], tmp_path / "x", quarter="2026Q1")
    with pytest.raises(ReferenceDataError, match="Practitioner Services MUE"):
        import_mue([_mue(tmp_path, "MCR_MUE_OutpatientHospitalServices_Eff_"
                         "01-01-2026.csv", "Outpatient Hospital")],
                   tmp_path / "x")  # fmt: skip
    with pytest.raises(ReferenceDataError, match="not a CMS MUE table"):
        import_mue([cms_files[0]], tmp_path / "x", quarter="2026Q1")


def test_cli_imports_and_rules_read_the_folder(cms_files, tmp_path, capsys):
    out = tmp_path / "ref"
    code = main(["reference", "import-ncci", str(cms_files[0]), str(cms_files[1]),
                 "--out", str(out), "--as-of", "2026-02-01"])  # fmt: skip
    assert code == 0
    printed = capsys.readouterr().out
    assert "2026Q1: 5 therapy edits written" in printed
    assert "1 other lines skipped" in printed
    code = main(["reference", "import-mue", str(cms_files[2]), "--out", str(out),
                 "--as-of", "2026-09-30"])  # fmt: skip
    assert code == 0
    captured = capsys.readouterr()
    assert "warning" in captured.err and "2026Q1" in captured.err
    rows = pd.DataFrame([{"claim_id": "C1", "line_number": i, "patient_id": "P1",
                          "payer_id": "MCR", "payer_class": "medicare",
                          "date_of_service": "2026-02-02", "cpt_code": code,
                          "units": 1, "charge_amount": 40.0,
                          "diagnosis_codes": "R26.81",
                          "rendering_provider_id": "1234567893",
                          "modifiers": "GP"}
                         for i, code in enumerate(["97112", "97150"], 1)])  # fmt: skip
    rows.to_csv(tmp_path / "claims.csv", index=False)
    hits = tmp_path / "hits.csv"
    code = main(["rules", str(tmp_path / "claims.csv"), "--out", str(hits),
                 "--reference", str(out)])  # fmt: skip
    assert code == 0
    assert "NCCI_PTP" in set(pd.read_csv(hits)["rule_id"])
    assert main(["reference", "import-ncci", str(cms_files[2]), "--out",
                 str(out), "--quarter", "2026Q1"]) == 2  # fmt: skip
    assert "not a CMS NCCI PTP file" in capsys.readouterr().err

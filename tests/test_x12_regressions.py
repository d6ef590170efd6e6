"""Crashing and line-losing X12 inputs found by fuzzing (issue #15), kept as
small synthetic fixtures in tests/x12_cases/fuzz/ (no PHI: placeholder names)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fuzz_x12 import check_mutant, phi_tokens

from ptdenial import schema as S
from ptdenial.cli import main
from ptdenial.x12 import X12FormatError, ingest, read_x12

FUZZ_CASES = Path(__file__).resolve().parent / "x12_cases" / "fuzz"
KEY = "test-key"


def _ingest(name):
    path = FUZZ_CASES / name
    kind = {"claims_837": [path]} if name.endswith(".837") else {"remits_835": [path]}
    return ingest(key=KEY, **kind)


@pytest.mark.parametrize(
    "name, segment",
    [
        ("missing_gs.837", "GE"),
        ("duplicate_ge.837", "GE"),
        ("extra_se.835", "GE"),
        ("dropped_st.835", "GE"),
    ],
)
def test_broken_envelope_is_our_error_not_pyx12s(name, segment):
    res = read_x12(FUZZ_CASES / name, key=KEY)
    (err,) = res.errors
    assert isinstance(err, X12FormatError)
    assert name in str(err) and f"({segment}" in str(err)
    assert not getattr(err, "internal", False)


def test_one_bad_file_never_stops_a_folder(tmp_path, capsys):
    good = Path(__file__).resolve().parent / "x12_cases" / "denied.835"
    folder = tmp_path / "remits"
    folder.mkdir()
    for src in (good, FUZZ_CASES / "extra_se.835", FUZZ_CASES / "dropped_st.835"):
        (folder / src.name).write_bytes(src.read_bytes())
    code = main(["ingest", "--remits-835", str(folder), "--out",
                 str(tmp_path / "out" / "t.parquet")])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 3 and "extra_se.835" in err and "dropped_st.835" in err
    manifest = json.loads((tmp_path / "out" / "t.manifest.json").read_text())
    assert manifest["counts"]["files_read"] == 1
    assert manifest["counts"]["files_unreadable"] == 2


def test_lx_with_a_decimal_is_quarantined_with_its_value():
    res = _ingest("lx_decimal.837")
    q = res.quarantine
    row = q[q["check"] == "x12_value"].iloc[0]
    assert row["column"] == S.LINE_NUMBER and row["value"] == "1.5"


def test_date_9999_is_quarantined_not_a_crash():
    res = _ingest("date_9999.835")
    q = res.quarantine
    row = q[q["column"] == S.DATE_OF_SERVICE].iloc[0]
    assert row["value"] == "99991231" and row["check"] == "x12_value"
    assert "1677-09-22 and 2262-04-11" in row["reason"]


def test_missing_lx_and_second_sv1_never_overwrite_a_line():
    for name in ("missing_lx.837", "two_sv1.837"):
        res = _ingest(name)
        n_sv1 = (FUZZ_CASES / name).read_text().count("SV1*")
        assert len(res.table) + len(res.quarantine) == n_sv1, name
        q = res.quarantine[res.quarantine["check"] == "x12_structure"]
        assert len(q) == 1 and "LX segment is missing" in q["reason"].iloc[0]
        assert q["cpt_code"].iloc[0] != ""  # the line kept its procedure


def test_missing_clp_never_credits_svcs_to_the_previous_claim():
    res = _ingest("missing_clp.835")
    # the first claim keeps only its own line
    assert res.table[S.CLAIM_ID].tolist().count("CLA1") == 1
    q = res.quarantine
    assert len(q) == 1 and q["check"].iloc[0] == "x12_structure"
    assert "CLP segment" in q["reason"].iloc[0] and q["claim_id"].iloc[0] == ""


@pytest.mark.parametrize("name", sorted(p.name for p in FUZZ_CASES.iterdir()))
def test_every_fixture_keeps_the_fuzz_property(name):
    path = FUZZ_CASES / name
    text = path.read_text(encoding="latin-1")
    check_mutant(path, path.suffix[1:], phi_tokens(text))


def test_messages_never_quote_identifying_elements(tmp_path):
    """A truncated NM1*IL names the segment, not the patient."""
    text = (FUZZ_CASES / "lx_decimal.837").read_text()
    cut = text[: text.index("NM1*IL") + 30]
    path = tmp_path / "cut.837"
    path.write_text(cut)
    res = read_x12(path, key=KEY)
    msg = str(res.errors[0])
    assert "cut.837" in msg and "truncated segment" in msg
    assert "SYNTHETIC" not in msg and "P000" not in msg


def test_ingest_writes_its_quarantine_by_default(tmp_path, capsys):
    out = tmp_path / "t.parquet"
    code = main(["ingest", "--claims-837", str(FUZZ_CASES / "lx_decimal.837"),
                 "--out", str(out)])  # fmt: skip
    assert code == 3
    default = tmp_path / "t.quarantine.parquet"
    assert default.exists() and str(default) in capsys.readouterr().out
    manifest = json.loads((tmp_path / "t.manifest.json").read_text())
    assert manifest["outputs"]["quarantine"] == str(default)
    assert manifest["counts"]["quarantined"] >= 1


def test_a_damaged_segment_identifier_is_not_quoted_in_messages():
    # found by the 10,000-mutant X12 fuzz run: junk bytes glued to a member id
    # became the "identifier" of a segment, and the error quoted it
    from ptdenial.x12._lexer import _fail

    exc = _fail("m.837", 28, "uF\xd3L\xe7JS01111223333", 27, "Segment is empty", "redo")
    assert "JS01111223333" not in str(exc) and "JS01111223333" not in exc.segment_id
    assert "m.837: segment 28 (<" in str(exc) and "line 27" in str(exc)
    assert "(NM1, line 3)" in str(_fail("m.837", 4, "NM1", 3, "bad", "redo"))


def test_a_cut_claim_segment_is_a_problem_naming_it():
    from ptdenial.x12._flatten import _cut_claim
    from ptdenial.x12._lexer import Segment

    def clp(*elements):
        return Segment("CLP", ["CLP", *elements], 12, 11, ":")

    assert _cut_claim(clp("C1", "1", "100", "80"), 4, "cut") is None
    assert _cut_claim(clp("C1", "1", "100"), 4, "cut") == (
        "claim_id", "C1", "segment 12 (CLP): cut"
    )  # fmt: skip
    assert _cut_claim(clp("", "1", "100", "80"), 4, "cut")[1] == ""  # no claim id

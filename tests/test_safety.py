"""Safe paths, safe CSV and no PHI in messages (issue #15 items 1, 4, 8, 9,
12-14): every command refuses colliding or odd paths before any work, CSVs a
biller opens carry no live formulas, and read errors never echo row text."""

from __future__ import annotations

import pandas as pd
import pytest

from ptdenial.cli import main
from ptdenial.cli._paths import user_path
from ptdenial.exceptions import InputFileError
from ptdenial.io import csv_safe, read_claims, write_table

SAMPLE = "data/sample/new_claims.csv"


@pytest.fixture
def claims(tmp_path):
    path = tmp_path / "claims.csv"
    path.write_bytes(open(SAMPLE, "rb").read())
    return path


@pytest.mark.parametrize(
    "args, message",
    [
        (["validate", "{c}", "--quarantine", "{c}"], "is the input CLAIMS"),
        (["validate", "{c}", "--as-of", ""], "is not a date"),
        (["validate", "{c}", "--as-of", "2026-13-45"], "is not a date"),
        (
            ["rules", "{c}", "--out", "{t}/h.csv", "--quarantine", "{t}/h.csv"],
            "is also --out",
        ),
        (
            [
                "score",
                "{c}",
                "--model",
                "{t}/m.skops",
                "--out",
                "{t}/s.csv",
                "--worklist",
                "{t}/s.csv",
            ],
            "is also --out",
        ),
        (
            [
                "score",
                "{c}",
                "--model",
                "{t}/m.skops",
                "--out",
                "{t}/s.parquet",
                "--quarantine",
                "{t}/s.parquet",
            ],
            "is also --out",
        ),
        (
            ["score", "{c}", "--model", "{t}/m.skops", "--out", "{c}"],
            "is the input CLAIMS",
        ),
        (
            [
                "score",
                "{c}",
                "--model",
                "{t}/m.skops",
                "--out",
                "{t}/s.parquet",
                "--worklist",
                "{t}/s.manifest.json",
            ],
            "is also the --out manifest",
        ),
        (["score", "{c}", "--model", "{t}", "--out", "{t}/s.parquet"], "is a folder"),
        (
            ["score", "{c}", "--model", "{t}/m.skops", "--out", "{c}/s.parquet"],
            "is a file, not a folder",
        ),
        (["score", "{c}", "--model", "{t}/m.skops", "--out", "{t}"], "is a folder"),
        (
            [
                "score",
                "{c}",
                "--model",
                "{t}/m.skops",
                "--out",
                "{t}/s.parquet",
                "--report",
                "{c}",
            ],
            "is a file",
        ),
        (["ingest", "--claims-837", "{c}", "--out", "{c}"], "is the input"),
        (["denials", "{c}", "--out", "{c}"], "is the input"),
        (
            ["refresh", "{t}/m.skops", "--history", "{c}", "--out", "{c}"],
            "is the input",
        ),
        (
            ["validate", "{t}", "--quarantine", "{t}/q.csv"],
            "inside the input folder",
        ),
        (
            [
                "train",
                "{c}",
                "--out",
                "{t}/m.skops",
                "--quarantine",
                "{t}/m.skops.card.json",
            ],
            "is also the --out card",
        ),
        (["monitor", "{c}", "--model", "{t}/m.skops", "--out", "{c}"], "is a file"),
    ],
)
def test_colliding_and_odd_paths_are_refused(claims, tmp_path, capsys, args, message):
    argv = [a.format(c=claims, t=tmp_path) for a in args]
    before = claims.read_bytes()
    assert main(argv) == 2
    assert message in capsys.readouterr().err
    assert claims.read_bytes() == before  # the input is untouched


def test_user_path_hides_internal_temporary_names():
    assert user_path("out/.scored.parquet.k2j3l4.tmp") == "out/scored.parquet"
    assert user_path("night/.ptdenial-score-abc/in-0.arrow") == "night"
    assert user_path("plain.csv") == "plain.csv"


def test_worklist_and_every_csv_neutralise_formulas(tmp_path):
    df = pd.DataFrame(
        {
            "claim_id": ['=HYPERLINK("http://evil","x")', "@SUM(A1)", "C3", "\tX"],
            "reason": ["+cmd", "-2+3", "fine", "=1"],
            "charge": [-12.5, 3.0, 1.0, 2.0],
            "code_text": ["-12.50", "97112", "1e5", "-"],
        }
    )
    path = write_table(df, tmp_path / "w.csv")
    back = pd.read_csv(path, dtype=str, keep_default_na=False)
    assert back["claim_id"].tolist()[:2] == ["'=HYPERLINK(\"http://evil\",\"x\")",
                                             "'@SUM(A1)"]  # fmt: skip
    assert back["claim_id"].iloc[3] == "'\tX"
    assert back["reason"].tolist()[:3] == ["'+cmd", "'-2+3", "fine"]
    assert back["charge"].tolist()[0] == "-12.5"  # numbers stay numbers
    assert back["code_text"].tolist() == ["-12.50", "97112", "1e5", "'-"]
    assert csv_safe(pd.Series([1, 2])).tolist() == [1, 2]
    assert csv_safe(pd.Series(["\r=1", "\t@x"])).tolist() == ["'\r=1", "'\t@x"]


def test_scored_worklist_csv_has_no_live_formula(tmp_path):
    from ptdenial.scoring._worklist import write_worklist

    wl = pd.DataFrame({"claim_id": ["=1+1"], "reasons": ["@x"], "rank": [1]})
    csv_path, _html = write_worklist(
        wl, tmp_path / "worklist.csv", title="Worklist", subtitle="test"
    )
    text = csv_path.read_text()
    assert "'=1+1" in text and "'@x" in text


def test_ragged_row_message_never_echoes_row_text(tmp_path, capsys):
    lines = open(SAMPLE).read().splitlines()
    lines[3] = lines[3] + ",SECRET-PATIENT-SSN-123"
    path = tmp_path / "r.csv"
    path.write_text("\n".join(lines) + "\n")
    q = tmp_path / "q.csv"
    assert main(["validate", str(path), "--quarantine", str(q)]) == 3
    captured = capsys.readouterr()
    assert "SECRET" not in captured.err + captured.out
    quarantine = pd.read_csv(q, dtype=str, keep_default_na=False)
    row = quarantine[quarantine["check"] == "unreadable_row"].iloc[0]
    assert row["source_row"] == "2"  # the row keeps its place
    assert "SECRET-PATIENT-SSN-123" in row["value"]  # kept in the data file only


@pytest.mark.parametrize(
    "content, message",
    [
        ("a,b\n1,2\n".encode("utf-16"), "UTF-16"),
        (b"PAR1\x00\x00", "Parquet file"),
        (b"\x1f\x8b\x08\x00", "gzip"),
        (b"\x00\x01\x02binary\x00" * 20, "NUL bytes"),
        (b"", "empty"),
        (b"claim_id,claim_id\nC1,C2\n", "more than once"),
    ],
)
def test_unreadable_csv_files_are_refused_clearly(tmp_path, content, message):
    path = tmp_path / "x.csv"
    path.write_bytes(content)
    with pytest.raises(InputFileError, match=message) as info:
        read_claims(path)
    assert "x.csv" in str(info.value)


def test_huge_field_is_read_not_refused(tmp_path):
    lines = open(SAMPLE).read().splitlines()
    head = lines[0].split(",")
    k = head.index("clinic_id")
    row = lines[1].split(",")
    row[k] = "X" * (5 << 20)  # longer than pyarrow's 4 MiB parse block
    path = tmp_path / "h.csv"
    path.write_text("\n".join([lines[0], ",".join(row), *lines[2:10]]) + "\n")
    raw = read_claims(path)
    assert len(raw) == 9 and len(raw["clinic_id"].iloc[0]) == 5 << 20


def test_mixed_folder_is_refused_by_validate_and_score_alike(tmp_path, capsys):
    folder = tmp_path / "night"
    folder.mkdir()
    write_table(read_claims(SAMPLE).head(5), folder / "a.parquet")
    (folder / "b.csv").write_bytes(open(SAMPLE, "rb").read())
    assert main(["validate", str(folder)]) == 2
    err = capsys.readouterr().err
    assert "1 Parquet and 1 CSV" in err
    with pytest.raises(InputFileError, match="one kind"):
        read_claims(folder)


def test_csv_folder_is_read(tmp_path):
    folder = tmp_path / "night"
    folder.mkdir()
    raw = read_claims(SAMPLE)
    write_table(raw.head(5), folder / "a.csv")
    write_table(raw.iloc[5:12], folder / "b.csv")
    assert len(read_claims(folder)) == 12

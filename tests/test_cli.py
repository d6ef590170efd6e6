"""The command line in-process: exit codes, messages and outputs."""

import json
from pathlib import Path

import pandas as pd
import pytest

from ptdenial import schema as S
from ptdenial.cli import EXIT_OK, EXIT_QUARANTINED, EXIT_UNUSABLE, main
from ptdenial.io import read_claims, write_table

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample"
MALFORMED = SAMPLE / "malformed"


def test_validate_clean_sample_exits_0(capsys):
    assert (
        main(["validate", str(SAMPLE / "new_claims.csv"), "--as-of", "2026-01-02"])
        == EXIT_OK
    )
    out = capsys.readouterr().out
    assert "0 quarantined" in out


def test_validate_bad_rows_exit_3_and_quarantine_file(tmp_path, capsys):
    q = tmp_path / "q.csv"
    code = main(
        [
            "validate",
            str(MALFORMED / "bad_types.csv"),
            "--quarantine",
            str(q),
            "--as-of",
            "2026-01-02",
        ]
    )
    assert code == EXIT_QUARANTINED
    assert "997 valid, 3 quarantined" in capsys.readouterr().out
    quarantine = pd.read_csv(q)
    expected = json.loads((MALFORMED / "expected.json").read_text())["bad_types.csv"]
    got = quarantine[["source_row", "column", "check", "value"]].to_dict("records")
    want = [
        {k: f[k] for k in ("source_row", "column", "check", "value")}
        for f in expected["failures"]
    ]
    assert got == want
    assert quarantine["reason"].str.len().min() > 10


def test_missing_columns_exit_2_one_message(capsys):
    code = main(["validate", str(MALFORMED / "missing_columns.csv")])
    assert code == EXIT_UNUSABLE
    err = capsys.readouterr().err
    assert err.count("missing required columns") == 1
    assert "missing_columns.csv" in err
    missing = json.loads((MALFORMED / "expected.json").read_text())[
        "missing_columns.csv"
    ]
    for column in missing.get("missing", []):
        assert column in err


def test_bad_arguments_exit_2(capsys):
    assert main(["validate"]) == EXIT_UNUSABLE
    assert main(["no-such-command"]) == EXIT_UNUSABLE
    assert main(["validate", "/no/such/file.parquet"]) == EXIT_UNUSABLE
    assert "no such file" in capsys.readouterr().err


def test_sample_then_validate_roundtrip(tmp_path):
    assert (
        main(["sample", "--out", str(tmp_path), "--patients", "60", "--seed", "3"])
        == EXIT_OK
    )
    history = tmp_path / "history.parquet"
    assert history.exists() and (tmp_path / "new_claims.csv").exists()
    assert len(read_claims(history)) > 100


@pytest.mark.slow
def test_train_then_evaluate(tmp_path, capsys, sample_history):
    # a third of the sample's patients (all months): the commands and files
    # are under test here, the model's quality is test_model.py's; the whole
    # history made this the CLI file's longest test at three times the cost
    patients = sample_history[S.PATIENT_ID].drop_duplicates().iloc[::3]
    history = write_table(
        sample_history[sample_history[S.PATIENT_ID].isin(patients)],
        tmp_path / "history.parquet",
    )
    model = tmp_path / "m.skops"
    code = main(
        [
            "train",
            str(history),
            "--out",
            str(model),
            "--as-of",
            "2026-01-02",
        ]
    )
    assert code == EXIT_OK
    out = capsys.readouterr().out
    for scorer in ("model", "historical_rate", "rules_only", "logistic_onehot"):
        assert scorer in out
    card = json.loads((tmp_path / "m.skops.card.json").read_text())
    assert card["validation_metrics"]["model"]["roc_auc"] > 0.6
    assert (
        main(
            [
                "evaluate",
                str(history),
                "--model",
                str(model),
                "--out",
                str(tmp_path / "metrics.csv"),
                "--as-of",
                "2026-01-02",
            ]
        )
        == EXIT_OK
    )
    assert (tmp_path / "metrics.csv").exists()
    # a damaged model file is refused with exit 2
    model.write_bytes(model.read_bytes()[:-100])
    assert main(["evaluate", str(history), "--model", str(model)]) == EXIT_UNUSABLE


def test_every_command_is_one_module_with_add_and_run():
    import importlib

    from ptdenial.cli import build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    assert list(sub.choices) == [
        "sample",
        "validate",
        "train",
        "evaluate",
        "ingest",
        "rules",
        "reference",
        "monitor",
        "score",
        "refresh",
        "plan-kx",
        "denials",
        "demo",
    ]
    for name, command in sub.choices.items():
        module = importlib.import_module(f"ptdenial.cli._{name.replace('-', '_')}")
        assert command.get_default("func") is module.run, name
        assert callable(module.add), name


def test_module_entry_point_and_light_import():
    import subprocess
    import sys

    out = subprocess.run(
        [sys.executable, "-m", "ptdenial.cli", "validate", "--help"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == EXIT_OK
    assert out.stdout.startswith("usage: ptdenial validate")
    # the command line must start before lightgbm (OMP_WAIT_POLICY) and
    # needs no display: importing it loads neither lightgbm nor matplotlib
    code = (
        "import sys, ptdenial.cli; "
        "print(sorted({'lightgbm', 'matplotlib'} & set(sys.modules)))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"

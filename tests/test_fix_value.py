"""Re-scored fixes: p_after_fix and dollars_saved with the same as-of snapshot."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ptdenial.config import ConfigError, ScoringConfig
from ptdenial.recovery import FIX_COLUMNS, rescore_fixes
from ptdenial.scoring import (
    WORKLIST_COLUMNS,
    build_worklist,
    score_batch,
    score_file,
)

AS_OF = "2026-01-01"


@pytest.fixture(scope="module")
def fixes(sample_model, sample_new_claims):
    out = rescore_fixes(sample_model, sample_new_claims, as_of=AS_OF)
    return out.set_index(["claim_id", "line_number"])


def test_columns_and_documentation_fixes_not_rescored(fixes):
    assert list(fixes.reset_index().columns) == list(FIX_COLUMNS)
    doc = fixes[fixes["fix_kind"] == "documentation"]
    assert len(doc) and doc["p_after_fix"].isna().all()
    assert doc["dollars_saved"].isna().all()
    assert set(fixes["fix_kind"]) == {"claim_edit", "documentation"}


def test_kx_fix_on_a_crossing_medicare_line_lowers_p(fixes, sample_new_claims):
    kx = fixes[fixes["fix_applied"].str.contains("KX", na=False)]
    assert len(kx)
    keys = sample_new_claims.set_index(["claim_id", "line_number"])
    assert (keys.loc[kx.index, "payer_class"].astype(str) == "medicare").all()
    assert (kx["p_after_fix"] < kx["denial_probability"]).all()
    assert kx["payment_after"].tolist() == pytest.approx(
        kx["payment_before"].tolist(), abs=0.006
    )


def test_units_fix_lowers_p_and_payment(fixes):
    mue = fixes[fixes["fix_applied"].str.contains("MUE", na=False)]
    assert len(mue)
    assert (mue["p_after_fix"] < mue["denial_probability"]).all()
    assert (mue["payment_after"] < mue["payment_before"]).all()
    # fewer units billed where the minutes support fewer: paid less, it shows
    minutes = fixes[fixes["fix_applied"].str.contains("minutes", na=False)]
    assert len(minutes) and (minutes["payment_after"] < minutes["payment_before"]).all()
    assert (minutes["dollars_saved"] < 0).any()


def test_dollars_saved_reflects_fewer_units(fixes, sample_new_claims):
    units = fixes[fixes["fix_applied"].str.contains("units", na=False)]
    billed = sample_new_claims.set_index(["claim_id", "line_number"])["units"]
    before = billed.loc[units.index].astype(float).to_numpy()
    after = units["units_after_fix"].astype(float).to_numpy()
    assert (after < before).all()
    # the same price per unit, fewer units
    assert (units["payment_after"] / after).to_numpy() == pytest.approx(
        (units["payment_before"] / before).to_numpy(), abs=0.01
    )
    expected = units["payment_after"] * (1 - units["p_after_fix"]) - units[
        "payment_before"
    ] * (1 - units["denial_probability"])
    assert units["dollars_saved"].to_numpy() == pytest.approx(
        expected.to_numpy(), abs=0.02
    )


def test_rescore_uses_the_same_as_of_snapshot(fixes, sample_model, sample_new_claims):
    kx = fixes[fixes["fix_applied"].str.contains("KX", na=False)].index[0]
    before = score_batch(sample_model, sample_new_claims, as_of=AS_OF)
    row = (before.claims["claim_id"] == kx[0]) & (before.claims["line_number"] == kx[1])
    p0 = float(before.scored.loc[row.to_numpy(), "denial_probability"].iloc[0])
    assert fixes.loc[kx, "denial_probability"] == pytest.approx(p0)
    # the same edit by hand, scored with the same as_of, gives p_after_fix
    fixed = before.claims.copy()
    i = int(np.flatnonzero(row.to_numpy())[0])
    mods = fixed["modifiers"].tolist()
    mods[i] = (*mods[i], "KX")
    fixed["modifiers"] = mods
    after = score_batch(sample_model, fixed, as_of=AS_OF)
    p1 = float(after.scored.loc[row.to_numpy(), "denial_probability"].iloc[0])
    assert fixes.loc[kx, "p_after_fix"] == pytest.approx(p1)


# --- the nightly job's worklist --------------------------------------------------
NEW = Path(__file__).resolve().parents[1] / "data" / "sample" / "new_claims.parquet"


@pytest.fixture(scope="module")
def nightly(sample_model, tmp_path_factory):
    """The nightly job on the sample, in one batch and in many small ones."""
    out = {}
    for name, rows in (("one", 100_000), ("many", 150)):
        folder = tmp_path_factory.mktemp(f"night-{name}")
        run = score_file(
            sample_model, NEW, folder / "s.parquet", worklist=folder / "wl.csv",
            as_of=AS_OF, config=ScoringConfig(batch_rows=rows, workers=0),
        )  # fmt: skip
        out[name] = (run, folder)
    return out


def test_nightly_worklist_shows_the_fix_value(nightly, fixes):
    run, folder = nightly["one"]
    wl = run.worklist
    assert list(wl.columns) == list(WORKLIST_COLUMNS)
    assert {"claim edit", "documentation needed"} <= set(wl["fix_kind"])
    edit = wl["fix_kind"] == "claim edit"
    assert wl.loc[edit, ["p_after_fix", "dollars_saved"]].notna().all().all()
    assert wl.loc[~edit, ["p_after_fix", "dollars_saved"]].isna().all().all()
    # the same values as re-scoring the whole night at once
    keyed = wl.set_index(["claim_id", "line_number"])
    for key, row in keyed[edit.to_numpy()].iterrows():
        assert row["dollars_saved"] == pytest.approx(fixes.loc[key, "dollars_saved"])
        assert row["p_after_fix"] == pytest.approx(fixes.loc[key, "p_after_fix"])
    docs = keyed[(wl["fix_kind"] == "documentation needed").to_numpy()]
    assert (fixes.loc[docs.index, "fix_kind"] == "documentation").all()
    csv = pd.read_csv(folder / "wl.csv")
    assert {"p_after_fix", "dollars_saved", "fix_kind"} <= set(csv.columns)
    page = (folder / "wl.html").read_text()
    assert "dollars a fix saves" in page and "documentation needed" in page
    assert "Ranked by dollars a fix saves" in page
    assert "risk after the fix" in page
    assert "fix_value" in run.manifest["timings_s"]


def test_worklist_ranked_by_dollars_saved_by_default(nightly):
    wl = nightly["one"][0].worklist
    saved = wl["dollars_saved"].fillna(0).to_numpy()
    n = int((saved > 0).sum())
    assert n and (saved[:n] > 0).all() and (saved[n:] <= 0).all()
    assert (np.diff(saved[:n]) <= 1e-9).all()
    rest = wl["dollars_at_risk"].to_numpy(float)[n:]
    assert (np.diff(rest) <= 1e-9).all()
    assert wl["rank"].tolist() == list(range(1, len(wl) + 1))


def test_expected_loss_rank_keeps_the_same_lines(sample_model, nightly, tmp_path):
    wl = nightly["one"][0].worklist
    cfg = ScoringConfig.from_sources(env={"PTDENIAL_WORKLIST_RANK": "expected_loss"})
    run = score_file(sample_model, NEW, tmp_path / "s.parquet", as_of=AS_OF,
                     worklist=tmp_path / "wl.csv", config=cfg)  # fmt: skip
    other = run.worklist
    assert (np.diff(other["dollars_at_risk"].to_numpy(float)) <= 1e-9).all()
    key = ["claim_id", "line_number"]
    a = wl.drop(columns="rank").sort_values(key).reset_index(drop=True)
    b = other.drop(columns="rank").sort_values(key).reset_index(drop=True)
    pd.testing.assert_frame_equal(a, b)
    assert "Ranked by expected dollars at risk" in (tmp_path / "wl.html").read_text()
    with pytest.raises(ConfigError, match="worklist_rank"):
        ScoringConfig(worklist_rank="dollars")


def test_small_batches_give_the_same_worklist(nightly):
    one, many = nightly["one"][0], nightly["many"][0]
    assert many.manifest["batches"] > 5
    pd.testing.assert_frame_equal(one.worklist, many.worklist)
    for name in ("one", "many"):
        assert (nightly[name][1] / "wl.csv").exists()
    assert (nightly["one"][1] / "wl.csv").read_text() == (
        nightly["many"][1] / "wl.csv"
    ).read_text()


def test_fix_values_use_the_batch_as_of(sample_model, sample_new_claims):
    """The re-score reads the as-of the batch was scored with, not today."""
    later = "2026-03-01"
    result = score_batch(sample_model, sample_new_claims, as_of=later)
    assert result.as_of == pd.Timestamp(later)
    wl = build_worklist(result, model=sample_model)
    same = rescore_fixes(sample_model, sample_new_claims, as_of=later)
    same = same.set_index(["claim_id", "line_number"])
    edit = wl[wl["fix_kind"] == "claim edit"].set_index(["claim_id", "line_number"])
    assert len(edit)
    assert edit["p_after_fix"].to_numpy() == pytest.approx(
        same.loc[edit.index, "p_after_fix"].to_numpy()
    )
    # without a model nothing is re-scored: the columns are there, empty
    bare = build_worklist(result)
    assert bare["dollars_saved"].isna().all() and (bare["fix_kind"] == "").all()


def test_score_cli_rank_and_no_separate_fix_value_copy(
    tmp_path, sample_model_file, capsys
):
    from ptdenial.cli import main

    args = ["score", str(NEW), "--model", str(sample_model_file), "--as-of", AS_OF,
            "--out", str(tmp_path / "scored.parquet"),
            "--worklist", str(tmp_path / "wl.csv")]  # fmt: skip
    assert main([*args, "--rank", "expected_loss"]) == 0
    assert "worklist fixes:" in capsys.readouterr().out
    wl = pd.read_csv(tmp_path / "wl.csv")
    assert (np.diff(wl["dollars_at_risk"].to_numpy(float)) <= 1e-9).all()
    assert not list(tmp_path.glob("*fix_value*"))  # no separate copy any more

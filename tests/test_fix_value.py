"""Re-scored fixes: p_after_fix and dollars_saved with the same as-of snapshot."""

import numpy as np
import pandas as pd
import pytest

from ptdenial.recovery import FIX_COLUMNS, add_fix_value, rescore_fixes
from ptdenial.scoring import score_batch

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


def test_worklist_ranked_by_dollars_saved(fixes):
    flat = fixes.reset_index()
    worklist = pd.DataFrame(
        {
            "rank": np.arange(1, len(flat) + 1),
            "claim_id": flat["claim_id"],
            "line_number": flat["line_number"],
        }
    )
    ranked = add_fix_value(worklist, flat)
    assert {"p_after_fix", "dollars_saved", "fix_kind"} <= set(ranked.columns)
    saves = ranked["dollars_saved"].fillna(0) > 0
    n = int(saves.sum())
    assert n and saves.iloc[:n].all()
    assert ranked["dollars_saved"].iloc[:n].is_monotonic_decreasing
    assert ranked["rank"].tolist() == list(range(1, len(ranked) + 1))


def test_score_fix_value_writes_a_ranked_copy(tmp_path, sample_model_file, capsys):
    from pathlib import Path

    from ptdenial.cli import main

    new = Path(__file__).resolve().parents[1] / "data" / "sample" / "new_claims.parquet"
    args = ["score", str(new), "--model", str(sample_model_file), "--as-of", AS_OF,
            "--out", str(tmp_path / "scored.parquet")]  # fmt: skip
    assert main([*args, "--fix-value"]) == 2
    assert "--fix-value needs --worklist" in capsys.readouterr().err
    wl = tmp_path / "wl.csv"
    assert main([*args, "--worklist", str(wl), "--fix-value"]) == 0
    ranked = pd.read_csv(tmp_path / "wl_fix_value.csv")
    assert {"p_after_fix", "dollars_saved", "fix_kind"} <= set(ranked.columns)
    assert "dollars_saved" not in pd.read_csv(wl).columns  # the nightly file as before
    assert (tmp_path / "wl_fix_value.html").exists()
    assert len(ranked) == len(pd.read_csv(wl))

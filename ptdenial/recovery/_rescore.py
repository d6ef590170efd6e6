"""What a fix is worth: apply claim edits to a copy, re-score with the same as-of."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ptdenial import schema as S
from ptdenial.reference import load_reference
from ptdenial.rules import units_supported
from ptdenial.scoring import score_batch

__all__ = ["rescore_fixes", "add_fix_value", "FIX_COLUMNS", "CLAIM_EDIT_RULES"]

#: Rules whose fix is an edit of the claim line itself, and the edit.
#: Every other rule's fix needs documentation or information the claim does
#: not carry (a signed plan of care, a diagnosis, an NPI, proof that sessions
#: were distinct), so it is labelled and never re-scored as if done.
CLAIM_EDIT_RULES = {
    "KX_MISSING": "add modifier KX",
    "GP_MISSING": "add modifier GP",
    "CQ_RULE": "add modifier CQ",
    "MUE": "bill the MUE's units",
    "UNITS_TOTAL": "bill the units the minutes support",
    "UNITS_ALLOC": "bill the units the minutes support",
    "PER_CODE_MIDPOINT": "bill the units the minutes support",
}
_ADD_MODIFIER = {"KX_MISSING": "KX", "GP_MISSING": "GP", "CQ_RULE": "CQ"}
_UNIT_RULES = ("UNITS_TOTAL", "UNITS_ALLOC", "PER_CODE_MIDPOINT")

#: Columns of :func:`rescore_fixes`.
FIX_COLUMNS = (
    S.CLAIM_ID,
    S.LINE_NUMBER,
    "fix_kind",
    "fix_applied",
    "units_after_fix",
    S.DENIAL_PROBABILITY,
    "p_after_fix",
    "payment_before",
    "payment_after",
    "dollars_saved",
)


def _edits(hits: pd.DataFrame) -> dict:
    """(claim_id, line_number) -> claim-edit rule ids; and documentation-only keys."""
    edits: dict = {}
    for row in hits.itertuples(index=False):
        key = (str(row.claim_id), int(row.line_number))
        edits.setdefault(key, set())
        if row.rule_id in CLAIM_EDIT_RULES and row.kind in ("hard", "soft"):
            edits[key].add(str(row.rule_id))
    return edits


def _apply(claims: pd.DataFrame, edits: dict, reference) -> tuple:
    """A fixed copy of the claims and, per edited line, the edit text and units."""
    fixed = claims.copy()
    keys = list(
        zip(
            fixed[S.CLAIM_ID].astype(str), fixed[S.LINE_NUMBER].astype(int), strict=True
        )
    )
    supported = units_supported(claims, reference)
    mue = dict(
        zip(
            reference.mue["cpt_code"].astype(str),
            reference.mue["mue_units"].astype(int),
            strict=True,
        )
    )
    applied = {}
    mods = fixed[S.MODIFIERS].tolist() if S.MODIFIERS in fixed else [()] * len(fixed)
    units = fixed[S.UNITS].astype("Int64").tolist()
    for i, key in enumerate(keys):
        rules = edits.get(key)
        if not rules:
            continue
        texts, new_mods, new_units = [], tuple(mods[i] or ()), units[i]
        for rule in sorted(rules):
            if rule in _ADD_MODIFIER and _ADD_MODIFIER[rule] not in new_mods:
                new_mods = (*new_mods, _ADD_MODIFIER[rule])
                texts.append(CLAIM_EDIT_RULES[rule])
            elif rule == "MUE" and str(fixed[S.CPT_CODE].iloc[i]) in mue:
                target = mue[str(fixed[S.CPT_CODE].iloc[i])]
                if target < int(new_units):
                    new_units = target
                    texts.append(f"bill {new_units} units (MUE)")
            elif rule in _UNIT_RULES and not pd.isna(supported.iloc[i]):
                target = int(supported.iloc[i])
                if 1 <= target < int(new_units):
                    new_units = target
                    texts.append(f"bill {new_units} units (documented minutes)")
        mods[i], units[i] = new_mods, new_units
        applied[key] = ("; ".join(dict.fromkeys(texts)), new_units)
    fixed[S.MODIFIERS] = mods
    fixed[S.UNITS] = pd.array(units, dtype="Int64")
    return fixed, applied


def rescore_fixes(model, claims: pd.DataFrame, *, as_of, config=None, reference=None):
    """Apply each line's claim-edit fixes to a copy, re-score it, and value the fix.

    The claims are scored as they are, then a copy with every concrete claim
    edit applied (:data:`CLAIM_EDIT_RULES`: add KX, GP or CQ; bill the MUE's
    units or the units the documented minutes support) is scored again with
    the **same** ``as_of``, so both scores use the same history snapshot.
    Fixes of lines of the same visit are applied together, as a biller would
    send them. Fixes that need documentation or information (a signed plan
    of care, a diagnosis, an NPI, distinct sessions for 59) are labelled
    ``fix_kind = "documentation"`` and not re-scored as if done.

    ``dollars_saved`` is the expected collected amount after the fix minus
    before, ``payment x (1 - p)`` each (on lines the model does not score,
    ``p`` is 1 with a hard rule hit and 0 without, the worklist's
    convention): a units fix bills fewer units and is paid less, which shows
    (it can be negative); adding CQ lowers the Medicare payment by the
    reference's ``cq_payment_factor``.

    Parameters
    ----------
    model : ptdenial.model.DenialRiskModel
    claims : pandas.DataFrame
        The night's raw or validated claim lines (every line of each visit).
    as_of : date-like
        The scoring night, the same for both scores.
    config : ptdenial.config.ScoringConfig, optional
    reference : ptdenial.reference.Reference, optional

    Returns
    -------
    pandas.DataFrame
        :data:`FIX_COLUMNS`, one row per scored line with a rule hit that has
        a fix: ``fix_kind`` is ``"claim_edit"`` or ``"documentation"``;
        ``p_after_fix``, ``payment_after`` and ``dollars_saved`` are empty for
        documentation fixes.
    """
    reference = reference if reference is not None else load_reference()
    before = score_batch(model, claims, as_of=as_of, config=config)
    hits = before.hits[before.hits["fix"].astype(str).str.len() > 0]
    edits = _edits(hits)
    fixed, applied = _apply(before.claims, edits, reference)
    after = score_batch(model, fixed, as_of=as_of, config=config)
    return _value(before, after, applied, edits, reference)


def _effective_p(result) -> np.ndarray:
    """The model's probability; on lines it does not score, 1 with a hard hit, else 0.

    The worklist counts the whole expected payment of a hard-rule line of
    another code as at risk; the same convention values its fix.
    """
    p = result.scored[S.DENIAL_PROBABILITY].to_numpy(float)
    hard = result.context["hard_hit"].to_numpy(bool)
    return np.where(np.isnan(p), np.where(hard, 1.0, 0.0), p)


def _value(before, after, applied, edits, reference) -> pd.DataFrame:
    keys = pd.MultiIndex.from_arrays(
        [
            before.claims[S.CLAIM_ID].astype(str),
            before.claims[S.LINE_NUMBER].astype(int),
        ]
    )
    after_keys = pd.MultiIndex.from_arrays(
        [after.claims[S.CLAIM_ID].astype(str), after.claims[S.LINE_NUMBER].astype(int)]
    )
    p0 = pd.Series(_effective_p(before), index=keys)
    pay0 = pd.Series(before.context["expected_payment"].to_numpy(float), index=keys)
    p1 = pd.Series(_effective_p(after), index=after_keys)
    pay1 = pd.Series(
        after.context["expected_payment"].to_numpy(float), index=after_keys
    )
    cq = float(reference.parameter("cq_payment_factor"))
    rows = []
    for key in edits:
        text, units = applied.get(key, ("", None))
        row = {
            S.CLAIM_ID: key[0],
            S.LINE_NUMBER: key[1],
            S.DENIAL_PROBABILITY: p0.get(key, np.nan),
            "payment_before": pay0.get(key, np.nan),
        }
        if text:
            pay = float(pay1.get(key, np.nan))
            if "CQ" in text:
                pay *= cq
            prob0, prob1 = row[S.DENIAL_PROBABILITY], float(p1.get(key, np.nan))
            saved = pay * (1 - prob1) - row["payment_before"] * (1 - prob0)
            row.update(
                fix_kind="claim_edit",
                fix_applied=text,
                units_after_fix=units,
                p_after_fix=prob1,
                payment_after=round(pay, 2),
                dollars_saved=round(saved, 2),
            )
        else:
            row.update(
                fix_kind="documentation",
                fix_applied="",
                units_after_fix=None,
                p_after_fix=np.nan,
                payment_after=np.nan,
                dollars_saved=np.nan,
            )
        rows.append(row)
    out = pd.DataFrame(rows, columns=list(FIX_COLUMNS))
    out["units_after_fix"] = out["units_after_fix"].astype("Int64")
    return out


def add_fix_value(worklist: pd.DataFrame, fixes: pd.DataFrame, *, rank_by_fix=True):
    """The worklist with ``p_after_fix``, ``dollars_saved`` and ``fix_kind``.

    With ``rank_by_fix`` (default), lines whose claim-edit fix saves dollars
    come first, most dollars saved first; the others keep their order after
    them. ``rank`` is renumbered.

    Parameters
    ----------
    worklist : pandas.DataFrame
        A worklist (:func:`ptdenial.scoring.build_worklist`).
    fixes : pandas.DataFrame
        Output of :func:`rescore_fixes`.
    rank_by_fix : bool

    Returns
    -------
    pandas.DataFrame
    """
    cols = [S.CLAIM_ID, S.LINE_NUMBER, "fix_kind", "p_after_fix", "dollars_saved"]
    right = fixes[cols].copy()
    left = worklist.copy()
    left["_key"] = list(
        zip(left[S.CLAIM_ID].astype(str), left[S.LINE_NUMBER].astype(int), strict=True)
    )
    right["_key"] = list(
        zip(
            right[S.CLAIM_ID].astype(str), right[S.LINE_NUMBER].astype(int), strict=True
        )
    )
    out = left.merge(
        right.drop(columns=[S.CLAIM_ID, S.LINE_NUMBER]), on="_key", how="left"
    ).drop(columns="_key")
    if rank_by_fix:
        saves = out["dollars_saved"].fillna(0) > 0
        order = np.lexsort(
            (
                np.arange(len(out)),
                -out["dollars_saved"].fillna(0).to_numpy(float),
                ~saves.to_numpy(),
            )
        )
        out = out.iloc[order].reset_index(drop=True)
        if "rank" in out:
            out["rank"] = np.arange(1, len(out) + 1)
    return out

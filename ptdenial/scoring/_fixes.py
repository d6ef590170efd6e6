"""What a fix is worth: apply claim edits to a copy, re-score with the same as-of.

:func:`fix_values` values the fixes of some lines of a batch already scored
by :func:`~ptdenial.scoring.score_batch`: it applies every concrete claim
edit to a copy of those lines' patients (all their lines, so every visit is
whole), re-scores only that copy with the batch's own ``as_of`` and compares.
Patients never influence each other's scores, so valuing a batch's lines is
the same as valuing them in the whole night. The streaming job calls it per
batch for the lines the batch offers to the worklist; :func:`rescore_fixes`
(also :func:`ptdenial.recovery.rescore_fixes`) is the same for a frame.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from ptdenial import schema as S
from ptdenial.reference import load_reference
from ptdenial.rules import units_supported
from ptdenial.scoring._batch import BatchResult, score_batch

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
    """Row of a hit with a fix -> the claim-edit rule ids among its hits."""
    edits: dict = {}
    fixable = hits["fix"].astype(str).str.len().to_numpy() > 0
    kinds = hits["kind"].isin(("hard", "soft")).to_numpy()
    for pos, rule, has_fix, kind_ok in zip(
        hits["pos"].to_numpy(np.int64), hits["rule_id"].astype(str), fixable, kinds,
        strict=True,
    ):  # fmt: skip
        if not has_fix:
            continue
        rules = edits.setdefault(int(pos), set())
        if rule in CLAIM_EDIT_RULES and kind_ok:
            rules.add(rule)
    return edits


def _apply(claims: pd.DataFrame, edits: dict, reference) -> tuple:
    """A fixed copy of ``claims`` and, per edited row, the edit text and units."""
    fixed = claims.copy()
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
    codes = fixed[S.CPT_CODE].astype(str).tolist()
    for i, rules in edits.items():
        if not rules:
            continue
        texts, new_mods, new_units = [], tuple(mods[i] or ()), units[i]
        for rule in sorted(rules):
            if rule in _ADD_MODIFIER and _ADD_MODIFIER[rule] not in new_mods:
                new_mods = (*new_mods, _ADD_MODIFIER[rule])
                texts.append(CLAIM_EDIT_RULES[rule])
            elif rule == "MUE" and codes[i] in mue:
                if mue[codes[i]] < int(new_units):
                    new_units = mue[codes[i]]
                    texts.append(f"bill {new_units} units (MUE)")
            elif rule in _UNIT_RULES and not pd.isna(supported.iloc[i]):
                target = int(supported.iloc[i])
                if 1 <= target < int(new_units):
                    new_units = target
                    texts.append(f"bill {new_units} units (documented minutes)")
        mods[i], units[i] = new_mods, new_units
        if texts:
            applied[i] = ("; ".join(dict.fromkeys(texts)), new_units)
    fixed[S.MODIFIERS] = mods
    fixed[S.UNITS] = pd.array(units, dtype="Int64")
    return fixed, applied


def _effective_p(result: BatchResult) -> np.ndarray:
    """The model's probability; on lines it does not score, 1 with a hard hit, else 0.

    The worklist counts the whole expected payment of a hard-rule line of
    another code as at risk; the same convention values its fix.
    """
    p = result.scored[S.DENIAL_PROBABILITY].to_numpy(float, na_value=np.nan)
    hard = result.context["hard_hit"].to_numpy(bool)
    return np.where(np.isnan(p), np.where(hard, 1.0, 0.0), p)


def _patient_rows(claims: pd.DataFrame, rows: np.ndarray) -> np.ndarray:
    """Every row of the patients of ``rows`` (so each of their visits is whole)."""
    patient = claims[S.PATIENT_ID]
    return np.flatnonzero(patient.isin(patient.iloc[rows]).to_numpy(bool))


def _reference(model):
    """The reference the model's rules use (the shipped one when it has none)."""
    return model.reference if model.reference is not None else load_reference()


def _rescore_claims(model, claims: pd.DataFrame, local: dict, as_of, config) -> tuple:
    """Apply ``local`` edits (row of ``claims`` -> rule ids), re-score; same as-of.

    ``claims`` holds every line of the patients concerned. Returns
    ``(applied, after)``: the edits applied (keyed by row of ``claims``) and
    the re-scored lines (the rows of ``claims``, in order), or ``({}, None)``
    when no edit changes a line.
    """
    fixed, applied = _apply(claims, local, _reference(model))
    if not applied:
        return {}, None
    # p does not depend on the reasons: skip the explain step
    quiet = dataclasses.replace(config, explain="none", max_model_reasons=0)
    after = score_batch(model, fixed, config=quiet, as_of=as_of)
    if len(after.scored) != len(claims):  # pragma: no cover - a valid line stays valid
        raise AssertionError("a fixed line failed validation")
    return applied, after


def _rescore(model, result, edits, config) -> tuple:
    """Re-score the patients of the edited rows with their edits; same as-of.

    Returns ``(subset, applied, after)``: the rows re-scored (positions in
    ``result``), the edits applied (keyed by position in ``result``) and the
    re-scored batch, or ``None`` when nothing is edited.
    """
    edited = np.asarray(sorted(i for i, r in edits.items() if r), np.int64)
    if not len(edited):
        return np.zeros(0, np.int64), {}, None
    subset = _patient_rows(result.claims, edited)
    local = {int(np.searchsorted(subset, i)): edits[i] for i in edited}
    claims = result.claims.iloc[subset].reset_index(drop=True)
    applied, after = _rescore_claims(model, claims, local, result.as_of, config)
    return subset, {int(subset[j]): v for j, v in applied.items()}, after


def fix_values(model, result: BatchResult, lines=None, *, config=None) -> pd.DataFrame:
    """Value the fixes of ``lines`` of a scored batch (:data:`FIX_COLUMNS`).

    Parameters
    ----------
    model : ptdenial.model.DenialRiskModel
        The model that scored ``result``.
    result : BatchResult
        :func:`~ptdenial.scoring.score_batch` output; its ``as_of`` is used
        again, so both scores read the same history snapshot.
    lines : array-like of int, optional
        Positions (rows of ``result.scored``) to value; default every line.
    config : ScoringConfig, optional

    Returns
    -------
    pandas.DataFrame
        One row per line of ``lines`` with a rule-hit fix, in ``lines``
        order (see :func:`rescore_fixes`).
    """
    from ptdenial.config import ScoringConfig

    config = config if config is not None else ScoringConfig()
    n = len(result.scored)
    lines = np.arange(n) if lines is None else np.asarray(lines, np.int64)
    edits = line_edits(result.hits, lines, n)
    subset, applied, after = _rescore(model, result, edits, config)
    rows = np.asarray([int(i) for i in lines if int(i) in edits], np.int64)
    p1, pay1 = np.full(len(rows), np.nan), np.full(len(rows), np.nan)
    if after is not None:
        # ``after`` holds the rows ``subset`` of ``result``, in that order
        j = np.searchsorted(subset, rows).clip(0, max(len(subset) - 1, 0))
        p1 = _effective_p(after)[j]
        pay1 = after.context["expected_payment"].to_numpy(float)[j]
    return _value(
        result.claims.iloc[rows],
        _effective_p(result)[rows],
        result.context["expected_payment"].to_numpy(float)[rows],
        [applied.get(int(i)) for i in rows],
        (p1, pay1),
        _reference(model),
    )


def line_edits(hits: pd.DataFrame, lines, n: int) -> dict:
    """Row -> claim-edit rule ids, for the rows of ``lines`` with a rule-hit fix.

    ``hits`` has a ``pos`` column (the row of each hit among ``n`` rows).
    A row with a fix that is not a claim edit maps to an empty set.
    """
    wanted = np.zeros(n, dtype=bool)
    wanted[np.asarray(lines, np.int64)] = True
    if len(hits):
        hits = hits[wanted[hits["pos"].to_numpy(np.int64)]]
    return _edits(hits)


def value_carried_fixes(model, lines: pd.DataFrame, patients, *, as_of, config):
    """:data:`FIX_COLUMNS` of ``lines`` whose patients' lines were carried here.

    The worklist pool values its final lines once, at the end of a run,
    instead of every batch's candidates: ``patients`` is
    ``(claims, edits)``, every line of the patients of the pool's lines with
    a rule-hit fix (canonical claims of one or more batches) and, aligned
    with them, the claim-edit rule ids their batch's candidates had (so the
    edits of one visit are applied together exactly as in the batch).
    ``lines`` holds the pool's lines with a rule-hit fix: ``claim_id``,
    ``line_number``, ``denial_probability``, ``hard_hit`` and
    ``expected_payment``. Patients never influence each other's scores, so
    the values are those :func:`fix_values` gives in the batch.
    """
    claims, rules = patients
    local = {int(i): set(r) for i, r in enumerate(rules) if r}
    applied, after = {}, None
    if local:
        applied, after = _rescore_claims(model, claims, local, as_of, config)
    where = pd.MultiIndex.from_arrays(
        [claims[S.CLAIM_ID].astype(str), claims[S.LINE_NUMBER].to_numpy(np.int64)]
    ).get_indexer(
        pd.MultiIndex.from_arrays(
            [lines[S.CLAIM_ID].astype(str), lines[S.LINE_NUMBER].to_numpy(np.int64)]
        )
    )
    n = len(lines)
    p1, pay1 = np.full(n, np.nan), np.full(n, np.nan)
    if after is not None:
        found = where >= 0
        p1[found] = _effective_p(after)[where[found]]
        pay1[found] = after.context["expected_payment"].to_numpy(float)[where[found]]
    p0 = lines[S.DENIAL_PROBABILITY].to_numpy(float, na_value=np.nan)
    hard = lines["hard_hit"].to_numpy(bool)
    return _value(
        lines,
        np.where(np.isnan(p0), np.where(hard, 1.0, 0.0), p0),
        lines["expected_payment"].to_numpy(float),
        [applied.get(int(i)) if i >= 0 else None for i in where],
        (p1, pay1),
        _reference(model),
    )


def _value(keys, p0, pay0, applied, after, reference) -> pd.DataFrame:
    """The :data:`FIX_COLUMNS` frame of some lines (one per row of ``keys``).

    ``keys`` gives their claim ids and line numbers, ``p0`` and ``pay0``
    their effective probability and expected payment, ``applied`` the edit
    applied (``(text, units)``) or None, ``after`` the re-scored
    ``(p, payment)`` arrays.
    """
    p_after, pay_after = after
    n = len(keys)
    kind = np.full(n, "documentation", dtype=object)
    text = np.full(n, "", dtype=object)
    units = pd.array([pd.NA] * n, dtype="Int64")
    p1, pay1 = np.full(n, np.nan), np.full(n, np.nan)
    cq = float(reference.parameter("cq_payment_factor"))
    for k, edit in enumerate(applied):
        if edit is None:
            continue
        kind[k] = "claim_edit"
        text[k], units[k] = edit
        p1[k] = p_after[k]
        pay1[k] = pay_after[k] * (cq if "CQ" in text[k] else 1.0)
    saved = pay1 * (1 - p1) - pay0 * (1 - p0)
    return pd.DataFrame(
        {
            S.CLAIM_ID: keys[S.CLAIM_ID].astype(str).to_numpy(),
            S.LINE_NUMBER: keys[S.LINE_NUMBER].to_numpy(np.int64),
            "fix_kind": kind,
            "fix_applied": text,
            "units_after_fix": units,
            S.DENIAL_PROBABILITY: p0,
            "p_after_fix": p1,
            "payment_before": pay0,
            "payment_after": np.round(pay1, 2),
            "dollars_saved": np.round(saved, 2),
        },
        columns=list(FIX_COLUMNS),
    )


def rescore_fixes(model, claims: pd.DataFrame, *, as_of, config=None):
    """Apply each line's claim-edit fixes to a copy, re-score it, and value the fix.

    The claims are scored as they are, then a copy of the patients with a
    concrete claim edit (:data:`CLAIM_EDIT_RULES`: add KX, GP or CQ; bill
    the MUE's units or the units the documented minutes support), every
    edit applied, is scored again with the **same** ``as_of``, so both
    scores use the same history snapshot. Fixes of lines of the same visit
    are applied together, as a biller would send them. Fixes that need
    documentation or information (a signed plan of care, a diagnosis, an
    NPI, distinct sessions for 59) are labelled
    ``fix_kind = "documentation"`` and not re-scored as if done.

    ``dollars_saved`` is the expected collected amount after the fix minus
    before, ``payment x (1 - p)`` each (on lines the model does not score,
    ``p`` is 1 with a hard rule hit and 0 without, the worklist's
    convention): a units fix bills fewer units and is paid less, which shows
    (it can be negative); adding CQ lowers the Medicare payment by the
    reference's ``cq_payment_factor``.

    The nightly job (:func:`ptdenial.scoring.score_file`) values the
    worklist's lines the same way, batch by batch (:func:`fix_values`), and
    shows ``p_after_fix``, ``dollars_saved`` and ``fix_kind`` in the
    worklist; this function values every line of a frame.

    Parameters
    ----------
    model : ptdenial.model.DenialRiskModel
    claims : pandas.DataFrame
        Raw or validated claim lines (every line of each patient).
    as_of : date-like
        The scoring night, the same for both scores.
    config : ptdenial.config.ScoringConfig, optional

    Returns
    -------
    pandas.DataFrame
        :data:`FIX_COLUMNS`, one row per scored line with a rule hit that has
        a fix: ``fix_kind`` is ``"claim_edit"`` or ``"documentation"``;
        ``p_after_fix``, ``payment_after`` and ``dollars_saved`` are empty for
        documentation fixes.
    """
    before = score_batch(model, claims, as_of=as_of, config=config)
    return fix_values(model, before, config=config)

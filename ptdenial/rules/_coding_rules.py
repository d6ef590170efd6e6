"""Coding families: NCCI pairs, MUE per date of service, duplicate lines."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ptdenial import schema as S
from ptdenial.reference import Reference
from ptdenial.rules._arrays import (
    _as_str,
    _bool_values,
    _combine,
    _effective_range,
    _float,
    _in_range,
    _int_str,
    _known,
    _memo,
    _Tri,
    _units_str,
)
from ptdenial.rules._context import _Ctx
from ptdenial.rules._family import FamilyResult, _Eval


def ncci_rules(ctx: _Ctx) -> FamilyResult:
    """NCCI_PTP, NCCI_MI0 and MOD59_COMMERCIAL on the column-2 line of a pair."""
    mi0, mi1_pair, col1 = _ncci_pairs(ctx)
    bypass = ctx.mod_bypass != ""
    accepts = ctx.pol["accepts_59_bypass"]
    ptp = _Tri(mi1_pair) & _known(~bypass, ctx.mods_known)
    mod59 = _Tri(mi1_pair & ~accepts) & _known(bypass, ctx.mods_known)

    def text(p):
        c1_code = np.where(col1[p] >= 0, ctx.code_u[np.maximum(col1[p], 0)], "?")
        return None, {
            "code": ctx.code_str(p),
            "col1": _as_str(c1_code),
            "modifier": _as_str(ctx.mod_bypass[p]),
            "payer_id": ctx.text(S.PAYER_ID, p),
        }

    ev = {
        "NCCI_PTP": _Eval(ptp, text),
        "NCCI_MI0": _Eval(_Tri(mi0), text),
        "MOD59_COMMERCIAL": _Eval(mod59, text),
    }
    return ev, {}


def _ncci_pairs(ctx: _Ctx) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per line: in a pair of indicator 0, in a pair of indicator 1, partner code.

    A line is in a pair when its code is the column-2 code of a pair in force
    on its date of service whose column-1 code the same visit bills. The
    partner (``ctx.code_ids`` code, -1 for none) is the first such pair by
    (indicator, table order).
    """
    n = ctx.n
    ncci = _memo(ctx.ref, "ncci", lambda: _ncci_table(ctx.ref))
    code_index = pd.Index(ctx.code_u)
    c1 = code_index.get_indexer(ncci["column1"])
    c2 = code_index.get_indexer(ncci["column2"])
    keep = (c1 >= 0) & (c2 >= 0)
    p_c1, p_c2, p_mi = c1[keep], c2[keep], ncci["mi"][keep]
    p_lo, p_hi = ncci["lo"][keep], ncci["hi"][keep]
    mi0 = np.zeros(n, bool)
    mi1_pair = np.zeros(n, bool)
    col1 = np.full(n, -1, dtype=np.int64)
    if not (len(p_c1) and n):
        return mi0, mi1_pair, col1
    # candidates: each line whose code is a column-2 code, with each pair
    # of that code in table order (what a merge of lines and pairs gives)
    n_codes = len(ctx.code_u)
    by_c2 = np.argsort(p_c2, kind="stable")
    per_code = np.bincount(p_c2, minlength=n_codes)
    code_start = np.cumsum(per_code) - per_code
    per_line = per_code[ctx.code_ids]
    lines = np.flatnonzero(per_line)
    reps = per_line[lines]
    p = np.repeat(lines, reps)
    within = np.arange(len(p)) - np.repeat(np.cumsum(reps) - reps, reps)
    pair = by_c2[code_start[ctx.code_ids[p]] + within]
    c1_cand, mi_cand = p_c1[pair], p_mi[pair]
    in_force = _in_range(ctx.dos[p], p_lo[pair], p_hi[pair])
    present = _visit_has_code(ctx, ctx.visit[p], c1_cand)
    sel = in_force & present
    p, c1_cand, mi_cand = p[sel], c1_cand[sel], mi_cand[sel]
    if len(p):
        mi0[p[mi_cand == 0]] = True
        mi1_pair[p[mi_cand == 1]] = True
        # one partner per line for the text: the first pair by (mi, table
        # order); lexsort is stable and puts a missing mi last
        order = np.lexsort((mi_cand, p))
        p_sorted = p[order]
        first = np.ones(len(p_sorted), bool)
        first[1:] = p_sorted[1:] != p_sorted[:-1]
        col1[p_sorted[first]] = c1_cand[order][first]
    return mi0, mi1_pair, col1


def _visit_has_code(ctx: _Ctx, visit: np.ndarray, code: np.ndarray) -> np.ndarray:
    """Whether each ``visit`` bills ``code`` (codes as ``ctx.code_ids``)."""
    n_codes = len(ctx.code_u)
    if ctx.n_visits * n_codes <= 1 << 25:
        table = np.zeros(ctx.n_visits * n_codes, dtype=bool)
        table[ctx.visit * n_codes + ctx.code_ids] = True
        return table[visit * n_codes + code]
    # too many visits x codes for a table: one boolean per visit and code
    present = np.zeros(len(visit), bool)
    for c in np.unique(code):
        in_visit = np.zeros(ctx.n_visits, bool)
        in_visit[ctx.visit[ctx.code_ids == c]] = True
        here = code == c
        present[here] = in_visit[visit[here]]
    return present


def mue_rules(ctx: _Ctx) -> FamilyResult:
    """MUE: units of the code on the date of service above its MUE value."""
    n = ctx.n
    mue = _memo(ctx.ref, "mue", lambda: _mue_table(ctx.ref))
    mue_pos = (
        mue["index"].get_indexer(ctx.code_u)[ctx.code_ids]
        if n and len(mue["index"])
        else np.full(n, -1)
    )
    has_mue = mue_pos >= 0
    at = np.maximum(mue_pos, 0)
    mue_units = (
        np.where(has_mue, mue["units"][at], np.nan)
        if len(mue["index"])
        else np.full(n, np.nan)
    )
    mue_ver = (
        np.where(has_mue, mue["verified"][at], False)
        if len(mue["index"])
        else (np.zeros(n, bool))
    )
    mue_in = (
        has_mue & _in_range(ctx.dos, mue["lo"][at], mue["hi"][at])
        if len(mue["index"])
        else np.zeros(n, bool)
    )
    over_mue = ctx.units_vc[ctx.vc] - mue_units
    ev = _Eval(
        _Tri(has_mue) & _known(over_mue > 0, mue_in),
        lambda p: (
            None,
            {
                "units": _units_str(ctx.units_vc[ctx.vc[p]]),
                "code": ctx.code_str(p),
                "mue": _units_str(mue_units[p]),
                "mue_n": _int_str(mue_units[p]),
                "verified": _as_str(np.where(mue_ver[p], "true", "false")),
            },
        ),
        reason="date of service outside the MUE row's effective dates"
        if (has_mue & ~mue_in).any()
        else "",
    )
    return {"MUE": ev}, {"units_over_mue": np.where(mue_in, over_mue, np.nan)}


def duplicate_rules(ctx: _Ctx) -> FamilyResult:
    """DUPLICATE: a line repeating an earlier one; the text names the original."""
    dup, orig = _duplicates(ctx)
    ev = _Eval(
        _Tri(dup),
        lambda p: (
            None,
            {
                "orig_claim": ctx.text(S.CLAIM_ID, orig[p]),
                "orig_line": ctx.text(S.LINE_NUMBER, orig[p]),
            },
        ),
    )
    return {"DUPLICATE": ev}, {}


def _duplicates(ctx: _Ctx) -> tuple[np.ndarray, np.ndarray]:
    """Lines repeating an earlier line (patient, date, code, modifiers, units...)."""
    n = ctx.n
    dup = np.zeros(n, bool)
    orig = np.arange(n)
    if n == 0:
        return dup, orig
    # patient, provider and date are the visit, the code within it ctx.vc: only
    # codes billed on more than one line of a visit can repeat a line
    lines_vc = np.bincount(ctx.vc, minlength=ctx.n_vc)
    cand = np.flatnonzero(lines_vc[ctx.vc] > 1)
    if not len(cand):
        return dup, orig
    units = np.clip(ctx.units[cand], 0, 1023).astype(np.int64)
    parts = [ctx.vc[cand], units]
    mods = ctx.list_codes(S.MODIFIERS)
    if mods is not None:
        m_codes, m_u = mods
        as_set = [tuple(sorted(t)) if isinstance(t, tuple) else () for t in m_u]
        parts.append(pd.factorize(pd.Series(as_set, dtype=object))[0][m_codes[cand]])
    key = _combine(*parts)
    counts = np.bincount(key)
    keep = counts[key] > 1
    multi = cand[keep]
    key = key[keep]
    if not len(multi):
        return dup, orig
    sub = ctx.dates(S.SUBMISSION_DATE)[multi]
    frame = pd.DataFrame(
        {
            "key": key,
            "sub": np.nan_to_num(sub, nan=np.inf),
            "claim": ctx.claims[S.CLAIM_ID].iloc[multi].astype(str).to_numpy(),
            "line": _float(ctx.claims[S.LINE_NUMBER])[multi],
            "pos": multi,
        }
    ).sort_values(["key", "sub", "claim", "line"], kind="stable")
    first_pos = frame.groupby("key", sort=False)["pos"].transform("first").to_numpy()
    is_first = frame["pos"].to_numpy() == first_pos
    later = frame["pos"].to_numpy()[~is_first]
    dup[later] = True
    orig[later] = first_pos[~is_first]
    return dup, orig


def _mue_table(ref: Reference) -> dict:
    mue = ref.mue
    lo, hi = _effective_range(mue)
    return {
        "index": pd.Index(mue["cpt_code"].astype(str).str.strip().str.upper()),
        "units": _float(mue["mue_units"]),
        "verified": _bool_values(mue, "verified", False),
        "lo": lo,
        "hi": hi,
    }


def _ncci_table(ref: Reference) -> dict:
    ncci = ref.ncci_ptp
    lo, hi = _effective_range(ncci)
    return {
        "column1": ncci["column1"].astype(str).str.strip().str.upper().to_numpy(),
        "column2": ncci["column2"].astype(str).str.strip().str.upper().to_numpy(),
        "mi": _float(ncci["modifier_indicator"]),
        "lo": lo,
        "hi": hi,
    }

"""Coding families: NCCI pairs, MUE, codes a payer does not pay, duplicates."""

from __future__ import annotations

from typing import NamedTuple

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
    _verified_str,
)
from ptdenial.rules._context import _Ctx, _therapy_table
from ptdenial.rules._family import FamilyResult, _Eval


def ncci_rules(ctx: _Ctx) -> FamilyResult:
    """NCCI_PTP, NCCI_MI0 and MOD59_COMMERCIAL on the column-2 line of a pair.

    Pairs are looked for among the patient's services on the date of service,
    across rendering providers and disciplines (a PT's 97140 and an OT's
    97530 the same day meet the 97140/97530 edit; Errata s3).
    """
    pairs = _ncci_pairs(ctx)
    bypass = ctx.mod_bypass != ""
    accepts = ctx.pol["accepts_59_bypass"]
    ptp = _Tri(pairs.mi1) & _known(~bypass, ctx.mods_known)
    mod59 = _Tri(pairs.mi1 & ~accepts) & _known(bypass, ctx.mods_known)
    misplaced = _partner_has_bypass(ctx, pairs.col1, bypass)

    def text(p):
        c1 = pairs.col1[p]
        c1_code = np.where(c1 >= 0, ctx.code_u[np.maximum(c1, 0)], "?")
        on_col1 = np.where(
            misplaced[p],
            "; the modifier is on " + c1_code.astype(str) + ", the column-1 code, "
            "where it does not bypass the edit",
            "",
        )
        return None, {
            "misplaced": _as_str(on_col1),
            "code": ctx.code_str(p),
            "col1": _as_str(c1_code),
            "modifier": _as_str(ctx.mod_bypass[p]),
            "payer_id": ctx.text(S.PAYER_ID, p),
            "basis": _as_str(pairs.basis[p]),
            "provider": _as_str(
                np.where(pairs.other_provider[p], " (another clinician's line)", "")
            ),
        }

    ev = {
        "NCCI_PTP": _Eval(ptp, text, unverified=~pairs.verified),
        "NCCI_MI0": _Eval(_Tri(pairs.mi0), text, unverified=~pairs.verified),
        "MOD59_COMMERCIAL": _Eval(mod59, text),
    }
    return ev, {}


class _Pairs(NamedTuple):
    mi0: np.ndarray  # per line: column 2 of a pair with modifier indicator 0
    mi1: np.ndarray  # ... of a pair with modifier indicator 1
    col1: np.ndarray  # partner code (ctx.code_ids code, -1 for none)
    verified: np.ndarray  # the partner pair's row is verified
    basis: np.ndarray  # where the pair comes from (text)
    other_provider: np.ndarray  # the column-1 code was billed by someone else


def _ncci_pairs(ctx: _Ctx) -> _Pairs:
    """Per line: whether it is column 2 of a pair in force, and the pair.

    A line is in a pair when its code is the column-2 code of a pair in force
    on its date of service whose column-1 code the patient was billed on the
    same date. The partner is the first such pair by (indicator, verified
    rows first, table order).
    """
    n = ctx.n
    ncci = _memo(ctx.ref, "ncci", lambda: _ncci_table(ctx.ref))
    code_index = pd.Index(ctx.code_u)
    c1 = code_index.get_indexer(ncci["column1"])
    c2 = code_index.get_indexer(ncci["column2"])
    # pairs of two codes the input bills, in force on some date of service
    if n and not np.isnan(ctx.dos).all():
        first, last = np.nanmin(ctx.dos), np.nanmax(ctx.dos)
        overlaps = (np.isnan(ncci["lo"]) | (ncci["lo"] <= last)) & (
            np.isnan(ncci["hi"]) | (ncci["hi"] >= first)
        )
    else:
        overlaps = np.ones(len(c1), bool)
    keep = np.flatnonzero((c1 >= 0) & (c2 >= 0) & overlaps)
    p_c1, p_c2, p_mi = c1[keep], c2[keep], ncci["mi"][keep]
    p_lo, p_hi = ncci["lo"][keep], ncci["hi"][keep]
    mi0 = np.zeros(n, bool)
    mi1 = np.zeros(n, bool)
    col1 = np.full(n, -1, dtype=np.int64)
    row = np.full(n, -1, dtype=np.int64)
    if len(p_c1) and n:
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
        present = _group_has_code(ctx, ctx.day, ctx.n_days, ctx.day[p], c1_cand)
        sel = in_force & present
        p, c1_cand, mi_cand, pair = p[sel], c1_cand[sel], mi_cand[sel], pair[sel]
        if len(p):
            mi0[p[mi_cand == 0]] = True
            mi1[p[mi_cand == 1]] = True
            # one partner per line for the text: the first pair by (mi,
            # verified first, table order); lexsort is stable and puts a
            # missing mi last
            unver = ~ncci["verified"][keep[pair]]
            order = np.lexsort((unver, mi_cand, p))
            p_sorted = p[order]
            first = np.ones(len(p_sorted), bool)
            first[1:] = p_sorted[1:] != p_sorted[:-1]
            col1[p_sorted[first]] = c1_cand[order][first]
            row[p_sorted[first]] = keep[pair[order][first]]
    at = np.maximum(row, 0)
    has = row >= 0
    verified = np.where(has, ncci["verified"][at], True) if n else np.zeros(0, bool)
    basis = np.where(has, ncci["basis"][at], "") if n else np.zeros(0, dtype=object)
    other = _other_provider(ctx, col1) if n else np.zeros(0, bool)
    return _Pairs(mi0, mi1, col1, verified, basis, other)


def _other_provider(ctx: _Ctx, col1: np.ndarray) -> np.ndarray:
    """Lines whose partner code was billed that day only by another clinician."""
    has = col1 >= 0
    out = np.zeros(ctx.n, bool)
    if has.any():
        own = _group_has_code(ctx, ctx.visit, ctx.n_visits, ctx.visit[has], col1[has])
        out[has] = ~own
    return out


def _partner_has_bypass(ctx: _Ctx, col1: np.ndarray, bypass: np.ndarray) -> np.ndarray:
    """Lines whose partner code carries a 59/X modifier on a line of that day."""
    out = np.zeros(ctx.n, bool)
    has = col1 >= 0
    if has.any() and bypass.any():
        n_codes = len(ctx.code_u)
        keys = np.unique(ctx.day[bypass] * n_codes + ctx.code_ids[bypass])
        out[has] = np.isin(ctx.day[has] * n_codes + col1[has], keys)
    return out


def _group_has_code(
    ctx: _Ctx, group: np.ndarray, n_groups: int, which: np.ndarray, code: np.ndarray
) -> np.ndarray:
    """Whether each group in ``which`` bills ``code`` (codes as ``ctx.code_ids``)."""
    n_codes = len(ctx.code_u)
    if n_groups * n_codes <= 1 << 25:
        table = np.zeros(n_groups * n_codes, dtype=bool)
        table[group * n_codes + ctx.code_ids] = True
        return table[which * n_codes + code]
    # too many groups x codes for a table: one boolean per group and code
    present = np.zeros(len(which), bool)
    for c in np.unique(code):
        in_group = np.zeros(n_groups, bool)
        in_group[group[ctx.code_ids == c]] = True
        here = code == c
        present[here] = in_group[which[here]]
    return present


def mue_rules(ctx: _Ctx) -> FamilyResult:
    """MUE: units of the code above its MUE, per line or per date of service.

    The MUE adjudication indicator (MAI) decides: 1 is a claim-line edit
    (each line's units); 2 and 3 are date-of-service edits (the patient's
    units of the code that day, across lines and clinicians). A row without
    an MAI is treated as a date-of-service edit (MAI 3 is typical for
    therapy codes) and the text says so.
    """
    n = ctx.n
    mue = _memo(ctx.ref, "mue", lambda: _mue_table(ctx.ref))
    if not (n and len(mue["index"])):
        nan = np.full(n, np.nan)
        return {"MUE": _Eval(_Tri(np.zeros(n, bool)))}, {"units_over_mue": nan}
    mue_pos = mue["index"].get_indexer(ctx.code_u)[ctx.code_ids]
    has_mue = mue_pos >= 0
    at = np.maximum(mue_pos, 0)
    mue_units = np.where(has_mue, mue["units"][at], np.nan)
    mue_ver = np.where(has_mue, mue["verified"][at], False)
    mai = np.where(has_mue, mue["mai"][at], "")
    mue_in = has_mue & _in_range(ctx.dos, mue["lo"][at], mue["hi"][at])
    per_line = mai == "1"
    # the patient's units of the code that day, on the lines of codes with an MUE
    units = ctx.units.copy()
    sel = np.flatnonzero(has_mue & ~per_line)
    if len(sel):
        group = _combine(ctx.day[sel], ctx.code_ids[sel])
        units[sel] = np.bincount(group, weights=ctx.units[sel])[group]
    over_mue = units - mue_units

    def text(p):
        return np.where(per_line[p], "line", ""), {
            "units": _units_str(units[p]),
            "code": ctx.code_str(p),
            "mue": _units_str(mue_units[p]),
            "mue_n": _int_str(mue_units[p]),
            "mai": _as_str(
                np.where(
                    mai[p] == "",
                    "MAI not known: treated as a date-of-service edit",
                    np.char.add("MAI ", mai[p].astype(str)),
                )
            ),
            "basis": _as_str(mue["basis"][at[p]]),
            "verified": _verified_str(mue_ver[p]),
        }

    ev = _Eval(
        _Tri(has_mue) & _known(over_mue > 0, mue_in),
        text,
        reason="date of service outside the MUE row's effective dates"
        if (has_mue & ~mue_in).any()
        else "",
        unverified=~mue_ver,
    )
    return {"MUE": ev}, {"units_over_mue": np.where(mue_in, over_mue, np.nan)}


def payer_code_rules(ctx: _Ctx) -> FamilyResult:
    """CODE_NOT_PAYABLE: a code the payer class does not pay (97014 to Medicare)."""
    tc = _memo(ctx.ref, "therapy", lambda: _therapy_table(ctx.ref))
    cls_codes, cls_u = ctx.codes(S.PAYER_CLASS)
    cls_text = [str(c).strip().lower() for c in cls_u]
    row = ctx.code_row
    # per (code, payer class): the class is in the code's not_paid_by list
    table = np.zeros((len(ctx.code_u), len(cls_text)), bool)
    instead = np.full(len(ctx.code_u), "", dtype=object)
    for i, r in enumerate(row):
        if r >= 0 and tc["not_paid_by"][r]:
            table[i] = [c in tc["not_paid_by"][r] for c in cls_text]
            instead[i] = tc["use_instead"][r]
    fire = table[ctx.code_ids, cls_codes] if ctx.n else np.zeros(0, bool)
    ev = _Eval(
        _Tri(fire),
        lambda p: (
            np.where(instead[ctx.code_ids[p]] == "", "none", ""),
            {
                "code": ctx.code_str(p),
                "payer_class": ctx.text(S.PAYER_CLASS, p),
                "instead": _as_str(instead[ctx.code_ids[p]]),
            },
        ),
    )
    return {"CODE_NOT_PAYABLE": ev}, {}


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


def _basis(frame: pd.DataFrame, version_column: str, verified: np.ndarray):
    """Per row, the words hits quote: "CMS file <version>", "built-in row,
    verified" or "built-in row, not verified" (the row's source is on the
    rules reference page, not in a biller's reason)."""
    version = (
        frame[version_column].astype("string").fillna("").str.strip()
        if version_column in frame.columns
        else pd.Series("", index=frame.index, dtype="string")
    )
    out = np.where(
        version != "",
        "CMS file " + version,
        np.where(
            verified,
            "built-in row, verified",
            "built-in row, not verified",
        ),
    )
    return np.asarray(out, dtype=object)


def _mue_table(ref: Reference) -> dict:
    mue = ref.mue
    lo, hi = _effective_range(mue)
    verified = _bool_values(mue, "verified", False)
    mai = (
        mue["mai"].astype("string").fillna("").str.strip().str.slice(0, 1)
        if "mai" in mue.columns
        else pd.Series("", index=mue.index)
    )
    return {
        "index": pd.Index(mue["cpt_code"].astype(str).str.strip().str.upper()),
        "units": _float(mue["mue_units"]),
        "mai": mai.to_numpy(dtype=object),
        "verified": verified,
        "basis": _basis(mue, "mue_version", verified),
        "lo": lo,
        "hi": hi,
    }


def _ncci_table(ref: Reference) -> dict:
    ncci = ref.ncci_ptp
    lo, hi = _effective_range(ncci)
    verified = _bool_values(ncci, "verified", False)
    return {
        "column1": ncci["column1"].astype(str).str.strip().str.upper().to_numpy(),
        "column2": ncci["column2"].astype(str).str.strip().str.upper().to_numpy(),
        "mi": _float(ncci["modifier_indicator"]),
        "verified": verified,
        "basis": _basis(ncci, "ncci_version", verified),
        "lo": lo,
        "hi": hi,
    }

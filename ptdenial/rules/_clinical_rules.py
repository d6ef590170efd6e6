"""Clinical families: diagnosis on the line, documentation content of 97112."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ptdenial import schema as S
from ptdenial.reference import Reference
from ptdenial.reference._icd10 import dx_validity
from ptdenial.rules._arrays import (
    _as_str,
    _bool_values,
    _combine,
    _Field,
    _first_positions,
    _known,
    _list_flags,
    _memo,
    _Tri,
    _verified_str,
)
from ptdenial.rules._context import _Ctx, _therapy_table
from ptdenial.rules._family import FamilyResult, _Eval

#: Deficits that tie a non-neurological diagnosis to 97112 (S43).
_DX_TIE_DEFICITS = frozenset({"BALANCE", "PROPRIOCEPTION"})


class _Deficits(NamedTuple):
    any: np.ndarray  # some deficit documented
    tie: np.ndarray  # balance or proprioception documented
    known: np.ndarray  # the deficits column is present


def _deficits(ctx: _Ctx) -> _Deficits:
    """Documented deficits per line, computed once per call (two families read it)."""

    def build():
        n = ctx.n
        flags = _list_flags(
            ctx.list_codes(S.DEFICITS_DOCUMENTED),
            n,
            {
                "any": lambda t: len(t) > 0,
                # a non-neurological diagnosis must be tied to balance or
                # proprioception (reference s1.1, S43)
                "tie": lambda t: any(d.upper() in _DX_TIE_DEFICITS for d in t),
            },
        )
        return _Deficits(
            flags["any"].astype(bool) if flags else np.zeros(n, bool),
            flags["tie"].astype(bool) if flags else np.zeros(n, bool),
            np.full(n, flags is not None),
        )

    return ctx.shared("deficits", build)


def _dx_support_of(ctx: _Ctx, dx_u) -> tuple[np.ndarray, np.ndarray]:
    """Per distinct diagnosis list: its support for 97112, over every code.

    Returns ``(state, text)``: state 0 = a code supports 97112 outright, 1 =
    a code supports it with a documented deficit (none outright), 2 = no
    code is on the list, 3 = no code supports it and one is on the
    not-supported list; text lists the codes. Each code is matched once
    (longest prefix of ``dx_support.csv``).
    """
    ds = _memo(ctx.ref, "dx", lambda: _dx_table(ctx.ref))
    prefixes = ds["prefixes"]
    match_of: dict[str, int] = {}

    def match(code: str) -> int:
        if code not in match_of:
            bare = code.replace(".", "")
            match_of[code] = next(
                (j for j in ds["by_length"] if bare.startswith(prefixes[j])), -1
            )
        return match_of[code]

    state = np.zeros(len(dx_u), dtype=np.int64)
    text = np.full(len(dx_u), "", dtype=object)
    for i, codes in enumerate(dx_u):
        codes = codes if isinstance(codes, tuple) else ()
        rows = [match(c) for c in codes]
        if any(r >= 0 and ds["supports"][r] and not ds["needs_deficit"][r]
               for r in rows):  # fmt: skip
            state[i] = 0
        elif any(r >= 0 and ds["supports"][r] for r in rows):
            state[i] = 1
        elif any(r >= 0 for r in rows):
            state[i] = 3
        else:
            state[i] = 2
        text[i] = ", ".join(codes)
    return state, text


def diagnosis_rules(ctx: _Ctx) -> FamilyResult:
    """DX_MISSING (no valid diagnosis) and DX_SUPPORT (none supports 97112).

    DX_MISSING fires when the line points to no diagnosis, or to one that is
    not a billable ICD-10-CM code on the date of service (a category header
    such as R26.8, a code that became a header such as G35 from 2025-10-01,
    or no code at all). Dates outside the ICD-10-CM releases the tables
    cover are not evaluated for validity. DX_SUPPORT (97112 lines) looks at
    every pointed code: it passes when one of them supports 97112.
    """
    dx_codes, dx_u = ctx.list_codes(S.DIAGNOSIS_CODES)
    no_dx_u = np.array([not (isinstance(u, tuple) and len(u)) for u in dx_u])
    no_dx = no_dx_u[dx_codes] if len(dx_u) else np.zeros(ctx.n, bool)
    valid = _dx_valid(ctx, dx_codes, dx_u)
    state_u, codes_u = _dx_support_of(ctx, dx_u)
    state = state_u[dx_codes] if len(dx_u) else np.zeros(ctx.n, np.int64)
    deficits = _deficits(ctx)
    ds = _memo(ctx.ref, "dx", lambda: _dx_table(ctx.ref))
    list_verified = bool(ds["verified"].all()) if len(ds["verified"]) else False

    def support_text(p):
        variant = np.select(
            [state[p] == 3, state[p] == 1], ["denied", "needs_deficit"], ""
        )
        return variant, {
            "dx": _Field(dx_codes[p], "coded", codes_u),
            "verified": _verified_str(np.full(len(p), list_verified)),
        }

    ev = {
        "DX_MISSING": _Eval(
            _Tri(no_dx) | valid.invalid,
            lambda p: (
                np.where(no_dx[p], "", "invalid"),
                {
                    "why": _Field(valid.combo[p], "coded", valid.why),
                    "fix_hint": _Field(valid.combo[p], "coded", valid.hint),
                },
            ),
            reason=valid.reason,
        ),
        "DX_SUPPORT": _Eval(
            _Tri(ctx.is_target & ~no_dx)
            & (
                _Tri(state >= 2)
                | (_Tri(state == 1) & _known(~deficits.tie, deficits.known))
            ),
            support_text,
        ),
    }
    return ev, {}


class _Validity(NamedTuple):
    invalid: _Tri  # per line: points to a code not billable on the DOS
    combo: np.ndarray  # per line: id of its (diagnosis list, era)
    why: np.ndarray  # per combo: what is wrong (detail text)
    hint: np.ndarray  # per combo: the fix
    reason: str  # why some lines were not evaluated


def _dx_valid(ctx: _Ctx, dx_codes: np.ndarray, dx_u) -> _Validity:
    """Billable status of every pointed code on the line's date of service.

    Days are cut into eras where no code's status can change (the code set's
    window and the change dates); each distinct (list, era) is judged once.
    """
    n = ctx.n
    validity = _memo(ctx.ref, "dx_validity", lambda: dx_validity(
        ctx.ref.icd10cm_changes))  # fmt: skip
    cuts = {validity.known_from, validity.known_to + 1}
    for changes in validity.history.values():
        cuts.update(when for when, _, _ in changes)
    cuts = np.array(sorted(c for c in cuts if np.isfinite(c)), dtype=float)
    dos = np.where(np.isnan(ctx.dos), -np.inf, ctx.dos)
    era = np.searchsorted(cuts, dos, side="right") if n else np.zeros(0, int)
    # one id per (diagnosis list, era); ids need not be dense
    n_eras = len(cuts) + 1
    combo = dx_codes * n_eras + era
    size = len(dx_u) * n_eras
    present = np.zeros(size, bool)
    present[combo] = True
    state = np.zeros(size, dtype=np.int64)  # 0 valid, 1 invalid, -1 unknown
    why = np.full(size, "", dtype=object)
    hint = np.full(size, "", dtype=object)
    judged: dict = {}  # (code, era) -> status: lists share their codes
    for k in np.flatnonzero(present):
        d, e = divmod(int(k), n_eras)
        codes = dx_u[d] if isinstance(dx_u[d], tuple) else ()
        # every day of an era has the same statuses: judge its first day
        day = cuts[e - 1] if e > 0 else -np.inf
        status = []
        for c in codes:
            if (c, e) not in judged:
                judged[c, e] = validity.status(c, day)
            status.append(judged[c, e])
        bad = [c for c, v in zip(codes, status, strict=True) if v == 0]
        if bad:
            state[k] = 1
            why[k], hint[k] = _invalid_text(validity, bad, day)
        elif any(v < 0 for v in status):
            state[k] = -1
    line_state = state[combo] if n else np.zeros(0, np.int64)
    unknown = line_state < 0
    reason = ""
    if unknown.any():
        lo = validity.known_from
        span = (
            f"{np.datetime64(int(lo), 'D')} to "
            f"{np.datetime64(int(validity.known_to), 'D')}"
            if np.isfinite(lo)
            else "none"
        )
        reason = (
            "diagnosis validity: date of service outside the ICD-10-CM releases "
            f"the tables cover ({span}; {validity.note})"
        )
    return _Validity(_known(line_state == 1, ~unknown), combo, why, hint, reason)


def _invalid_text(validity, bad: list[str], day: float) -> tuple[str, str]:
    """Detail and fix fragments naming each non-billable code and why."""
    on = str(np.datetime64(int(day), "D"))
    fy = int(on[:4]) + (1 if on[5:7] >= "10" else 0)
    whys, hints = [], []
    for code in bad:
        variant, extra = validity.describe(code, day)
        if variant == "header":
            whys.append(f"{code} is a category header, not a billable code, in the "
                        f"ICD-10-CM code set of FY{fy}")  # fmt: skip
            hints.append(f"replace {code}: {extra}")
        elif variant == "header_since":
            since, what = extra.split("|", 1)
            whys.append(f"{code} is no longer billable from {since} (it became a "
                        f"header in FY{fy})")  # fmt: skip
            hints.append(f"replace {code}: {what}")
        elif variant == "deleted":
            whys.append(f"{code} was deleted from ICD-10-CM on {extra}")
            hints.append(f"replace {code} with the code that replaced it")
        else:
            whys.append(f"{code} is not an ICD-10-CM code (FY{fy} code set)")
            hints.append(f"correct {code}")
    return "; ".join(whys), "; ".join(hints)


def documentation_rules(ctx: _Ctx) -> FamilyResult:
    """CODE_CONTENT: 97112 documentation without re-education or a deficit."""
    return {"CODE_CONTENT": _code_content(ctx, _deficits(ctx))}, {}


def _code_content(ctx: _Ctx, deficits: _Deficits) -> _Eval:
    n = ctx.n
    tc = _memo(ctx.ref, "therapy", lambda: _therapy_table(ctx.ref))
    target_interventions = tc["target_interventions"]
    other_codes = tc["intervention_codes"]
    inter = ctx.list_codes(S.INTERVENTIONS_DOCUMENTED)
    flags = _list_flags(
        inter,
        n,
        {
            "nmr": lambda t: any(x.upper() in target_interventions for x in t),
            "other": lambda t: ", ".join(
                x.lower().replace("_", " ") for x in t if x.upper() in other_codes
            ),
        },
    )
    if flags is None:
        nmr = np.zeros(n, bool)
        other = np.full(n, "", dtype=object)
        inter_known = np.zeros(n, bool)
    else:
        nmr = flags["nmr"].astype(bool)
        other = flags["other"]
        inter_known = np.ones(n, bool)
    no_nmr = _known(~nmr, inter_known)
    no_def = _known(~deficits.any, deficits.known)
    tri = _Tri(ctx.is_target) & (no_nmr | no_def)

    def text(p):
        variant = np.where(
            inter_known[p] & ~nmr[p] & (other[p] != ""),
            "",
            np.where(inter_known[p] & ~nmr[p], "no_nmr", "no_deficit"),
        )
        return variant, {
            "documented": _as_str(other[p]),
            "suggested": _suggested_codes(ctx, tc, inter, p),
        }

    return _Eval(tri, text)


def _suggested_codes(ctx: _Ctx, tc: dict, inter, p: np.ndarray) -> _Field:
    """The codes that fit what the note documents, as the payer bills them.

    Per documented intervention, its codes in ``therapy_codes.csv`` that the
    payer class pays (``not_paid_by``), without a payer-specific replacement
    code when the payer pays the general one (G0283 replaces 97014 only where
    97014 is not paid), labelled attended/unattended for e-stim: NMES time
    is 97032 when attended one on one and 97014/G0283 when unattended.
    """
    if inter is None or not len(p):
        return _as_str(np.full(len(p), "", dtype=object))
    i_codes, i_u = inter
    c_codes, c_u = ctx.codes(S.PAYER_CLASS)
    key = _combine(i_codes[p], c_codes[p])
    first = _first_positions(key, int(key.max()) + 1)
    row_of = {c: i for i, c in enumerate(tc["codes"])}
    replacement_of = {
        tc["use_instead"][i]: tc["codes"][i]
        for i in range(len(tc["codes"]))
        if tc["use_instead"][i]
    }
    texts = []
    for i in first:
        items = i_u[i_codes[p[i]]]
        items = items if isinstance(items, tuple) else ()
        cls = str(c_u[c_codes[p[i]]]).strip().lower()
        out: dict[str, None] = {}
        for item in items:
            codes = tc["intervention_codes"].get(item.upper(), [])
            paid = [c for c in codes if cls not in tc["not_paid_by"][row_of[c]]]
            for c in paid:
                general = replacement_of.get(c)
                if general in paid:
                    continue  # the payer pays the general code: no replacement
                label = tc["attendance"][row_of[c]]
                out[f"{c} ({label})" if label else c] = None
        texts.append(" or ".join(out))
    return _Field(key, "coded", np.array(texts, dtype=object))


def _dx_table(ref: Reference) -> dict:
    ds = ref.dx_support
    prefixes = ds["code_prefix"].astype(str).str.strip().str.upper()
    prefixes = prefixes.str.replace(".", "", regex=False).to_numpy()
    return {
        "prefixes": prefixes,
        "by_length": np.argsort([-len(p) for p in prefixes], kind="stable"),
        "supports": _bool_values(ds, "supports_97112", True),
        "needs_deficit": _bool_values(ds, "requires_documented_deficit", False),
        "verified": _bool_values(ds, "verified", False),
    }

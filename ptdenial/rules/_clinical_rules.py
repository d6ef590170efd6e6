"""Clinical families: diagnosis on the line, documentation content of 97112."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ptdenial import schema as S
from ptdenial.reference import Reference
from ptdenial.rules._arrays import (
    _as_str,
    _bool_values,
    _known,
    _list_flags,
    _memo,
    _Tri,
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


def _primary_dx_match(ctx: _Ctx, primary_u: np.ndarray) -> np.ndarray:
    """Row of dx_support.csv matching each distinct primary code (-1: none).

    The longest matching prefix wins; each distinct code is matched once.
    """
    ds = _memo(ctx.ref, "dx", lambda: _dx_table(ctx.ref))
    prefixes = ds["prefixes"]
    match_u = np.full(len(primary_u), -1, dtype=np.int64)
    match_of: dict[str, int] = {}  # many diagnosis lists share a primary code
    for i, code in enumerate(primary_u):
        if code:
            if code not in match_of:
                bare = code.replace(".", "")
                match_of[code] = next(
                    (j for j in ds["by_length"] if bare.startswith(prefixes[j])), -1
                )
            match_u[i] = match_of[code]
    return match_u


def diagnosis_rules(ctx: _Ctx) -> FamilyResult:
    """DX_MISSING (no diagnosis) and DX_SUPPORT (primary does not support 97112)."""
    dx_codes, dx_u = ctx.list_codes(S.DIAGNOSIS_CODES)
    primary_u = np.array(
        [u[0] if isinstance(u, tuple) and len(u) else "" for u in dx_u], dtype=object
    )
    ds = _memo(ctx.ref, "dx", lambda: _dx_table(ctx.ref))
    supports, needs_def, ds_ver = ds["supports"], ds["needs_deficit"], ds["verified"]
    match = _primary_dx_match(ctx, primary_u)[dx_codes]
    no_dx = (primary_u == "")[dx_codes]
    matched = match >= 0
    supported_dx = matched & supports[np.maximum(match, 0)]
    denied_dx = matched & ~supports[np.maximum(match, 0)]
    need_def = supported_dx & needs_def[np.maximum(match, 0)]
    deficits = _deficits(ctx)
    list_verified = bool(ds_ver.all()) if len(ds_ver) else False
    dx_text_codes = primary_u[dx_codes]

    def support_text(p):
        variant = np.where(
            denied_dx[p], "denied", np.where(matched[p], "needs_deficit", "")
        )
        verified = np.where(
            matched[p],
            np.where(ds_ver[np.maximum(match[p], 0)], "true", "false"),
            "true" if list_verified else "false",
        )
        return variant, {"dx": _as_str(dx_text_codes[p]), "verified": _as_str(verified)}

    ev = {
        "DX_MISSING": _Eval(_Tri(no_dx), lambda p: (None, {})),
        "DX_SUPPORT": _Eval(
            _Tri(ctx.is_target & ~no_dx)
            & (
                _Tri(~matched | denied_dx)
                | (_Tri(need_def) & _known(~deficits.tie, deficits.known))
            ),
            support_text,
        ),
    }
    return ev, {}


def documentation_rules(ctx: _Ctx) -> FamilyResult:
    """CODE_CONTENT: 97112 documentation without re-education or a deficit."""
    return {"CODE_CONTENT": _code_content(ctx, _deficits(ctx))}, {}


def _code_content(ctx: _Ctx, deficits: _Deficits) -> _Eval:
    n = ctx.n
    tc = _memo(ctx.ref, "therapy", lambda: _therapy_table(ctx.ref))
    target_interventions = tc["target_interventions"]
    other_code = tc["intervention_code"]
    flags = _list_flags(
        ctx.list_codes(S.INTERVENTIONS_DOCUMENTED),
        n,
        {
            "nmr": lambda t: any(x.upper() in target_interventions for x in t),
            "other": lambda t: ", ".join(
                x.lower().replace("_", " ") for x in t if x.upper() in other_code
            ),
            "suggested": lambda t: " or ".join(
                dict.fromkeys(
                    other_code[x.upper()] for x in t if x.upper() in other_code
                )
            ),
        },
    )
    if flags is None:
        nmr = np.zeros(n, bool)
        other = np.full(n, "", dtype=object)
        suggested = np.full(n, "", dtype=object)
        inter_known = np.zeros(n, bool)
    else:
        nmr = flags["nmr"].astype(bool)
        other = flags["other"]
        suggested = flags["suggested"]
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
            "suggested": _as_str(suggested[p]),
        }

    return _Eval(tri, text)


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

"""Payment families: adjustments that are not denials, and "do not flag" rules."""

from __future__ import annotations

import numpy as np

from ptdenial.rules._arrays import _int_str, _Tri
from ptdenial.rules._context import _Ctx
from ptdenial.rules._family import FamilyResult, _Eval


def mppr_rules(ctx: _Ctx) -> FamilyResult:
    """MPPR: the second and later therapy units of the patient's day are reduced.

    Across disciplines and clinicians (PT, OT and SLP units of the same day
    count together, S27).
    """
    always_units_v = np.bincount(
        ctx.day, weights=ctx.units * ctx.always, minlength=ctx.n_days
    )[ctx.day]
    mppr_scope = ctx.pol["mppr_applies"] & ctx.always
    ev = _Eval(
        _Tri(mppr_scope & (always_units_v >= 2)),
        lambda p: (
            None,
            {
                "units": _int_str(always_units_v[p]),
                "reduced": _int_str(always_units_v[p] - 1),
            },
        ),
    )
    gap = np.where(mppr_scope, np.maximum(always_units_v - 1, 0), np.nan)
    return {"MPPR": ev}, {"mppr_reduced_units": gap}


def negative_rules(ctx: _Ctx) -> FamilyResult:
    """EVAL_SAME_DAY_OK: a guarantee (97112 with a same-day evaluation is no
    NCCI pair), so it never fires."""
    return {"EVAL_SAME_DAY_OK": _Eval(_Tri(np.zeros(ctx.n, bool)))}, {}

"""The 8-minute rule family: timed units against documented minutes."""

from __future__ import annotations

import numpy as np

from ptdenial import schema as S
from ptdenial.rules._arrays import _int_str, _known, _Tri, _units_str
from ptdenial.rules._context import _Ctx, _Units, _units
from ptdenial.rules._family import FamilyResult, _Eval


def eight_minute_rules(ctx: _Ctx) -> FamilyResult:
    """UNITS_TOTAL, UNITS_ALLOC, MIN_8, PER_CODE_MIDPOINT and the unit gaps.

    CMS total-time payers are checked on the visit's total and its per-code
    allocation; per-code midpoint payers on each code's own minutes.
    """
    u = _units(ctx)
    cms_t = ctx.cms & ctx.timed
    mid_t = ctx.midpoint & ctx.timed
    gaps = _unit_gaps(ctx, u, cms_t, mid_t)

    total_off = u.billed_total != u.supported_total
    line_off = np.where(u.alloc_known, u.code_units != u.alloc, True)
    mid_known = ~np.isnan(u.midpoint_units)
    mid_off = mid_known & (u.code_minutes >= 8) & (u.code_units != u.midpoint_units)
    cms_fire = total_off & line_off & (u.supported_total >= 1)

    def total_text(p):
        variant = np.where(
            mid_t[p],
            "midpoint",
            np.where(~u.alloc_known[p], "total", np.where(u.alloc[p] == 0, "drop", "")),
        )
        return variant, {
            "billed": _int_str(u.billed_total[p]),
            "minutes": _int_str(u.total_minutes[p]),
            "supported": _units_str(u.supported_total[p]),
            "units": _units_str(np.where(mid_t[p], u.midpoint_units[p], u.alloc[p])),
            "code": ctx.code_str(p),
            "code_billed": _units_str(u.code_units[p]),
            "code_minutes": _int_str(u.code_minutes[p]),
        }

    def alloc_text(p):
        return None, {
            "billed": _units_str(u.code_units[p]),
            "units": _units_str(np.clip(u.code_units[p], u.lo[p], u.hi[p])),
            "code_minutes": _int_str(u.code_minutes[p]),
            "minutes": _int_str(u.total_minutes[p]),
            "supported": _units_str(u.supported_total[p]),
            "code": ctx.code_str(p),
        }

    ev = {
        "UNITS_TOTAL": _Eval(
            (_Tri(cms_t) & _known(cms_fire, u.minutes_known))
            | (_Tri(mid_t) & _known(mid_off, mid_known)),
            total_text,
        ),
        "UNITS_ALLOC": _Eval(
            _Tri(cms_t)
            & _known(
                ~total_off & ((u.code_units < u.lo) | (u.code_units > u.hi)),
                u.alloc_known | (u.minutes_known & total_off),
            ),
            alloc_text,
            reason="per-code minutes missing, or they do not add up to "
            "visit_timed_minutes (timed minutes of codes without a billed line)",
        ),
        "MIN_8": _Eval(
            _Tri(cms_t) & _known(u.total_minutes < 8, u.minutes_known),
            lambda p: (
                None,
                {"code": ctx.code_str(p), "minutes": _int_str(u.total_minutes[p])},
            ),
        ),
        "PER_CODE_MIDPOINT": _Eval(
            _Tri(mid_t) & _known(u.code_minutes < 8, mid_known),
            lambda p: (
                None,
                {
                    "code": ctx.code_str(p),
                    "billed": _units_str(u.code_units[p]),
                    "code_minutes": _int_str(u.code_minutes[p]),
                    "policy": ctx.policy_note("time_rule", "per-code time rule", p),
                },
            ),
            unverified=~ctx.pol_ver["time_rule"],
        ),
    }
    return ev, gaps


def daily_cap_rules(ctx: _Ctx) -> FamilyResult:
    """DAILY_UNIT_CAP: timed units on the date of service above the payer's cap.

    The patient's timed units that day with the payer, across lines and
    clinicians; the cap is the policy matrix's ``daily_timed_unit_cap`` (none
    shipped: UHC's "Maximum Combined Frequency per Day" figure was not
    retrieved; set your payers' caps in payer_policies.csv).
    """
    cap = ctx.pol["daily_timed_unit_cap"]
    units = (
        np.bincount(ctx.day, weights=ctx.units * ctx.timed, minlength=ctx.n_days)[
            ctx.day
        ]
        if ctx.n
        else np.zeros(0)
    )
    over = units - cap
    ev = _Eval(
        _Tri(ctx.timed & ~np.isnan(cap)) & _known(over > 0, ~np.isnan(over)),
        lambda p: (
            None,
            {
                "units": _int_str(units[p]),
                "cap": _int_str(cap[p]),
                "payer_id": ctx.text(S.PAYER_ID, p),
                "over": _int_str(over[p]),
                "policy": ctx.policy_note("daily_timed_unit_cap", "daily cap", p),
            },
        ),
        unverified=~ctx.pol_ver["daily_timed_unit_cap"],
    )
    return {"DAILY_UNIT_CAP": ev}, {}


def _unit_gaps(
    ctx: _Ctx, u: _Units, cms_t: np.ndarray, mid_t: np.ndarray
) -> dict[str, np.ndarray]:
    """Units supported, and billed over supported per line and per visit."""
    n = ctx.n
    over_cms = u.code_units - np.clip(u.code_units, u.lo, u.hi)
    mid_visit_supported = np.bincount(
        ctx.visit,
        weights=np.where(
            mid_t & (ctx.vc_first[ctx.vc] == np.arange(n)),
            np.nan_to_num(u.midpoint_units),
            0.0,
        ),
        minlength=ctx.n_visits,
    )[ctx.visit]
    mid_visit_known = (
        np.bincount(
            ctx.visit,
            weights=mid_t & np.isnan(u.midpoint_units),
            minlength=ctx.n_visits,
        )
        == 0
    )[ctx.visit]
    return {
        "units_supported": np.where(
            cms_t, u.alloc, np.where(mid_t, u.midpoint_units, np.nan)
        ),
        "units_over_supported": np.where(
            cms_t, over_cms, np.where(mid_t, u.code_units - u.midpoint_units, np.nan)
        ),
        "visit_units_over_supported": np.where(
            cms_t,
            u.billed_total - u.supported_total,
            np.where(
                mid_t & mid_visit_known, u.billed_total - mid_visit_supported, np.nan
            ),
        ),
    }

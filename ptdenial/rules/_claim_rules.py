"""Claim-level families: timely filing, referring practitioner."""

from __future__ import annotations

import numpy as np

from ptdenial import schema as S
from ptdenial.rules._arrays import _blank, _date_str, _int_str, _known, _Tri
from ptdenial.rules._context import _Ctx
from ptdenial.rules._family import FamilyResult, _Eval


def timely_filing_rules(ctx: _Ctx) -> FamilyResult:
    """TIMELY: submitted (or, unsent, as of the run date) after the filing limit."""
    n = ctx.n
    filing = ctx.pol["filing_limit_days"]
    sub = ctx.dates(S.SUBMISSION_DATE)
    when = sub.copy()
    if ctx.as_of is not None:
        when = np.where(np.isnan(when), ctx.as_of, when)
    deadline = ctx.dos + filing
    past = when - deadline
    # a planned submission after the deadline can still be sent in time
    can_still = (
        np.zeros(n, bool)
        if ctx.as_of is None
        else (ctx.as_of <= deadline) & ~np.isnan(sub)
    )
    ev = _Eval(
        _Tri(~np.isnan(filing)) & _known(past > 0, ~np.isnan(past)),
        lambda p: (
            np.where(can_still[p], "submit_by", ""),
            {
                "submitted": _date_str(when[p]),
                "days": _int_str(past[p]),
                "deadline": _date_str(deadline[p]),
                "limit": _int_str(filing[p]),
                "payer_id": ctx.text(S.PAYER_ID, p),
                "policy": ctx.policy_note("filing_limit_days", "filing limit", p),
            },
        ),
        unverified=~ctx.pol_ver["filing_limit_days"],
    )
    return {"TIMELY": ev}, {"days_past_filing_limit": past}


def referring_rules(ctx: _Ctx) -> FamilyResult:
    """REFERRING_NPI: no referring practitioner where the payer requires one."""
    n = ctx.n
    if ctx.col(S.REFERRING_PROVIDER_ID):
        no_ref = _blank(ctx.claims[S.REFERRING_PROVIDER_ID])
        ref_known = np.ones(n, bool)
    else:
        no_ref = np.zeros(n, bool)
        ref_known = np.zeros(n, bool)
    ev = _Eval(
        _Tri(ctx.pol["referring_npi_required"] & ctx.always)
        & _known(no_ref, ref_known),
        lambda p: (
            None,
            {
                "payer_class": ctx.text(S.PAYER_CLASS, p),
                "payer_id": ctx.text(S.PAYER_ID, p),
                "policy": ctx.policy_note(
                    "referring_npi_required", "referring NPI required", p
                ),
            },
        ),
        unverified=~ctx.pol_ver["referring_npi_required"],
    )
    return {"REFERRING_NPI": ev}, {}

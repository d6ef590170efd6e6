"""Episode families: plan of care and progress reports, authorization, visit limits."""

from __future__ import annotations

import numpy as np

from ptdenial import schema as S
from ptdenial.rules._arrays import (
    _as_str,
    _blank,
    _combine,
    _date_str,
    _day_number,
    _first_positions,
    _int_str,
    _known,
    _param,
    _sort_order,
    _Tri,
)
from ptdenial.rules._catalogue import VISITS_YTD
from ptdenial.rules._context import _Ctx
from ptdenial.rules._family import FamilyResult, _Eval, _not_evaluated


def plan_of_care_rules(ctx: _Ctx) -> FamilyResult:
    """CERT_30D (initial certification), RECERT_90, PROGRESS_10 and their gaps."""
    ref = ctx.ref
    poc = ctx.pol["poc_rules_apply"] & ctx.always
    start = ctx.dates(S.EPISODE_START_DATE)
    cert = ctx.dates(S.POC_CERTIFIED_DATE)
    cert_days = int(_param(ref, "initial_cert_days", 30))
    due = start + cert_days
    exception_from = _day_number(
        _param(ref, "referral_cert_exception_from", "2025-01-01")
    )
    not_timely = np.isnan(cert) | (cert > due)
    fire30 = (ctx.dos > due) & not_timely
    known30 = ~np.isnan(start) & ctx.col(S.POC_CERTIFIED_DATE)

    def cert_text(p):
        variant = np.where(
            ~np.isnan(cert[p]),
            "late",
            np.where(ctx.dos[p] >= exception_from, "missing_2025", ""),
        )
        return variant, {
            "due": _date_str(due[p]),
            "start": _date_str(start[p]),
            "limit": _int_str(np.full(len(p), cert_days)),
            "days": _int_str(ctx.dos[p] - due[p]),
            "cert": _date_str(cert[p]),
            "late": _int_str(cert[p] - due[p]),
        }

    through = ctx.dates(S.CERT_THROUGH_DATE)
    recert_days = int(_param(ref, "recert_interval_days", 90))
    past_through = ctx.dos - through
    pr_limit = int(_param(ref, "progress_report_treatment_days", 10))
    vspr = ctx.floats(S.VISITS_SINCE_PROGRESS_REPORT)
    ev = {
        "CERT_30D": _Eval(_Tri(poc) & _known(fire30, known30), cert_text),
        "RECERT_90": _Eval(
            _Tri(poc) & _known(past_through > 0, ~np.isnan(through)),
            lambda p: (
                None,
                {
                    "through": _date_str(through[p]),
                    "days": _int_str(past_through[p]),
                    "limit": _int_str(np.full(len(p), recert_days)),
                },
            ),
        ),
        "PROGRESS_10": _Eval(
            _Tri(poc) & _known(vspr > pr_limit, ~np.isnan(vspr)),
            lambda p: (
                None,
                {
                    "visits": _int_str(vspr[p]),
                    "limit": _int_str(np.full(len(p), pr_limit)),
                },
            ),
        ),
    }
    gaps = {
        "days_past_cert_due": np.where(
            poc & known30, np.where(fire30, ctx.dos - due, 0.0), np.nan
        ),
        "days_past_cert_through": np.where(poc, past_through, np.nan),
        "visits_over_progress_limit": np.where(poc, vspr - pr_limit, np.nan),
    }
    return ev, gaps


def authorization_rules(ctx: _Ctx) -> FamilyResult:
    """AUTH_ABSENT (no number where required) and AUTH_EXCEEDED (visits used up)."""
    n = ctx.n
    eval_visit = (
        np.bincount(ctx.visit, weights=ctx.initial_eval, minlength=ctx.n_visits) > 0
    )[ctx.visit]
    if ctx.col(S.PRIOR_AUTH_NUMBER):
        no_auth = _blank(ctx.claims[S.PRIOR_AUTH_NUMBER])
        auth_known = np.ones(n, bool)
    else:
        no_auth = np.zeros(n, bool)
        auth_known = np.zeros(n, bool)
    absent = _Eval(
        _Tri(ctx.pol["auth_required"] & ctx.always & ~eval_visit)
        & _known(no_auth, auth_known),
        lambda p: (
            None,
            {
                "payer_id": ctx.text(S.PAYER_ID, p),
                "payer_class": ctx.text(S.PAYER_CLASS, p),
                "policy": ctx.policy_note("auth_required", "authorization rule", p),
            },
        ),
        unverified=~ctx.pol_ver["auth_required"],
    )
    approved = ctx.floats(S.AUTH_VISITS_APPROVED)
    used = ctx.floats(S.AUTH_VISITS_USED)
    auth_over = used + 1 - approved
    if ctx.col(S.AUTH_VISITS_APPROVED) and ctx.col(S.AUTH_VISITS_USED):
        auth_tri = _Tri(~np.isnan(approved)) & _known(auth_over > 0, ~np.isnan(used))
    else:
        auth_tri = _not_evaluated(n)
    exceeded = _Eval(
        auth_tri,
        lambda p: (
            None,
            {
                "visit": _int_str(used[p] + 1),
                "approved": _int_str(approved[p]),
                "payer_id": ctx.text(S.PAYER_ID, p),
            },
        ),
    )
    return (
        {"AUTH_ABSENT": absent, "AUTH_EXCEEDED": exceeded},
        {"auth_visits_over": auth_over},
    )


def benefit_limit_rules(ctx: _Ctx) -> FamilyResult:
    """BENEFIT_LIMIT: the plan's yearly visit limit reached."""
    limit = ctx.pol["visit_limit"]
    visits_incl, counted = _visits_this_year(ctx)
    over_limit = visits_incl - limit
    ev = _Eval(
        _Tri(~np.isnan(limit) & ctx.always)
        & _known(over_limit > 0, ~np.isnan(visits_incl)),
        lambda p: (
            None,
            {
                "visit": _int_str(visits_incl[p]),
                "year": _int_str(ctx.year[p]),
                "payer_id": ctx.text(S.PAYER_ID, p),
                "limit": _int_str(limit[p]),
                "counted": _as_str(np.full(len(p), counted, dtype=object)),
                "policy": ctx.policy_note("visit_limit", "visit limit", p),
            },
        ),
        unverified=~ctx.pol_ver["visit_limit"],
    )
    gap = np.where(np.isnan(limit), np.nan, over_limit)
    return {"BENEFIT_LIMIT": ev}, {"visits_over_benefit_limit": gap}


def _visits_this_year(ctx: _Ctx) -> tuple[np.ndarray, str]:
    """Visit number of the year with the payer, per patient (this visit included).

    From the optional ``visits_ytd`` column when present. Otherwise counted
    in the input: distinct dates of service of the patient with the payer in
    the calendar year, in the order the payer receives them (submission date,
    then date of service), since a payer applies the limit to the claims it
    has on file.
    """
    n = ctx.n
    if ctx.col(VISITS_YTD):
        before = ctx.floats(VISITS_YTD)
        return before + 1, "from visits_ytd"
    visits = np.full(n, np.nan)
    # only lines of payers with a visit limit need the count
    sub = np.flatnonzero(~np.isnan(ctx.pol["visit_limit"]) & ~np.isnan(ctx.dos))
    if not len(sub):
        return visits, "counted in the input"
    pat = ctx.codes(S.PATIENT_ID)[0][sub]
    pay = ctx.codes(S.PAYER_ID)[0][sub]
    day = ctx.dos[sub].astype(np.int64)
    sent = ctx.dates(S.SUBMISSION_DATE)[sub]
    sent = np.where(np.isnan(sent), day, sent).astype(np.int64)
    group = _combine(pat, pay, ctx.year[sub])
    visit = _combine(group, day)  # one visit per patient, payer and day
    n_visit = int(visit.max()) + 1
    first = _first_positions(visit, n_visit)
    sent_v = np.full(n_visit, np.iinfo(np.int64).max)
    np.minimum.at(sent_v, visit, sent)
    base = min(int(day.min()), int(sent_v.min()))
    order = _sort_order(
        [(group[first], False), (sent_v - base, False), (day[first] - base, False)]
    )
    g_sorted = group[first][order]
    counts = np.bincount(g_sorted)
    starts = np.cumsum(counts) - counts
    rank = np.empty(n_visit, dtype=np.int64)
    rank[order] = np.arange(n_visit) - starts[g_sorted]
    visits[sub] = (rank[visit] + 1).astype(float)
    return visits, "counted in the input"

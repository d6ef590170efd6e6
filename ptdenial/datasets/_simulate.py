"""The simulation driver: the stages in order, then the per-line columns.

One function per stage; each returns a small frozen dataclass that later
stages read. All stages draw from the run's one random stream, so **the order
of the calls below is part of the output**: moving a call (or a draw inside
a stage) changes every claim of every seed.
"""

from __future__ import annotations

import numpy as np

from ptdenial.datasets._assemble import _LineColumns, _Sim
from ptdenial.datasets._billing import (
    _authorization,
    _codes,
    _line_items,
    _money_basis,
)
from ptdenial.datasets._care import (
    _authorization_draws,
    _care_plan,
    _clinical,
    _episodes,
    _patients,
    _plan_status,
    _schedule,
    _visits,
)
from ptdenial.datasets._claims import (
    _documentation,
    _duplicates,
    _modifiers,
    _payer_checks,
    _submission,
)
from ptdenial.datasets._outcomes import (
    _latent_model,
    _Remittance,
    _remittance,
    _Stages,
)
from ptdenial.datasets._params import SyntheticParams
from ptdenial.datasets._run import _Run, _start_run


def _simulate(
    n_patients: int,
    start,
    end,
    *,
    seed: int,
    stream: int,
    params: SyntheticParams,
    ref,
    intercept: float | None,
    id_base: int = 0,
) -> _Sim:
    """Simulate every line of the world from ``start - warmup_days`` to ``end``.

    Returns all generated lines (also the warm-up lines and those not yet
    submitted); callers select what an extraction at some date would hold.
    ``stream`` separates independent draws of patients from the same world;
    ``id_base`` offsets patient, claim and authorization numbers.
    """
    run = _start_run(params, ref, seed=seed, stream=stream, start=start, end=end)
    # patients, episodes, visits
    pats = _patients(run, n_patients)
    eps = _episodes(run, pats)
    sched = _schedule(run, pats, eps)
    plan = _care_plan(run, pats, eps)
    clin = _clinical(run, eps)
    auth_draws = _authorization_draws(run, eps)
    vis = _visits(run, pats, eps, sched)
    status = _plan_status(run, plan, vis)
    # codes, lines, money basis, authorization
    codes = _codes(run, vis, plan, status)
    items = _line_items(vis, codes)
    money = _money_basis(run, pats, vis, items)
    auth = _authorization(run, eps, vis, auth_draws)
    # claim level, modifiers, duplicates
    sub = _submission(run, vis)
    checks = _payer_checks(run, vis, items, money, sub)
    doc = _documentation(run, vis, status, clin, codes, sub)
    mods = _modifiers(run, vis, items, money, checks)
    out = _duplicates(run, vis, items, checks, sub)
    # latent model, remittance
    s = _Stages(
        pats=pats,
        plan=plan,
        clin=clin,
        vis=vis,
        status=status,
        codes=codes,
        items=items,
        money=money,
        auth=auth,
        sub=sub,
        checks=checks,
        doc=doc,
        mods=mods,
        out=out,
    )
    latent = _latent_model(run, s, intercept)
    remit = _remittance(run, s, latent)
    return _Sim(
        columns=_line_columns(run, s, remit, id_base),
        prob=latent.prob,
        cause=latent.cause,
        dos=items.dos[out.src],
        submission=out.submission,
        adjudication=out.adjudication,
        intercept=latent.intercept,
        best_prob=latent.best_prob,
    )


def _line_columns(
    run: _Run, s: _Stages, remit: _Remittance, id_base: int
) -> _LineColumns:
    """Gather each output line's values from the stage records."""
    lo_, ov = s.out.src, s.out.ov
    vis, items, checks, doc, status = s.vis, s.items, s.checks, s.doc, s.status
    vis_ep = vis.ep[ov]
    return _LineColumns(
        world=run.world,
        id_base=id_base,
        dx_names=s.clin.names,
        claim=s.out.claim,
        line_no=items.line_no[lo_],
        pat=vis.pat[ov],
        payer=s.out.payer,
        cls=s.out.cls,
        dos=items.dos[lo_],
        code=items.ci[lo_],
        units=items.units[lo_],
        charge=remit.charge,
        dx1=np.where(checks.dx_missing[ov], -2, s.clin.dx1[vis_ep]),
        dx2=s.clin.dx2[vis_ep],
        dx3=s.clin.dx3[vis_ep],
        prov=vis.prov[ov],
        mods=s.mods.mods[lo_],
        minutes=items.minutes[lo_],
        visit_minutes=s.codes.total_min[ov],
        pos=checks.pos[ov],
        clinic=vis.clinic[ov],
        referrer=np.where(checks.ref_missing[ov], -1, s.plan.referrer[vis_ep]),
        submission=s.out.submission,
        auth=s.auth.has_auth[ov],
        auth_ep=vis_ep,
        approved=s.auth.approved[ov],
        used=s.auth.used[ov],
        episode_start=vis.episode_start[ov],
        visit_number=vis.idx[ov] + 1,
        cert=np.where(doc.cert_known[ov], status.cert_date[ov], np.datetime64("NaT")),
        cert_through=status.cert_through[ov],
        last_pr=status.last_pr[ov],
        since=status.since[ov],
        deficits=doc.deficits[ov],
        interventions=doc.interventions[ov],
        objective=doc.objective[ov],
        note=np.where(doc.note_known[ov], s.sub.note_date[ov], np.datetime64("NaT")),
        ytd=np.where(vis.is_medicare[ov], s.money.ytd[ov], np.nan),
        adjudication=s.out.adjudication,
        allowed=remit.allowed,
        paid=remit.paid,
        adj_codes=remit.adj_codes,
        rem_codes=remit.rem_codes,
        **_signed_documents(run, s) if run.p.late_documents else {},
    )


def _signed_documents(run: _Run, s: _Stages) -> dict:
    """Per output line: when the plan of care and the note were finally signed."""
    ov = s.out.ov
    never = np.datetime64("NaT")
    return {
        "cert_signed": s.status.cert_date[ov],
        "note_signed": np.where(s.sub.unsigned[ov], never, s.sub.note_date[ov]),
    }

"""Stages 8-10 of the simulation: the claim level, modifiers and duplicate claims.

As in every stage module, the random draws happen in the order of the
statements and of the calls in :func:`ptdenial.datasets._simulate._simulate`.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from ptdenial import schema as S
from ptdenial.datasets._arrays import _choice, _group_cumsum, _mapping, _sigmoid
from ptdenial.datasets._billing import _Codes, _LineItems, _Money
from ptdenial.datasets._care import _Clinical, _PlanStatus, _Visits
from ptdenial.datasets._run import _Run
from ptdenial.datasets._vocabulary import (
    _BYPASS_BITS,
    _CI,
    _CONDITIONS,
    _IV,
    _MOD,
    _NMR_INTERVENTIONS,
)


# ---------------------------------------------------------------- claim level
@dataclasses.dataclass(frozen=True)
class _Submission:
    """Per visit: when the note is signed, the claim sent and adjudicated."""

    submission: np.ndarray
    adj_lag: np.ndarray  # days from submission to remittance
    adjudication: np.ndarray
    note_date: np.ndarray  # the daily note is signed
    unsigned: np.ndarray  # the note is never signed


def _submission(run: _Run, vis: _Visits) -> _Submission:
    """Draw note-signing, submission and adjudication dates of each visit."""
    p, world, rng, V, dos = run.p, run.world, run.rng, vis.n, vis.dos
    sub_med = np.asarray(p.submission_lag_median_days, float)[
        vis.clinic % len(p.submission_lag_median_days)
    ]
    lag = np.floor(
        np.exp(np.log(sub_med) + p.submission_lag_sigma * rng.normal(size=V))
    )
    tail = rng.random(V) < p.p_submission_tail
    lag = np.where(tail, rng.integers(*p.submission_tail_days, V), lag).astype(np.int64)
    note_lag = rng.poisson(world.prov_note_lag[vis.prov])
    unsigned = rng.random(V) < p.p_note_unsigned
    note_date = dos + note_lag
    hold = (~unsigned) & (rng.random(V) < p.p_hold_until_signed)
    lag = np.where(hold, np.maximum(lag, note_lag), lag)
    submission = dos + lag
    adj_lag = np.maximum(
        3,
        np.round(
            rng.gamma(
                p.adjudication_lag_shape,
                world.adj_lag[vis.payer] / p.adjudication_lag_shape,
            )
        ),
    ).astype(np.int64)
    return _Submission(submission, adj_lag, submission + adj_lag, note_date, unsigned)


@dataclasses.dataclass(frozen=True)
class _PayerChecks:
    """Per visit: whether a claim is sent, and what the payer checks on it."""

    has_line: np.ndarray  # a claim is sent (visits beyond a limit often are not)
    benefit_limit: np.ndarray  # beyond the plan's visit limit
    dx_missing: np.ndarray  # sent without a diagnosis
    ref_required: np.ndarray  # the payer requires a referring provider
    ref_missing: np.ndarray  # sent without one
    pos: np.ndarray  # place of service
    tele: np.ndarray  # a telehealth visit
    enroll_gap: np.ndarray  # the provider is not yet credentialed with the payer


def _payer_checks(
    run: _Run, vis: _Visits, items: _LineItems, money: _Money, sub: _Submission
) -> _PayerChecks:
    """Draw which visits are billed and what their claims lack."""
    p, world, rng, V = run.p, run.world, run.rng, vis.n
    # Visits the payer has on file this year: earlier billable visits of the
    # patient whose claims were sent no later than this one.
    limit = world.visit_limit[vis.payer]
    pyear_key, pfirst, submission = money.pyear_key, money.pfirst, sub.submission
    visits_ytd = _visits_on_file(items.has_line, pyear_key, pfirst, submission)
    billed_beyond = rng.random(V) < p.p_bill_beyond_visit_limit
    has_line = items.has_line & ((limit < 0) | (visits_ytd < limit) | billed_beyond)
    # what the payer has on file once the self-pay visits are left out
    visits_ytd = _visits_on_file(has_line, pyear_key, pfirst, submission)
    benefit_limit = (limit >= 0) & (visits_ytd >= limit)
    dx_missing = rng.random(V) < p.p_dx_missing
    ref_required = world.referring_required[vis.payer]
    ref_missing = rng.random(V) < np.where(
        ref_required, p.p_referring_missing_required, p.p_referring_missing_other
    )
    pos = world.clinic_pos[vis.clinic]
    home = rng.random(V) < p.p_home_visit
    tele = (~home) & (~vis.is_eval) & (rng.random(V) < p.p_telehealth_visit)
    pos = np.where(home, "12", np.where(tele, "02", pos))
    return _PayerChecks(
        has_line=has_line,
        benefit_limit=benefit_limit,
        dx_missing=dx_missing,
        ref_required=ref_required,
        ref_missing=ref_missing,
        pos=pos,
        tele=tele,
        enroll_gap=_enrollment_gaps(run, vis),
    )


def _enrollment_gaps(run: _Run, vis: _Visits) -> np.ndarray:
    """Visits by a provider not yet credentialed with the payer."""
    world = run.world
    enroll_gap = np.zeros(vis.n, bool)
    for prov_i, payer, first_day, ndays in run.p.enrollment_gaps:
        if payer not in world.payer_id or prov_i >= len(world.prov_id):
            continue
        d0 = np.datetime64(pd.Timestamp(first_day).date(), "D")
        enroll_gap |= (
            (vis.prov == prov_i)
            & (vis.payer == world.payer_id.index(payer))
            & (vis.dos >= d0)
            & (vis.dos < d0 + ndays)
        )
    return enroll_gap


def _visits_on_file(billable, key, first, submission):
    """Earlier billable visits of the same patient-year sent on or before this one.

    Visits are sorted by patient and date within ``key`` groups. Claims are
    nearly always sent in date order; the few sent late (the long-lag tail)
    are not on file yet for the visits whose claims go out before them.
    """
    b = billable.astype(np.int64)
    count = _group_cumsum(b, first, inclusive=False)
    n = len(b)
    # groups end where the next group starts
    last = np.empty(n, dtype=np.int64)
    starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
    ends = np.r_[starts[1:], n]
    last[:] = np.repeat(ends, np.diff(np.r_[starts, n]))
    sub = submission.astype("datetime64[D]").astype(np.int64)
    # a visit j whose claim is sent after a later visit i's claim is not on
    # file for i; only visits sent after the earliest later claim can matter
    big = np.iinfo(np.int64).max
    smin = pd.Series(sub[::-1]).groupby(key[::-1]).cummin().to_numpy()[::-1]
    after = np.r_[smin[1:], big]
    after = np.where(np.arange(n) + 1 < last, after, big)
    late = np.flatnonzero(billable & (sub > after))
    if len(late):
        span = last[late] - late - 1
        j = np.repeat(late, span)
        i = j + 1 + (np.arange(span.sum()) - np.repeat(np.cumsum(span) - span, span))
        hit = sub[j] > sub[i]
        np.subtract.at(count, i[hit], 1)
    return count


@dataclasses.dataclass(frozen=True)
class _Documentation:
    """Per visit: what the note documents and what the payer can see of it."""

    deficits: np.ndarray  # bit masks over _DEFICITS
    objective: np.ndarray  # objective measures documented
    note_known: np.ndarray  # the note is signed when the claim is sent
    cert_known: np.ndarray  # the plan is signed when the claim is sent
    interventions: np.ndarray  # bit masks over _INTERVENTIONS


def _documentation(
    run: _Run,
    vis: _Visits,
    status: _PlanStatus,
    clin: _Clinical,
    codes: _Codes,
    sub: _Submission,
) -> _Documentation:
    """Draw what each visit's note documents and what it is known to hold."""
    p, world, rng, V, q = run.p, run.world, run.rng, vis.n, vis.quality
    doc_def = rng.random(V) < _sigmoid(
        p.deficit_doc_logit[0] + p.deficit_doc_logit[1] * q
    )
    v_def = np.where(doc_def, clin.deficits[vis.ep], 0)
    obj = rng.random(V) < _sigmoid(
        p.objective_doc_logit[0]
        + p.objective_doc_logit[1] * q
        + p.objective_doc_logit[2] * status.pr_day
    )
    note_known = (~sub.unsigned) & (sub.note_date <= sub.submission)
    cert_known = (status.cert_lag >= 0) & (status.cert_date <= sub.submission)
    nmr_probs = np.array([_mapping(p.nmr_intervention_probs)[c] for c in _CONDITIONS])
    nmr_bits = (
        (rng.random((V, 5)) < nmr_probs[vis.cond])
        * np.array([_IV[n] for n in _NMR_INTERVENTIONS])
    ).sum(1)
    nmr_bits = np.where(nmr_bits == 0, _IV["NEUROMUSCULAR_REEDUCATION"], nmr_bits)
    mismatch = rng.random(V) < world.prov_mismatch[vis.prov]
    alt_names, alt_probs = zip(*p.mismatch_interventions, strict=True)
    alt = np.array([_IV[n.upper()] for n in alt_names])[
        _choice(rng, np.asarray(alt_probs, float), V)
    ]
    sel = codes.sel
    v_iv = np.where(sel[:, _CI[S.SCORED_CODE]], np.where(mismatch, alt, nmr_bits), 0)
    for code, name in (
        ("97110", "THERAPEUTIC_EXERCISE"),
        ("97140", "MANUAL_THERAPY"),
        ("97530", "THERAPEUTIC_ACTIVITIES"),
        ("97116", "GAIT_TRAINING"),
        ("97032", "NMES"),
        ("97014", "NMES"),
        ("G0283", "NMES"),
    ):
        v_iv = v_iv | np.where(sel[:, _CI[code]], _IV[name], 0)
    return _Documentation(v_def, obj, note_known, cert_known, v_iv)


# ---------------------------------------------------------------- modifiers
@dataclasses.dataclass(frozen=True)
class _Modifiers:
    """Per line: modifier bit masks and the modifier-driven edits."""

    mods: np.ndarray  # bit masks over _MOD_NAMES
    gp_on: np.ndarray
    cq_on: np.ndarray
    kx_on: np.ndarray  # KX on a line that needs it
    ncci_hit: np.ndarray  # column-2 line of an active NCCI pair, not bypassed


def _modifiers(
    run: _Run, vis: _Visits, items: _LineItems, money: _Money, checks: _PayerChecks
) -> _Modifiers:
    """Draw each line's modifiers (GP, CQ, KX, 95, 59/X) and the NCCI edits."""
    p, world, rng = run.p, run.world, run.rng
    V, L, vi, l_payer = vis.n, items.n, items.vi, items.payer
    kx_due, ytd, kx_thr = money.kx_due, money.ytd, money.kx_thr
    mods = np.zeros(L, dtype=np.int64)
    gp_missing = rng.random(L) < p.p_gp_missing * world.clinic_gp_factor[vis.clinic[vi]]
    gp_on = np.where(
        world.requires_gp[l_payer],
        ~gp_missing,
        rng.random(V)[vi] < p.p_gp_on_other_payers,
    )
    mods |= np.where(gp_on, _MOD["GP"], 0)
    cq_on = money.cq_due & (rng.random(V)[vi] < p.p_cq_attached)
    mods |= np.where(cq_on, _MOD["CQ"], 0)
    kx_on = kx_due[vi] & (rng.random(V)[vi] < p.p_kx_attached)
    kx_early = (
        world.kx_applies[l_payer]
        & ~kx_due[vi]
        & (ytd[vi] > p.kx_early[0] * kx_thr[vi])
        & (rng.random(V)[vi] < p.kx_early[1])
    )
    mods |= np.where(kx_on | kx_early, _MOD["KX"], 0)
    mods |= np.where(checks.tele[vi], _MOD["95"], 0)
    # NCCI pairs active on the date of service: the column-2 line needs 59/X
    by_names, by_probs = zip(*p.bypass_modifier_mix, strict=True)
    bypass_pick = np.array([_MOD[m] for m in by_names])[
        _choice(rng, np.asarray(by_probs, float), L)
    ]
    bypass_draw = rng.random(L) < p.p_bypass_modifier
    col2_any, pair_mi = _ncci_pairs(run.ref, items)
    mods |= np.where(col2_any & bypass_draw, bypass_pick, 0)
    has_bypass = (mods & _BYPASS_BITS) > 0
    ncci_hit = col2_any & ~((pair_mi == 1) & has_bypass & world.accepts_59[l_payer])
    return _Modifiers(mods, gp_on, cq_on, kx_on, ncci_hit)


def _ncci_pairs(ref, items: _LineItems):
    """Lines that are column 2 of an NCCI pair active that day, and the pair's
    lowest modifier indicator (9 where none)."""
    L, l_dos, ci = items.n, items.dos, items.ci
    col2_any = np.zeros(L, bool)
    pair_mi = np.full(L, 9)
    for row in ref.ncci_ptp.itertuples():
        c1, c2 = str(row.column1), str(row.column2)
        if c1 not in _CI or c2 not in _CI:
            continue
        f = pd.Timestamp(row.effective_from) if pd.notna(row.effective_from) else None
        t = pd.Timestamp(row.effective_to) if pd.notna(row.effective_to) else None
        active = np.ones(L, bool)
        if f is not None:
            active &= l_dos >= np.datetime64(f.date(), "D")
        if t is not None:
            active &= l_dos <= np.datetime64(t.date(), "D")
        hit = (ci == _CI[c2]) & items.mask[items.vi, _CI[c1]] & active
        col2_any |= hit
        pair_mi = np.where(
            hit, np.minimum(pair_mi, int(row.modifier_indicator)), pair_mi
        )
    return col2_any, pair_mi


# ---------------------------------------------------------------- duplicates
@dataclasses.dataclass(frozen=True)
class _Output:
    """The output lines in final order: originals and duplicate copies.

    ``src`` indexes the line-item arrays, ``ov`` the visit arrays.
    """

    src: np.ndarray
    ov: np.ndarray
    claim: np.ndarray  # claim number, in order of submission
    claim_inv: np.ndarray  # index of the line's claim key (for claim noise)
    n_claims: int
    submission: np.ndarray
    adjudication: np.ndarray
    is_dup: np.ndarray  # the line is on a duplicate claim
    payer: np.ndarray
    cls: np.ndarray

    @property
    def n(self) -> int:
        return len(self.src)


def _duplicates(
    run: _Run, vis: _Visits, items: _LineItems, checks: _PayerChecks, sub: _Submission
) -> _Output:
    """Add duplicate claims and number the claims in order of submission."""
    p, rng, V, vi = run.p, run.rng, vis.n, items.vi
    claim_v = np.flatnonzero(checks.has_line)
    dup_v = claim_v[rng.random(len(claim_v)) < p.p_duplicate_claim]
    dup_delay = rng.integers(*p.duplicate_delay_days, len(dup_v))
    base_lines = np.flatnonzero(checks.has_line[vi])
    pos_in = np.full(V, -1)
    pos_in[dup_v] = np.arange(len(dup_v))
    dup_lines = np.flatnonzero(pos_in[vi] >= 0)
    dup_of = pos_in[vi[dup_lines]]
    nb = len(base_lines)
    src = np.concatenate([base_lines, dup_lines])
    is_dup_line = np.arange(len(src)) >= nb
    # everything per output line n: line src[n] of visit vi[src[n]]
    ov = vi[src]
    l_sub = sub.submission[ov].copy()
    l_adj = sub.adjudication[ov].copy()
    l_sub[nb:] = l_sub[nb:] + dup_delay[dup_of]
    l_adj[nb:] = l_sub[nb:] + sub.adj_lag[ov[nb:]]
    # claim key: the visit for originals, V + duplicate index for copies
    ckey = np.concatenate([vi[base_lines], V + dup_of])
    # claim numbers in order of submission date, then key
    ukey, cinv = np.unique(ckey, return_inverse=True)
    csub = np.zeros(len(ukey), dtype="datetime64[D]")
    csub[cinv] = l_sub
    corder = np.lexsort((ukey, csub))
    cnum = np.empty(len(ukey), dtype=np.int64)
    cnum[corder] = np.arange(len(ukey))
    l_claim = cnum[cinv]
    # final line order: claim number, then line number
    perm = np.lexsort((items.line_no[src], l_claim))
    src = src[perm]
    return _Output(
        src=src,
        ov=vi[src],
        claim=l_claim[perm],
        claim_inv=cinv[perm],
        n_claims=len(ukey),
        submission=l_sub[perm],
        adjudication=l_adj[perm],
        is_dup=is_dup_line[perm],
        payer=items.payer[src],
        cls=items.cls[src],
    )

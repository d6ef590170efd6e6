"""From simulated line arrays to the canonical claim-line frame and its truth."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from ptdenial import schema as S
from ptdenial.datasets._arrays import _bits_to_tuples, _dense, _ids, _ns, _strings
from ptdenial.datasets._vocabulary import (
    _CODES,
    _DEFICITS,
    _INTERVENTIONS,
    _MOD_NAMES,
    CAUSES,
    TRUTH_BEST_PROBABILITY,
    TRUTH_CAUSE,
    TRUTH_PROBABILITY,
)


@dataclasses.dataclass
class _Sim:
    columns: dict  # per-line arrays (and scalars) for _assemble, in final order
    prob: np.ndarray
    cause: np.ndarray  # index into CAUSES
    dos: np.ndarray  # datetime64[D]
    submission: np.ndarray
    adjudication: np.ndarray
    intercept: float
    best_prob: np.ndarray  # the noise terms integrated out


def _int(values, na=None):
    values = np.asarray(values, dtype=np.int64)
    mask = np.zeros(len(values), bool) if na is None else np.asarray(na, bool)
    return pd.arrays.IntegerArray(np.where(mask, 0, values), mask)


def _assemble(
    *,
    world,
    id_base,
    dx_names,
    claim,
    line_no,
    pat,
    payer,
    cls,
    dos,
    code,
    units,
    charge,
    dx1,
    dx2,
    dx3,
    prov,
    mods,
    minutes,
    visit_minutes,
    pos,
    clinic,
    referrer,
    submission,
    auth,
    auth_ep,
    approved,
    used,
    episode_start,
    visit_number,
    cert,
    cert_through,
    last_pr,
    since,
    deficits,
    interventions,
    objective,
    note,
    ytd,
    adjudication,
    allowed,
    paid,
    adj_codes,
    rem_codes,
):
    """Build the canonical claim-line frame (the dtypes validate_claims returns)."""
    uclaim, cinv = _dense(claim)
    upat, pinv = _dense(pat)
    k = len(dx_names) + 1
    dkeys, dinv = _dense((dx1 + 2) * k * k + (dx2 + 1) * k + (dx3 + 1))
    dx_tuples = np.empty(len(dkeys), dtype=object)
    for i, kk in enumerate(dkeys.tolist()):
        a, rest = divmod(kk, k * k)
        b, c = divmod(rest, k)
        first = a - 2
        if first == -2:  # claim sent without a diagnosis
            dx_tuples[i] = ()
            continue
        dx_tuples[i] = tuple(dx_names[x] for x in (first, b - 1, c - 1) if x >= 0)
    uauth, ainv = _dense(np.where(auth, auth_ep, 0))
    auth_names = [f"A{id_base + int(x) + 1:08d}" for x in uauth.tolist()]
    ainv = np.where(auth, ainv, -1)
    upos, posinv = np.unique(pos, return_inverse=True)
    frame = {
        S.CLAIM_ID: _strings(cinv, _ids("C", uclaim + 10 * id_base + 1, 8)),
        S.LINE_NUMBER: _int(line_no),
        S.PATIENT_ID: _strings(pinv, _ids("P", upat + id_base + 1, 7)),
        S.PAYER_ID: _strings(payer, world.payer_id),
        S.PAYER_CLASS: pd.Categorical.from_codes(cls, dtype=S.PAYER_CLASS_DTYPE),
        S.DATE_OF_SERVICE: _ns(dos),
        S.CPT_CODE: _strings(code, _CODES),
        S.UNITS: _int(units),
        S.CHARGE_AMOUNT: charge.astype("float64"),
        S.DIAGNOSIS_CODES: dx_tuples[dinv],
        S.RENDERING_PROVIDER_ID: _strings(prov, world.prov_id),
        S.MODIFIERS: _bits_to_tuples(mods, _MOD_NAMES),
        S.MINUTES: _int(minutes, minutes < 0),
        S.VISIT_TIMED_MINUTES: _int(visit_minutes),
        S.PLACE_OF_SERVICE: _strings(posinv, upos.tolist()),
        S.PROVIDER_CREDENTIAL: pd.Categorical.from_codes(
            np.where(
                world.prov_is_pta[prov],
                S.PROVIDER_CREDENTIALS.index("PTA"),
                S.PROVIDER_CREDENTIALS.index("PT"),
            ),
            dtype=S.CREDENTIAL_DTYPE,
        ),
        S.CLINIC_ID: _strings(clinic, world.clinic_id),
        S.REFERRING_PROVIDER_ID: _strings(referrer, world.referrer_id),
        S.SUBMISSION_DATE: _ns(submission),
        S.PRIOR_AUTH_NUMBER: _strings(ainv, auth_names),
        S.AUTH_VISITS_APPROVED: _int(approved, ~auth),
        S.AUTH_VISITS_USED: _int(used, ~auth),
        S.EPISODE_START_DATE: _ns(episode_start),
        S.VISIT_NUMBER: _int(visit_number),
        S.POC_CERTIFIED_DATE: _ns(cert),
        S.CERT_THROUGH_DATE: _ns(cert_through),
        S.LAST_PROGRESS_REPORT_DATE: _ns(last_pr),
        S.VISITS_SINCE_PROGRESS_REPORT: _int(since),
        S.DEFICITS_DOCUMENTED: _bits_to_tuples(deficits, _DEFICITS),
        S.INTERVENTIONS_DOCUMENTED: _bits_to_tuples(interventions, _INTERVENTIONS),
        S.OBJECTIVE_MEASURES_DOCUMENTED: pd.array(objective, dtype="boolean"),
        S.NOTE_SIGNED_DATE: _ns(note),
        S.YTD_THERAPY_ALLOWED: ytd.astype("float64"),
    }
    if adjudication is not None:
        frame.update(
            {
                S.ADJUDICATION_DATE: _ns(adjudication),
                S.ALLOWED_AMOUNT: allowed.astype("float64"),
                S.PAID_AMOUNT: paid.astype("float64"),
                S.ADJUSTMENT_CODES: adj_codes,
                S.REMARK_CODES: rem_codes,
            }
        )
    return pd.DataFrame(frame)


_OUTCOME_ARGS = ("adjudication", "allowed", "paid", "adj_codes", "rem_codes")


def _object_column(values: np.ndarray, empty: np.ndarray) -> np.ndarray:
    """Replace entries by ``()`` where ``empty`` (object arrays of tuples)."""
    table = np.empty(len(values) + 1, dtype=object)
    table[0] = ()
    table[1:] = values
    return table[np.where(empty, 0, np.arange(1, len(values) + 1))]


def _select(sim: _Sim, keep: np.ndarray, pending: np.ndarray, *, outcomes: bool):
    """Lines of ``sim`` where ``keep``; outcome columns empty where ``pending``."""
    args = {
        key: (val[keep] if isinstance(val, np.ndarray) else val)
        for key, val in sim.columns.items()
    }
    if outcomes:
        pend = pending[keep]
        args["adjudication"] = np.where(
            pend, np.datetime64("NaT"), args["adjudication"]
        )
        args["allowed"] = np.where(pend, np.nan, args["allowed"])
        args["paid"] = np.where(pend, np.nan, args["paid"])
        for key in ("adj_codes", "rem_codes"):
            args[key] = _object_column(args[key], pend)
    else:
        for key in _OUTCOME_ARGS:
            args[key] = None
    claims = _assemble(**args)
    truth = pd.DataFrame(
        {
            S.CLAIM_ID: claims[S.CLAIM_ID],
            S.LINE_NUMBER: claims[S.LINE_NUMBER],
            TRUTH_PROBABILITY: sim.prob[keep],
            TRUTH_BEST_PROBABILITY: sim.best_prob[keep],
            TRUTH_CAUSE: _strings(sim.cause[keep], CAUSES),
        }
    )
    return claims, truth

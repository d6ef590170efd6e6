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
from ptdenial.datasets._world import _World


@dataclasses.dataclass(frozen=True)
class _LineColumns:
    """Every simulated line as arrays, one per claim column (codes, not text).

    The outcome fields (``adjudication`` to ``rem_codes``) are ``None`` for
    lines sent without an outcome (new claims).
    """

    world: _World
    id_base: int  # offset of patient, claim and authorization numbers
    dx_names: list  # ICD-10-CM code of each diagnosis id
    claim: np.ndarray
    line_no: np.ndarray
    pat: np.ndarray
    payer: np.ndarray
    cls: np.ndarray
    dos: np.ndarray
    code: np.ndarray
    units: np.ndarray
    charge: np.ndarray
    dx1: np.ndarray  # -2 = claim sent without a diagnosis
    dx2: np.ndarray  # -1 = none
    dx3: np.ndarray
    prov: np.ndarray
    mods: np.ndarray
    minutes: np.ndarray  # -1 = untimed code
    visit_minutes: np.ndarray
    pos: np.ndarray
    clinic: np.ndarray
    referrer: np.ndarray  # -1 = missing
    submission: np.ndarray
    auth: np.ndarray  # the claim carries an authorization number
    auth_ep: np.ndarray  # the episode the authorization belongs to
    approved: np.ndarray
    used: np.ndarray
    episode_start: np.ndarray
    visit_number: np.ndarray
    cert: np.ndarray
    cert_through: np.ndarray
    last_pr: np.ndarray
    since: np.ndarray
    deficits: np.ndarray
    interventions: np.ndarray
    objective: np.ndarray
    note: np.ndarray
    ytd: np.ndarray
    adjudication: np.ndarray | None
    allowed: np.ndarray | None
    paid: np.ndarray | None
    adj_codes: np.ndarray | None
    rem_codes: np.ndarray | None
    # when the plan of care and the daily note were finally signed (NaT: never),
    # for exports that show documents signed after the line was sent
    cert_signed: np.ndarray | None = None
    note_signed: np.ndarray | None = None

    def take(self, keep: np.ndarray) -> _LineColumns:
        """The lines where ``keep`` (a boolean mask or indices)."""
        return dataclasses.replace(
            self,
            **{
                field.name: getattr(self, field.name)[keep]
                for field in dataclasses.fields(self)
                if isinstance(getattr(self, field.name), np.ndarray)
            },
        )


_OUTCOME_ARGS = ("adjudication", "allowed", "paid", "adj_codes", "rem_codes")


@dataclasses.dataclass(frozen=True)
class _Sim:
    """Everything a simulation generated, warm-up and unsent lines included."""

    columns: _LineColumns  # per-line arrays for _assemble, in final order
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


def _diagnosis_tuples(c: _LineColumns) -> np.ndarray:
    """Diagnosis code tuples per line (built once per distinct combination)."""
    dx_names = c.dx_names
    k = len(dx_names) + 1
    dkeys, dinv = _dense((c.dx1 + 2) * k * k + (c.dx2 + 1) * k + (c.dx3 + 1))
    dx_tuples = np.empty(len(dkeys), dtype=object)
    for i, kk in enumerate(dkeys.tolist()):
        a, rest = divmod(kk, k * k)
        b, d = divmod(rest, k)
        first = a - 2
        if first == -2:  # claim sent without a diagnosis
            dx_tuples[i] = ()
            continue
        dx_tuples[i] = tuple(dx_names[x] for x in (first, b - 1, d - 1) if x >= 0)
    return dx_tuples[dinv]


def _claim_columns(c: _LineColumns) -> dict:
    """Columns from claim_id to auth_visits_used, in schema order."""
    world = c.world
    uclaim, cinv = _dense(c.claim)
    upat, pinv = _dense(c.pat)
    uauth, ainv = _dense(np.where(c.auth, c.auth_ep, 0))
    auth_names = [f"A{c.id_base + int(x) + 1:08d}" for x in uauth.tolist()]
    ainv = np.where(c.auth, ainv, -1)
    upos, posinv = np.unique(c.pos, return_inverse=True)
    credential = np.where(
        world.prov_is_pta[c.prov],
        S.PROVIDER_CREDENTIALS.index("PTA"),
        S.PROVIDER_CREDENTIALS.index("PT"),
    )
    return {
        S.CLAIM_ID: _strings(cinv, _ids("C", uclaim + 10 * c.id_base + 1, 8)),
        S.LINE_NUMBER: _int(c.line_no),
        S.PATIENT_ID: _strings(pinv, _ids("P", upat + c.id_base + 1, 7)),
        S.PAYER_ID: _strings(c.payer, world.payer_id),
        S.PAYER_CLASS: pd.Categorical.from_codes(c.cls, dtype=S.PAYER_CLASS_DTYPE),
        S.DATE_OF_SERVICE: _ns(c.dos),
        S.CPT_CODE: _strings(c.code, _CODES),
        S.UNITS: _int(c.units),
        S.CHARGE_AMOUNT: c.charge.astype("float64"),
        S.DIAGNOSIS_CODES: _diagnosis_tuples(c),
        S.RENDERING_PROVIDER_ID: _strings(c.prov, world.prov_id),
        S.MODIFIERS: _bits_to_tuples(c.mods, _MOD_NAMES),
        S.MINUTES: _int(c.minutes, c.minutes < 0),
        S.VISIT_TIMED_MINUTES: _int(c.visit_minutes),
        S.PLACE_OF_SERVICE: _strings(posinv, upos.tolist()),
        S.PROVIDER_CREDENTIAL: pd.Categorical.from_codes(
            credential, dtype=S.CREDENTIAL_DTYPE
        ),
        S.CLINIC_ID: _strings(c.clinic, world.clinic_id),
        S.REFERRING_PROVIDER_ID: _strings(c.referrer, world.referrer_id),
        S.SUBMISSION_DATE: _ns(c.submission),
        S.PRIOR_AUTH_NUMBER: _strings(ainv, auth_names),
        S.AUTH_VISITS_APPROVED: _int(c.approved, ~c.auth),
        S.AUTH_VISITS_USED: _int(c.used, ~c.auth),
    }


def _care_columns(c: _LineColumns) -> dict:
    """Columns of the episode, plan of care and documentation, in schema order."""
    return {
        S.EPISODE_START_DATE: _ns(c.episode_start),
        S.VISIT_NUMBER: _int(c.visit_number),
        S.POC_CERTIFIED_DATE: _ns(c.cert),
        S.CERT_THROUGH_DATE: _ns(c.cert_through),
        S.LAST_PROGRESS_REPORT_DATE: _ns(c.last_pr),
        S.VISITS_SINCE_PROGRESS_REPORT: _int(c.since),
        S.DEFICITS_DOCUMENTED: _bits_to_tuples(c.deficits, _DEFICITS),
        S.INTERVENTIONS_DOCUMENTED: _bits_to_tuples(c.interventions, _INTERVENTIONS),
        S.OBJECTIVE_MEASURES_DOCUMENTED: pd.array(c.objective, dtype="boolean"),
        S.NOTE_SIGNED_DATE: _ns(c.note),
        S.YTD_THERAPY_ALLOWED: c.ytd.astype("float64"),
    }


def _assemble(c: _LineColumns) -> pd.DataFrame:
    """Build the canonical claim-line frame (the dtypes validate_claims returns)."""
    frame = {**_claim_columns(c), **_care_columns(c)}
    if c.adjudication is not None:
        frame.update(
            {
                S.ADJUDICATION_DATE: _ns(c.adjudication),
                S.ALLOWED_AMOUNT: c.allowed.astype("float64"),
                S.PAID_AMOUNT: c.paid.astype("float64"),
                S.ADJUSTMENT_CODES: c.adj_codes,
                S.REMARK_CODES: c.rem_codes,
            }
        )
    return pd.DataFrame(frame)


def _object_column(values: np.ndarray, empty: np.ndarray) -> np.ndarray:
    """Replace entries by ``()`` where ``empty`` (object arrays of tuples)."""
    table = np.empty(len(values) + 1, dtype=object)
    table[0] = ()
    table[1:] = values
    return table[np.where(empty, 0, np.arange(1, len(values) + 1))]


def _late_documents(cols: _LineColumns, export_day) -> _LineColumns:
    """Certifications and note signatures as exported on ``export_day``.

    A document signed after the line was sent but by the export day shows
    its signature date (the history records documents as they ended up);
    the outcomes still follow what was on file when the line was sent.
    """
    day = np.datetime64(export_day, "D")

    def final(known, signed):
        shown = ~np.isnat(signed) & (signed <= day)
        return np.where(np.isnat(known) & shown, signed, known)

    return dataclasses.replace(
        cols,
        cert=final(cols.cert, cols.cert_signed),
        note=final(cols.note, cols.note_signed),
    )


def _select(
    sim: _Sim,
    keep: np.ndarray,
    pending: np.ndarray,
    *,
    outcomes: bool,
    export_day=None,
):
    """Lines of ``sim`` where ``keep``; outcome columns empty where ``pending``.

    With ``export_day``, documents signed after their line was sent show as
    exported that day (``SyntheticParams.late_documents``).
    """
    cols = sim.columns.take(keep)
    if export_day is not None:
        cols = _late_documents(cols, export_day)
    if outcomes:
        pend = pending[keep]
        cols = dataclasses.replace(
            cols,
            adjudication=np.where(pend, np.datetime64("NaT"), cols.adjudication),
            allowed=np.where(pend, np.nan, cols.allowed),
            paid=np.where(pend, np.nan, cols.paid),
            adj_codes=_object_column(cols.adj_codes, pend),
            rem_codes=_object_column(cols.rem_codes, pend),
        )
    else:
        cols = dataclasses.replace(cols, **dict.fromkeys(_OUTCOME_ARGS))
    claims = _assemble(cols)
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

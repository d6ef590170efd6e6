"""Public generators: :func:`make_claims` and :func:`make_sample`."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd

from ptdenial import schema as S
from ptdenial.datasets._assemble import _select
from ptdenial.datasets._params import SyntheticParams
from ptdenial.datasets._simulate import _simulate
from ptdenial.reference import load_reference

# --- sample defaults -------------------------------------------------------------
#: Patients of the committed sample (about 50k history lines over two years).
DEFAULT_SAMPLE_PATIENTS = 1565
#: Seed of the committed sample.
DEFAULT_SAMPLE_SEED = 0
_SAMPLE_START = "2024-01-01"
_SAMPLE_END = "2025-12-31"


class SyntheticClaims(NamedTuple):
    """Output of :func:`make_claims`: the claim lines and their hidden truth.

    Attributes
    ----------
    claims : pandas.DataFrame
        The claim-line table in canonical dtypes, outcome columns included
        (empty for pending lines), ``denied`` excluded.
    truth : pandas.DataFrame
        ``claim_id``, ``line_number``, :data:`TRUTH_PROBABILITY`,
        :data:`TRUTH_BEST_PROBABILITY` and :data:`TRUTH_CAUSE`, row for row
        with ``claims``. Never a feature: no model may see it.
    """

    claims: pd.DataFrame
    truth: pd.DataFrame


class SampleData(NamedTuple):
    """Output of :func:`make_sample`: the history and the night's new claims.

    Attributes
    ----------
    history : pandas.DataFrame
        Claim lines submitted up to the end of the period, with outcomes.
    new_claims : pandas.DataFrame
        Claim lines submitted the night after, without outcome columns.
    history_truth, new_claims_truth : pandas.DataFrame
        The hidden truth of each, row for row (see :class:`SyntheticClaims`).
    """

    history: pd.DataFrame
    new_claims: pd.DataFrame
    history_truth: pd.DataFrame
    new_claims_truth: pd.DataFrame


def _seed(random_state) -> int:
    """Check ``random_state``; draw a seed for None."""
    if random_state is None:
        return int(np.random.SeedSequence().generate_state(1)[0])
    if isinstance(random_state, bool | float) or not isinstance(
        random_state, int | np.integer
    ):
        raise TypeError(f"random_state must be an int (or None); got {random_state!r}.")
    if random_state < 0:
        raise ValueError(f"random_state must be >= 0; got {random_state}.")
    return int(random_state)


def _day(value, name) -> np.datetime64:
    """A date-like value as datetime64[D], or a ValueError naming ``name``."""
    try:
        return np.datetime64(pd.Timestamp(value).date(), "D")
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"{name} must be a date such as '2025-12-31'; got {value!r}."
        ) from exc


def make_claims(
    n_patients: int = 1000,
    *,
    start="2024-01-01",
    end="2025-12-31",
    as_of=None,
    random_state=0,
    params: SyntheticParams | None = None,
    reference=None,
) -> SyntheticClaims:
    """Generate a synthetic claim-line history with its hidden truth.

    Patients are drawn, then their episodes of care, visits and claim lines
    (see the module docstring). The claim table holds the lines with a date
    of service in [``start``, ``end``] that were submitted on or before
    ``as_of``; lines adjudicated after ``as_of`` are pending (their outcome
    columns are empty).

    Parameters
    ----------
    n_patients : int, default=1000
        Patients to simulate (about 28 lines each over two years).
    start, end : date-like, default="2024-01-01", "2025-12-31"
        First and last date of service. Episodes already under way at
        ``start`` are simulated too (``params.warmup_days``).
    as_of : date-like, optional
        Extraction date of the history; defaults to ``end``.
    random_state : int or None, default=0
        Seed; the output is deterministic for a given seed (``None`` draws
        one). The payers and the practice depend on the seed only, not on
        ``n_patients`` or the dates.
    params : SyntheticParams, optional
        Assumptions; defaults to ``SyntheticParams()``.
    reference : ptdenial.reference.Reference, optional
        Reference tables; defaults to :func:`ptdenial.reference.load_reference`.
        Payer-specific rows of its ``payer_policies`` are honoured for the
        generated payer ids (``MCR01``, ``MA01``-``MA03``, ``MCD01``-``MCD02``,
        ``COM01``-``COM05``, ``WC01``-``WC02``, ``AUTO01``, ``TRI01``,
        ``OTH01``).

    Returns
    -------
    SyntheticClaims
        ``claims``: the claim-line table in canonical dtypes (as
        :func:`ptdenial.schema.validate_claims` returns it), every required,
        optional (except ``note_text``) and outcome column but ``denied``,
        which :func:`ptdenial.schema.derive_outcomes` derives. ``truth``:
        ``claim_id``, ``line_number``, ``true_denial_probability`` and
        ``best_achievable_probability`` and ``dominant_cause`` (one of
        :data:`CAUSES`), in the same row order.

    Raises
    ------
    ValueError
        If ``n_patients`` < 1, a date cannot be parsed, ``end`` is before
        ``start``, ``params.target_denial_rate`` is not in (0, 1) or a
        :class:`PolicyChange` has an unknown ``kind``.
    TypeError
        If ``random_state`` is not an int or None.

    See Also
    --------
    make_sample : A history and the next night's claims, as in ``data/sample``.
    ptdenial.schema.derive_outcomes : Derives ``denied`` from the outcome columns.

    Examples
    --------
    >>> from ptdenial.datasets import make_claims
    >>> from ptdenial.schema import derive_outcomes, validate_claims
    >>> claims, truth = make_claims(300, random_state=1)
    >>> valid, quarantine = validate_claims(claims, run_date="2025-12-31")
    >>> len(quarantine), len(valid) == len(claims)
    (0, True)
    >>> rate = float(derive_outcomes(claims)["denied"].mean())
    >>> 0.05 < rate < 0.2
    True
    """
    params = params if params is not None else SyntheticParams()
    ref = reference if reference is not None else load_reference()
    seed = _seed(random_state)
    if int(n_patients) < 1:
        raise ValueError(f"n_patients must be >= 1; got {n_patients}.")
    start_d, end_d = _day(start, "start"), _day(end, "end")
    as_of_d = end_d if as_of is None else _day(as_of, "as_of")
    sim = _simulate(
        int(n_patients),
        start_d,
        end_d,
        seed=seed,
        stream=0,
        params=params,
        ref=ref,
        intercept=params.intercept,
    )
    keep = (sim.dos >= start_d) & (sim.dos <= end_d) & (sim.submission <= as_of_d)
    claims, truth = _select(
        sim,
        keep,
        sim.adjudication > as_of_d,
        outcomes=True,
        export_day=as_of_d if params.late_documents else None,
    )
    return SyntheticClaims(claims, truth)


# New claims of the sample come from a second, larger draw of patients of the
# same payers and practice (one night of a practice's claims is about 2k lines,
# far more than the history's daily volume): this many days of visits before
# the night, plus params.warmup_days.
_NIGHT_WINDOW_DAYS = 60
_BULK_ID_BASE = 5_000_000
# Lines submitted on one night per (episode started per business day),
# measured on the default parameters.
_NIGHT_VOLUME_FACTOR = 1.24


def make_sample(
    n_patients: int = DEFAULT_SAMPLE_PATIENTS,
    random_state=DEFAULT_SAMPLE_SEED,
    *,
    start=_SAMPLE_START,
    end=_SAMPLE_END,
    new_claims_lines: int = 2000,
    params: SyntheticParams | None = None,
    reference=None,
) -> SampleData:
    """The sample: a history up to ``end`` and the claims sent the night after.

    ``history`` holds every line with a date of service from ``start`` that
    was submitted on or before ``end`` (lines adjudicated after ``end`` are
    pending). ``new_claims`` holds about ``new_claims_lines`` lines submitted
    on the night after ``end``, without outcome columns: the lines of the
    history's own patients sent that night, plus lines of a second draw of
    patients of the same payers, clinics and providers (patient ids from
    ``P5000001``). Both draws share the history's calibrated intercept, so
    their probabilities are on the same scale.

    Parameters
    ----------
    n_patients : int, default=DEFAULT_SAMPLE_PATIENTS
        Patients of the history.
    random_state : int or None, default=DEFAULT_SAMPLE_SEED
        Seed; the output is deterministic for a given seed.
    start, end : date-like, default="2024-01-01", "2025-12-31"
        History period (dates of service); the night is the day after ``end``.
    new_claims_lines : int, default=2000
        Approximate size of the night's batch.
    params : SyntheticParams, optional
        Assumptions; defaults to ``SyntheticParams()``.
    reference : ptdenial.reference.Reference, optional
        Reference tables; defaults to :func:`ptdenial.reference.load_reference`.

    Returns
    -------
    SampleData
        ``history``, ``new_claims``, ``history_truth``, ``new_claims_truth``.

    Raises
    ------
    ValueError
        As :func:`make_claims`.

    See Also
    --------
    make_claims : One history of any size and period.
    write_sample : Writes the sample to files.

    Examples
    --------
    >>> from ptdenial.datasets import make_sample
    >>> s = make_sample(150, random_state=3, new_claims_lines=200)
    >>> "adjudication_date" in s.new_claims.columns
    False
    >>> s.new_claims["submission_date"].unique().tolist()
    [Timestamp('2026-01-01 00:00:00')]
    """
    params = params if params is not None else SyntheticParams()
    ref = reference if reference is not None else load_reference()
    seed = _seed(random_state)
    start_d, end_d = _day(start, "start"), _day(end, "end")
    night = end_d + np.timedelta64(1, "D")
    hist = _simulate(
        int(n_patients),
        start_d,
        night,
        seed=seed,
        stream=0,
        params=params,
        ref=ref,
        intercept=params.intercept,
    )
    keep = (hist.dos >= start_d) & (hist.submission <= end_d)
    history, history_truth = _select(
        hist,
        keep,
        hist.adjudication > end_d,
        outcomes=True,
        export_day=end_d if params.late_documents else None,
    )
    own_night = hist.submission == night
    parts = [_select(hist, own_night, own_night, outcomes=False)]
    wanted = int(new_claims_lines) - int(own_night.sum())
    if wanted > 0:
        # lines per episode in the history -> patients that give `wanted`
        # lines submitted on one night when episodes start uniformly over
        # the window (+ warm-up) in business days
        n_ep = history[[S.PATIENT_ID, S.EPISODE_START_DATE]].drop_duplicates().shape[0]
        per_episode = len(history) / max(n_ep, 1)
        days = (_NIGHT_WINDOW_DAYS + params.warmup_days) * 5 / 7
        n_bulk = max(int(round(wanted * days / per_episode * _NIGHT_VOLUME_FACTOR)), 1)
        bulk = _simulate(
            n_bulk,
            night - np.timedelta64(_NIGHT_WINDOW_DAYS, "D"),
            night,
            seed=seed,
            stream=1,
            params=params,
            ref=ref,
            intercept=hist.intercept,
            id_base=_BULK_ID_BASE,
        )
        on_night = bulk.submission == night
        parts.append(_select(bulk, on_night, on_night, outcomes=False))
    new_claims = pd.concat([c for c, _ in parts], ignore_index=True)
    new_truth = pd.concat([t for _, t in parts], ignore_index=True)
    return SampleData(history, new_claims, history_truth, new_truth)

"""KX / targeted-medical-review planner for Medicare patients with an active plan."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ptdenial import schema as S
from ptdenial.analytics import expected_payment
from ptdenial.exceptions import ClaimsSchemaError, ConfigError, ReferenceDataError
from ptdenial.reference import load_reference

__all__ = ["plan_kx", "therapy_bucket", "PLAN_COLUMNS", "PT_SLP", "OT"]

PT_SLP = "PT_SLP"
OT = "OT"

#: Columns of :func:`plan_kx`, in order.
PLAN_COLUMNS = (
    S.PATIENT_ID,
    "bucket",
    S.PAYER_CLASS,
    S.EPISODE_START_DATE,
    S.CERT_THROUGH_DATE,
    "last_visit_date",
    "last_visit_number",
    "ytd_allowed",
    "ytd_source",
    "kx_threshold",
    "kx_verified",
    "tmr_threshold",
    "allowed_per_visit",
    "visits_per_week",
    "frequency_source",
    "remaining_planned_visits",
    "kx_visit_number",
    "kx_date",
    "tmr_visit_number",
    "tmr_date",
    "action",
)

_NEEDED = (S.PATIENT_ID, S.PAYER_CLASS, S.DATE_OF_SERVICE, S.CERT_THROUGH_DATE)


def therapy_bucket(claims: pd.DataFrame) -> pd.Series:
    """The Medicare therapy-threshold bucket of each line: ``PT_SLP`` or ``OT``.

    PT and speech-language pathology share one KX/TMR amount, occupational
    therapy has its own (reference Errata, R08). A line is OT when it carries
    the ``GO`` modifier, or, without any of GP/GO/GN, when its rendering
    credential is OT or OTA; every other line is PT+SLP.

    Parameters
    ----------
    claims : pandas.DataFrame
        Claim lines; ``modifiers`` and ``provider_credential`` are used when
        present.

    Returns
    -------
    pandas.Series
        ``"PT_SLP"`` or ``"OT"`` per line, named ``bucket``.

    Examples
    --------
    >>> import pandas as pd
    >>> from ptdenial.recovery import therapy_bucket
    >>> therapy_bucket(pd.DataFrame({
    ...     "modifiers": [("GP",), ("GO",), ("GN",), ()],
    ...     "provider_credential": ["PT", "OT", "other", "OTA"],
    ... })).tolist()
    ['PT_SLP', 'OT', 'PT_SLP', 'OT']
    """
    n = len(claims)
    mods = (
        claims[S.MODIFIERS].map(
            lambda v: set(v) if isinstance(v, tuple | list) else set()
        )
        if S.MODIFIERS in claims.columns
        else pd.Series([set()] * n, index=claims.index)
    )
    go = mods.map(lambda m: "GO" in m).to_numpy(bool)
    discipline = mods.map(lambda m: bool(m & {"GP", "GO", "GN"})).to_numpy(bool)
    if S.PROVIDER_CREDENTIAL in claims.columns:
        cred = claims[S.PROVIDER_CREDENTIAL].astype("string").fillna("")
        ot_cred = cred.isin(["OT", "OTA"]).to_numpy(bool)
    else:
        ot_cred = np.zeros(n, bool)
    ot = go | (~discipline & ot_cred)
    return pd.Series(np.where(ot, OT, PT_SLP), index=claims.index, name="bucket")


def _thresholds(reference, year: int) -> tuple[float, bool, float]:
    table = reference.kx_thresholds
    row = table[table["year"].astype(int) == int(year)]
    if row.empty:
        raise ReferenceDataError(
            f"kx_thresholds has no row for {year}; add one (year, kx_threshold, "
            "tmr_threshold, source, verified) to a kx_thresholds.csv override."
        )
    row = row.iloc[-1]
    return (
        float(row["kx_threshold"]),
        bool(row["verified"]),
        float(row["tmr_threshold"]),
    )


def _kx_classes(reference) -> set:
    pol = reference.payer_policies
    rows = pol[pol["payer_id"].fillna("") == ""]
    flags = rows["kx_applies"].astype(str).str.lower().isin(["true", "1"])
    return set(rows.loc[flags, "payer_class"].astype(str))


def _line_amounts(claims: pd.DataFrame, reference) -> pd.Series:
    """Allowed amount of adjudicated lines, expected payment of the others."""
    expected = expected_payment(claims, reference=reference)
    if S.ALLOWED_AMOUNT not in claims.columns:
        return expected
    allowed = pd.to_numeric(claims[S.ALLOWED_AMOUNT], errors="coerce")
    adjudicated = (
        claims[S.ADJUDICATION_DATE].notna()
        if S.ADJUDICATION_DATE in claims.columns
        else allowed.notna()
    )
    return allowed.where(adjudicated & allowed.notna(), expected).astype(float)


# An observed frequency needs at least 3 visit days over at least two weeks;
# a burst of visits on consecutive days is not a plan's weekly frequency.
_MIN_OBSERVED_DAYS = 14


def _frequency(dates: pd.Series, visits_per_week, patient, default: float):
    """Visits per week: given (scalar or per patient) or observed in the episode."""
    if isinstance(visits_per_week, dict | pd.Series) and patient in visits_per_week:
        return float(visits_per_week[patient]), "given"
    if isinstance(visits_per_week, int | float) and not isinstance(
        visits_per_week, bool
    ):
        return float(visits_per_week), "given"
    days = sorted(pd.unique(dates))
    if len(days) >= 3:
        span = (pd.Timestamp(days[-1]) - pd.Timestamp(days[0])).days
        if span >= _MIN_OBSERVED_DAYS:
            return (len(days) - 1) * 7.0 / span, "observed"
    return float(default), "default"


def _planned_dates(last, as_of, end, per_week: float) -> list:
    """Visit dates from the day after ``as_of`` (or the next due) through ``end``."""
    if per_week <= 0:
        return []
    step = 7.0 / per_week
    first = max(last + pd.Timedelta(days=round(step)), as_of + pd.Timedelta(days=1))
    dates, k = [], 0
    while True:
        day = first + pd.Timedelta(days=round(k * step))
        if day > end:
            return dates
        dates.append(day)
        k += 1


def _crossing(ytd: float, per_visit: float, threshold: float, n_planned: int):
    """1-based index of the first planned visit with ytd + k * per_visit >= threshold.

    The line whose allowed amount crosses the threshold counts (reference
    Errata R08): the test is the total *including* that visit. Returns 0 when
    the total is already at or over the threshold before any planned visit,
    and ``None`` when the planned visits do not reach it.
    """
    if ytd >= threshold:
        return 0
    if per_visit <= 0:
        return None
    k = int(np.ceil((threshold - ytd) / per_visit - 1e-9))
    k = max(k, 1)
    return k if k <= n_planned else None


def plan_kx(
    claims: pd.DataFrame,
    *,
    as_of,
    reference=None,
    visits_per_week=None,
    default_visits_per_week: float = 2.0,
    recent_visits: int = 6,
) -> pd.DataFrame:
    """Which visit and date will cross the KX and targeted-review thresholds.

    For each patient whose latest line (on or before ``as_of``) is billed to a
    payer class with ``kx_applies`` in the payer policies (Medicare FFS in the
    shipped table) and whose plan of care is active on ``as_of``
    (``cert_through_date >= as_of``), and for each therapy bucket
    (:func:`therapy_bucket`; PT+SLP and OT are separate):

    * **year-to-date allowed**: for PT+SLP, the latest ``ytd_therapy_allowed``
      of the year (amounts incurred *before* that date of service, at any
      provider) plus the amounts of that and later visits in the table; where
      that column is absent or empty, and always for OT, the sum over the
      table's lines of the year billed to a KX payer class (a commercial
      line earlier in the year does not count). A line's amount is its
      allowed amount once adjudicated, else its expected payment
      (:func:`ptdenial.analytics.expected_payment`). Only lines dated on or
      before ``as_of`` count: the plan uses the same snapshot as scoring.
    * **expected allowed per visit**: the mean visit total of the bucket's
      last ``recent_visits`` visits in the current episode;
    * **planned visits**: from the day after ``as_of`` (or the next due date)
      at the plan's frequency, through the earlier of the certification end
      and 31 December (the thresholds are per calendar year). The frequency
      is ``visits_per_week`` when given (a number, or a mapping by patient:
      the plan of care's own frequency), else observed over the episode's
      visits (at least 3 visit days over at least 14 days), else
      ``default_visits_per_week``; ``frequency_source`` says
      which;
    * **crossing**: the first planned visit whose year-to-date total
      *including that visit* reaches the threshold (a visit that crosses it
      mid-visit needs KX itself, reference Errata R08). The KX threshold is
      the year's row of ``reference.kx_thresholds`` (``kx_verified`` carries
      its ``verified`` flag); the targeted-medical-review threshold is the
      same row's ``tmr_threshold`` ($3,000 through 2028).

    Parameters
    ----------
    claims : pandas.DataFrame
        Validated claim lines (history and new claims together), canonical
        dtypes. Needs ``patient_id``, ``payer_class``, ``date_of_service`` and
        ``cert_through_date``.
    as_of : str or Timestamp
        Planning date.
    reference : ptdenial.reference.Reference, optional
    visits_per_week : float or mapping of patient_id to float, optional
    default_visits_per_week : float
    recent_visits : int

    Returns
    -------
    pandas.DataFrame
        :data:`PLAN_COLUMNS`, one row per patient and bucket, soonest KX
        first. ``kx_visit_number``/``kx_date`` are empty when the planned
        visits do not reach the threshold; ``action`` says what to do in words.

    Raises
    ------
    ClaimsSchemaError
        When a needed column is missing.
    ConfigError
        When ``visits_per_week`` or ``recent_visits`` is not positive.

    Examples
    --------
    >>> import pandas as pd
    >>> from ptdenial.recovery import plan_kx
    >>> lines = pd.DataFrame({
    ...     "patient_id": ["P1"] * 2, "payer_id": ["MCR"] * 2,
    ...     "payer_class": ["medicare"] * 2, "cpt_code": ["97112"] * 2,
    ...     "units": [2, 2], "charge_amount": [120.0] * 2,
    ...     "date_of_service": pd.to_datetime(["2026-06-01", "2026-06-08"]),
    ...     "cert_through_date": pd.to_datetime(["2026-08-31"] * 2),
    ...     "visit_number": [9, 10], "modifiers": [("GP",)] * 2,
    ...     "ytd_therapy_allowed": [2300.0, 2350.0],
    ...     "adjudication_date": pd.to_datetime(["2026-06-20"] * 2),
    ...     "allowed_amount": [50.0, 50.0], "paid_amount": [40.0, 40.0],
    ...     "adjustment_codes": [("PR-2",)] * 2,
    ... })
    >>> plan = plan_kx(lines, as_of="2026-06-08", visits_per_week=1)
    >>> row = plan.iloc[0]
    >>> ytd, kx, tmr = row[["ytd_allowed", "kx_visit_number", "tmr_visit_number"]]
    >>> float(ytd), int(kx), int(tmr)
    (2400.0, 12, 22)
    >>> str(plan.loc[0, "kx_date"].date())
    '2026-06-22'
    """
    missing = [c for c in _NEEDED if c not in claims.columns]
    if missing:
        raise ClaimsSchemaError(
            f"plan_kx needs the columns {missing}; pass the claim lines with "
            "the plan-of-care columns (see SCHEMA.md).",
            missing=missing,
        )
    if recent_visits < 1 or default_visits_per_week <= 0:
        raise ConfigError("recent_visits and default_visits_per_week must be > 0.")
    if isinstance(visits_per_week, int | float) and visits_per_week <= 0:
        raise ConfigError(f"visits_per_week must be > 0, got {visits_per_week}.")
    reference = reference if reference is not None else load_reference()
    as_of = pd.Timestamp(as_of).normalize()
    lines = claims[claims[S.DATE_OF_SERVICE] <= as_of].copy()
    kx, kx_verified, tmr = _thresholds(reference, as_of.year)
    if lines.empty:
        return pd.DataFrame(columns=list(PLAN_COLUMNS))
    lines["_amount"] = _line_amounts(lines, reference).to_numpy()
    lines["bucket"] = therapy_bucket(lines).to_numpy()
    # only what the plan reads: per-group slicing of a wide frame is slow
    wanted = (*_NEEDED, S.EPISODE_START_DATE, S.VISIT_NUMBER, S.YTD_THERAPY_ALLOWED)
    lines = lines[[c for c in wanted if c in lines.columns] + ["_amount", "bucket"]]
    lines = lines.sort_values([S.DATE_OF_SERVICE], kind="stable")
    latest = lines.groupby(S.PATIENT_ID, sort=False, observed=True).tail(1)
    classes = _kx_classes(reference)
    medicare = latest[
        latest[S.PAYER_CLASS].astype(str).isin(classes)
        & (latest[S.CERT_THROUGH_DATE] >= as_of)
    ]
    # only lines billed to a KX payer count toward its threshold
    keep = lines[S.PATIENT_ID].isin(medicare[S.PATIENT_ID]) & lines[
        S.PAYER_CLASS
    ].astype(str).isin(classes)
    context = {
        "as_of": as_of,
        "kx": kx,
        "kx_verified": kx_verified,
        "tmr": tmr,
        "visits_per_week": visits_per_week,
        "recent": recent_visits,
        "default": default_visits_per_week,
    }
    by_patient = medicare.set_index(S.PATIENT_ID)
    rows = [
        _plan_one(group, by_patient.loc[key[0]], context)
        for key, group in lines[keep].groupby([S.PATIENT_ID, "bucket"], sort=True)
    ]
    plan = pd.DataFrame(rows, columns=list(PLAN_COLUMNS))
    for col in ("kx_visit_number", "tmr_visit_number", "last_visit_number"):
        plan[col] = plan[col].astype("Int64")
    for col in ("kx_date", "tmr_date", "last_visit_date"):
        plan[col] = pd.to_datetime(plan[col])
    plan = plan.sort_values("kx_date", na_position="last", kind="stable")
    return plan.reset_index(drop=True)


def _ytd(group: pd.DataFrame, year: int, bucket: str) -> tuple[float, str]:
    this_year = group[group[S.DATE_OF_SERVICE].dt.year == year]
    if this_year.empty:
        return 0.0, "no visits this year"
    if bucket == PT_SLP and S.YTD_THERAPY_ALLOWED in group.columns:
        known = this_year[this_year[S.YTD_THERAPY_ALLOWED].notna()]
        if len(known):
            day = known[S.DATE_OF_SERVICE].max()
            before = float(
                known.loc[known[S.DATE_OF_SERVICE] == day, S.YTD_THERAPY_ALLOWED].max()
            )
            since = float(
                this_year.loc[this_year[S.DATE_OF_SERVICE] >= day, "_amount"].sum()
            )
            return round(before + since, 2), "ytd_therapy_allowed + later lines"
    return round(float(this_year["_amount"].sum()), 2), "sum of lines this year"


def _plan_one(group: pd.DataFrame, latest: pd.Series, ctx: dict) -> dict:
    """One plan row for a patient's bucket (lines already cut at as_of)."""
    as_of = ctx["as_of"]
    episode = group
    if S.EPISODE_START_DATE in group.columns and pd.notna(
        latest.get(S.EPISODE_START_DATE)
    ):
        episode = group[group[S.EPISODE_START_DATE] == latest[S.EPISODE_START_DATE]]
        episode = episode if len(episode) else group
    visits = episode.groupby(S.DATE_OF_SERVICE)["_amount"].sum()
    per_visit = float(visits.tail(ctx["recent"]).mean()) if len(visits) else 0.0
    patient = latest.name
    per_week, freq_source = _frequency(
        episode[S.DATE_OF_SERVICE], ctx["visits_per_week"], patient, ctx["default"]
    )
    last = pd.Timestamp(visits.index.max())
    if S.VISIT_NUMBER in episode.columns and episode[S.VISIT_NUMBER].notna().any():
        last_number = int(episode[S.VISIT_NUMBER].max())
    else:
        last_number = int(len(visits))
    end = min(
        pd.Timestamp(latest[S.CERT_THROUGH_DATE]), pd.Timestamp(as_of.year, 12, 31)
    )
    dates = _planned_dates(last, as_of, end, per_week)
    ytd, ytd_source = _ytd(group, as_of.year, group["bucket"].iloc[0])
    kx_k = _crossing(ytd, per_visit, ctx["kx"], len(dates))
    tmr_k = _crossing(ytd, per_visit, ctx["tmr"], len(dates))
    row = {
        S.PATIENT_ID: patient,
        "bucket": group["bucket"].iloc[0],
        S.PAYER_CLASS: str(latest[S.PAYER_CLASS]),
        S.EPISODE_START_DATE: latest.get(S.EPISODE_START_DATE, pd.NaT),
        S.CERT_THROUGH_DATE: latest[S.CERT_THROUGH_DATE],
        "last_visit_date": last,
        "last_visit_number": last_number,
        "ytd_allowed": ytd,
        "ytd_source": ytd_source,
        "kx_threshold": ctx["kx"],
        "kx_verified": ctx["kx_verified"],
        "tmr_threshold": ctx["tmr"],
        "allowed_per_visit": round(per_visit, 2),
        "visits_per_week": round(per_week, 2),
        "frequency_source": freq_source,
        "remaining_planned_visits": len(dates),
    }
    for name, k in (("kx", kx_k), ("tmr", tmr_k)):
        first = max(k, 1) if k is not None else None
        row[f"{name}_visit_number"] = None if first is None else last_number + first
        row[f"{name}_date"] = (
            None if first is None or first > len(dates) else dates[first - 1]
        )
    year_end = pd.Timestamp(latest[S.CERT_THROUGH_DATE]) > end
    row["action"] = _action_text(row, kx_k, tmr_k, year_end)
    return row


def _action_text(row: dict, kx_k, tmr_k, year_end: bool) -> str:
    def when(name):
        date = row[f"{name}_date"]
        day = "" if date is None else f" ({pd.Timestamp(date).date()})"
        return f"visit {row[f'{name}_visit_number']}{day}"

    unverified = "" if row["kx_verified"] else " (threshold unverified)"
    parts = []
    if kx_k == 0:
        parts.append(f"over the KX threshold{unverified}: add KX on every line")
    elif kx_k is not None:
        parts.append(f"add KX from {when('kx')}{unverified}")
    elif year_end:
        parts.append("KX not reached before 31 December (the amounts reset)")
    else:
        parts.append("KX not reached in the certified period")
    if tmr_k == 0:
        parts.append("over $3,000: keep documentation review-ready on every visit")
    elif tmr_k is not None:
        parts.append(f"review documentation before {when('tmr')}")
    if row["remaining_planned_visits"] == 0 and kx_k is None:
        parts.append("no visits left in the certified period")
    return "; ".join(parts)

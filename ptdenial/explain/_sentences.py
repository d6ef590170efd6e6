"""One sentence renderer per reason group, in a registry keyed by group.

A renderer turns the lines whose driver is its group into a reason and a
fix (empty when there is none), vectorized over those lines: it reads the
line's own values (claims) and model features, e.g. ``payer MCR01 denied
31% of 97112 lines from this provider in the last 90 days (14 of 45
lines)``. :data:`RENDERERS` holds one renderer for every group that is not
silent (``tests/test_explain.py`` checks it against the groups). Texts never
contain patient identifiers or note text.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd

from ptdenial import schema as S
from ptdenial._distinct import map_values, spread, text_codes

_DEFICIT_WORDS = "balance/coordination/kinesthetic/posture/proprioception"
_INTERVENTION_CODES = {
    "gait_training": ("gait training", "97116"),
    "nmes": ("electrical stimulation (NMES)", "97032"),
    "therapeutic_exercise": ("therapeutic exercise", "97110"),
    "manual_therapy": ("manual therapy", "97140"),
    "therapeutic_activities": ("therapeutic activities", "97530"),
    "group_therapy": ("group therapy", "97150"),
}


class _Rows:
    """Some rows of a frame; columns are taken only when a sentence needs them."""

    def __init__(self, frame: pd.DataFrame, at: np.ndarray, texts=None):
        self.frame = frame
        self.at = at
        self.columns = frame.columns
        # shared by the groups of one call: each text column converted once
        self._texts = {} if texts is None else texts

    def __len__(self):
        return len(self.at)

    def num(self, name: str) -> np.ndarray:
        if name not in self.columns:
            return np.full(len(self.at), np.nan)
        col = self.frame[name]
        if not pd.api.types.is_float_dtype(col.dtype):
            col = pd.to_numeric(col, errors="coerce")
        return col.to_numpy(dtype=float, na_value=np.nan)[self.at]

    def text(self, name: str, missing: str = "?") -> np.ndarray:
        if name not in self.columns:
            return np.full(len(self.at), missing, dtype=object)
        if name not in self._texts:
            # every group's sentences ask for the payer and the code: convert
            # each distinct value of the column once
            self._texts[name] = text_codes(self.frame[name])
        codes, uniques = self._texts[name]
        return spread(uniques, codes[self.at], missing)

    def series(self, name: str):
        return self.frame[name].iloc[self.at] if name in self.columns else None


class _History(NamedTuple):
    """How the history features were smoothed (to recover raw counts)."""

    smoothing: float
    window: int
    #: days of ``hist_<key>_n`` / ``_rate``; None: all time
    count_window: int | None = None


# --- formatting helpers -------------------------------------------------------------
def _blank(rows) -> np.ndarray:
    return np.full(len(rows), "", dtype=object)


def _ints(values: np.ndarray) -> np.ndarray:
    v = np.nan_to_num(np.asarray(values, dtype=float), nan=0.0)
    return np.round(v).astype(np.int64).astype(str).astype(object)


def _pct(values: np.ndarray) -> np.ndarray:
    v = np.nan_to_num(np.asarray(values, dtype=float), nan=0.0)
    return (np.round(v * 100).astype(np.int64).astype(str).astype(object)) + "%"


def _money(values: np.ndarray) -> np.ndarray:
    v = np.nan_to_num(np.asarray(values, dtype=float), nan=0.0)
    return np.char.mod("$%.2f", v).astype(object)


def _choose(conditions, choices, default="") -> np.ndarray:
    out = np.full(len(conditions[0]) if conditions else 0, default, dtype=object)
    for cond, choice in reversed(list(zip(conditions, choices, strict=True))):
        out = np.where(cond, choice, out)
    return out.astype(object)


def _where(cond, text, other="") -> np.ndarray:
    return np.where(cond, text, other).astype(object)


def _joined(flags_and_pieces, n: int) -> np.ndarray:
    """Per row, the pieces whose flag is set, joined with ", "."""
    out = np.full(n, "", dtype=object)
    for flag, piece in flags_and_pieces:
        out = np.where(
            flag, np.where(out == "", piece, out + ", " + piece), out
        ).astype(object)
    return out


# --- history sentences --------------------------------------------------------------
def _history(Xf, key, *, smoothing, window):
    """Raw (unsmoothed) denied and total counts, recent window and all time."""
    prior = np.nan_to_num(Xf.num("hist_global_rate"), nan=0.0)
    out = {}
    for suffix, tag in (("_recent", "recent"), ("", "all")):
        n = np.nan_to_num(Xf.num(f"hist_{key}_n{suffix}"), nan=0.0)
        rate = Xf.num(f"hist_{key}_rate{suffix}")
        denied = np.where(
            n > 0, np.nan_to_num(rate * (n + smoothing) - smoothing * prior), 0.0
        )
        denied = np.clip(np.round(denied), 0, n)
        out[tag] = (denied, n)
    return out


def _history_sentence(Xf, key, subject, history: _History):
    h = _history(Xf, key, smoothing=history.smoothing, window=history.window)
    (d_r, n_r), (d_a, n_a) = h["recent"], h["all"]
    recent = n_r > 0
    d = np.where(recent, d_r, d_a)
    n = np.where(recent, n_r, n_a)
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = np.where(n > 0, d / np.maximum(n, 1), 0.0)
    longer = (
        " in the history"
        if history.count_window is None
        else f" in the last {history.count_window} days"
    )
    when = np.where(recent, f" in the last {history.window} days", longer)
    text = subject[0] + _pct(rate) + subject[1] + when
    text = text + " (" + _ints(d) + " of " + _ints(n) + " lines)"
    return np.where(n > 0, text, "").astype(object)


# --- the registry -------------------------------------------------------------------
#: Reason group -> renderer ``(claims, Xf, history) -> (reasons, fixes)``.
RENDERERS: dict = {}


def _renders(group: str):
    def register(renderer):
        RENDERERS[group] = renderer
        return renderer

    return register


@_renders("payer_provider_history")
def _payer_provider_history(claims, Xf, history):
    payer, cpt = claims.text(S.PAYER_ID), claims.text(S.CPT_CODE)
    subject = (
        "payer " + payer + " denied ",
        " of " + cpt + " lines from this provider",
    )
    reason = _history_sentence(Xf, "payer_provider_code", subject, history)
    return reason, _blank(claims)


@_renders("payer_history")
def _payer_history(claims, Xf, history):
    payer, cpt = claims.text(S.PAYER_ID), claims.text(S.CPT_CODE)
    subject = ("payer " + payer + " denied ", " of " + cpt + " lines")
    return _history_sentence(Xf, "payer_code", subject, history), _blank(claims)


@_renders("provider_history")
def _provider_history(claims, Xf, history):
    prov = claims.text(S.RENDERING_PROVIDER_ID)
    subject = ("rendering provider " + prov + " had ", " of lines denied")
    return _history_sentence(Xf, "provider", subject, history), _blank(claims)


@_renders("clinic_history")
def _clinic_history(claims, Xf, history):
    clinic = claims.text(S.CLINIC_ID)
    subject = ("clinic " + clinic + " had ", " of lines denied")
    return _history_sentence(Xf, "clinic", subject, history), _blank(claims)


@_renders("patient_history")
def _patient_history(claims, Xf, history):
    subject = ("this patient's earlier lines: ", " denied")
    return _history_sentence(Xf, "patient", subject, history), _blank(claims)


@_renders("deficits")
def _deficits(claims, Xf, history):
    count = Xf.num("deficit_count")
    reason = _choose(
        [count == 0, np.isnan(count)],
        [
            f"no {_DEFICIT_WORDS} deficit documented",
            "documented deficits are not in the documentation export",
        ],
    )
    fix = _where(
        count == 0,
        "document the neuromotor deficit 97112 treats (balance, coordination, "
        "kinesthetic sense, posture or proprioception) and how it was measured",
    )
    return reason, fix


@_renders("interventions")
def _interventions(claims, Xf, history):
    fit = Xf.num("interventions_fit_97112")
    other = _joined(
        (
            (Xf.num(f"intervention_{key}") == 1, f"{words} ({code})")
            for key, (words, code) in _INTERVENTION_CODES.items()
        ),
        len(claims),
    )
    describes = (fit == 0) & (other != "")
    reason = _choose(
        [describes, fit == 0, (fit == 1) & (other != "")],
        [
            "documentation describes " + other + ", not neuromuscular re-education",
            "no neuromuscular re-education intervention documented",
            "documentation also describes "
            + other
            + "; the 97112 time must be distinct",
        ],
    )
    fix = _choose(
        [describes, fit == 0],
        [
            "bill the service documented under its own code, or document the "
            "neuromuscular re-education technique and its minutes",
            "document the neuromuscular re-education technique (balance, "
            "coordination, posture or proprioception training) and its minutes",
        ],
    )
    return reason, fix


def _primary_diagnosis(claims) -> np.ndarray:
    dx = claims.series(S.DIAGNOSIS_CODES)
    if dx is None:
        return np.full(len(claims), "", dtype=object)
    codes, uniques = pd.factorize(dx)
    first = lambda u: u[0] if len(u) else ""  # noqa: E731
    return map_values(first, codes, uniques, missing="", dtype=object)


@_renders("diagnosis")
def _diagnosis(claims, Xf, history):
    primary = _primary_diagnosis(claims)
    cases = [
        (Xf.num("dx_count") == 0) | (primary == ""),
        Xf.num("dx_primary_supported") == 0,
        Xf.num("dx_primary_needs_deficit") == 1,
        Xf.num("dx_primary_unspecified") == 1,
    ]
    reason = _choose(
        cases,
        [
            "no diagnosis on the line",
            "primary diagnosis " + primary + " is not on the 97112 support list",
            "primary diagnosis "
            + primary
            + " supports 97112 only with a documented neuromotor deficit",
            "primary diagnosis " + primary + " is an unspecified code",
        ],
        default="primary diagnosis " + primary + " is often denied with 97112",
    )
    fix = _choose(
        cases,
        [
            "add the ICD-10-CM diagnosis the line treats, primary first",
            "if the note supports it, list the neuromuscular diagnosis first "
            "(e.g. R26.81 unsteadiness on feet, R27.8 lack of coordination)",
            "document the balance or proprioception deficit tied to " + primary,
            "code the diagnosis to its full specificity (laterality, episode)",
        ],
    )
    return reason, fix


@_renders("objective_measures")
def _objective_measures(claims, Xf, history):
    missing = Xf.num("objective_measures") == 0
    reason = _where(
        missing,
        "no standardized balance measure (Berg, TUG, ABC, DGI ...) in the note",
    )
    fix = _where(
        missing, "record a standardized measure (Berg, TUG, ABC, DGI) in the note"
    )
    return reason, fix


@_renders("units_minutes")
def _units_minutes(claims, Xf, history):
    cpt = claims.text(S.CPT_CODE)
    units = Xf.num("units")
    minutes = Xf.num("line_minutes")
    visit_min = Xf.num("visit_timed_minutes")
    visit_units = Xf.num("visit_units")
    with np.errstate(invalid="ignore", divide="ignore"):
        per_unit = minutes / np.maximum(units, 1)
    billed = _ints(units) + " units of " + cpt + " billed"
    reason = _choose(
        [np.isnan(minutes) & np.isnan(visit_min), np.isnan(minutes)],
        [
            billed + " without documented minutes",
            billed
            + "; the visit has "
            + _ints(visit_min)
            + " timed minutes for "
            + _ints(visit_units)
            + " timed units",
        ],
        default=billed
        + " for "
        + _ints(minutes)
        + " documented minutes ("
        + _ints(per_unit)
        + " minutes per unit)",
    )
    fix = _where(
        np.isnan(minutes), "document the minutes of " + cpt + " in the daily note"
    )
    return reason, fix


@_renders("same_day_codes")
def _same_day_codes(claims, Xf, history):
    others = _joined(
        (
            (Xf.num(name) > 0, name.removeprefix("visit_units_"))
            for name in Xf.columns
            if name.startswith("visit_units_") and name != "visit_units_97112"
        ),
        len(claims),
    )
    evaluation = Xf.num("visit_has_evaluation") == 1
    lines = Xf.num("visit_lines")
    count = _ints(lines) + _where(np.round(lines) == 1, " line", " lines") + " that day"
    reason = _choose(
        [evaluation, others != "", np.round(lines) <= 1],
        [
            "billed on an evaluation day (" + count + ")",
            "billed the same day as " + others + " (" + count + ")",
            "the only line billed that day",
        ],
        default="billed with " + count,
    )
    return reason, _blank(claims)


@_renders("modifiers")
def _modifiers(claims, Xf, history):
    mods = claims.series(S.MODIFIERS)
    if mods is None:
        text = np.full(len(claims), "", dtype=object)
    else:
        codes, uniques = pd.factorize(mods)
        text = map_values(", ".join, codes, uniques, missing="", dtype=object)
    reason = _where(
        text == "", "no modifiers on the line", "modifiers on the line: " + text
    )
    return reason, _blank(claims)


@_renders("plan_of_care")
def _plan_of_care(claims, Xf, history):
    certified = Xf.num("poc_certified")
    past = Xf.num("days_past_cert_through")
    since_start = Xf.num("days_since_episode_start")
    since_cert = Xf.num("days_since_certification")
    visit = Xf.num("visit_number")
    reason = _choose(
        [certified == 0, past > 0, ~np.isnan(since_cert)],
        [
            "plan of care not certified ("
            + _ints(since_start)
            + " days since the episode began)",
            "visit is " + _ints(past) + " days past the certification end date",
            "visit "
            + _ints(visit)
            + " of the episode, "
            + _ints(since_cert)
            + " days after the plan of care was certified",
        ],
    )
    fix = _choose(
        [certified == 0, past > 0],
        [
            "get the plan of care signed by the certifying physician/NPP",
            "recertify the plan of care before billing this visit",
        ],
    )
    return reason, fix


@_renders("progress_report")
def _progress_report(claims, Xf, history):
    visits = Xf.num("visits_since_progress_report")
    days = Xf.num("days_since_progress_report")
    reason = _where(
        np.isnan(visits),
        np.where(
            np.isnan(days), "", _ints(days) + " days since the last progress report"
        ),
        _ints(visits) + " treatment days since the last progress report",
    )
    return reason, _blank(claims)


@_renders("authorization")
def _authorization(claims, Xf, history):
    payer = claims.text(S.PAYER_ID)
    has = Xf.num("has_prior_auth")
    left = Xf.num("auth_visits_remaining")
    reason = _choose(
        [has == 0, left <= 0, ~np.isnan(left)],
        [
            "no prior authorization number on the line",
            "authorized visits used up (" + _ints(left) + " remaining)",
            _ints(left) + " authorized visits remaining",
        ],
    )
    fix = _choose(
        [has == 0, left <= 0],
        [
            "check whether payer " + payer + " needs prior authorization and "
            "add the number",
            "request more authorized visits from payer " + payer,
        ],
    )
    return reason, fix


@_renders("filing_lag")
def _filing_lag(claims, Xf, history):
    lag = Xf.num("submission_lag_days")
    reason = _where(
        np.isnan(lag), "", "submitted " + _ints(lag) + " days after the date of service"
    )
    return reason, _blank(claims)


@_renders("note_signature")
def _note_signature(claims, Xf, history):
    lag = Xf.num("note_signature_lag_days")
    reason = _where(
        np.isnan(lag),
        "daily note not signed",
        "daily note signed " + _ints(lag) + " days after the visit",
    )
    fix = _where(
        np.isnan(lag),
        "have the treating clinician sign the daily note before submission",
    )
    return reason, fix


@_renders("payer")
def _payer(claims, Xf, history):
    payer, cpt = claims.text(S.PAYER_ID), claims.text(S.CPT_CODE)
    pclass = claims.text(S.PAYER_CLASS)
    reason = "payer " + payer + " (" + pclass + ") denies " + cpt + " more often"
    return reason, _blank(claims)


@_renders("credential")
def _credential(claims, Xf, history):
    return "rendered by a " + claims.text(S.PROVIDER_CREDENTIAL), _blank(claims)


@_renders("provider")
def _provider(claims, Xf, history):
    prov = claims.text(S.RENDERING_PROVIDER_ID)
    return "rendering provider " + prov + " is denied more often", _blank(claims)


@_renders("clinic")
def _clinic(claims, Xf, history):
    return "billed from clinic " + claims.text(S.CLINIC_ID), _blank(claims)


@_renders("place_of_service")
def _place_of_service(claims, Xf, history):
    return "place of service " + claims.text(S.PLACE_OF_SERVICE), _blank(claims)


@_renders("therapy_cap")
def _therapy_cap(claims, Xf, history):
    ytd = Xf.num("ytd_therapy_allowed")
    reason = _where(
        np.isnan(ytd),
        "",
        _money(ytd) + " of therapy allowed this year before this visit",
    )
    return reason, _blank(claims)


@_renders("referring")
def _referring(claims, Xf, history):
    missing = Xf.num("has_referring_provider") == 0
    reason = _where(missing, "no referring provider on the line")
    fix = _where(missing, "add the referring/certifying provider's NPI")
    return reason, fix


@_renders("charge")
def _charge(claims, Xf, history):
    per_unit = Xf.num("charge_per_unit")
    return "charge of " + _money(per_unit) + " per unit", _blank(claims)


def _render(group, claims, Xf, *, smoothing, window, count_window=None):
    """Sentence and fix for one reason group, vectorized over its rows.

    A group without a renderer (a silent one) says nothing: empty texts.
    """
    renderer = RENDERERS.get(group)
    if renderer is None:
        return _blank(claims), _blank(claims)
    return renderer(claims, Xf, _History(smoothing, window, count_window))

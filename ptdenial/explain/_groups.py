"""Reason groups: which model features say the same thing to a biller.

All four denial-rate features of payer x provider are one reason, the five
deficit flags another ... :data:`REASON_GROUPS` maps feature names (exact
names, or prefixes ending with ``_``) to a group; :data:`SILENT_GROUPS` never
become a reason; :data:`COVERED_BY_RULES` names the rule hits that already
say a group's reason.
"""

from __future__ import annotations

import numpy as np

# (group, exact feature names or prefixes ending with "_" / "__"), in
# matching order: exact names first over all groups, then prefixes in order.
REASON_GROUPS = (
    ("payer_provider_history", ("hist_payer_provider_code_",)),
    ("payer_history", ("hist_payer_code_",)),
    ("provider_history", ("hist_provider_",)),
    ("clinic_history", ("hist_clinic_",)),
    ("patient_history", ("hist_patient_",)),
    ("baseline", ("hist_global_rate", "hist_")),
    ("rules", ("rule__", "gap__")),
    ("deficits", ("deficit_count", "deficit_")),
    ("interventions", ("interventions_fit_97112", "interventions_", "intervention_")),
    ("diagnosis", ("cat__dx_category", "dx_")),
    ("objective_measures", ("objective_measures",)),
    (
        "units_minutes",
        (
            "units",
            "line_minutes",
            "line_minutes_per_unit",
            "visit_units",
            "visit_timed_minutes",
            "visit_minutes_documented",
            "visit_minutes_per_unit",
            "visit_units_97112",
        ),
    ),
    ("same_day_codes", ("visit_has_evaluation", "visit_lines", "visit_units_")),
    ("modifiers", ("n_modifiers", "mod_")),
    (
        "plan_of_care",
        (
            "days_since_certification",
            "poc_certified",
            "days_past_cert_through",
            "days_since_episode_start",
            "visit_number",
        ),
    ),
    (
        "progress_report",
        ("visits_since_progress_report", "days_since_progress_report"),
    ),
    ("authorization", ("has_prior_auth", "auth_")),
    ("filing_lag", ("submission_lag_days",)),
    ("note_signature", ("note_signature_lag_days",)),
    ("payer", ("cat__payer_id", "cat__payer_class")),
    ("credential", ("cat__provider_credential",)),
    ("provider", ("cat__rendering_provider_id",)),
    ("clinic", ("cat__clinic_id",)),
    ("place_of_service", ("cat__place_of_service",)),
    ("therapy_cap", ("ytd_therapy_allowed",)),
    ("referring", ("has_referring_provider",)),
    ("charge", ("charge_per_unit",)),
    ("code", ("is_97112", "cat__cpt_code")),
    ("calendar", ("month_index", "day_of_week")),
    ("other", ()),
)
#: Groups that never become a reason (not actionable, or said by rule hits).
SILENT_GROUPS = frozenset({"baseline", "rules", "code", "calendar", "other"})
#: A model driver is dropped when the line has a hit of one of these rules.
COVERED_BY_RULES = {
    "deficits": ("CODE_CONTENT", "DX_SUPPORT"),
    "interventions": ("CODE_CONTENT",),
    "diagnosis": ("DX_SUPPORT", "DX_MISSING"),
    "objective_measures": (),
    "units_minutes": (
        "UNITS_TOTAL",
        "UNITS_ALLOC",
        "MIN_8",
        "PER_CODE_MIDPOINT",
        "MUE",
    ),
    "same_day_codes": ("NCCI_PTP", "NCCI_MI0"),
    "modifiers": (
        "GP_MISSING",
        "KX_MISSING",
        "CQ_RULE",
        "NCCI_PTP",
        "MOD59_COMMERCIAL",
    ),
    "plan_of_care": ("CERT_30D", "RECERT_90"),
    "progress_report": ("PROGRESS_10",),
    "authorization": ("AUTH_ABSENT", "AUTH_EXCEEDED", "AUTH_INVALID"),
    "filing_lag": ("TIMELY",),
    "therapy_cap": ("KX_MISSING", "TMR"),
    "referring": ("REFERRING_NPI",),
}
_GROUP_NAMES = tuple(g for g, _ in REASON_GROUPS)


def feature_groups(feature_names) -> np.ndarray:
    """Reason group of each model feature.

    Parameters
    ----------
    feature_names : sequence of str

    Returns
    -------
    numpy.ndarray of str
        One of the names in :data:`REASON_GROUPS` per feature (``other``
        when nothing matches).

    Examples
    --------
    >>> from ptdenial.explain import feature_groups
    >>> feature_groups(["hist_payer_code_rate", "deficit_balance", "units",
    ...                 "visit_units_97116", "month_index"]).tolist()
    ['payer_history', 'deficits', 'units_minutes', 'same_day_codes', 'calendar']
    """
    out = []
    for name in feature_names:
        group = None
        for g, keys in REASON_GROUPS:
            if name in keys:
                group = g
                break
        if group is None:
            for g, keys in REASON_GROUPS:
                if any(k.endswith("_") and name.startswith(k) for k in keys):
                    group = g
                    break
        out.append(group or "other")
    return np.asarray(out, dtype=object)

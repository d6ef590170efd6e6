"""Reason groups: which model features say the same thing to a biller.

All four denial-rate features of payer x provider are one reason, the five
deficit flags another ... Each feature's group is declared once, in its
:class:`ptdenial.features.FeatureSpec`; :data:`REASON_GROUPS` lists the
groups in their order with the features of each; :data:`SILENT_GROUPS` never
become a reason; :data:`COVERED_BY_RULES` names the rule hits that already
say a group's reason.
"""

from __future__ import annotations

import numpy as np

from ptdenial.features import FEATURE_SPECS, feature_spec

# The reason groups, in the order of the explainer's group table.
_GROUP_ORDER = (
    "payer_provider_history",
    "payer_history",
    "provider_history",
    "clinic_history",
    "patient_history",
    "baseline",
    "rules",
    "deficits",
    "interventions",
    "diagnosis",
    "objective_measures",
    "units_minutes",
    "same_day_codes",
    "modifiers",
    "plan_of_care",
    "progress_report",
    "authorization",
    "filing_lag",
    "note_signature",
    "payer",
    "credential",
    "provider",
    "clinic",
    "place_of_service",
    "therapy_cap",
    "referring",
    "charge",
    "code",
    "calendar",
    "other",
)
#: ``(group, feature names)`` per reason group, in order; the names are those
#: of :data:`ptdenial.features.FEATURE_SPECS` whose spec declares the group.
REASON_GROUPS = tuple(
    (group, tuple(n for n, s in FEATURE_SPECS.items() if s.group == group))
    for group in _GROUP_ORDER
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
        The group its :func:`ptdenial.features.feature_spec` declares, per
        feature (``other`` for a name no spec describes).

    Examples
    --------
    >>> from ptdenial.explain import feature_groups
    >>> feature_groups(["hist_payer_code_rate", "deficit_balance", "units",
    ...                 "visit_units_97116", "day_of_week"]).tolist()
    ['payer_history', 'deficits', 'units_minutes', 'same_day_codes', 'calendar']
    """
    out = []
    for name in feature_names:
        try:
            out.append(feature_spec(name).group)
        except KeyError:  # a feature no spec describes
            out.append("other")
    return np.asarray(out, dtype=object)

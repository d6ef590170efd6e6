"""Feature specs: what each model feature is, in one declarative record.

Each output feature of :func:`ptdenial.features.make_feature_pipeline` has a
:class:`FeatureSpec`: its kind (``numeric``, ``categorical`` or ``flag``), its
unit, the reason group it belongs to (the groups of
:data:`ptdenial.explain.REASON_GROUPS`), a display name for reports, and the
transformer that computes it. Families of features (one flag per modifier,
per deficit, per rule ...) are declared once and expanded from the same
vocabularies the transformers use, so a feature added there without a spec
is caught by the tests.
"""

from __future__ import annotations

import dataclasses
import re
import types
from collections.abc import Mapping

from ptdenial import schema as S
from ptdenial.features._claim import (
    CATEGORICAL_FEATURES,
    CONTEXT_CODES,
    FLAG_MODIFIERS,
    OTHER_CODE_INTERVENTIONS,
)
from ptdenial.features._history import HISTORY_KEYS
from ptdenial.rules import GAP_COLUMNS, RULES

#: Kinds of feature: a number on a scale, a fixed integer category code, 0/1.
FEATURE_KINDS = ("numeric", "categorical", "flag")
#: Units a feature is expressed in (``0/1`` for flags, ``code`` for categories).
FEATURE_UNITS = (
    "0/1",
    "code",
    "count",
    "units",
    "minutes",
    "minutes per unit",
    "USD",
    "USD per unit",
    "days",
    "visits",
    "rate",
    "factor",
    "weekday (0 = Monday)",
)
#: Transformers of the feature set, by their name in ``ClaimFeatureSet``.
FEATURE_SOURCES = ("rules", "claim", "history")


@dataclasses.dataclass(frozen=True)
class FeatureSpec:
    """What one model feature is.

    Attributes
    ----------
    name : str
        Output column name (``units``, ``rule__kx_missing``, ``hist_clinic_rate``).
    kind : {"numeric", "categorical", "flag"}
        ``flag`` is 0/1 (NaN where the input lacks the column); ``categorical``
        is the integer code of a category learned at fit.
    unit : str
        One of :data:`FEATURE_UNITS`.
    group : str
        Reason group (a group name of :data:`ptdenial.explain.REASON_GROUPS`).
    display : str
        Short human-readable name, for reports and plots.
    source : {"rules", "claim", "history"}
        Transformer that computes it.
    profiled : bool, default=True
        Kept in the model's drift reference profile. ``False`` for features
        that drift by construction: the calendar, year-to-date amounts
        (seasonal) and the as-of history (counts grow and rates move with the
        practice's accumulated history; their effect is watched through the
        score).
    """

    name: str
    kind: str
    unit: str
    group: str
    display: str
    source: str = "claim"
    profiled: bool = True

    def __post_init__(self):
        for field, allowed in (
            ("kind", FEATURE_KINDS),
            ("unit", FEATURE_UNITS),
            ("source", FEATURE_SOURCES),
        ):
            if getattr(self, field) not in allowed:
                raise ValueError(
                    f"FeatureSpec {self.name!r}: {field} {getattr(self, field)!r} "
                    f"is not one of {allowed}."
                )


# --- claim features ---------------------------------------------------------
# (name, kind, unit, group, display), in the transformers' output order.
_CLAIM = (
    ("is_97112", "flag", "0/1", "code", "Line is 97112"),
    ("units", "numeric", "units", "units_minutes", "Units billed on the line"),
    ("line_minutes", "numeric", "minutes", "units_minutes", "Minutes on the line"),
    (
        "line_minutes_per_unit",
        "numeric",
        "minutes per unit",
        "units_minutes",
        "Minutes per unit (line)",
    ),
    ("charge_per_unit", "numeric", "USD per unit", "charge", "Charge per unit"),
    ("visit_lines", "numeric", "count", "same_day_codes", "Lines in the visit"),
    ("visit_units", "numeric", "units", "units_minutes", "Units billed in the visit"),
    (
        "visit_timed_minutes",
        "numeric",
        "minutes",
        "units_minutes",
        "Timed minutes of the visit",
    ),
    (
        "visit_minutes_documented",
        "numeric",
        "minutes",
        "units_minutes",
        "Minutes documented on the visit's lines",
    ),
    (
        "visit_minutes_per_unit",
        "numeric",
        "minutes per unit",
        "units_minutes",
        "Timed minutes per unit (visit)",
    ),
    *(
        (
            f"visit_units_{code}",
            "numeric",
            "units",
            "same_day_codes",
            f"Units of {code} in the visit",
        )
        for code in CONTEXT_CODES
    ),
    (
        "visit_has_evaluation",
        "flag",
        "0/1",
        "same_day_codes",
        "PT evaluation the same day",
    ),
    (
        "visit_units_97112",
        "numeric",
        "units",
        "units_minutes",
        "Units of 97112 in the visit",
    ),
    *(
        (f"mod_{m.lower()}", "flag", "0/1", "modifiers", f"Modifier {m}")
        for m in FLAG_MODIFIERS
    ),
    ("mod_bypass", "flag", "0/1", "modifiers", "Bypass modifier (59/XE/XP/XS/XU)"),
    ("n_modifiers", "numeric", "count", "modifiers", "Modifiers on the line"),
    ("dx_count", "numeric", "count", "diagnosis", "Diagnoses on the line"),
    (
        "dx_primary_supported",
        "flag",
        "0/1",
        "diagnosis",
        "Primary diagnosis supports 97112",
    ),
    ("dx_any_supported", "flag", "0/1", "diagnosis", "A diagnosis supports 97112"),
    (
        "dx_primary_needs_deficit",
        "flag",
        "0/1",
        "diagnosis",
        "Primary diagnosis needs a documented deficit",
    ),
    (
        "dx_primary_unspecified",
        "flag",
        "0/1",
        "diagnosis",
        "Primary diagnosis unspecified",
    ),
    ("deficit_count", "numeric", "count", "deficits", "Deficits documented"),
    *(
        (
            f"deficit_{d.lower()}",
            "flag",
            "0/1",
            "deficits",
            f"Deficit documented: {d.replace('_', ' ')}",
        )
        for d in S.DEFICITS
    ),
    (
        "interventions_fit_97112",
        "flag",
        "0/1",
        "interventions",
        "Interventions describe neuromuscular re-education",
    ),
    *(
        (
            f"intervention_{item.lower()}",
            "flag",
            "0/1",
            "interventions",
            f"Intervention documented: {item.lower().replace('_', ' ')} ({code})",
        )
        for item, code in OTHER_CODE_INTERVENTIONS.items()
    ),
    (
        "interventions_count",
        "numeric",
        "count",
        "interventions",
        "Interventions documented",
    ),
    (
        "objective_measures",
        "flag",
        "0/1",
        "objective_measures",
        "Objective measures documented",
    ),
    (
        "note_signature_lag_days",
        "numeric",
        "days",
        "note_signature",
        "Days from service to note signature",
    ),
    ("visit_number", "numeric", "visits", "plan_of_care", "Visit number in episode"),
    (
        "days_since_episode_start",
        "numeric",
        "days",
        "plan_of_care",
        "Days since the episode started",
    ),
    (
        "days_since_certification",
        "numeric",
        "days",
        "plan_of_care",
        "Days since the plan of care was certified",
    ),
    ("poc_certified", "flag", "0/1", "plan_of_care", "Plan of care certified"),
    (
        "days_past_cert_through",
        "numeric",
        "days",
        "plan_of_care",
        "Days past the certified interval",
    ),
    (
        "visits_since_progress_report",
        "numeric",
        "visits",
        "progress_report",
        "Visits since the last progress report",
    ),
    (
        "days_since_progress_report",
        "numeric",
        "days",
        "progress_report",
        "Days since the last progress report",
    ),
    (
        "auth_visits_remaining",
        "numeric",
        "visits",
        "authorization",
        "Authorized visits remaining",
    ),
    ("has_prior_auth", "flag", "0/1", "authorization", "Prior authorization on file"),
    (
        "has_referring_provider",
        "flag",
        "0/1",
        "referring",
        "Referring provider on the claim",
    ),
    (
        "ytd_therapy_allowed",
        "numeric",
        "USD",
        "therapy_cap",
        "Therapy allowed this year",
        "claim",
        False,
    ),
    (
        "submission_lag_days",
        "numeric",
        "days",
        "filing_lag",
        "Days from service to submission",
    ),
    (
        "day_of_week",
        "numeric",
        "weekday (0 = Monday)",
        "calendar",
        "Weekday of service",
        "claim",
        False,
    ),
)

# categorical feature -> (reason group, display name)
_CATEGORICAL = {
    "cat__payer_id": ("payer", "Payer"),
    "cat__payer_class": ("payer", "Payer class"),
    "cat__provider_credential": ("credential", "Provider credential"),
    "cat__place_of_service": ("place_of_service", "Place of service"),
    "cat__clinic_id": ("clinic", "Clinic"),
    "cat__rendering_provider_id": ("provider", "Rendering provider"),
    "cat__cpt_code": ("code", "CPT code"),
    "cat__dx_category": ("diagnosis", "Primary diagnosis category"),
}

# --- rule gaps --------------------------------------------------------------
# gap column -> (unit, display name); every rule feature is in group "rules"
_GAPS = {
    "units_supported": ("units", "Units the minutes support"),
    "units_over_supported": ("units", "Units billed over those supported"),
    "visit_units_over_supported": ("units", "Visit units over those supported"),
    "units_over_mue": ("units", "Units over the MUE"),
    "ytd_over_kx_threshold": ("USD", "Allowed this year over the KX threshold"),
    "ytd_over_tmr_threshold": ("USD", "Allowed this year over the TMR threshold"),
    "days_past_cert_due": ("days", "Days past the certification due date"),
    "days_past_cert_through": ("days", "Days past the certified interval (rule)"),
    "visits_over_progress_limit": ("visits", "Visits over the progress-report limit"),
    "auth_visits_over": ("visits", "Visits over the authorization"),
    "visits_over_benefit_limit": ("visits", "Visits over the plan's yearly limit"),
    "days_past_filing_limit": ("days", "Days past the timely-filing limit"),
    "cq_payment_factor": ("factor", "CQ payment factor"),
    "mppr_reduced_units": ("units", "Units reduced by MPPR"),
}
# year-to-date amounts and visits against a yearly benefit limit: seasonal by
# construction (they restart every January), left out of the drift profile
_UNPROFILED_GAPS = frozenset(
    {"ytd_over_kx_threshold", "ytd_over_tmr_threshold", "visits_over_benefit_limit"}
)

# --- history ----------------------------------------------------------------
#: Reason group of the as-of history features of each default history key;
#: the features of any other key are in ``baseline``.
HISTORY_GROUPS = {
    "payer_code": "payer_history",
    "payer_provider_code": "payer_provider_history",
    "provider": "provider_history",
    "clinic": "clinic_history",
    "patient": "patient_history",
}
_HISTORY_WHO = {
    "payer_code": "payer x code",
    "payer_provider_code": "payer x provider x code",
    "provider": "provider",
    "clinic": "clinic",
    "patient": "patient",
}
# statistic suffix -> (unit, display template)
_HISTORY_STATS = {
    "n": ("count", "Earlier adjudicated lines, {who}"),
    "rate": ("rate", "Earlier denial rate, {who}"),
    "n_recent": ("count", "Recent adjudicated lines, {who}"),
    "rate_recent": ("rate", "Recent denial rate, {who}"),
}
_HISTORY_NAME = re.compile(r"^hist_(?P<key>.+)_(?P<stat>n|rate|n_recent|rate_recent)$")


def _history_specs(key: str) -> list[FeatureSpec]:
    """The four as-of history features of one history key."""
    who = _HISTORY_WHO.get(key, key.replace("_", " "))
    group = HISTORY_GROUPS.get(key, "baseline")
    return [
        FeatureSpec(
            f"hist_{key}_{stat}",
            "numeric",
            unit,
            group,
            text.format(who=who),
            "history",
            profiled=False,
        )
        for stat, (unit, text) in _HISTORY_STATS.items()
    ]


def _build() -> dict[str, FeatureSpec]:
    specs = []
    for r in RULES:
        display = f"Rule {r.rule_id}: {r.title}"
        specs.append(
            FeatureSpec(
                f"rule__{r.rule_id.lower()}",
                "flag",
                "0/1",
                "rules",
                display,
                source="rules",
            )
        )
    for name in GAP_COLUMNS:
        unit, display = _GAPS[name]
        specs.append(
            FeatureSpec(
                f"gap__{name}",
                "numeric",
                unit,
                "rules",
                display,
                source="rules",
                profiled=name not in _UNPROFILED_GAPS,
            )  # fmt: skip
        )
    specs += [FeatureSpec(*row) for row in _CLAIM]
    for name in CATEGORICAL_FEATURES:
        group, display = _CATEGORICAL[name]
        specs.append(FeatureSpec(name, "categorical", "code", group, display))
    specs.append(
        FeatureSpec(
            "hist_global_rate",
            "numeric",
            "rate",
            "baseline",
            "Earlier denial rate, all lines",
            source="history",
            profiled=False,
        )
    )
    specs.append(
        FeatureSpec(
            "hist_age_days",
            "numeric",
            "days",
            "baseline",
            "Days since the newest outcome the history features know",
            source="history",
            # the snapshot's age: reported on its own (manifest, report)
            profiled=False,
        )
    )
    for key in HISTORY_KEYS:
        specs += _history_specs(key)
    out = {}
    for spec in specs:
        if spec.name in out:
            raise ValueError(f"Two feature specs named {spec.name!r}.")
        out[spec.name] = spec
    return out


#: Spec of every feature the default feature set can output, by name.
FEATURE_SPECS: Mapping[str, FeatureSpec] = types.MappingProxyType(_build())


def feature_spec(name: str) -> FeatureSpec:
    """The spec of one model feature.

    Parameters
    ----------
    name : str
        Feature name, as in ``model.feature_names_`` or
        ``make_feature_pipeline().get_feature_names_out()``. History features
        of keys other than :data:`HISTORY_KEYS` (``AsOfHistoryEncoder(keys=...)``)
        get a generic spec in group ``baseline``.

    Returns
    -------
    FeatureSpec

    Raises
    ------
    KeyError
        If no spec describes ``name``.

    Examples
    --------
    >>> from ptdenial.features import feature_spec
    >>> spec = feature_spec("days_since_certification")
    >>> spec.kind, spec.unit, spec.group
    ('numeric', 'days', 'plan_of_care')
    >>> feature_spec("hist_payer_code_rate").display
    'Earlier denial rate, payer x code'
    """
    spec = FEATURE_SPECS.get(name)
    if spec is not None:
        return spec
    match = _HISTORY_NAME.match(str(name))
    if match:
        return next(s for s in _history_specs(match["key"]) if s.name == name)
    raise KeyError(
        f"No feature spec for {name!r}: declare it in ptdenial/features/_specs.py "
        "(kind, unit, reason group, display name)."
    )


def _profile_columns(names) -> dict:
    """``exclude`` and ``categorical`` of a drift profile, read from the specs.

    For :func:`ptdenial.evaluation.reference_profile`: the features whose
    spec is not ``profiled`` are left out, the ``categorical`` ones binned
    by code. A name without a spec is profiled as a number.
    """
    exclude, categorical = [], []
    for name in names:
        try:
            spec = feature_spec(name)
        except KeyError:
            continue
        if not spec.profiled:
            exclude.append(name)
        if spec.kind == "categorical":
            categorical.append(name)
    return {"exclude": exclude, "categorical": categorical}

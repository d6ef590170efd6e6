"""The registry of rule families: which function evaluates which rule.

Every rule id of the catalogue (:data:`ptdenial.rules.RULES`) belongs to
exactly one :class:`RuleFamily` of :data:`FAMILIES`, and so does every gap
column; the tests check both. :func:`_evaluate` runs each family once.

To add a rule: add its :class:`ptdenial.rules.Rule` to the catalogue, then
either return it from an existing family's function (and list its id in that
family below) or write a new family function ``f(ctx) -> (evals, gaps)`` in
the module of its domain and add a :class:`RuleFamily` here.

To add a per-payer policy: add the column to ``payer_policies.csv`` and its
name to ``POLICY_BOOLS`` or ``POLICY_NUMBERS`` in ``ptdenial/reference/_tables``
(its built-in default goes to ``BUILTIN`` in ``reference/_payers``), read it
per line as ``ctx.pol[name]`` in the family (``ctx.pol_src`` / ``ctx.pol_ver``
say whether the value is the payer's own and verified; ``ctx.policy_note``
words that for the hit text; pass ``unverified=~ctx.pol_ver[name]`` so a hard
rule's hit on an unverified value is soft), and list it in the family's
``policies``.
"""

from __future__ import annotations

import types

import numpy as np

from ptdenial.rules._catalogue import GAP_COLUMNS, Rule
from ptdenial.rules._claim_rules import referring_rules, timely_filing_rules
from ptdenial.rules._clinical_rules import diagnosis_rules, documentation_rules
from ptdenial.rules._coding_rules import (
    duplicate_rules,
    mue_rules,
    ncci_rules,
    payer_code_rules,
)
from ptdenial.rules._context import _Ctx
from ptdenial.rules._episode_rules import (
    authorization_rules,
    benefit_limit_rules,
    plan_of_care_rules,
)
from ptdenial.rules._family import FamilyResult, RuleFamily, _Eval, _not_evaluated
from ptdenial.rules._modifier_rules import (
    assistant_rules,
    therapy_modifier_rules,
    therapy_threshold_rules,
)
from ptdenial.rules._payment_rules import mppr_rules, negative_rules
from ptdenial.rules._time_rules import daily_cap_rules, eight_minute_rules

#: Rules the contract columns cannot evaluate (``Rule.evaluable`` is False):
#: always ``<NA>``.
NOT_EVALUABLE = ("AUTH_INVALID", "ELIGIBILITY", "NO_BENEFIT", "PROVIDER_ELIG")


def not_evaluable_rules(ctx: _Ctx) -> FamilyResult:
    """The rules the schema cannot evaluate: not evaluated on any line."""
    return {rid: _Eval(_not_evaluated(ctx.n)) for rid in NOT_EVALUABLE}, {}


FAMILIES: tuple[RuleFamily, ...] = (
    RuleFamily(
        "eight_minute",
        eight_minute_rules,
        rules=("UNITS_TOTAL", "UNITS_ALLOC", "MIN_8", "PER_CODE_MIDPOINT"),
        gaps=("units_supported", "units_over_supported", "visit_units_over_supported"),
        policies=("time_rule",),
    ),
    RuleFamily(
        "therapy_modifier",
        therapy_modifier_rules,
        rules=("GP_MISSING",),
        policies=("requires_gp",),
    ),
    RuleFamily(
        "assistant",
        assistant_rules,
        rules=("CQ_RULE", "CQ_PAYMENT"),
        gaps=("cq_payment_factor",),
        policies=("cq_applies", "pta_payment_factor"),
    ),
    RuleFamily(
        "therapy_threshold",
        therapy_threshold_rules,
        rules=("KX_MISSING", "TMR"),
        gaps=("ytd_over_kx_threshold", "ytd_over_tmr_threshold"),
        policies=("kx_applies",),
    ),
    RuleFamily(
        "plan_of_care",
        plan_of_care_rules,
        rules=("CERT_30D", "RECERT_90", "PROGRESS_10"),
        gaps=(
            "days_past_cert_due",
            "days_past_cert_through",
            "visits_over_progress_limit",
        ),
        policies=("poc_rules_apply",),
    ),
    RuleFamily("diagnosis", diagnosis_rules, rules=("DX_MISSING", "DX_SUPPORT")),
    RuleFamily(
        "ncci",
        ncci_rules,
        rules=("NCCI_PTP", "NCCI_MI0", "MOD59_COMMERCIAL"),
        policies=("accepts_59_bypass",),
    ),
    RuleFamily("mue", mue_rules, rules=("MUE",), gaps=("units_over_mue",)),
    RuleFamily(
        "authorization",
        authorization_rules,
        rules=("AUTH_ABSENT", "AUTH_EXCEEDED"),
        gaps=("auth_visits_over",),
        policies=("auth_required",),
    ),
    RuleFamily(
        "benefit_limit",
        benefit_limit_rules,
        rules=("BENEFIT_LIMIT",),
        gaps=("visits_over_benefit_limit",),
        policies=("visit_limit",),
    ),
    RuleFamily(
        "timely_filing",
        timely_filing_rules,
        rules=("TIMELY",),
        gaps=("days_past_filing_limit",),
        policies=("filing_limit_days",),
    ),
    RuleFamily("duplicate", duplicate_rules, rules=("DUPLICATE",)),
    RuleFamily("not_evaluable", not_evaluable_rules, rules=NOT_EVALUABLE),
    RuleFamily(
        "referring",
        referring_rules,
        rules=("REFERRING_NPI",),
        policies=("referring_npi_required",),
    ),
    RuleFamily("documentation", documentation_rules, rules=("CODE_CONTENT",)),
    RuleFamily(
        "mppr",
        mppr_rules,
        rules=("MPPR",),
        gaps=("mppr_reduced_units",),
        policies=("mppr_applies",),
    ),
    RuleFamily("negative", negative_rules, rules=("EVAL_SAME_DAY_OK",)),
    RuleFamily("payer_code", payer_code_rules, rules=("CODE_NOT_PAYABLE",)),
    RuleFamily(
        "daily_cap",
        daily_cap_rules,
        rules=("DAILY_UNIT_CAP",),
        policies=("daily_timed_unit_cap",),
    ),
)


def _by_rule(families) -> dict[str, RuleFamily]:
    out: dict[str, RuleFamily] = {}
    for family in families:
        for rid in family.rules:
            if rid in out:
                raise ValueError(
                    f"Rule {rid} is in families {out[rid].name!r} and {family.name!r}."
                )
            out[rid] = family
    return out


#: Rule id -> the family that evaluates it.
RULE_FAMILY = types.MappingProxyType(_by_rule(FAMILIES))


def _evaluate(ctx: _Ctx) -> tuple[dict[str, _Eval], dict[str, np.ndarray]]:
    """Every rule and gap of the catalogue on the lines of ``ctx``."""
    ev: dict[str, _Eval] = {}
    gaps = {name: np.full(ctx.n, np.nan) for name in GAP_COLUMNS}
    for family in FAMILIES:
        family_ev, family_gaps = family.run(ctx)
        ev.update(family_ev)
        gaps.update(family_gaps)
    return ev, gaps


def _missing_reason(ctx: _Ctx, rule: Rule) -> str:
    missing = []
    for alts in rule.needs:
        if not any(ctx.col(a) for a in alts):
            missing.append(" or ".join(alts))
    if missing:
        return "input lacks " + ", ".join(missing)
    return ""

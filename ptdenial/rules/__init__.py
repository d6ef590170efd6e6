"""Deterministic billing rules for therapy claim lines, kept as data.

The rule layer is the claim scrubber of ptdenial: every line of the canonical
claim table (all therapy codes of a visit, not only 97112) is checked against
the billing rules of the domain reference's section 9.1, with the figures of
``ptdenial/reference/`` (8-minute-rule table, KX thresholds by year, NCCI
pairs, MUE values, diagnosis lists, payer policies, therapy code list).

* :func:`rule_catalogue` lists every rule: id, title, kind (``hard``,
  ``soft``, ``payment`` or ``negative``), typical CARC, detail and fix
  templates, sources, the contract columns it needs, and whether it can be
  evaluated from the schema at all (``evaluable``; the others name the
  columns they would need in ``would_need``).
* :func:`apply_rules` evaluates them, vectorized (no Python loop over rows),
  and returns a :class:`RuleResult`: one nullable boolean column per rule
  (``<NA>`` where the line lacks the data the rule needs: the rule was not
  evaluated there, it did not pass), numeric gaps (units billed minus units
  supported, days past certification, dollars over the KX threshold ...),
  and tidy hit rows with a concrete fix each.
* :func:`units_supported` gives the units the documented minutes support
  (CMS total-time allocation or per-code midpoint, per payer policy).
* :class:`PayerRuleFlagger` exposes flags and gaps as model features.

Each rule is evaluated by one rule family, a vectorized function of a few
related rules (8-minute rule, modifiers, NCCI, plan of care ...); the
registry in ``ptdenial/rules/_registry.py`` maps every rule id to its family
and says how to add a rule, a family or a per-payer policy.

Visit-level rules group lines by patient, rendering provider and date of
service (:data:`ptdenial.schema.VISIT_KEYS`): 8-minute-rule totals and
allocation, duplicates. Day-level rules look at the patient's services on the
date of service across clinicians and disciplines: NCCI pairs, MUE
date-of-service edits, MPPR, the daily unit cap, the KX crossing (per bucket:
PT+SLP, OT).

A hard rule's hit that rests on a value not verified (a payer-class default of
the policy matrix, a table row from secondary sources) is reported as soft,
and its text says which value and whether it is the payer's own or the class
default. :func:`rules_markdown` writes the reference page ``docs/rules.md``.

Unit allocation (CMS Pub. 100-04 ch. 5 s20.2, reference s2.1): the total
units of a visit come from its total timed minutes (``floor((T + 7) / 15)``
for ``T >= 8``); each code first gets its whole 15-minute blocks; units
still left go one each to the codes with the most remaining minutes (which
also gives one unit to the larger of two codes of at most 7 minutes each).
A billing that is right under *any* way of breaking a tie in remaining
minutes is accepted. Where one allocation must be named (the fix text,
:func:`units_supported`), ties go to the code with more total minutes that
day, then to the code billed with more units, then to the lower code.
"""

from ptdenial.rules._catalogue import (
    EXPECTED_ALLOWED,
    EXTRA_COLUMNS,
    GAP_COLUMNS,
    HIT_COLUMNS,
    KINDS,
    PTA_MINUTES,
    RULES,
    TARGET_CODE,
    VISITS_YTD,
    YTD_OT_ALLOWED,
    Rule,
    rule_catalogue,
    rule_ids,
)
from ptdenial.rules._docs import rules_markdown
from ptdenial.rules._engine import (
    RuleResult,
    apply_rules,
    rule_hit_summary,
    units_supported,
)
from ptdenial.rules._flagger import PayerRuleFlagger

__all__ = [
    "KINDS",
    "TARGET_CODE",
    "VISITS_YTD",
    "EXPECTED_ALLOWED",
    "YTD_OT_ALLOWED",
    "PTA_MINUTES",
    "EXTRA_COLUMNS",
    "GAP_COLUMNS",
    "HIT_COLUMNS",
    "Rule",
    "RuleResult",
    "RULES",
    "rule_catalogue",
    "rule_hit_summary",
    "rule_ids",
    "apply_rules",
    "units_supported",
    "rules_markdown",
    "PayerRuleFlagger",
]

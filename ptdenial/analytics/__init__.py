"""Where denials come from: rates with intervals, CARC Pareto, trends, dollars.

Every function takes a validated claims frame (canonical dtypes, see
:mod:`ptdenial.schema`) and returns a tidy :class:`pandas.DataFrame`; nothing
here plots (see :mod:`ptdenial.reports`).

Conventions
-----------
* **Labels.** ``denied`` / ``pending`` come from the frame when present,
  otherwise from :func:`ptdenial.schema.derive_outcomes`. Pending lines (no
  adjudication yet) are never in a denominator: every table counts them in a
  separate ``pending`` column.
* **Rates** are ``denied / adjudicated`` with a Wilson score interval
  (:func:`wilson_interval`), which behaves at 0 and 1 and on small groups,
  where the normal-approximation interval does not.
* **Expected payment** of a line (:func:`expected_payment`) is the amount the
  payer would be expected to allow for it had it been paid: the median allowed
  amount per unit of paid lines of the same payer and code (falling back to
  payer class and code, then code, then the charge times the overall
  allowed-to-charge ratio). Revenue at risk is the expected payment of denied
  lines, not their charges, because charges overstate what a practice
  collects.
* **Recoverable** denials are denied lines on which a *hard* billing rule
  fired (:func:`ptdenial.rules.apply_rules`): a scrubber would have caught
  them before submission.
* **Dimensions.** ``by`` accepts claim columns plus the virtual dimensions
  ``"month"``, ``"quarter"`` and ``"year"`` of ``date_of_service``.

Layout: ``_common`` (labels, dimensions), ``_rates`` (rates and intervals),
``_trends``, ``_pareto`` (CARC/RARC), ``_revenue`` (expected payment, revenue
at risk), ``_rule_hits`` and ``_rule_outcomes`` (rule outcome tables, what-if).
"""

from ptdenial.analytics._common import MONTH, QUARTER, YEAR
from ptdenial.analytics._pareto import carc_pareto
from ptdenial.analytics._rates import denial_rates, wilson_interval
from ptdenial.analytics._revenue import expected_payment, revenue_at_risk
from ptdenial.analytics._rule_hits import rule_hit_matrix
from ptdenial.analytics._rule_outcomes import (
    NO_RULE_HIT,
    rule_outcome_table,
    rule_what_if,
)
from ptdenial.analytics._trends import monthly_trend

__all__ = [
    "wilson_interval",
    "denial_rates",
    "monthly_trend",
    "carc_pareto",
    "expected_payment",
    "revenue_at_risk",
    "rule_hit_matrix",
    "rule_outcome_table",
    "rule_what_if",
    "MONTH",
    "QUARTER",
    "YEAR",
    "NO_RULE_HIT",
]

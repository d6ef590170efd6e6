"""Why a line is at risk, in words a biller understands, and what to change.

A scored line's reasons combine two sources:

* **rule hits** (:func:`ptdenial.rules.apply_rules`): deterministic billing
  edits, each with its detail and its concrete fix (units to bill, modifier
  to add, date to fix), hard edits first;
* **model drivers**: the features that pushed the line's denial risk up,
  grouped into reasons (all four denial-rate features of payer x provider
  are one reason, the five deficit flags another ...) and turned into a
  sentence from the line's own values, e.g. ``payer MCR01 denied 31% of
  97112 lines from this provider in the last 90 days (14 of 45 lines)``.

Contributions come in two flavours (both in log-odds of the uncalibrated
trees, both additive: they sum to the raw score):

* **exact** TreeSHAP from LightGBM's ``pred_contrib``
  (:meth:`ptdenial.model.DenialRiskModel.contributions`): about 2-3k rows/s
  on this machine, so it is kept for the lines a person reads (the
  worklist, optionally the high band);
* **path attribution** (Saabas): each tree's leaf is reached by a path of
  splits; the change of the node value at each split is credited to the
  split's feature. :class:`Explainer` precomputes, per leaf, the credited
  change per reason group as a sparse matrix, so the contributions of ``n``
  rows are one ``pred_leaf`` call and one sparse product, about the cost of
  a second prediction. Its ranking of reasons agrees with TreeSHAP's on most
  lines (see ``bench/results/scoring.md``).

A model driver is dropped when a rule hit on the same line already says it
(a ``CODE_CONTENT`` hit covers the deficit and intervention drivers), and
groups that say nothing actionable (calendar, the practice-wide rate, the
rule flags themselves) never become reasons. Texts never contain patient
identifiers or note text.

Layout: ``_groups`` (reason groups, silent and rule-covered groups,
:func:`feature_groups`), ``_explainer`` (:class:`Explainer`: path
attribution, exact contributions, top drivers), ``_sentences`` (one sentence
renderer per reason group, in a registry checked against the groups) and
``_combine`` (:func:`combine_reasons`).
"""

from ptdenial.explain._combine import combine_reasons
from ptdenial.explain._explainer import Explainer
from ptdenial.explain._groups import (
    COVERED_BY_RULES,
    REASON_GROUPS,
    SILENT_GROUPS,
    feature_groups,
)

__all__ = [
    "Explainer",
    "REASON_GROUPS",
    "SILENT_GROUPS",
    "COVERED_BY_RULES",
    "feature_groups",
    "combine_reasons",
]

"""What a fix is worth: a KX/TMR planner and a work queue for denials received.

* :func:`plan_kx`: for each Medicare patient with an active plan of care,
  which planned visit (and date) crosses the year's KX threshold and the
  $3,000 targeted-medical-review threshold, per therapy bucket (PT+SLP, OT).
* :func:`denial_queue`: for each denied or partially denied line of an
  ingested 835 or a claim table with outcomes, the next action (corrected
  claim, redetermination/appeal, patient responsibility, write-off, no
  action), its deadline, and a rank by recoverable dollars times the recovery
  likelihood of the action (:func:`recovery_likelihoods`, a table whose every
  row says where its figure comes from).
* :func:`rescore_fixes`: applies each line's claim-edit fix (add KX/GP/CQ,
  bill the supported units) to a copy, re-scores it with the same as-of
  snapshot and reports ``p_after_fix`` and ``dollars_saved``. It lives in
  :mod:`ptdenial.scoring` (the nightly job calls it per batch for the
  worklist's lines, and scoring sits below recovery) and is re-exported
  here.
* CSV output goes through :func:`ptdenial.io.write_table`, which
  neutralises spreadsheet formulas in text cells; the queue and the plan
  render as one self-contained page in the worklist's style (:func:`recovery_html`,
  :func:`write_recovery`).

Layout: ``_kx_plan`` (the planner), ``_actions`` (CARC/RARC/rule to action,
likelihoods, deadlines), ``_queue`` (the queue), ``_output`` (CSV and
HTML).
"""

from ptdenial.recovery._actions import (
    ACTIONS,
    appeal_limits,
    carc_actions,
    recovery_likelihoods,
)
from ptdenial.recovery._kx_plan import OT, PLAN_COLUMNS, PT_SLP, plan_kx, therapy_bucket
from ptdenial.recovery._output import recovery_html, write_recovery
from ptdenial.recovery._queue import QUEUE_COLUMNS, denial_queue
from ptdenial.scoring import CLAIM_EDIT_RULES, FIX_COLUMNS, rescore_fixes

__all__ = [
    "plan_kx",
    "denial_queue",
    "rescore_fixes",
    "FIX_COLUMNS",
    "CLAIM_EDIT_RULES",
    "recovery_likelihoods",
    "appeal_limits",
    "carc_actions",
    "recovery_html",
    "write_recovery",
    "ACTIONS",
    "QUEUE_COLUMNS",
    "therapy_bucket",
    "PLAN_COLUMNS",
    "PT_SLP",
    "OT",
]

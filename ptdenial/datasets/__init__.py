"""A synthetic claims world for CPT 97112, with each line's true denial probability.

Real claims are PHI, so ptdenial develops and tests against a generated world
that a billing analyst would recognise. The generator follows
``../shared/domain/97112-billing-reference.md`` and reads every figure it can
from the shipped reference tables (:func:`ptdenial.reference.load_reference`):
KX thresholds by year, payer policies (time rule, filing limit, prior
authorization, visit limit, 59 bypass, GP/KX/CQ, plan-of-care rules), the MUE,
the NCCI pairs, the 97112 diagnosis list, the CARC/RARC catalogue and the
plan-of-care parameters. Everything the reference does not give is a named,
documented assumption on :class:`SyntheticParams`.

The world is built top-down, all vectorized with numpy:

* **payers** of every payer class (several ids per class, each with its own
  strictness, fee level, patient cost sharing and adjudication lag);
* **a practice** of clinics, physical therapists (PT) and assistants (PTA)
  whose documentation quality, note-signing habits, unit over-billing and
  a latent denial effect differ;
* **patients -> episodes of care -> visits** (evaluation day, then two or
  three treatment days a week, progress reports, certification and
  recertification of the plan of care, prior authorization);
* **claim lines**: 97112 and the codes billed beside it (97110, 97140, 97530,
  97116, evaluations 97161-97164, modalities 97010, 97014/G0283, 97032,
  97035, and now and then 97760 and 97022, so NCCI pairs occur with and without
  59/X modifiers), minutes per code and units by the CMS 8-minute total-time
  rule or the per-code midpoint rule of the payer.

Outcomes come from a latent model. Each line's true denial probability is the
sigmoid of a sum of hard edits (near-certain denials), soft payer-specific
medical-necessity effects, provider effects, a payer policy change part-way
through the period, and noise. ``denied`` is drawn from it; denied lines get
the CARC/RARC of their dominant cause, paid lines a realistic remittance
(CO-45, PR-1/2/3, CO-253). The probability and the dominant cause are returned
in a separate ``truth`` table and are never columns of the claims.

Examples
--------
>>> from ptdenial.datasets import make_claims
>>> world = make_claims(200, random_state=0)
>>> claims, truth = world
>>> sorted(set(truth.columns) & set(claims.columns))
['claim_id', 'line_number']
>>> bool((truth["true_denial_probability"].between(0, 1)).all())
True
"""

from ptdenial.datasets._make import (
    DEFAULT_SAMPLE_PATIENTS,
    DEFAULT_SAMPLE_SEED,
    SampleData,
    SyntheticClaims,
    make_claims,
    make_sample,
)
from ptdenial.datasets._params import PolicyChange, SyntheticParams
from ptdenial.datasets._sample import load_sample_claims, write_sample
from ptdenial.datasets._vocabulary import (
    CAUSES,
    HARD_CAUSES,
    SOFT_CAUSES,
    TRUTH_BEST_PROBABILITY,
    TRUTH_CAUSE,
    TRUTH_PROBABILITY,
)

__all__ = [
    "CAUSES",
    "HARD_CAUSES",
    "PolicyChange",
    "SOFT_CAUSES",
    "SampleData",
    "SyntheticClaims",
    "SyntheticParams",
    "TRUTH_PROBABILITY",
    "TRUTH_CAUSE",
    "TRUTH_BEST_PROBABILITY",
    "DEFAULT_SAMPLE_PATIENTS",
    "DEFAULT_SAMPLE_SEED",
    "load_sample_claims",
    "make_claims",
    "make_sample",
    "write_sample",
]

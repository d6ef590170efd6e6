# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 05 · From risk to a day's plan: KX planning and the denial work queue
#
# A risk score says which lines may be denied. A billing team with a few hours
# a day also asks which Medicare patients are about to need the KX modifier or
# may face targeted medical review, and what to do with the denials that
# already came back, by when. This notebook answers both on the shipped sample
# with `ptdenial.recovery`:
#
# * `plan_kx`: for each Medicare patient with an active plan of care, per
#   therapy bucket (PT+SLP, OT), the planned visit and date that cross the
#   year's KX threshold and the $3,000 targeted-medical-review threshold;
# * `denial_queue`: for each denied or partially denied line, the next action
#   (corrected claim, appeal, patient responsibility, write-off, no action),
#   its deadline, and a rank by recoverable dollars times a recovery
#   likelihood whose source is shown;
# * what tonight's worklist fixes are worth, re-scored with the same as-of
#   snapshot (`p_after_fix`, `dollars_saved`): in the nightly worklist itself,
#   and for any frame with `rescore_fixes`.
#
# Which figures are payer facts and which are defaults is said at each step.
# The same tables come from the command line: `ptdenial plan-kx` and
# `ptdenial denials` (both run in `make demo`).

# %%
import pandas as pd

from ptdenial.datasets import load_sample_claims
from ptdenial.model import DenialRiskModel
from ptdenial.recovery import (
    appeal_limits,
    carc_actions,
    denial_queue,
    plan_kx,
    recovery_likelihoods,
    rescore_fixes,
)
from ptdenial.reference import load_reference
from ptdenial.rules import apply_rules
from ptdenial.scoring import build_worklist, score_batch

pd.set_option("display.max_columns", 30)
pd.set_option("display.width", 160)
pd.set_option("display.max_colwidth", 90)

# %%
history = load_sample_claims("history")
new_claims = load_sample_claims("new_claims")
lines = pd.concat([history, new_claims], ignore_index=True)
reference = load_reference()

# %% [markdown]
# ## 1. KX and targeted-review plan
# The thresholds come from the reference table `kx_thresholds` with their
# sources; `verified` says whether a row rests on a primary or agreed source
# (the 2025 and 2026 amounts come from vendor pages that agree; no CMS or
# MAC page was retrieved). A practice that has the MAC's figure overrides the row
# (`load_reference("my_tables/")`). PT and SLP share one amount, OT has its
# own; a visit whose expected allowed amount crosses the threshold needs KX
# itself.

# %%
reference.kx_thresholds[["year", "kx_threshold", "tmr_threshold", "verified", "source"]]

# %% [markdown]
# Planned mid-October 2025, the sample has Medicare patients close to both
# thresholds. Only lines dated on or before the planning date count (the same
# snapshot rule as scoring). The visit frequency is observed in each episode
# when there are enough visits (`frequency_source`); pass the plan of care's
# own frequency with `visits_per_week` when the practice has it.

# %%
plan = plan_kx(lines, as_of="2025-10-15", reference=reference)
plan[
    [
        "patient_id",
        "bucket",
        "ytd_allowed",
        "allowed_per_visit",
        "visits_per_week",
        "frequency_source",
        "remaining_planned_visits",
        "kx_visit_number",
        "kx_date",
        "tmr_visit_number",
        "tmr_date",
        "action",
    ]
].head(12)

# %%
first_step = plan["action"].str.extract(r"^(add KX from|over the KX|KX not reached)")
first_step[0].value_counts()

# %% [markdown]
# ## 2. The denial work queue
# Each denied line gets one next action from its first denial CARC and group,
# refined by its remark codes and by the billing rules that fired on it: a
# rule whose fix is a claim edit (GP, KX, diagnosis, NCCI, MUE, units ...) and
# whose CARC matches turns the line into a corrected claim carrying that fix.
# The decision table is data:

# %%
carc_actions()

# %% [markdown]
# Deadlines: a corrected claim must reach the payer within its timely-filing
# limit from the date of service (payer policies); an appeal within the
# payer's window from the remittance. Only Medicare's 120 days (42 CFR
# 405.942) is a verified figure; the other windows are defaults to replace
# with the contract's.

# %%
appeal_limits()

# %% [markdown]
# Recovery likelihood per action, with its source. The Medicare
# redetermination figure is the OIG's published Part B favourable rate for
# 2012; the others are assumptions, to replace with the practice's own
# outcomes (`denial_queue(..., likelihoods="ours.csv")`).

# %%
recovery_likelihoods()

# %%
AS_OF = "2026-01-01"
hits = apply_rules(history, as_of=AS_OF, reference=reference).hits
queue = denial_queue(history, as_of=AS_OF, hits=hits, reference=reference)
queue.groupby("action").agg(
    lines=("rank", "size"),
    recoverable=("recoverable", "sum"),
    expected_recovery=("expected_recovery", "sum"),
)

# %% [markdown]
# The top of the queue: the most dollars expected back first. Lines whose
# deadline has passed stay listed (with `days_left` below zero) but expect no
# recovery.

# %%
queue[
    [
        "rank",
        "claim_id",
        "payer_class",
        "denial_reason",
        "rule_hits",
        "action",
        "todo",
        "deadline",
        "days_left",
        "recoverable",
        "likelihood",
        "expected_recovery",
    ]
].head(15)

# %% [markdown]
# Deadlines that are defaults rather than payer facts are marked
# `deadline_verified = False`: how many lines, and how many dollars, hang on
# such a default?

# %%
open_lines = queue[queue["days_left"].fillna(-1) >= 0]
open_lines.groupby(["action", "deadline_verified"], dropna=False)[
    "expected_recovery"
].agg(["size", "sum"])

# %% [markdown]
# ## 3. What a worklist fix is worth
# The worklist says what to change on tonight's lines. `rescore_fixes`
# applies every fix that is a claim edit (add KX, GP or CQ; bill the MUE's
# units or the units the documented minutes support) to a copy of the night,
# scores it again with the **same** as-of snapshot, and reports
# `p_after_fix` and `dollars_saved` (expected payment x (1 - p), after minus
# before). Billing fewer units is paid less, so a units fix can save negative
# dollars: it removes an overpayment risk, not a denial. Fixes that need
# documentation (a signed plan of care, a progress report, distinct sessions
# for a 59 modifier) are labelled and not re-scored as if done.

# %%
model = DenialRiskModel(n_estimators=30).fit(history)
fixes = rescore_fixes(model, new_claims, as_of="2026-01-01")
fixes.groupby("fix_kind").agg(
    lines=("claim_id", "size"), dollars_saved=("dollars_saved", "sum")
)

# %%
edits = fixes[fixes["fix_kind"] == "claim_edit"]
edits.sort_values("dollars_saved", ascending=False)[
    [
        "claim_id",
        "fix_applied",
        "denial_probability",
        "p_after_fix",
        "payment_before",
        "payment_after",
        "dollars_saved",
    ]
].head(10)

# %% [markdown]
# The nightly worklist carries the same figures: the job re-scores, batch by
# batch, the claim edits of the lines it offers to the worklist (a batch holds
# every line of a patient, so the re-score needs nothing else) and shows
# `dollars_saved`, `p_after_fix` and `fix_kind` (`claim edit`, `documentation
# needed`, or empty when only model reasons apply). By default
# (`worklist_rank = "dollars_saved"`) the lines whose claim edit saves dollars
# come first, most saved first, then the rest by dollars at risk; the lines
# on the worklist are the same in either order. `build_worklist` does the
# same for one batch in memory; `make demo` writes it to `out/worklist.html`.

# %%
night = score_batch(model, new_claims, as_of="2026-01-01")
worklist = build_worklist(night, model=model)
worklist[
    [
        "rank",
        "claim_id",
        "cpt_code",
        "denial_probability",
        "dollars_at_risk",
        "dollars_saved",
        "p_after_fix",
        "fix_kind",
    ]
].head(12)

# %%
worklist.groupby("fix_kind").agg(
    lines=("rank", "size"),
    dollars_at_risk=("dollars_at_risk", "sum"),
    dollars_saved=("dollars_saved", "sum"),
)

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
# # 04 · Has the world moved since the model was trained?
#
# A model trained on last year's remittances meets this year's claims. Two
# checks tell whether it still fits:
#
# * **drift**: the population stability index (PSI) of each model input and of
#   the score, in a new batch against the training reference (PSI < 0.10
#   stable, 0.10-0.25 moderate, >= 0.25 significant);
# * **realized performance**: once the remittances of the scored lines
#   arrive, AUC and calibration by month.
#
# The experiment: two synthetic worlds, identical (same seed) except that in
# the second one the four largest commercial payers start requiring prior
# authorization for follow-up visits on 2025-04-01, and the practice takes a
# year to adapt. A model is trained on the history known on 2025-03-31; the
# lines of April to September 2025 are then compared with its reference, once
# in each world. The first must look stable, the second must be flagged.

# %%
# %matplotlib inline
import pandas as pd

from ptdenial import analytics, monitoring, reports
from ptdenial.datasets import PolicyChange, SyntheticParams, make_claims
from ptdenial.model import DenialRiskModel

pd.set_option("display.width", 140)
pd.set_option("display.precision", 3)

# %%
unchanged = SyntheticParams(policy_changes=())
changed = SyntheticParams(
    policy_changes=(
        PolicyChange("COM02", "2025-04-01", "auth_required", 5.0, 365),
        PolicyChange("COM03", "2025-04-01", "auth_required", 5.0, 365),
        PolicyChange("COM04", "2025-04-01", "auth_required", 5.0, 365),
        PolicyChange("COM05", "2025-04-01", "auth_required", 5.0, 365),
    )
)
stable_world = make_claims(
    900, start="2024-01-01", end="2025-09-30", random_state=7, params=unchanged
).claims
changed_world = make_claims(
    900, start="2024-01-01", end="2025-09-30", random_state=7, params=changed
).claims

# %% [markdown]
# The policy change in the data: the commercial denial rate jumps in the second
# quarter of 2025 in the changed world only.

# %%
rates = analytics.denial_rates(
    changed_world, ["quarter", "payer_class"], cpt_code="97112"
)
rates.pivot(index="quarter", columns="payer_class", values="denial_rate")

# %% [markdown]
# ## Train on what was known on 2025-03-31
# `history_as_of` keeps the lines submitted by then and blanks the outcomes that
# arrived later. The reference profile is built on the model's own scores of
# the last six months of that history, with the score distribution kept per
# payer class too (a policy change at some payers barely moves the score
# distribution of the whole practice). Features are always computed on every
# line of the period (visit-level features and rules need the whole visit),
# then the 97112 lines are kept.

# %%
history = monitoring.history_as_of(stable_world, "2025-03-31")
model = DenialRiskModel(n_estimators=100).fit(history)
reference_lines = history[
    (history["cpt_code"] == "97112") & (history["date_of_service"] >= "2024-10-01")
]
reference_features = model.transform_features(history).loc[reference_lines.index]
reference_scores = model.predict_proba_features(reference_features)
profile = monitoring.reference_profile(
    reference_features, reference_scores, segments=reference_lines["payer_class"]
)
{k: profile[k] for k in ("n_rows", "n_bins", "excluded", "segment_by")}

# %% [markdown]
# ## Batch 1: the same world, six months later

# %%
window = stable_world[stable_world["date_of_service"] >= "2025-04-01"]
batch = window[window["cpt_code"] == "97112"]
scorer = model.with_history(stable_world)
stable_features = scorer.transform_features(window).loc[batch.index]
stable_scores = scorer.predict_proba_features(stable_features)
stable_drift = monitoring.drift_table(
    profile, stable_features, stable_scores, segments=batch["payer_class"]
)
stable_drift.head(10)

# %%
reports.plot_drift(stable_drift, title="Unchanged world: drift of Apr-Sep 2025 lines")

# %%
# the card of the model that scored the batch: its history snapshot is fresh
monitoring.recommend_retraining(stable_drift, card=scorer.card_, as_of="2025-09-30")

# %% [markdown]
# ## Batch 2: commercial payers now require prior authorization

# %%
changed_window = changed_world[changed_world["date_of_service"] >= "2025-04-01"]
changed_batch = changed_window[changed_window["cpt_code"] == "97112"]
changed_scorer = model.with_history(changed_world)
changed_features = changed_scorer.transform_features(changed_window).loc[
    changed_batch.index
]
changed_scores = changed_scorer.predict_proba_features(changed_features)
changed_drift = monitoring.drift_table(
    profile, changed_features, changed_scores, segments=changed_batch["payer_class"]
)
changed_drift.head(10)

# %%
reports.plot_drift(changed_drift, title="Changed world: drift of Apr-Sep 2025 lines")

# %% [markdown]
# The whole-practice score hardly moves; the commercial segment does: its lines
# score higher than in the reference, because the model's as-of payer history
# already sees the new denials. But the trees were never trained on payers that
# deny a large share of lines for missing authorization, so the probabilities
# fall short of what happens next (the reliability diagram below).

# %%
commercial_now = changed_batch["payer_class"].eq("commercial").to_numpy()
commercial_then = reference_lines["payer_class"].eq("commercial").to_numpy()
reports.plot_score_distribution(
    changed_scores[commercial_now],
    reference=reference_scores[commercial_then],
    title="Commercial 97112 lines: scores now (bars) against the reference (outline)",
)

# %% [markdown]
# ## Realized performance once the remittances are in

# %%
scored = changed_batch[["claim_id", "line_number", "date_of_service"]].assign(
    denial_probability=changed_scores
)
realized = monitoring.realized_performance(scored, changed_batch)
pd.Series(realized.summary)

# %%
reports.plot_realized_performance(realized.by_month)

# %%
outcomes = realized.joined.dropna(subset=["denied", "denial_probability"])
reports.plot_reliability(
    outcomes["denied"].astype(int),
    outcomes["denial_probability"],
    title="Changed world: reliability of Apr-Sep 2025 scores",
)

# %% [markdown]
# ## The recommendation

# %%
advice = monitoring.recommend_retraining(
    changed_drift, realized, card=changed_scorer.card_, as_of="2025-09-30"
)
print(f"advice: {advice.action} (retrain: {advice.retrain})")
pd.DataFrame([r.to_dict() for r in advice.reasons])

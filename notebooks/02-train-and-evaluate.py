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
# # 02 · Train the denial model and check it before trusting it
#
# A model that predicts which CPT 97112 lines will be denied is only useful if
# it ranks the risky lines first **on claims it has never seen**, and if its
# probabilities mean what they say. This notebook trains the model the way the
# nightly job will use it and grades it on the newest months of the history,
# next to simple baselines and next to the best score any model could reach.
#
# Data: the synthetic sample history shipped with ptdenial (`load_sample_claims`,
# identical to `data/sample/history.parquet`), and the generator's truth: the
# true denial probability of every line, known only because the data is
# synthetic.

# %%
# %matplotlib inline
import tempfile
from pathlib import Path

import pandas as pd

from ptdenial import reports
from ptdenial.datasets import load_sample_claims
from ptdenial.evaluation import lift_table
from ptdenial.model import load_model, save_model, train_and_evaluate

pd.set_option("display.max_columns", 20)
pd.set_option("display.width", 140)
pd.set_option("display.precision", 3)

# %%
history = load_sample_claims("history")
truth = load_sample_claims("history_truth")
history[["date_of_service", "submission_date", "adjudication_date"]].agg(["min", "max"])

# %% [markdown]
# ## A split by time, never at random
#
# The model scores tonight's claims with what was known yesterday. The
# evaluation imitates that, by **submission date**:
#
# | window | lines submitted | used for |
# |---|---|---|
# | training | before the last 6 months | fitting the trees |
# | calibration | in months 6 to 4 before the end | turning scores into probabilities |
# | test | in the last 3 months | the grades below, and nothing else |
#
# The newest two months of the training window stop the boosting early (they
# choose the number of trees); the trees are then refitted on the whole
# training window and, once the calibrator has been fitted, once more with the
# calibration months added (the calibrator is kept).
#
# A training line counts only if its remittance had arrived before the
# calibration window starts: an outcome that arrived later was not known
# then. Lines still waiting for a remittance (*pending*) are never
# negatives. The as-of denial-rate features of every line only use outcomes
# adjudicated before its own submission date. A random split would let the
# model learn from next month's denials to predict last month's, and would
# look better than the model will ever be.
#
# `train_and_evaluate` does all of this and fits the baselines on the same
# training lines. `n_jobs=2` lets LightGBM use both cores of a small machine.

# %%
holdout = train_and_evaluate(history, test_months=3, truth=truth, n_jobs=2)
card = holdout.model.card_
pd.DataFrame(
    {
        "from": [
            card["training_window"][0],
            card["calibration_window"][0],
            card["validation_window"][0],
        ],
        "to": [
            card["training_window"][1],
            card["calibration_window"][1],
            card["validation_window"][1],
        ],
        "97112 lines": [
            card["rows"]["train_97112"],
            card["rows"]["calibration_97112"],
            len(holdout.predictions),
        ],
    },
    index=["training", "calibration", "test"],
)

# %% [markdown]
# ## The model beside the baselines and the truth
#
# Every row scores the same adjudicated 97112 lines of the test window:
#
# * `model`: the calibrated gradient-boosted trees;
# * `historical_rate`: the as-of denial rate of the payer for 97112, what a
#   spreadsheet would give;
# * `rules_only`: a logistic regression on the billing-rule flags alone;
# * `logistic_onehot`: a logistic regression on the same features as the
#   model (one-hot categories, scaled numbers), a strong simple competitor;
# * `true_probability`: the generator's own probability, with the random claim
#   and line noise it drew. That noise leaves no trace in the claims, so this
#   row is an oracle no model can reach;
# * `best_achievable`: the same probability with the noise integrated out, the
#   best any model can do from the claim table. The distance between the model
#   and this row is what is left to learn, the rest is chance.
#
# Higher is better for ROC AUC, PR AUC, lift, capture and dollars captured;
# lower for Brier, log loss and ECE (expected calibration error).
# `capture@10%` is the share of all denials found by reviewing the top 10% of
# lines; `dollars_captured` the share of the denied lines' charges found by
# reviewing the top 10% of lines ranked by probability x charge.

# %%
columns = [
    "n",
    "denial_rate",
    "roc_auc",
    "pr_auc",
    "brier",
    "log_loss",
    "ece",
    "lift@10%",
    "capture@10%",
    "dollars_captured",
]
holdout.metrics.set_index("scorer")[columns]

# %% [markdown]
# ## Per payer
# The model's grades on each payer's test lines; payers with fewer than 50 lines
# are pooled. AUC on a hundred lines moves by several points from chance alone,
# so read small payers as a rough check, not a ranking.

# %%
holdout.by_payer[["group", *columns]]

# %% [markdown]
# ## Ranking: ROC and precision-recall curves
# The precision-recall curve is the one to read for a worklist: of the lines
# flagged (precision), how many are really denied, at each share of all denials
# caught (recall).

# %%
y = holdout.predictions["denied"]
scores = holdout.predictions.filter(like="score_")
scores.columns = scores.columns.str.removeprefix("score_")
reports.plot_roc_pr(y, scores, title="Test window: ranking of 97112 denials")

# %% [markdown]
# ## Calibration: do the probabilities hold?
# Lines are sorted by score into ten equal-count bins; each point is a bin's
# mean predicted probability against its observed denial rate, with a 95%
# interval. On the dashed diagonal a 30% line is denied 30% of the time, which
# is what the dollars-at-risk figures of the worklist rely on.

# %%
reports.plot_reliability(
    y,
    scores[["model", "true_probability"]],
    title="Test window: reliability of the 97112 denial probabilities",
)

# %% [markdown]
# ## Lift and gains: what a review team would catch
# If the billers can check a fixed share of tomorrow's lines, the left panel
# says how many of the denials they would see by taking the highest scores
# first; the right panel, how much denser in denials each tenth of the ranking
# is than the average.

# %%
reports.plot_lift(
    y,
    scores,
    title="Test window: denials caught by reviewing the riskiest lines first",
)

# %%
lift_table(y, scores["model"], shares=(0.05, 0.10, 0.20, 0.30))

# %% [markdown]
# ## What the model looks at
# Exact TreeSHAP contributions (log-odds) of every feature on 400 test lines
# drawn at random (exact contributions cost a few milliseconds per line); the
# bars are the mean absolute contribution. `rule__*` are billing-rule flags,
# `gap__*` how far a line is past a rule's limit, `hist_*` the as-of denial
# rates of the payer, provider, clinic and patient. Features are computed on the
# whole history, so that visit-level features see every line of a visit, then
# the test lines are kept.

# %%
evaluator = holdout.model.with_history(history)
test_features = evaluator.transform_features(history).loc[holdout.predictions.index]
contributions = evaluator.contributions(test_features.sample(400, random_state=0))
reports.plot_feature_importance(
    contributions, top=20, title="Top 20 features on 400 test-window 97112 lines"
)

# %% [markdown]
# ## The model card, and the model file
# The model is saved with skops (never pickle) to a temporary folder (removed
# when the kernel stops), with its card beside it as JSON; loading checks the
# file's hash, the schema version and the library versions. The card records
# the windows, the row counts and the test-window metrics, so the numbers above
# travel with the model.

# %%
workdir = tempfile.TemporaryDirectory(prefix="ptdenial-02-")
model_dir = Path(workdir.name)
model_path = save_model(holdout.model, model_dir / "denial-model.skops")
loaded = load_model(model_path)
card = loaded.card_
pd.Series(
    {
        "model_id": loaded.model_id,
        "file": model_path.name,
        "file size (kB)": round(model_path.stat().st_size / 1024),
        "learner": card["learner"],
        "calibration": card["calibration"],
        "trees": card["n_iter"],
        "features": len(card["feature_names"]),
        "training window": " to ".join(card["training_window"]),
        "calibration window": " to ".join(card["calibration_window"]),
        "test window": " to ".join(card["validation_window"]),
        "test ROC AUC": round(card["validation_metrics"]["model"]["roc_auc"], 3),
        "test ECE": round(card["validation_metrics"]["model"]["ece"], 3),
        "schema version": card["schema_version"],
    }
)

# %%
pd.DataFrame({"lines": card["rows"]}).rename_axis("rows of the training history")

# %%
pd.Series(card["versions"], name="version").rename_axis("library")

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
# # 03 · Tonight's claims: which lines to fix before they go out, and why
#
# The nightly job scores the claim lines about to be submitted: every CPT 97112
# line gets a denial probability and a risk band, every line goes through the
# billing rules, and the lines with the most dollars at risk land on a
# **worklist** with their reasons in plain words and the fix for each.
#
# This notebook runs the same steps in memory on the sample: a model trained on
# the sample history (`data/sample/history.parquet`) scores the sample's new
# claims (`data/sample/new_claims.parquet`) on the night after the history
# ends. Then one line of the worklist is taken apart: its rule hits, its
# reasons, and the contribution of every model input to its score.

# %%
# %matplotlib inline
import tempfile
from pathlib import Path

import pandas as pd

from ptdenial import reports, scoring
from ptdenial.config import ScoringConfig
from ptdenial.datasets import load_sample_claims
from ptdenial.explain import Explainer
from ptdenial.model import DenialRiskModel, save_model

pd.set_option("display.max_columns", 20)
pd.set_option("display.width", 140)
pd.set_option("display.precision", 3)
pd.set_option("display.max_colwidth", 120)

# %%
history = load_sample_claims("history")
new_claims = load_sample_claims("new_claims")
AS_OF = history["submission_date"].max() + pd.Timedelta(days=1)
pd.Series(
    {
        "history ends": history["submission_date"].max().date(),
        "scoring night (as_of)": AS_OF.date(),
        "new lines": len(new_claims),
        "new claims": new_claims["claim_id"].nunique(),
        "new 97112 lines": int((new_claims["cpt_code"] == "97112").sum()),
        "first date of service": new_claims["date_of_service"].min().date(),
        "last date of service": new_claims["date_of_service"].max().date(),
    }
)

# %% [markdown]
# ## The model
# Trained on the whole history, as the nightly job's model would be (notebook 02
# grades this recipe on held-out months), and saved to a temporary folder
# (removed when the kernel stops): the model id written on every scored line is
# the hash of that file.

# %%
model = DenialRiskModel(n_jobs=2).fit(history)
workdir = tempfile.TemporaryDirectory(prefix="ptdenial-03-")
model_dir = Path(workdir.name)
model_path = save_model(model, model_dir / "denial-model.skops")
pd.Series(
    {
        "model_id": model.model_id,
        "training window": " to ".join(model.card_["training_window"]),
        "calibration window": " to ".join(model.card_["calibration_window"]),
        "trees": model.card_["n_iter"],
    }
)

# %% [markdown]
# ## Score the new claims
# `score_claims` validates the lines, runs the billing rules on every line,
# scores the 97112 lines with the history known on the scoring night (`as_of`:
# only remittances that arrived before it count), and explains them. Lines of
# other codes are `not_scored` but keep their rule hits.
#
# Risk bands: `high` from 35%, `medium` from 15% (`ScoringConfig`, settable in
# a TOML file or the environment). Expected loss is the probability times the
# expected payment of the line. The synthetic sample also knows each line's
# true denial probability: the bands should order it as they order the scores.

# %%
config = ScoringConfig()
scored = scoring.score_claims(model, new_claims, as_of=AS_OF, config=config)
scored[
    ["claim_id", "line_number", "cpt_code", "denial_probability", "risk_band"]
].head()

# %%
truth = load_sample_claims("new_claims_truth")
with_truth = scored.merge(truth, on=["claim_id", "line_number"], how="left")
with_truth.groupby("risk_band").agg(
    lines=("claim_id", "size"),
    mean_probability=("denial_probability", "mean"),
    true_probability=("true_denial_probability", "mean"),
    expected_loss=("expected_loss", "sum"),
).reindex(["high", "medium", "low", "not_scored"])

# %%
reports.plot_score_distribution(
    scored["denial_probability"],
    cut_points=config.band_edges(),
    title=f"Denial probability of the new 97112 lines, scored {AS_OF.date()}",
)

# %% [markdown]
# ## The worklist
# The lines worth a biller's time tonight: 97112 lines in the medium or high
# band and any line with a **hard** rule hit (a line a payer's edit will
# reject), the ones with the most expected dollars at risk (denial
# probability x expected payment; a hard-rule line of another code counts its
# whole expected payment). `score_batch`, the pure function behind
# `score_claims`, keeps what the worklist and the explanations need (rule
# hits, model inputs); `build_worklist` gives the lines exact reasons and
# re-scores each claim edit (add a modifier, bill fewer units) with the same
# as-of: `dollars_saved` and `p_after_fix`. By default the lines whose claim
# edit saves dollars come first, then the rest by dollars at risk
# (`ScoringConfig(worklist_rank="expected_loss")` orders by dollars at risk
# only; notebook 05 says what each figure rests on).

# %%
result = scoring.score_batch(model, new_claims, as_of=AS_OF, config=config)
explainer = Explainer(model)
worklist = scoring.build_worklist(
    result, config=config, model=model, explainer=explainer
)
n_hits = worklist["rule_hits"].map(len)
worklist.assign(with_rule_hit=n_hits > 0).groupby("risk_band").agg(
    lines=("rank", "size"),
    with_rule_hit=("with_rule_hit", "sum"),
    dollars_at_risk=("dollars_at_risk", "sum"),
)

# %%
worklist.head(15)[
    [
        "rank",
        "claim_id",
        "line_number",
        "date_of_service",
        "payer_id",
        "cpt_code",
        "units",
        "denial_probability",
        "expected_payment",
        "dollars_at_risk",
        "dollars_saved",
        "fix_kind",
        "rule_hits",
    ]
]

# %% [markdown]
# Reasons come first from the rule hits (hard, then soft), then from the model
# drivers, in words built from the line's own values; each fixable reason has a
# suggested fix. The top five lines:

# %%
worklist.head(5)[["rank", "claim_id", "reasons"]].explode("reasons")

# %%
worklist.head(5)[["rank", "claim_id", "suggested_fixes"]].explode("suggested_fixes")

# %% [markdown]
# The same worklist as a self-contained HTML page (no external files), as the
# nightly job writes it for the billing team:

# %%
page = model_dir / "worklist.html"
page.write_text(
    scoring.worklist_html(
        worklist, title="97112 worklist", subtitle=f"claims scored {AS_OF.date()}"
    )
)
print(f"{len(worklist)} worklist lines written to {page}")

# %% [markdown]
# ## One line explained
# The highest-ranked worklist line that has both a rule hit and a model driver
# among its reasons, and whose score is not already near certain (below 90%;
# the lines above it mostly carry a hard edit that settles the matter). First
# the claim as billed (all its lines: rules look at the whole visit), then the
# rule hits with their fixes.

# %%
n_reasons = worklist["reasons"].map(len)
uncertain = worklist["denial_probability"] < 0.9
line = worklist[uncertain & (n_hits > 0) & (n_reasons > n_hits)].iloc[0]
line[["rank", "claim_id", "line_number", "payer_id", "risk_band", "dollars_at_risk"]]

# %%
same_claim = result.claims["claim_id"] == line["claim_id"]
result.claims.loc[
    same_claim,
    [
        "claim_id",
        "line_number",
        "date_of_service",
        "cpt_code",
        "units",
        "minutes",
        "modifiers",
        "diagnosis_codes",
        "provider_credential",
        "payer_id",
    ],
]

# %%
at = (result.scored["claim_id"] == line["claim_id"]) & (
    result.scored["line_number"] == line["line_number"]
)
pos = result.scored.index[at][0]
hits = result.hits[result.hits["pos"] == pos]
hits[["rule_id", "kind", "carc", "detail", "fix"]]

# %% [markdown]
# Its reasons and suggested fixes, as on the worklist:

# %%
pd.concat(
    {
        "reason": pd.Series(line["reasons"], dtype=object),
        "suggested fix": pd.Series(line["suggested_fixes"], dtype=object),
    }
)

# %% [markdown]
# ## Where the score comes from
# Exact TreeSHAP contributions of the line's model inputs, in log-odds of the
# trees before calibration: the bars start from the average line (base value)
# and add up to the line's score; red raises the risk, green lowers it. The
# reasons above group these inputs (all the payer's denial-rate features are
# one reason) and drop the ones a rule hit already states; the grouped sums
# follow the waterfall.

# %%
line_features = result.features.loc[[pos]]
contributions = model.contributions(line_features).iloc[0]
reports.plot_waterfall(
    contributions,
    values=line_features.iloc[0],
    rule_hits=hits,
    probability=line["denial_probability"],
    categories=model,
    top=12,
)

# %%
by_group = pd.Series(explainer.exact(line_features)[0], index=explainer.groups)
by_group[by_group.abs() >= 0.01].sort_values(ascending=False).rename(
    "contribution (log-odds)"
)

# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 01 · Where do the 97112 denials come from?
#
# Before trusting any model, look at the history itself: which payers, reasons,
# providers, clinics and months the denials of CPT 97112 (neuromuscular
# re-education) lines come from, how much money they represent, and how much of
# it a billing rule would have caught before submission.
#
# Data: the synthetic sample history shipped with ptdenial (`load_sample_claims`,
# identical to `data/sample/history.parquet`). Every rate below counts
# **adjudicated** lines only; lines still waiting for a remittance are *pending*
# and shown in their own column. Intervals are 95% Wilson score intervals.

# %%
# %matplotlib inline
import pandas as pd

from ptdenial import analytics, reports
from ptdenial.datasets import load_sample_claims
from ptdenial.rules import apply_rules
from ptdenial.schema import derive_outcomes

pd.set_option("display.max_columns", 20)
pd.set_option("display.width", 140)
pd.set_option("display.precision", 3)

# %%
history = derive_outcomes(load_sample_claims("history"))
CODE = "97112"
analytics.denial_rates(history, "cpt_code").nlargest(8, "lines")

# %% [markdown]
# ## Denial rate by payer
# Bars are sorted by rate; the numbers at the right are denied / adjudicated
# lines, so a high rate on a handful of lines is easy to tell from a large
# problem. The dashed line is the overall rate.

# %%
analytics.denial_rates(history, "payer_class", cpt_code=CODE)

# %%
by_payer = analytics.denial_rates(history, "payer_id", cpt_code=CODE)
reports.plot_denial_rates(by_payer, title="97112 denial rate by payer")

# %% [markdown]
# ## Denial reasons: the CARC Pareto
# Each denied line counts once, under its first denial reason (CARC); the
# dollar panel shows the billed charges and the expected payment (what the
# payer usually allows for such a line) of the denied lines.

# %%
pareto = analytics.carc_pareto(history, cpt_code=CODE)
pareto[
    [
        "group",
        "code",
        "category",
        "lines",
        "share",
        "cumulative_share",
        "charges",
        "expected_payment",
    ]
]

# %%
reports.plot_carc_pareto(pareto)

# %%
analytics.carc_pareto(history, kind="RARC", cpt_code=CODE, top=8)[
    ["code", "text", "lines", "share", "cumulative_share"]
]

# %% [markdown]
# ## Providers and clinics

# %%
by_provider = analytics.denial_rates(history, "rendering_provider_id", cpt_code=CODE)
reports.plot_denial_rates(
    by_provider, top=15, title="97112 denial rate by rendering provider"
)

# %%
analytics.denial_rates(
    history, ["clinic_id", "provider_credential"], cpt_code=CODE, sort=True
)

# %% [markdown]
# ## The monthly trend
# The last months are incomplete: many of their lines are still pending (orange
# in the lower panel), so a drop there is not yet an improvement.

# %%
trend = analytics.monthly_trend(history, cpt_code=CODE)
reports.plot_monthly_trend(trend)

# %%
trend_by_class = analytics.monthly_trend(history, by="payer_class", cpt_code=CODE)
reports.plot_monthly_trend(trend_by_class, by="payer_class", top=4)

# %% [markdown]
# ## Rule hits against outcomes
# The billing rules run on every line of a visit (not only 97112). For each
# rule: how many adjudicated 97112 lines it fired on, how many were denied, and
# the lift over lines on which no rule fired.

# %%
rules = apply_rules(history)
rule_table = analytics.rule_outcome_table(history, rules, cpt_code=CODE)
rule_table.head(30)

# %%
reports.plot_rule_outcomes(rule_table, min_lines=10)

# %% [markdown]
# ## Revenue at risk, and what is recoverable
# Revenue at risk is the expected payment of denied lines; the recoverable part
# is on denied lines where a **hard** rule fired, i.e. a scrubber would have
# stopped the line before it went out.

# %%
analytics.revenue_at_risk(history, rules, cpt_code=CODE)

# %%
reports.plot_revenue_at_risk(
    analytics.revenue_at_risk(history, rules, by="payer_id", cpt_code=CODE)
)

# %% [markdown]
# ## What if the flagged lines had been fixed?
# For each rule, the denials expected to disappear if its lines had been
# corrected, taking the denial rate of comparable lines (same payer and code)
# without the hit as the counterfactual. Lines often carry several hits, so the
# rows overlap and do not add up.

# %%
what_if = analytics.rule_what_if(history, rules, cpt_code=CODE)
what_if.head(10)

# %%
reports.plot_what_if(what_if)

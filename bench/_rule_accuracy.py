"""How well the rules find the edits two synthetic worlds planted.

* ``ptdenial.datasets``: its truth names each line's dominant cause; the hard
  causes are rule ids. Recall = share of the lines whose dominant cause is a
  hard rule that the rule flags; false alarms = share of the *hard hits*
  (after hits resting on unverified values are reported soft) that fall on a
  line whose dominant cause is not a hard edit.
* ``bench.worlds`` (written without reading ptdenial): its denial model is a
  sum of named terms; they are captured while the world is generated. Its
  payers have their own policies (visit limits, authorization regimes, GP
  and CQ rules) that ptdenial's class defaults do not know, some of its
  facts are invisible in the claim columns (therapy elsewhere in the KX
  year-to-date), and it orders some NCCI pairs the other way round: the
  figures show how ptdenial does at a practice it was not built for.

Used by ``bench/bench_rules.py`` and ``tests/test_rule_accuracy.py``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ptdenial import schema as S
from ptdenial.rules import apply_rules, rule_catalogue

#: bench.worlds' hard terms and the rules that should flag them.
WORLD_TERMS = {
    "gp_missing": ("GP_MISSING",),
    "kx_missing": ("KX_MISSING",),
    "mue": ("MUE",),
    "auth_missing": ("AUTH_ABSENT",),
    "auth_exceeded": ("AUTH_EXCEEDED",),
    "timely": ("TIMELY",),
    "dx_invalid": ("DX_MISSING",),
    "referring": ("REFERRING_NPI",),
    "ncci": ("NCCI_PTP", "NCCI_MI0", "MOD59_COMMERCIAL"),
    "benefit_limit": ("BENEFIT_LIMIT",),
    "invalid_code": ("CODE_NOT_PAYABLE",),
}


def _hard_rules() -> list[str]:
    cat = rule_catalogue()
    return cat.loc[cat["kind"] == "hard", "rule_id"].tolist()


def datasets_accuracy(n_claims: int, seed: int, params=None):
    """Recall per hard cause and the false-alarm share on ptdenial.datasets.

    Returns ``(per_rule, summary)`` DataFrames.
    """
    from ptdenial.datasets import HARD_CAUSES, TRUTH_CAUSE, make_claims

    world = make_claims(n_claims, random_state=seed, params=params)
    valid, _ = S.validate_claims(world.claims)
    cause = pd.Series(world.truth[TRUTH_CAUSE].to_numpy(), index=world.claims.index)
    cause = cause.loc[valid.index]
    result = apply_rules(valid)
    rows = []
    for rid in HARD_CAUSES:
        m = (cause == rid).to_numpy()
        if rid not in result.flags or not m.any():
            continue
        col = result.flags[rid]
        rows.append(
            {
                "cause": rid,
                "lines": int(m.sum()),
                "recall": float(col.fillna(False).to_numpy(dtype=bool)[m].mean()),
                "not_evaluated": float(col.isna().to_numpy()[m].mean()),
            }
        )
    summary = _false_alarms(result, ~cause.isin(HARD_CAUSES).to_numpy())
    summary["lines"] = len(valid)
    return pd.DataFrame(rows), summary


_BYPASS = {"59", "XE", "XP", "XS", "XU"}


def _false_alarms(result, no_hard: np.ndarray) -> dict:
    hits = result.hits
    hard = (hits["kind"] == "hard").to_numpy()
    pos = result.hit_rows
    flags = result.flags[_hard_rules()].fillna(False).to_numpy(dtype=bool)
    any_flag = flags.any(axis=1)
    return {
        "hard_hits": int(hard.sum()),
        "false_alarm_share": float(no_hard[pos[hard]].mean()) if hard.any() else 0.0,
        "flagged_lines": int(any_flag.sum()),
        "flag_false_alarm_share": float(no_hard[any_flag].mean())
        if any_flag.any()
        else 0.0,
        "soft_from_unverified": int(
            (hits["kind"] == "soft")
            .to_numpy()[np.isin(hits["rule_id"].to_numpy(), _hard_rules())]
            .sum()
        ),
    }


def worlds_accuracy(n_lines: int, seed: int, **knobs):
    """Recall per hard term and false alarms on bench.worlds.

    The world's terms are captured by wrapping its generator's
    ``denial_terms`` and ``realize``; lines are matched to the claims through
    their (unique) true log-odds.
    """
    import bench.worlds._generate as gen
    from bench.worlds import make_world

    captured: dict = {}
    terms_fn, realize_fn = gen.denial_terms, gen.realize

    def terms(*a, **k):
        captured["terms"] = out = terms_fn(*a, **k)
        return out

    def realize(*a, **k):
        out = realize_fn(*a, **k)
        captured["logit"] = out[0]
        return out

    gen.denial_terms, gen.realize = terms, realize
    try:
        claims, truth = make_world(n_lines, seed=seed, **knobs)
    finally:
        gen.denial_terms, gen.realize = terms_fn, realize_fn
    logits = pd.Index(truth["true_logit"].to_numpy())
    where = logits.get_indexer(captured["logit"]) if logits.is_unique else None
    if where is None or (where < 0).any():
        raise RuntimeError("cannot match the world's terms to its lines")
    named = {k: v for k, v in captured["terms"].items() if k != "background"}
    terms_df = pd.DataFrame(named, index=where).sort_index()
    terms_df.index = claims.index
    run_date = pd.Timestamp(claims[S.SUBMISSION_DATE].max())
    valid, _ = S.validate_claims(claims, run_date=run_date)
    terms_df = terms_df.loc[valid.index]
    result = apply_rules(valid)
    rows = []
    for term, rules in WORLD_TERMS.items():
        if term not in terms_df:
            continue
        m = (terms_df[term] > 0).to_numpy()
        if not m.any():
            continue
        flags = result.flags[list(rules)]
        caught = flags.fillna(False).to_numpy(dtype=bool).any(axis=1)[m]
        unknown = flags.isna().to_numpy().all(axis=1)[m]
        rows.append(
            {
                "term": term,
                "rules": " ".join(rules),
                "lines": int(m.sum()),
                "recall": float(caught.mean()),
                "not_evaluated": float(unknown.mean()),
                "recall_evaluated": float(caught[~unknown].mean())
                if (~unknown).any()
                else np.nan,
            }
        )
    hard_terms = [t for t in (*WORLD_TERMS, "units", "eligibility") if t in terms_df]
    no_hard = ~(terms_df[hard_terms] > 0).to_numpy().any(axis=1)
    summary = _false_alarms(result, no_hard)
    hits = result.hits
    hard = (hits["kind"] == "hard").to_numpy()
    wrong = hits.loc[hard & no_hard[result.hit_rows], "rule_id"].value_counts()
    summary["false_alarms_by_rule"] = wrong.to_dict()
    not_ncci = hard & (hits["rule_id"] != "NCCI_PTP").to_numpy()
    summary["false_alarm_share_without_ncci"] = (
        float(no_hard[result.hit_rows[not_ncci]].mean()) if not_ncci.any() else 0.0
    )
    # NCCI false alarms where the world puts the pair's edit on the other
    # line of the day: the two disagree on which code is column 2
    day = valid.groupby([S.PATIENT_ID, S.DATE_OF_SERVICE]).ngroup().to_numpy()
    ncci_day = np.zeros(day.max() + 1 if len(day) else 0, bool)
    ncci_day[day[(terms_df["ncci"] > 0).to_numpy()]] = True
    ncci_wrong = hard & no_hard[result.hit_rows] & (hits["rule_id"] == "NCCI_PTP")
    wrong_rows = result.hit_rows[ncci_wrong.to_numpy()]
    summary["ncci_other_line_in_world"] = int(ncci_day[day[wrong_rows]].sum())
    # ... and where the day's other line carries the bypass modifier (the
    # world's column 2), so the world pays both and ptdenial asks for it on
    # the line it takes for column 2
    bypass = np.array(
        [isinstance(m, tuple) and bool(_BYPASS & set(m)) for m in valid[S.MODIFIERS]]
    )
    bypass_days = np.bincount(day[bypass], minlength=day.max() + 1 if len(day) else 0)
    summary["ncci_bypass_on_other_line"] = int((bypass_days[day[wrong_rows]] > 0).sum())
    summary["lines"] = len(valid)
    return pd.DataFrame(rows), summary

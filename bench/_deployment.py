"""Shipping, not holding out: train once at a cut, then score night after night.

A *deployment world* is a practice's claims as a PM system exports them:
the history as exported on the cut day (documents signed after the cut and
outcomes not known yet are empty), and every later night's new claims as
they looked on that night. The model is trained once on the history, then
scores each night's claims for six months:

* **no refresh**: with the snapshot it was trained with;
* **nightly refresh**: with the history as exported that night
  (``DenialRiskModel.with_history``, what ``ptdenial score --history`` does).

Metrics are on the adjudicated 97112 lines of months 1, 2-3 and 4-6 after
the cut: AUC beside the truth's (and the best achievable where the world
knows it), ECE beside the noise floor of a perfectly calibrated model on the
same lines, mean predicted beside realized.

Worlds come from two independent simulators: ``bench.worlds`` (no code
shared with ptdenial) and ``ptdenial.datasets`` with non-default
parameters.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np
import pandas as pd

from ptdenial.schema import OUTCOME_COLUMNS, SCORED_CODE

WINDOWS = (("month 1", 1, 1), ("months 2-3", 2, 3), ("months 4-6", 4, 6))


@dataclasses.dataclass
class DeploymentWorld:
    """A history exported at the cut, nightly batches after it, their truth.

    Attributes
    ----------
    name : str
    cut : pandas.Timestamp
        Last submission day of the history (its export day).
    history : pandas.DataFrame
        Raw claims as exported on the cut day.
    new_claims : pandas.DataFrame
        Raw claims sent after the cut, each as on its own night, no outcomes.
    truth : pandas.DataFrame
        Row for row with ``new_claims``: ``denied`` (NA when pending),
        ``true_probability`` and, when known, ``best_achievable``.
    export : callable
        ``export(day)``: raw claims as exported on ``day`` (for refreshes).
    """

    name: str
    cut: pd.Timestamp
    history: pd.DataFrame
    new_claims: pd.DataFrame
    truth: pd.DataFrame
    export: Callable[[pd.Timestamp], pd.DataFrame]


# --- worlds --------------------------------------------------------------------------


def _world_with_terms(n_lines: int, seed: int, **knobs):
    """``make_world`` plus the line noise and hidden-eligibility log-odds.

    Read by wrapping the world's ``denial_terms`` for the call (bench.worlds
    is not changed); the terms are matched to the truth rows by log-odds.
    """
    import bench.worlds._generate as gen
    from bench.worlds import make_world

    seen = {}
    original = gen.denial_terms

    def capture(x, *args, **kwargs):
        terms = original(x, *args, **kwargs)
        seen["logit"] = np.asarray(sum(terms.values()), dtype=float)
        seen["hidden"] = np.asarray(x["noise"], float) + terms["eligibility"]
        return terms

    gen.denial_terms = capture
    try:
        claims, truth = make_world(n_lines, seed=seed, **knobs)
    finally:
        gen.denial_terms = original
    at = pd.Index(seen["logit"]).get_indexer(truth["true_logit"].to_numpy())
    hidden = np.where(at >= 0, seen["hidden"][np.maximum(at, 0)], np.nan)
    return claims, truth, truth["true_logit"].to_numpy() - hidden


def bench_world(name: str, n_lines: int, seed: int, cut, **knobs) -> DeploymentWorld:
    """A ``bench.worlds`` practice: history at ``cut``, new claims on their nights.

    Its truth has ``observable``: the true log-odds without the line's noise
    and the hidden end of coverage (an upper bound of what any model can
    rank from the claim table; the patient's own effect and what happens
    after sending are still in it).
    """
    from bench.worlds import as_of_night, history_as_of

    claims, truth, observable = _world_with_terms(n_lines, seed, **knobs)
    cut = pd.Timestamp(cut)
    sub = pd.to_datetime(claims["submission_date"]).dt.normalize()
    after = (sub > cut).to_numpy()
    new = as_of_night(claims[after].reset_index(drop=True))
    new = new.drop(columns=[c for c in OUTCOME_COLUMNS if c in new.columns])
    t = truth[after].reset_index(drop=True)
    return DeploymentWorld(
        name,
        cut,
        history_as_of(claims, cut),
        new,
        pd.DataFrame(
            {
                "denied": t["denied"],
                "true_probability": t["true_probability"].to_numpy(float),
                "observable": observable[after],
            }
        ),
        lambda day: history_as_of(claims, day),
    )


def _blank_after(frame: pd.DataFrame, limit: pd.Series) -> pd.DataFrame:
    """Certifications and note signatures dated after ``limit`` blanked."""
    out = frame.copy()
    for col in ("poc_certified_date", "note_signed_date"):
        late = (out[col] > limit).to_numpy()
        out[col] = out[col].mask(late)
    return out


def datasets_world(
    name: str, n_patients: int, seed: int, cut, **params
) -> DeploymentWorld:
    """A ``ptdenial.datasets`` practice with non-default ``SyntheticParams``.

    With ``late_documents=True`` the export shows certifications and note
    signatures as signed by the export day; new claims show them as on
    their night.
    """
    from ptdenial.datasets import SyntheticParams, make_claims
    from ptdenial.schema import derive_outcomes

    sp = dataclasses.replace(SyntheticParams(), **params)
    final, truth = make_claims(n_patients, random_state=seed, params=sp)
    cut = pd.Timestamp(cut)
    sub = final["submission_date"]
    after = (sub > cut).to_numpy()
    labels = derive_outcomes(final)
    denied = labels["denied"].mask(labels["pending"])
    new = final[after].reset_index(drop=True)
    new = _blank_after(new, new["submission_date"])
    new = new.drop(columns=[c for c in OUTCOME_COLUMNS if c in new.columns])

    def export(day):
        day = pd.Timestamp(day)
        rows = final[final["submission_date"] <= day]
        rows = _blank_after(rows, pd.Series(day, index=rows.index))
        unknown = (rows["adjudication_date"] > day).to_numpy()
        for col in OUTCOME_COLUMNS:
            if col in rows.columns:
                if rows[col].dtype == object:
                    vals = rows[col].to_numpy(dtype=object).copy()
                    empty = np.empty(int(unknown.sum()), dtype=object)
                    empty[:] = [()] * len(empty)
                    vals[unknown] = empty
                    rows[col] = vals
                else:
                    rows[col] = rows[col].mask(unknown)
        return rows.reset_index(drop=True)

    return DeploymentWorld(
        name,
        cut,
        export(cut),
        new,
        pd.DataFrame(
            {
                "denied": denied[after].reset_index(drop=True),
                "true_probability": truth["true_denial_probability"][after].to_numpy(),
                "best_achievable": truth["best_achievable_probability"][
                    after
                ].to_numpy(),
            }
        ),
        export,
    )


# --- scoring -------------------------------------------------------------------------


def _validated(frame: pd.DataFrame) -> pd.DataFrame:
    from ptdenial.schema import validate_claims

    res = validate_claims(frame, run_date="2100-01-01")
    if len(res.quarantine):
        raise RuntimeError(f"{len(res.quarantine)} rows quarantined in a bench world")
    return res.valid


class _Refresher:
    """The history as exported on any night, from one validated final export."""

    def __init__(self, world: DeploymentWorld, last_day):
        from ptdenial.schema import derive_outcomes

        full = derive_outcomes(_validated(world.export(last_day)))
        self.sub = full["submission_date"].to_numpy()
        self.adj = full["adjudication_date"].to_numpy()
        self.full = full

    def history(self, night) -> pd.DataFrame:
        night = np.datetime64(pd.Timestamp(night))
        rows = self.sub <= night
        known = ~np.isnat(self.adj) & (self.adj <= night)
        h = self.full.loc[rows]
        pending = ~known[rows]
        return h.assign(
            adjudication_date=h["adjudication_date"].mask(pending),
            denied=h["denied"].mask(pending),
            pending=pending,
        )


def score_nights(
    model, world: DeploymentWorld, *, refresh: bool, every: int = 1, until=None
) -> np.ndarray:
    """Each new line's probability, scored on its night (97112 lines; NaN else).

    With ``refresh``, the snapshot is refreshed with the history as exported
    that night every ``every`` scoring nights (1: nightly). ``until``: last
    night scored (later lines stay NaN).
    """
    new = _validated(world.new_claims)
    nights = new["submission_date"]
    p = np.full(len(new), np.nan)
    refresher = _Refresher(world, nights.max()) if refresh else None
    m = model
    groups = sorted(new.groupby(nights).groups.items())
    if until is not None:
        groups = [(n, i) for n, i in groups if n <= pd.Timestamp(until)]
    for k, (night, idx) in enumerate(groups):
        if refresh and k % every == 0:
            m = model.with_history(refresher.history(night))
        p[new.index.get_indexer(idx)] = m.predict_proba(new.loc[idx], as_of=night)[:, 1]
    code = (new["cpt_code"] == SCORED_CODE).to_numpy(dtype=bool, na_value=False)
    return np.where(code, p, np.nan)


def window_metrics(world: DeploymentWorld, p: np.ndarray, label: str) -> list[dict]:
    """AUC, ECE, noise floor and mean predicted vs realized per window."""
    from sklearn.metrics import roc_auc_score

    from ptdenial.evaluation import ece_noise_floor, expected_calibration_error

    t = world.truth
    adjudicated = t["denied"].notna().to_numpy()
    ok = adjudicated & ~np.isnan(p)
    y = t["denied"].fillna(False).to_numpy(dtype=bool).astype(int)
    sub = pd.to_datetime(world.new_claims["submission_date"])
    month = (sub.dt.year - world.cut.year) * 12 + sub.dt.month - world.cut.month
    rows = []
    for name, lo, hi in WINDOWS:
        sel = ok & (month >= lo).to_numpy() & (month <= hi).to_numpy()
        if sel.sum() < 50 or y[sel].min() == y[sel].max():
            continue
        row = {
            "world": world.name,
            "scoring": label,
            "window": name,
            "lines": int(sel.sum()),
            "auc_model": roc_auc_score(y[sel], p[sel]),
            "auc_true": roc_auc_score(y[sel], t["true_probability"].to_numpy()[sel]),
        }
        # ptdenial.datasets: best achievable probability; bench.worlds: the
        # observable log-odds (same ranking use: AUC needs no probability)
        best = next((c for c in ("best_achievable", "observable") if c in t), None)
        if best is not None:
            row["auc_best"] = roc_auc_score(y[sel], t[best].to_numpy()[sel])
        row["ece"] = expected_calibration_error(y[sel], p[sel])
        row["ece_floor"] = ece_noise_floor(p[sel])["median"]
        row["mean_predicted"] = float(p[sel].mean())
        row["realized"] = float(y[sel].mean())
        row["mean_true"] = float(t["true_probability"].to_numpy()[sel].mean())
        rows.append(row)
    return rows


def deploy(world: DeploymentWorld, *, refresh=(False, True), **params) -> list[dict]:
    """Train on the world's history; metrics without and with nightly refresh."""
    from ptdenial.model import DenialRiskModel

    model = DenialRiskModel(**params).fit(_validated(world.history))
    rows = []
    for r in refresh:
        p = score_nights(model, world, refresh=r)
        rows += window_metrics(world, p, "nightly refresh" if r else "no refresh")
    return rows


# --- the worlds of the deployment table -------------------------------------------
CUT = "2025-06-30"

#: name -> (builder, description). Sizes keep one world under ~3 minutes.
WORLDS = {
    "bench s1": (
        lambda: bench_world("bench s1", 150_000, 1, CUT),
        "bench.worlds, 11 payers, late documents (default knobs)",
    ),
    "bench s2 policy+edit before cut": (
        lambda: bench_world(
            "bench s2 policy+edit before cut",
            150_000,
            2,
            CUT,
            policy_change=("COM-UHC-CP", "2025-03-01", 1.2),
            payer_edit=("COM-BCBSTX", "97112", "97530"),
        ),  # fmt: skip
        "COM-UHC-CP denies more from 2025-03-01 (+1.2 log-odds); COM-BCBSTX "
        "denies 97112 with 97530 without 59",
    ),
    "bench s3 policy after cut": (
        lambda: bench_world(
            "bench s3 policy after cut",
            150_000,
            3,
            CUT,
            policy_change=("MA-HUM-GOLD", "2025-09-01", 1.0),
        ),  # fmt: skip
        "MA-HUM-GOLD denies more from 2025-09-01, after training (+1.0)",
    ),
    "bench s4 no late docs": (
        lambda: bench_world("bench s4 no late docs", 150_000, 4, CUT, late_docs=False),
        "every document signed before its claim is sent",
    ),
    "bench s5 trend 0.3": (
        lambda: bench_world("bench s5 trend 0.3", 150_000, 5, CUT, trend=0.3),
        "denials rise 0.3 log-odds a year (default 0.08)",
    ),
    "datasets s11": (
        lambda: datasets_world("datasets s11", 5_000, 11, CUT),
        "ptdenial.datasets defaults (COM01 needs auth from 2025-03-01)",
    ),
    "datasets s12 late docs 18%": (
        lambda: datasets_world(
            "datasets s12 late docs 18%",
            5_000,
            12,
            CUT,
            late_documents=True,
            target_denial_rate=0.18,
        ),  # fmt: skip
        "late_documents=True, target_denial_rate=0.18",
    ),
    "datasets s13 commercial, policy after cut": (
        lambda: datasets_world(
            "datasets s13 commercial, policy after cut",
            5_000,
            13,
            CUT,
            payer_class_shares=(
                ("medicare", 0.2),
                ("medicare_advantage", 0.1),
                ("commercial", 0.5),
                ("medicaid", 0.1),
                ("workers_comp", 0.05),
                ("auto", 0.03),
                ("tricare", 0.01),
                ("other", 0.01),
            ),
            policy_changes=(_policy("COM02", "2025-09-01"),),
        ),  # fmt: skip
        "half commercial patients; COM02 needs auth from 2025-09-01 (after training)",
    ),
}


def _policy(payer_id, date):
    from ptdenial.datasets import PolicyChange

    return PolicyChange(payer_id, date, "auth_required", 5.0, 90)


def learning_curve(n_lines: int, seed: int, fractions=(0.2, 1.0), **knobs):
    """The same test lines scored by models trained on more or less history.

    A ``bench.worlds`` world of ``n_lines``; models trained at the cut on a
    random share of the history's patients (the whole history last), scored
    with nightly refresh. How far more data from the same world goes: the
    rest of the gap to the truth is what the claim table cannot tell.
    """
    from ptdenial.model import DenialRiskModel

    world = bench_world(f"bench s{seed} {n_lines}", n_lines, seed, CUT, **knobs)
    hist = _validated(world.history)
    patients = hist["patient_id"].unique()
    rng = np.random.default_rng(0)
    rows = []
    for share in fractions:
        keep = rng.choice(patients, int(len(patients) * share), replace=False)
        part = hist[hist["patient_id"].isin(keep)].reset_index(drop=True)
        model = DenialRiskModel().fit(part)
        p = score_nights(model, world, refresh=True)
        for row in window_metrics(world, p, "nightly refresh"):
            rows.append({"history_share": share, "history_lines": len(part), **row})
    return rows


def term_report(n_lines: int, seed: int, *, refresh: bool = True, **knobs) -> dict:
    """Why the model's AUC trails the truth on a bench.worlds world, term by term.

    Trained at the cut, scored with a nightly refresh (``refresh=False``: the
    snapshot it was trained with). Two tables over the adjudicated 97112
    lines after the cut:

    * ``ceiling``: the truth's AUC as its unobservable parts are removed one
      after the other (the line's noise, the patient's own effect, the hidden
      end of coverage, what happens after sending: a certification or note
      signed before adjudication);
    * ``terms``: per term of the world's denial model that fires on at
      least 20 lines, the mean log-odds difference it makes in the truth and
      in the model (lines where it fires minus lines where it does not),
      and ``auc_gain``: the model's AUC after its log-odds on those lines are
      shifted by what it missed (one term at a time; ``all terms`` at once).
    """
    from sklearn.metrics import roc_auc_score

    import bench.worlds._generate as gen
    from bench.worlds import as_of_night, history_as_of, make_world
    from ptdenial.model import DenialRiskModel

    seen = {}
    original = gen.denial_terms

    def capture(x, *args, **kwargs):
        terms = original(x, *args, **kwargs)
        seen["terms"] = {k: np.asarray(v, float) for k, v in terms.items()}
        for name in ("noise", "pat_eff", "cert_at_send", "cert_by_adj",
                     "note_at_send", "note_by_adj"):  # fmt: skip
            seen[name] = np.asarray(x[name], float)
        return terms

    gen.denial_terms = capture
    try:
        claims, truth = make_world(n_lines, seed=seed, **knobs)
    finally:
        gen.denial_terms = original
    logit_all = sum(seen["terms"].values())
    at = pd.Index(logit_all).get_indexer(truth["true_logit"].to_numpy())
    cut = pd.Timestamp(CUT)
    sub = pd.to_datetime(claims["submission_date"]).dt.normalize()
    after = (sub > cut).to_numpy()
    world = DeploymentWorld(
        f"bench s{seed}",
        cut,
        history_as_of(claims, cut),
        as_of_night(claims[after].reset_index(drop=True)).drop(
            columns=[c for c in OUTCOME_COLUMNS if c in claims.columns]
        ),
        pd.DataFrame({"denied": truth["denied"][after].reset_index(drop=True)}),
        lambda day: history_as_of(claims, day),
    )
    model = DenialRiskModel().fit(_validated(world.history))
    p = score_nights(model, world, refresh=refresh)
    sel = ~np.isnan(p) & world.truth["denied"].notna().to_numpy()
    y = world.truth["denied"][sel].astype(bool).to_numpy()
    idx = at[after][sel]

    def part(name):
        return seen[name][idx] if name in seen else seen["terms"][name][idx]

    logit = truth["true_logit"].to_numpy()[after][sel]
    steps = [("truth", logit)]
    steps.append(("- line noise", steps[-1][1] - part("noise")))
    steps.append(("- patient effect", steps[-1][1] - part("pat_eff")))
    steps.append(("- hidden end of coverage", steps[-1][1] - part("eligibility")))
    after_send = np.zeros(len(idx))
    for term, known in (("cert", "cert_at_send"), ("note_unsigned", "note_at_send")):
        v = part(term)
        missing = part(known) == 0
        mean_missing = v[missing].mean() if missing.any() else 0.0
        after_send += np.where(missing, v - mean_missing, 0.0)
    steps.append(("- signed before adjudication or not", steps[-1][1] - after_send))
    ceiling = [{"truth without": k, "auc": roc_auc_score(y, v)} for k, v in steps]
    ceiling.append({"truth without": "model", "auc": roc_auc_score(y, p[sel])})
    z = np.log(np.clip(p[sel], 1e-4, 1 - 1e-4) / (1 - np.clip(p[sel], 1e-4, 1 - 1e-4)))
    base = roc_auc_score(y, z)
    terms, z_all = [], z.copy()
    for name, values in seen["terms"].items():
        v = values[idx]
        fires = v > 0
        if name == "background" or fires.sum() < 20:
            continue
        truth_d = float(logit[fires].mean() - logit[~fires].mean())
        model_d = float(z[fires].mean() - z[~fires].mean())
        shift = np.where(fires, truth_d - model_d, 0.0)
        z_all += shift
        terms.append(
            {
                "term": name,
                "share": float(fires.mean()),
                "truth": truth_d,
                "model": model_d,
                "auc_gain": float(roc_auc_score(y, z + shift) - base),
            }
        )
    terms.sort(key=lambda t: -t["auc_gain"])
    terms.append(
        {"term": "all terms", "auc_gain": float(roc_auc_score(y, z_all) - base)}
    )
    return {"ceiling": ceiling, "terms": terms, "lines": int(sel.sum())}

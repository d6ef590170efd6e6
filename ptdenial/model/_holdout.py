"""Hold-out evaluation: train on the past, score the newest months, beside baselines.

:func:`train_and_evaluate` holds out the newest months of a history (by
submission date), trains a :class:`~ptdenial.model.DenialRiskModel` and the
baselines (:data:`BASELINES`) on the lines whose outcome was known before
them, and measures every scorer on the held-out 97112 lines.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression

from ptdenial import schema as S
from ptdenial._utils import jsonable
from ptdenial.evaluation import denial_metrics, known_at, metrics_by_group, time_split
from ptdenial.features import CATEGORICAL_FEATURES
from ptdenial.model._estimator import DenialRiskModel
from ptdenial.model._history import (
    SCORED_CODE,
    _labels,
    _submission_dates,
    prepare_history,
)

BASELINES = ("historical_rate", "rules_only", "logistic_onehot")


def fit_baselines(Xf: pd.DataFrame, y: np.ndarray, *, random_state=0) -> dict:
    """Fit the baselines shown beside the model, on the same training rows.

    * ``historical_rate``: the as-of denial rate of payer x code (no fitting);
    * ``rules_only``: logistic regression on the rule flags alone;
    * ``logistic_onehot``: logistic regression on one-hot categoricals and
      standardized numeric features (missing values imputed, with indicators).

    Parameters
    ----------
    Xf : pandas.DataFrame
        Model features of the training rows.
    y : numpy.ndarray
        Denied (1) or not (0).
    random_state : int

    Returns
    -------
    dict
        Name -> fitted object with ``predict_proba(Xf)``-style scoring through
        :func:`baseline_scores`.
    """
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    Xf = Xf.astype(np.float64)
    rule_cols = [c for c in Xf.columns if c.startswith("rule__")]
    cat_cols = [c for c in CATEGORICAL_FEATURES if c in Xf.columns]
    num_cols = [c for c in Xf.columns if c not in cat_cols]
    fitted = {}
    if rule_cols:
        rules = make_pipeline(
            SimpleImputer(strategy="constant", fill_value=0.0),
            LogisticRegression(C=1.0, max_iter=500),
        )
        rules.fit(Xf[rule_cols], y)
        fitted["rules_only"] = (rule_cols, rules)
    onehot = make_pipeline(
        ColumnTransformer(
            [
                (
                    "cat",
                    make_pipeline(
                        SimpleImputer(strategy="constant", fill_value=-1.0),
                        OneHotEncoder(handle_unknown="ignore", min_frequency=20),
                    ),
                    cat_cols,
                ),
                (
                    "num",
                    make_pipeline(
                        SimpleImputer(
                            strategy="median",
                            add_indicator=True,
                            keep_empty_features=True,
                        ),
                        StandardScaler(),
                    ),
                    num_cols,
                ),
            ]
        ),
        LogisticRegression(C=0.5, max_iter=300),
    )
    onehot.fit(Xf, y)
    fitted["logistic_onehot"] = (list(Xf.columns), onehot)
    fitted["historical_rate"] = (["hist_payer_code_rate"], None)
    return fitted


def baseline_scores(fitted: dict, Xf: pd.DataFrame) -> dict:
    """Scores of fitted baselines on feature rows.

    Parameters
    ----------
    fitted : dict
        Output of :func:`fit_baselines`.
    Xf : pandas.DataFrame

    Returns
    -------
    dict of str -> numpy.ndarray
    """
    out = {}
    Xf = Xf.astype(np.float64)
    for name, (cols, est) in fitted.items():
        if est is None:
            rate = Xf[cols[0]].to_numpy(dtype=float)
            out[name] = np.where(np.isnan(rate), np.nanmean(rate), rate)
        else:
            out[name] = est.predict_proba(Xf[cols])[:, 1]
    return out


@dataclasses.dataclass
class HoldoutReport:
    """Result of :func:`train_and_evaluate`.

    Attributes
    ----------
    metrics : pandas.DataFrame
        One row per scorer (model, baselines, and the true probability when
        given), with ROC AUC, PR AUC, Brier, ECE, log loss, lift and capture.
    by_payer : pandas.DataFrame
        The model's metrics per payer on the test window.
    predictions : pandas.DataFrame
        Test-window 97112 lines: keys, outcome and every scorer's score.
    model : DenialRiskModel
        The model trained before the test window.
    test_window : tuple of str
    """

    metrics: pd.DataFrame
    by_payer: pd.DataFrame
    predictions: pd.DataFrame
    model: DenialRiskModel
    test_window: tuple


def train_and_evaluate(
    history, *, test_months=3, truth=None, **params
) -> HoldoutReport:
    """Train on the past, evaluate on the newest months, beside the baselines.

    The newest ``test_months`` (by submission date) are held out. The model
    (and the baselines, on the same training rows) learn from the lines
    submitted before the test window whose outcome was known at its start; the
    history snapshot the features use is refreshed with every outcome known
    before each test line's submission, exactly as the nightly job would see
    it. Metrics are on the test window's adjudicated 97112 lines.

    Parameters
    ----------
    history : pandas.DataFrame
        Validated claims with outcomes.
    test_months : int
    truth : pandas.DataFrame, optional
        Generator truth (claim_id, line_number, true_denial_probability and,
        when present, best_achievable_probability): adds rows
        ``true_probability`` (the generator's probability, random noise
        included: an oracle) and ``best_achievable`` (the noise integrated
        out: the best any model can do from the claim table).
    **params
        :class:`DenialRiskModel` parameters.

    Returns
    -------
    HoldoutReport
    """
    claims = prepare_history(history, reference=params.get("reference"))
    split = time_split(claims, test_months=test_months, calibrate_months=0)
    past = _past_as_known(claims, split)
    model = DenialRiskModel(**params).fit(past)
    test_mask = split["test"] & (claims[S.CPT_CODE] == SCORED_CODE).to_numpy(
        dtype=bool, na_value=False
    )
    test = claims.loc[test_mask]
    evaluator = model.with_history(claims)
    # features need whole visits (visit context, visit-level rules): compute them
    # on every line, then keep the test window's 97112 lines
    Xf_test = evaluator.transform_features(claims).loc[test.index]
    p = evaluator.predict_proba_features(Xf_test)
    y = test[S.DENIED].astype(bool).to_numpy().astype(int)

    Xf_past = model.transform_features(past)
    train_rows = (~past[S.PENDING]).to_numpy()
    y_past = _labels(past)
    fitted = fit_baselines(
        Xf_past[train_rows],
        y_past[train_rows],
        random_state=params.get("random_state", 0),
    )
    scores = {"model": p, **baseline_scores(fitted, Xf_test)}
    preds = test[[S.CLAIM_ID, S.LINE_NUMBER, S.PAYER_ID, S.DATE_OF_SERVICE]].copy()
    preds["denied"] = y
    dollars = test[S.CHARGE_AMOUNT].to_numpy(dtype=float)
    if truth is not None:
        scores.update(_truth_scores(test, truth))
    rows = []
    for name, score in scores.items():
        preds[f"score_{name}"] = score
        rows.append({"scorer": name, **denial_metrics(y, score, dollars=dollars)})
    metrics = pd.DataFrame(rows)
    by_payer = metrics_by_group(
        y, p, test[S.PAYER_ID].astype(str).to_numpy(), dollars=dollars
    )
    test_start = split["calibrate_end"] + pd.Timedelta(days=1)
    window = (str(test_start.date()), str(split["test_end"].date()))
    model.card_ = dict(
        model.card_,
        validation_window=list(window),
        validation_metrics={
            r["scorer"]: {k: jsonable(v) for k, v in r.items() if k != "scorer"}
            for r in rows
        },
    )
    return HoldoutReport(metrics, by_payer, preds, model, window)


def _past_as_known(claims: pd.DataFrame, split) -> pd.DataFrame:
    """The lines submitted before the test window, as known at its start.

    Outcomes adjudicated after the cut are unknown at training time: those
    lines become pending, their ``denied`` empty.
    """
    past = claims.loc[_submission_dates(claims) <= split["train_end"]]
    past = past.assign(
        **{
            S.PENDING: past[S.PENDING]
            | ~known_at(past, split["calibrate_end"] + pd.Timedelta(days=1))
        }
    )
    unknown = past[S.PENDING].to_numpy()
    return past.assign(**{S.DENIED: past[S.DENIED].mask(unknown)})


def _truth_scores(test: pd.DataFrame, truth: pd.DataFrame) -> dict:
    """The generator's probabilities of the test lines, as extra scorers."""
    truth_cols = {
        "true_probability": "true_denial_probability",
        "best_achievable": "best_achievable_probability",
    }
    truth_cols = {k: v for k, v in truth_cols.items() if v in truth.columns}
    t = test[[S.CLAIM_ID, S.LINE_NUMBER]].merge(
        truth[[S.CLAIM_ID, S.LINE_NUMBER, *truth_cols.values()]],
        on=[S.CLAIM_ID, S.LINE_NUMBER],
        how="left",
    )
    return {name: t[col].to_numpy(float) for name, col in truth_cols.items()}

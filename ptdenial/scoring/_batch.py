"""The pure batch function: raw claim lines in; scored lines, quarantine, hits out.

:func:`score_batch` is a short driver over named steps: validate, apply the
rules, score the 97112 lines (features, predict), explain (bands, expected
payment, model drivers, quiet reasons, combined lists) and assemble the
scored Arrow table and the worklist context. Each step is a function of its
inputs; the stage timer records ``validate``, ``rules``, ``features``,
``predict``, ``explain`` and ``assemble``.
"""

from __future__ import annotations

import copy
from typing import NamedTuple

import numpy as np
import pandas as pd
import pyarrow as pa

from ptdenial import schema as S
from ptdenial._distinct import combinations, spread, text_codes
from ptdenial._utils import text_array
from ptdenial.config import ScoringConfig
from ptdenial.explain import Explainer, combine_reasons
from ptdenial.model import SCORED_CODE
from ptdenial.rules import PayerRuleFlagger, apply_rules
from ptdenial.scoring._timing import StageTimer

_BAND_RANK = {"low": 0, "medium": 1, "high": 2}
_BASIS = np.array(["", "model", "hard rule"], dtype=object)


def scored_arrow_schema() -> pa.Schema:
    """Arrow schema of the scored output (Parquet), in SCHEMA.md column order.

    Examples
    --------
    >>> from ptdenial.scoring import scored_arrow_schema
    >>> scored_arrow_schema().names[:3]
    ['claim_id', 'line_number', 'cpt_code']
    """
    text = pa.string()
    lists = pa.list_(pa.string())
    types = {
        S.CLAIM_ID: text,
        S.LINE_NUMBER: pa.int64(),
        S.CPT_CODE: text,
        S.PAYER_ID: text,
        S.DATE_OF_SERVICE: pa.timestamp("ns"),
        S.DENIAL_PROBABILITY: pa.float64(),
        S.RISK_BAND: text,
        S.EXPECTED_LOSS: pa.float64(),
        S.RULE_HITS: lists,
        S.REASONS: lists,
        S.SUGGESTED_FIXES: lists,
        S.MODEL_VERSION: text,
        S.SCORED_AT: pa.timestamp("us", tz="UTC"),
    }
    return pa.schema([(name, types[name]) for name in S.SCORED_COLUMNS])


# --- run dates ----------------------------------------------------------------------
def _run_dates(as_of, scored_at):
    """Normalized run date and scoring time (derived from ``as_of`` when given)."""
    if as_of is None:
        as_of_ts = pd.Timestamp.today().normalize()
        derived = pd.Timestamp.now(tz="UTC").floor("s")
    else:
        as_of_ts = pd.Timestamp(as_of).normalize()
        derived = as_of_ts.tz_localize("UTC") if as_of_ts.tz is None else as_of_ts
    if scored_at is None:
        stamp = derived
    else:
        stamp = pd.Timestamp(scored_at)
        stamp = (
            stamp.tz_localize("UTC") if stamp.tz is None else stamp.tz_convert("UTC")
        )
    return as_of_ts, stamp


# --- the result ---------------------------------------------------------------------
class BatchResult(NamedTuple):
    """What :func:`score_batch` returns.

    Attributes
    ----------
    scored : pandas.DataFrame
        One row per valid input line, columns :data:`ptdenial.schema.SCORED_COLUMNS`
        (list columns as ``list<string>`` Arrow-backed series).
    quarantine : pandas.DataFrame
        Rows that failed validation (see :func:`ptdenial.schema.validate_claims`).
    hits : pandas.DataFrame
        Rule hits (``claim_id``, ``line_number``, ``rule_id``, ``detail``,
        ``fix``, ``kind``, ``carc``) plus ``pos``, the row in ``scored``.
    context : pandas.DataFrame
        Per scored row: ``expected_payment``, ``dollars_at_risk``,
        ``hard_hit``, ``worklist_candidate``, ``basis``, ``explanation`` and
        the worklist's display columns; same order as ``scored``.
    claims : pandas.DataFrame
        The validated lines (canonical dtypes), same order as ``scored``.
    features : pandas.DataFrame
        Model features of the 97112 lines; the index is their row in ``scored``.
    timings : dict
        Seconds per step.
    arrow : pyarrow.Table
        ``scored`` as an Arrow table (:func:`scored_arrow_schema`).
    as_of : pandas.Timestamp
        The run date the batch was scored with (a re-score of its fixes,
        :func:`~ptdenial.scoring.rescore_fixes`, uses it again).
    """

    scored: pd.DataFrame
    quarantine: pd.DataFrame
    hits: pd.DataFrame
    context: pd.DataFrame
    claims: pd.DataFrame
    features: pd.DataFrame
    timings: dict
    arrow: pa.Table | None = None
    as_of: pd.Timestamp | None = None


def _arrow_to_scored(table: pa.Table) -> pd.DataFrame:
    out = {}
    for name in table.column_names:
        col = table.column(name)
        if pa.types.is_list(col.type):
            out[name] = pd.Series(pd.arrays.ArrowExtensionArray(col))
        else:
            out[name] = col.to_pandas()
    return pd.DataFrame(out)


# --- small helpers ------------------------------------------------------------------
def _band_rank(band: np.ndarray) -> np.ndarray:
    return np.select(
        [band == "high", band == "medium", band == "low"], [2, 1, 0], -1
    ).astype(np.int64)


def _bands(p: np.ndarray, config: ScoringConfig) -> np.ndarray:
    lo, hi = config.band_edges()
    return np.select([p >= hi, p >= lo], ["high", "medium"], "low").astype(object)


def _words(values: pd.Series, missing: str) -> np.ndarray:
    """Values as Python text (object array), converting each distinct value once."""
    codes, uniques = text_codes(values)
    return spread(uniques, codes, missing)


def _hits_on(hits: pd.DataFrame, rows: np.ndarray, n: int):
    """Which hits fall on ``rows`` (positions among ``n`` lines), and where.

    Returns the boolean mask over ``hits`` and, for the hits it keeps, their
    position within ``rows``.
    """
    hp = hits["pos"].to_numpy(dtype=np.int64)
    local = np.full(n, -1, dtype=np.int64)
    local[rows] = np.arange(len(rows))
    on = local[hp] >= 0 if len(hp) else np.zeros(0, bool)
    return on, local[hp[on]]


def _covered_rules(hits: pd.DataFrame, rows: np.ndarray, n: int) -> pd.DataFrame:
    """Rule ids hit on ``rows``, by position within ``rows`` (for model reasons)."""
    on, pos = _hits_on(hits, rows, n)
    return pd.DataFrame({"pos": pos, "rule_id": hits["rule_id"].to_numpy()[on]})


# --- step: validate -----------------------------------------------------------------
def _validate(raw, *, source, as_of, first_row, source_rows):
    """Valid lines (reset index) and quarantined rows with their source row."""
    valid, quarantine = S.validate_claims(
        raw, source=source, run_date=as_of, first_row=first_row
    )
    if source_rows is not None and len(quarantine):
        src = np.asarray(source_rows, dtype=np.int64)
        quarantine[S.SOURCE_ROW] = src[
            quarantine[S.SOURCE_ROW].to_numpy(dtype=np.int64) - int(first_row)
        ]
    return valid.reset_index(drop=True), quarantine


# --- step: features and scores ------------------------------------------------------
def _rule_features(rules, flagger, rows):
    """The flagger's output, rebuilt from a rules result already computed."""
    out = {}
    for rid in flagger.rules_:
        flags = rules.flags[rid].to_numpy(dtype=bool, na_value=False)
        out[f"rule__{rid.lower()}"] = flags[rows].astype(np.int64)
    if flagger.include_gaps:
        gaps = rules.gaps.to_numpy(dtype=float)[rows]
        for j, name in enumerate(rules.gaps.columns):
            out[f"gap__{name}"] = gaps[:, j]
    return out


def _reuses_rules(step, model, rules, as_of, has_sub) -> bool:
    """Whether the batch's rules result gives ``step`` (a flagger) its own values."""
    return (
        step.reference is model.reference
        and (step.as_of == as_of or step.as_of is None and has_sub)
        and list(step.get_feature_names_out())
        == [f"rule__{r.lower()}" for r in step.rules_]
        + ([f"gap__{g}" for g in rules.gaps.columns] if step.include_gaps else [])
    )


def _features(model, claims, rules, rows, as_of):
    """Model features of ``claims.iloc[rows]``, as ``model.transform_features``.

    The rule flags reuse ``rules`` (computed once on the whole batch) when
    that gives the flagger's own values; the history encoder is a shallow
    copy capped at ``as_of`` (the model is not modified, so this is
    thread-safe).
    """
    sub = claims.iloc[rows]
    union = model.features_
    steps = getattr(union, "transformers_", None)
    if steps is None:
        steps = getattr(union, "transformer_list", None)
    if steps is None:  # an unknown feature container: its own transform
        return model.transform_features(claims, as_of=as_of).iloc[rows]
    parts = []
    has_sub = S.SUBMISSION_DATE in claims.columns and bool(
        claims[S.SUBMISSION_DATE].notna().all()
    )
    for _, step in steps:
        if isinstance(step, PayerRuleFlagger):
            if _reuses_rules(step, model, rules, as_of, has_sub):
                parts.append(
                    pd.DataFrame(_rule_features(rules, step, rows), index=sub.index)
                )
            else:
                parts.append(step.transform(claims).iloc[rows])
        elif hasattr(step, "snapshot_"):
            enc = copy.copy(step)
            enc.as_of = as_of
            parts.append(enc.transform(sub))
        else:
            parts.append(step.transform(sub))
    Xf = pd.concat(parts, axis=1)
    return Xf[model.feature_names_]


def _visit_rows(valid: pd.DataFrame, is_code: np.ndarray) -> np.ndarray:
    """Rows of the visits that hold a 97112 line (visit features need them all)."""
    codes = [  # a missing part is a value of its own, as groupby(dropna=False)
        np.asarray(pd.factorize(valid[c], use_na_sentinel=True)[0], np.int64) + 1
        for c in S.VISIT_KEYS
    ]
    visit = combinations(codes)[0]
    with_code = np.zeros(visit.max() + 1, dtype=bool)
    with_code[visit[is_code]] = True
    return np.flatnonzero(with_code[visit])


def _model_scores(model, valid, rules, is_code, as_of, timer: StageTimer):
    """Denial probability per line (NaN off 97112) and the 97112 lines' features."""
    pos97 = np.flatnonzero(is_code)
    p = np.full(len(valid), np.nan)
    if not len(pos97):
        names = model.feature_names_
        return p, pd.DataFrame(np.zeros((0, len(names))), columns=names)
    with timer.stage("features"):
        rows = _visit_rows(valid, is_code)
        Xsub = _features(model, valid, rules, rows, as_of)
        Xf = Xsub.loc[is_code[rows]]
        Xf.index = pos97
    with timer.stage("predict"):
        p[pos97] = model.predict_proba_features(Xf)
    return p, Xf


# --- step: explain ------------------------------------------------------------------
def _explain_modes(config, band97, exact_rows, pos97):
    """Which 97112 lines get exact and which approximate contributions."""
    wanted = _band_rank(band97) >= _BAND_RANK[config.drivers_min_band]
    exact = np.zeros(len(pos97), dtype=bool)
    if config.explain == "all":
        exact[:] = True
    elif config.explain == "high":
        exact |= band97 == "high"
    if exact_rows is not None:
        exact |= np.asarray(exact_rows, dtype=bool)[pos97]
    wanted |= exact
    return exact, wanted & ~exact


def _contributions(ex, Xf, exact, approx) -> np.ndarray:
    """Grouped contributions: exact TreeSHAP or path attribution, zero elsewhere."""
    contrib = np.zeros((len(exact), len(ex.groups)))
    if approx.any():
        contrib[approx] = ex.approximate(Xf.iloc[np.flatnonzero(approx)])
    if exact.any():
        contrib[exact] = ex.exact(Xf.iloc[np.flatnonzero(exact)])
    return contrib


def _model_drivers(model, explainer, config, valid, Xf, hits, pos97, band, exact_rows):
    """How each line is explained, and the model drivers of the lines that get them.

    Returns ``(explanation, drivers)``: ``explanation`` is ``exact``,
    ``approximate`` or ``rules`` per line; ``drivers`` is the long frame of
    :meth:`~ptdenial.explain.Explainer.model_reasons` with ``pos`` the line.
    """
    n = len(valid)
    explanation = np.full(n, "rules", dtype=object)
    empty = pd.DataFrame({"pos": [], "rank": [], "reason": [], "fix": []})
    if not (len(pos97) and config.wants_model_reasons()):
        return explanation, empty
    ex = explainer if explainer is not None else Explainer(model)
    if not ex.available:
        return explanation, empty
    exact, approx = _explain_modes(config, band[pos97], exact_rows, pos97)
    contrib = _contributions(ex, Xf, exact, approx)
    explanation[pos97] = np.where(
        exact, "exact", np.where(approx, "approximate", "rules")
    )
    sub = np.flatnonzero(exact | approx)  # lines that get model drivers
    at = pos97[sub]
    drivers = ex.model_reasons(
        valid.iloc[at],
        Xf.iloc[sub],
        contrib[sub],
        covered_rules=_covered_rules(hits, at, n),
        max_reasons=config.max_model_reasons,
        min_contribution=config.min_contribution,
    )
    drivers["pos"] = at[drivers["pos"].to_numpy(dtype=np.int64)]
    return explanation, drivers


def _add_quiet_reasons(drivers, hits, pos97, p, band, valid, Xf):
    """A reason for every scored line that has none yet.

    Lines below ``drivers_min_band`` without a rule hit get no model drivers
    (a low risk has no driver worth acting on); they still say why their
    score is what it is: no rule hit, and the payer's own track record for
    the code, from the history snapshot.
    """
    has = np.zeros(len(band), dtype=bool)
    if len(hits):
        has[hits["pos"].to_numpy(dtype=np.int64)] = True
    if len(drivers):
        has[drivers["pos"].to_numpy(dtype=np.int64)] = True
    quiet = np.flatnonzero(~has[pos97]) if len(pos97) else np.zeros(0, np.int64)
    if not len(quiet):
        return drivers
    at = pos97[quiet]
    pct = np.char.mod("%.0f%%", 100 * p[at])
    text = (
        pd.Series(
            np.char.add(
                np.char.add(band[at].astype(str), " risk ("), np.char.add(pct, ")")
            ),
            dtype=object,
        )
        + ": no billing rule hit"
    )
    if "hist_payer_code_rate" in Xf.columns and "hist_payer_code_n" in Xf.columns:
        rate = Xf["hist_payer_code_rate"].to_numpy(dtype=float)[quiet]
        seen = Xf["hist_payer_code_n"].to_numpy(dtype=float)[quiet]
        payer = _words(valid[S.PAYER_ID].iloc[at], "?")
        code = _words(valid[S.CPT_CODE].iloc[at], "?")
        known = (seen > 0) & ~np.isnan(rate)
        history = (
            "; payer "
            + pd.Series(payer, dtype=object)
            + " denied "
            + pd.Series(np.char.mod("%.0f%%", 100 * np.nan_to_num(rate)), dtype=object)
            + " of its "
            + pd.Series(code, dtype=object)
            + " lines before"
        )
        text = text + np.where(known, history, "; no history for this payer yet")
    quiet_rows = pd.DataFrame(
        {"pos": at, "rank": 0, "reason": text_array(text.to_numpy(object)), "fix": ""}
    )
    if not len(drivers):
        return quiet_rows
    return pd.concat([drivers, quiet_rows], ignore_index=True)


# --- step: assemble -----------------------------------------------------------------
def _arrow_string(values: pd.Series) -> pa.Array:
    """A text column as an Arrow ``string`` array (Arrow-backed: no Python objects)."""
    arr = values.array
    if isinstance(arr, pd.arrays.ArrowStringArray):
        data = arr.__arrow_array__().cast(pa.string())
        return data.combine_chunks() if isinstance(data, pa.ChunkedArray) else data
    return pa.array(values.astype(object), type=pa.string())


def _scored_table(model, valid, p, band, loss, lists, stamp) -> pa.Table:
    """The scored lines as an Arrow table (:func:`scored_arrow_schema`)."""
    n = len(valid)
    rule_ids, reasons, fixes = lists
    return pa.table(
        {
            S.CLAIM_ID: _arrow_string(valid[S.CLAIM_ID]),
            S.LINE_NUMBER: pa.array(
                valid[S.LINE_NUMBER].to_numpy(dtype=np.int64, na_value=0)
            ),
            S.CPT_CODE: _arrow_string(valid[S.CPT_CODE]),
            S.PAYER_ID: _arrow_string(valid[S.PAYER_ID]),
            S.DATE_OF_SERVICE: pa.array(
                valid[S.DATE_OF_SERVICE].to_numpy(dtype="datetime64[ns]"),
                type=pa.timestamp("ns"),
            ),
            S.DENIAL_PROBABILITY: pa.array(p, from_pandas=True),
            S.RISK_BAND: pa.array(band, type=pa.string()),
            S.EXPECTED_LOSS: pa.array(loss, from_pandas=True),
            S.RULE_HITS: rule_ids,
            S.REASONS: reasons,
            S.SUGGESTED_FIXES: fixes,
            S.MODEL_VERSION: pa.array([str(model.model_id)], type=pa.string()).take(
                np.zeros(n, dtype=np.int64)
            ),
            S.SCORED_AT: pa.array(
                np.full(n, stamp.tz_convert(None).to_datetime64()).astype(
                    "datetime64[us]"
                ),
                type=pa.timestamp("us", tz="UTC"),
            ),
        },
        schema=scored_arrow_schema(),
    )


def _worklist_context(valid, hits, is_code, band, loss, payment, explanation, config):
    """Per line: dollars at risk, worklist candidacy, basis and display columns."""
    n = len(valid)
    hard = np.zeros(n, dtype=bool)
    if len(hits):
        hard[hits.loc[hits["kind"] == "hard", "pos"].to_numpy(dtype=np.int64)] = True
    rank = _band_rank(band)
    min_rank = _BAND_RANK[config.worklist_min_band]
    candidate = (is_code & (rank >= min_rank)) | hard
    at_risk = np.where(is_code, loss, np.where(hard, payment, np.nan))
    basis = np.where(is_code, 1, np.where(hard, 2, 0))
    context = pd.DataFrame(
        {
            "expected_payment": payment,
            "dollars_at_risk": at_risk,
            "hard_hit": hard,
            "worklist_candidate": candidate & np.isfinite(at_risk),
            "basis": text_array(_BASIS[basis]) if n else _BASIS[:0].astype(str),
            "explanation": text_array(explanation),
        }
    )
    for name in (S.UNITS, S.MODIFIERS, S.RENDERING_PROVIDER_ID, S.PATIENT_ID):
        if name in valid.columns:
            col = valid[name]
            if isinstance(col.array, pd.arrays.ArrowStringArray):
                # the same texts as to_numpy() would give, without making them
                context[name] = col.astype("str").array
            else:
                context[name] = col.to_numpy()
    return context


# --- the batch function -------------------------------------------------------------
def make_explainer(model, config=None) -> Explainer | None:
    """The explainer :func:`score_batch` builds per call, to reuse across batches.

    Building it reads the model's trees once; a job that scores many batches
    with one model (e.g. a Spark worker) builds it once and passes it as
    ``explainer=``.

    Parameters
    ----------
    model : ptdenial.model.DenialRiskModel
    config : ptdenial.config.ScoringConfig, optional

    Returns
    -------
    ptdenial.explain.Explainer or None
        None when the configuration asks for no model reasons.

    Examples
    --------
    >>> from ptdenial.datasets import load_sample_claims
    >>> from ptdenial.model import DenialRiskModel
    >>> from ptdenial.scoring import make_explainer, score_batch
    >>> history = load_sample_claims("history")
    >>> model = DenialRiskModel(n_estimators=30).fit(history)  # doctest: +SKIP
    >>> ex = make_explainer(model)
    >>> new = load_sample_claims("new_claims").head(300)
    >>> r1 = score_batch(model, new.iloc[:150], explainer=ex)
    >>> r2 = score_batch(model, new.iloc[150:], explainer=ex)
    >>> len(r1.scored) + len(r1.quarantine) + len(r2.scored) + len(r2.quarantine)
    300
    """
    config = config or ScoringConfig()
    return Explainer(model) if config.wants_model_reasons() else None


def score_batch(
    model,
    raw: pd.DataFrame,
    *,
    config: ScoringConfig | None = None,
    as_of=None,
    scored_at=None,
    first_row: int = 0,
    source_rows=None,
    source: str = "<batch>",
    explainer: Explainer | None = None,
    exact_rows=None,
) -> BatchResult:
    """Validate, apply the rules, score the 97112 lines and explain them.

    Pure: no file I/O, no global state, the model is not modified; the
    result depends only on the arguments. All lines of a patient must be in
    the same ``raw`` frame (visit-level rules and features need every line of
    a visit); lines of different patients never influence each other.

    Parameters
    ----------
    model : ptdenial.model.DenialRiskModel
        Fitted model (its history snapshot gives the as-of denial rates).
    raw : pandas.DataFrame
        Raw claim lines (CSV text or typed Parquet columns).
    config : ScoringConfig, optional
    as_of : date-like, optional
        Run date: history features use outcomes adjudicated before it, dates
        after it are quarantined, and lines without ``submission_date`` are
        checked for timely filing as if sent that day. Default: today.
    scored_at : timestamp-like, optional
        Written to ``scored_at``; default midnight UTC of ``as_of`` when
        ``as_of`` is given, else now.
    first_row : int
        Row number of ``raw``'s first row in its source (quarantine
        ``source_row``).
    source_rows : array-like of int, optional
        Source row number of each row of ``raw`` (overrides ``first_row``).
    source : str
        Name of the input in quarantine rows.
    explainer : Explainer, optional
        Reuse one across batches (it precomputes the trees' paths).
    exact_rows : array-like of bool, optional
        Lines (positions among the valid lines) that get exact TreeSHAP
        reasons regardless of ``config.explain``.

    Returns
    -------
    BatchResult

    Examples
    --------
    >>> from ptdenial.datasets import load_sample_claims
    >>> from ptdenial.model import DenialRiskModel
    >>> from ptdenial.scoring import score_batch
    >>> history = load_sample_claims("history")
    >>> model = DenialRiskModel(n_estimators=30).fit(history)  # doctest: +SKIP
    >>> new = load_sample_claims("new_claims")
    >>> result = score_batch(model, new, as_of="2026-01-01")
    >>> len(result.scored) + len(result.quarantine) == len(new)
    True
    >>> other = result.scored["cpt_code"] != "97112"
    >>> result.scored.loc[other, "risk_band"].unique().tolist()
    ['not_scored']
    """
    config = config if config is not None else ScoringConfig()
    as_of_ts, stamp = _run_dates(as_of, scored_at)
    timer = StageTimer()
    with timer.stage("validate"):
        valid, quarantine = _validate(
            raw, source=source, as_of=as_of_ts, first_row=first_row,
            source_rows=source_rows,
        )  # fmt: skip
    with timer.stage("rules"):
        rules = apply_rules(valid, reference=model.reference, as_of=as_of_ts)
        # the rule engine gives each hit's row: no key matching needed
        hits = rules.hits.assign(pos=np.asarray(rules.hit_rows, dtype=np.int64))
    is_code = (valid[S.CPT_CODE] == SCORED_CODE).to_numpy(dtype=bool, na_value=False)
    pos97 = np.flatnonzero(is_code)
    p, Xf = _model_scores(model, valid, rules, is_code, as_of_ts, timer)
    with timer.stage("explain"):
        band = np.full(len(valid), "not_scored", dtype=object)
        band[pos97] = _bands(p[pos97], config)
        payment = (
            np.asarray(model.expected_payment(valid), dtype=float)
            if len(valid)
            else np.zeros(0)
        )
        loss = p * payment
        explanation, drivers = _model_drivers(
            model, explainer, config, valid, Xf, hits, pos97, band, exact_rows
        )
        drivers = _add_quiet_reasons(drivers, hits, pos97, p, band, valid, Xf)
        lists = combine_reasons(len(valid), hits, drivers)
    with timer.stage("assemble"):
        table = _scored_table(model, valid, p, band, loss, lists, stamp)
        scored = _arrow_to_scored(table)
        context = _worklist_context(
            valid, hits, is_code, band, loss, payment, explanation, config
        )
    return BatchResult(
        scored, quarantine, hits, context, valid, Xf, timer.seconds, table, as_of_ts
    )

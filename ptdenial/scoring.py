"""The nightly scoring job: validated, explained scores, a worklist, no lost row.

Three layers, each usable on its own:

* :func:`score_batch` -- a **pure** pandas-in, pandas-out function: raw claim
  lines in; scored lines (the output contract of SCHEMA.md), quarantined
  rows and rule hits out. No file I/O, no global state; deterministic given
  ``as_of`` and ``scored_at``. This is what a Spark ``mapInPandas`` runs,
  partitioned by patient.
* :func:`score_claims` -- an in-memory frame: one batch, then the worklist
  lines' reasons recomputed with exact contributions.
* :func:`score_file` -- the streaming job behind ``ptdenial score``.

How :func:`score_file` streams with bounded memory and never splits a visit
(the input is not assumed sorted):

1. a first pass reads only ``patient_id``, ``claim_id`` and ``line_number``.
   Each row gets a *slot*, a hash of its patient modulo 65,536, so all lines of
   a patient (hence of each visit) share a slot. Patients holding a
   duplicated ``(claim_id, line_number)`` go to one extra slot, so every
   copy of the key meets in the same batch and validation quarantines them
   all;
2. consecutive slots are grouped into buckets of about ``batch_rows`` rows;
3. a second pass streams the file and spills each row to its bucket's
   temporary Arrow IPC file (LZ4), in a temporary folder beside the output;
4. bucket by bucket: rows are ordered by (slot, input row), scored with
   :func:`score_batch`, and the scored part is spilled again; the worklist
   keeps its best candidates so far (bounded by its capacity);
5. the worklist's lines get exact TreeSHAP reasons, the parts are written
   to one Parquet (or CSV) file under a temporary name, patched with those
   reasons, and renamed into place atomically; so are the quarantine, the
   worklist and the run manifest.

Output order is by slot, then input row: the same for any ``batch_rows``, so
re-running the same input with the same ``as_of`` writes the same file.
History features come from the snapshot stored in the model, capped at
``as_of``; a line's scores never depend on which other patients share its
batch.

Every valid line appears in the scored output: ``denial_probability`` is
empty and ``risk_band`` is ``not_scored`` on lines that are not 97112, and
rules run on every line. Rows in = rows scored + rows quarantined, always.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import html
import logging
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.ipc as ipc
import pyarrow.parquet as pq

from ptdenial import schema as S
from ptdenial.config import ScoringConfig
from ptdenial.exceptions import DataQualityWarning, InputFileError
from ptdenial.explain import Explainer, combine_reasons
from ptdenial.features import spread, text_codes
from ptdenial.io import claim_files, file_sha256, table_format, write_json, write_table
from ptdenial.model import SCORED_CODE
from ptdenial.rules import PayerRuleFlagger, apply_rules

__all__ = [
    "BatchResult",
    "make_explainer",
    "ScoreRun",
    "score_batch",
    "score_claims",
    "score_file",
    "build_worklist",
    "worklist_html",
    "write_worklist",
    "scored_arrow_schema",
    "N_SLOTS",
    "WORKLIST_COLUMNS",
]

logger = logging.getLogger(__name__)

#: Hash slots of the patient partition (buckets are runs of consecutive slots).
N_SLOTS = 1 << 16
_DUP_SLOT = N_SLOTS  # patients holding a duplicated line key
_SRC = "__ptdenial_source_row"
_BAND_RANK = {"low": 0, "medium": 1, "high": 2}

#: Columns of the worklist (CSV and HTML), in order.
WORKLIST_COLUMNS = (
    "rank",
    S.CLAIM_ID,
    S.LINE_NUMBER,
    S.DATE_OF_SERVICE,
    S.PAYER_ID,
    S.CPT_CODE,
    S.UNITS,
    S.MODIFIERS,
    S.RENDERING_PROVIDER_ID,
    S.DENIAL_PROBABILITY,
    S.RISK_BAND,
    "expected_payment",
    "dollars_at_risk",
    "basis",
    S.RULE_HITS,
    S.REASONS,
    S.SUGGESTED_FIXES,
    "explanation",
)


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


# --- the pure batch function -------------------------------------------------------
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
    """

    scored: pd.DataFrame
    quarantine: pd.DataFrame
    hits: pd.DataFrame
    context: pd.DataFrame
    claims: pd.DataFrame
    features: pd.DataFrame
    timings: dict
    arrow: pa.Table | None = None


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
            reuse = (
                step.reference is model.reference
                and (step.as_of == as_of or step.as_of is None and has_sub)
                and list(step.get_feature_names_out())
                == [f"rule__{r.lower()}" for r in step.rules_]
                + (
                    [f"gap__{g}" for g in rules.gaps.columns]
                    if step.include_gaps
                    else []
                )
            )
            if reuse:
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


def _empty_scored() -> pd.DataFrame:
    return _arrow_to_scored(scored_arrow_schema().empty_table())


def _arrow_to_scored(table: pa.Table) -> pd.DataFrame:
    out = {}
    for name in table.column_names:
        col = table.column(name)
        if pa.types.is_list(col.type):
            out[name] = pd.Series(pd.arrays.ArrowExtensionArray(col))
        else:
            out[name] = col.to_pandas()
    return pd.DataFrame(out)


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
        {"pos": at, "rank": 0, "reason": text.to_numpy(object), "fix": ""}
    )
    if not len(drivers):
        return quiet_rows
    return pd.concat([drivers, quiet_rows], ignore_index=True)


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
    >>> model = DenialRiskModel(n_estimators=30).fit(load_sample_claims("history"))
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
    >>> model = DenialRiskModel(n_estimators=30).fit(load_sample_claims("history"))
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
    timings: dict = {}
    tick = time.perf_counter()

    def lap(name):
        nonlocal tick
        now = time.perf_counter()
        timings[name] = timings.get(name, 0.0) + now - tick
        tick = now

    valid, quarantine = S.validate_claims(
        raw, source=source, run_date=as_of_ts, first_row=first_row
    )
    if source_rows is not None and len(quarantine):
        src = np.asarray(source_rows, dtype=np.int64)
        quarantine[S.SOURCE_ROW] = src[
            quarantine[S.SOURCE_ROW].to_numpy(dtype=np.int64) - int(first_row)
        ]
    valid = valid.reset_index(drop=True)
    n = len(valid)
    lap("validate")

    rules = apply_rules(valid, reference=model.reference, as_of=as_of_ts)
    # the rule engine gives each hit's row: no key matching needed
    hits = rules.hits.assign(pos=np.asarray(rules.hit_rows, dtype=np.int64))
    lap("rules")

    is_code = (valid[S.CPT_CODE] == SCORED_CODE).to_numpy(dtype=bool, na_value=False)
    pos97 = np.flatnonzero(is_code)
    p = np.full(n, np.nan)
    Xf = None
    if len(pos97):
        visit = (
            valid.groupby(list(S.VISIT_KEYS), sort=False, observed=True, dropna=False)
            .ngroup()
            .to_numpy()
        )
        with_code = np.zeros(visit.max() + 1, dtype=bool)
        with_code[visit[is_code]] = True
        rows = np.flatnonzero(with_code[visit])
        Xsub = _features(model, valid, rules, rows, as_of_ts)
        Xf = Xsub.loc[is_code[rows]]
        Xf.index = pos97
        lap("features")
        p[pos97] = model.predict_proba_features(Xf)
        lap("predict")
    else:
        Xf = pd.DataFrame(
            np.zeros((0, len(model.feature_names_))), columns=model.feature_names_
        )

    band = np.full(n, "not_scored", dtype=object)
    band[pos97] = _bands(p[pos97], config)
    payment = (
        np.asarray(model.expected_payment(valid), dtype=float) if n else np.zeros(0)
    )
    loss = p * payment

    # --- explanations ---------------------------------------------------------
    explanation = np.full(n, "rules", dtype=object)
    drivers = None
    if len(pos97) and config.wants_model_reasons():
        ex = explainer if explainer is not None else Explainer(model)
        if ex.available:
            band97 = band[pos97]
            wanted = _band_rank(band97) >= _BAND_RANK[config.drivers_min_band]
            exact = np.zeros(len(pos97), dtype=bool)
            if config.explain == "all":
                exact[:] = True
            elif config.explain == "high":
                exact |= band97 == "high"
            if exact_rows is not None:
                exact |= np.asarray(exact_rows, dtype=bool)[pos97]
            wanted |= exact
            approx = wanted & ~exact
            contrib = np.zeros((len(pos97), len(ex.groups)))
            if approx.any():
                contrib[approx] = ex.approximate(Xf.iloc[np.flatnonzero(approx)])
            if exact.any():
                contrib[exact] = ex.exact(Xf.iloc[np.flatnonzero(exact)])
            explanation[pos97] = np.where(
                exact, "exact", np.where(approx, "approximate", "rules")
            )
            sub = np.flatnonzero(wanted)  # lines that get model drivers
            at = pos97[sub]
            local = np.full(n, -1, dtype=np.int64)
            local[at] = np.arange(len(at))
            hp = hits["pos"].to_numpy(dtype=np.int64)
            on = local[hp] >= 0 if len(hp) else np.zeros(0, bool)
            covered = pd.DataFrame(
                {"pos": local[hp[on]], "rule_id": hits["rule_id"].to_numpy()[on]}
            )
            drivers = ex.model_reasons(
                valid.iloc[at],
                Xf.iloc[sub],
                contrib[sub],
                covered_rules=covered,
                max_reasons=config.max_model_reasons,
                min_contribution=config.min_contribution,
            )
            drivers["pos"] = at[drivers["pos"].to_numpy(dtype=np.int64)]
    if drivers is None:
        drivers = pd.DataFrame({"pos": [], "rank": [], "reason": [], "fix": []})
    drivers = _add_quiet_reasons(drivers, hits, pos97, p, band, valid, Xf)
    rule_ids, reasons, fixes = combine_reasons(n, hits, drivers)
    lap("explain")

    table = pa.table(
        {
            S.CLAIM_ID: pa.array(valid[S.CLAIM_ID].astype(object), type=pa.string()),
            S.LINE_NUMBER: pa.array(
                valid[S.LINE_NUMBER].to_numpy(dtype=np.int64, na_value=0)
            ),
            S.CPT_CODE: pa.array(valid[S.CPT_CODE].astype(object), type=pa.string()),
            S.PAYER_ID: pa.array(valid[S.PAYER_ID].astype(object), type=pa.string()),
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
            S.MODEL_VERSION: pa.array([str(model.model_id)] * n, type=pa.string()),
            S.SCORED_AT: pa.array(
                np.full(n, stamp.tz_convert(None).to_datetime64()).astype(
                    "datetime64[us]"
                ),
                type=pa.timestamp("us", tz="UTC"),
            ),
        },
        schema=scored_arrow_schema(),
    )
    scored = _arrow_to_scored(table)

    hard = np.zeros(n, dtype=bool)
    if len(hits):
        hard[hits.loc[hits["kind"] == "hard", "pos"].to_numpy(dtype=np.int64)] = True
    rank = _band_rank(band)
    min_rank = _BAND_RANK[config.worklist_min_band]
    candidate = (is_code & (rank >= min_rank)) | hard
    at_risk = np.where(is_code, loss, np.where(hard, payment, np.nan))
    context = pd.DataFrame(
        {
            "expected_payment": payment,
            "dollars_at_risk": at_risk,
            "hard_hit": hard,
            "worklist_candidate": candidate & np.isfinite(at_risk),
            "basis": np.where(is_code, "model", np.where(hard, "hard rule", "")),
            "explanation": explanation,
        }
    )
    for name in (S.UNITS, S.MODIFIERS, S.RENDERING_PROVIDER_ID, S.PATIENT_ID):
        if name in valid.columns:
            context[name] = valid[name].to_numpy()
    lap("assemble")
    return BatchResult(scored, quarantine, hits, context, valid, Xf, timings, table)


# --- worklist -------------------------------------------------------------------------
class _Worklist:
    """The best ``top`` candidates seen so far, with what exact reasons need."""

    def __init__(self, top: int):
        self.top = top
        self.rows = None  # display + sort columns + part/row
        self.claims = None
        self.features = None
        self.hits = None

    def add(self, result: BatchResult, part: int):
        if self.top == 0:
            return
        ctx = result.context
        cand = np.flatnonzero(ctx["worklist_candidate"].to_numpy(dtype=bool))
        if not len(cand):
            return
        scored = result.scored
        if len(cand) > self.top:
            # only a batch's own best ``top`` can reach the overall top: rank
            # on the sort keys alone before building any frame
            keys = pd.DataFrame(
                {
                    "dollars_at_risk": ctx["dollars_at_risk"].to_numpy()[cand],
                    S.DENIAL_PROBABILITY: scored[S.DENIAL_PROBABILITY].to_numpy(
                        dtype=float, na_value=np.nan
                    )[cand],
                    S.CLAIM_ID: scored[S.CLAIM_ID].to_numpy()[cand],
                    S.LINE_NUMBER: scored[S.LINE_NUMBER].to_numpy()[cand],
                }
            )
            cand = np.sort(cand[_worklist_order(keys)[: self.top]])
        rows = scored.iloc[cand].reset_index(drop=True)
        for name in ctx.columns:
            if name != "worklist_candidate":
                rows[name] = ctx[name].to_numpy()[cand]
        rows["_part"] = part
        rows["_row"] = cand
        claims = result.claims.iloc[cand].reset_index(drop=True)
        feats = result.features
        fpos = np.flatnonzero(np.isin(cand, feats.index.to_numpy()))
        f = feats.loc[cand[fpos]]
        f.index = fpos  # position among this batch's candidates
        hp = result.hits["pos"].to_numpy(dtype=np.int64)
        local = np.full(len(scored), -1, dtype=np.int64)
        local[cand] = np.arange(len(cand))
        keep = local[hp] >= 0 if len(hp) else np.zeros(0, bool)
        h = result.hits.loc[keep].assign(pos=local[hp[keep]])
        self._merge(rows, claims, f, h)

    def _merge(self, rows, claims, feats, hits):
        if self.rows is not None:
            base = len(self.rows)
            rows = pd.concat([self.rows, rows], ignore_index=True)
            claims = pd.concat([self.claims, claims], ignore_index=True)
            feats = pd.concat([self.features, feats.set_axis(feats.index + base)])
            hits = pd.concat([self.hits, hits.assign(pos=hits["pos"] + base)])
        order = _worklist_order(rows)[: self.top]
        remap = np.full(len(rows), -1, dtype=np.int64)
        remap[order] = np.arange(len(order))
        self.rows = rows.iloc[order].reset_index(drop=True)
        self.claims = claims.iloc[order].reset_index(drop=True)
        fk = remap[feats.index.to_numpy(dtype=np.int64)]
        self.features = feats.loc[fk >= 0].set_axis(fk[fk >= 0])
        hk = remap[hits["pos"].to_numpy(dtype=np.int64)] if len(hits) else np.zeros(0)
        self.hits = hits.loc[hk >= 0].assign(pos=hk[hk >= 0]).reset_index(drop=True)

    def finish(self, model, explainer, config):
        """Exact reasons for the worklist lines; returns (worklist, patches)."""
        if self.rows is None or not len(self.rows):
            return _empty_worklist(config), {}
        rows = self.rows.copy()
        for name in (S.RULE_HITS, S.REASONS, S.SUGGESTED_FIXES):
            rows[name] = pd.Series(rows[name].tolist(), dtype=object)
        n = len(rows)
        need = np.zeros(n, dtype=bool)
        if (
            config.explain != "none"
            and config.max_model_reasons > 0
            and explainer is not None
            and explainer.available
            and len(self.features)
        ):
            fpos = self.features.index.to_numpy(dtype=np.int64)
            need[fpos] = rows["explanation"].to_numpy()[fpos] != "exact"
        patches = {}
        if need.any():
            fpos = np.flatnonzero(need)
            Xf = self.features.loc[fpos]
            contrib = explainer.exact(Xf)
            local = np.full(n, -1, dtype=np.int64)
            local[fpos] = np.arange(len(fpos))
            hp = self.hits["pos"].to_numpy(dtype=np.int64)
            on = local[hp] >= 0 if len(hp) else np.zeros(0, bool)
            covered = pd.DataFrame(
                {"pos": local[hp[on]], "rule_id": self.hits["rule_id"].to_numpy()[on]}
            )
            drivers = explainer.model_reasons(
                self.claims.iloc[fpos],
                Xf,
                contrib,
                covered_rules=covered,
                max_reasons=config.max_model_reasons,
                min_contribution=config.min_contribution,
            )
            drivers["pos"] = fpos[drivers["pos"].to_numpy(dtype=np.int64)]
            _, reasons, fixes = combine_reasons(n, self.hits, drivers)
            for name, new in ((S.REASONS, reasons), (S.SUGGESTED_FIXES, fixes)):
                values = rows[name].to_numpy(dtype=object).copy()
                fresh = np.empty(n, dtype=object)
                fresh[:] = new.to_pylist()
                values[need] = fresh[need]
                rows[name] = values
            rows.loc[need, "explanation"] = "exact"
            for part in np.unique(rows.loc[need, "_part"]):
                sel = need & (rows["_part"] == part).to_numpy()
                patches[int(part)] = (
                    rows.loc[sel, "_row"].to_numpy(dtype=np.int64),
                    reasons.take(pa.array(np.flatnonzero(sel))),
                    fixes.take(pa.array(np.flatnonzero(sel))),
                )
        return _format_worklist(rows, config), patches


def _worklist_order(rows: pd.DataFrame) -> np.ndarray:
    dollars = rows["dollars_at_risk"].to_numpy(dtype=float)
    prob = rows[S.DENIAL_PROBABILITY].to_numpy(dtype=float, na_value=np.nan)
    return np.lexsort(
        (
            rows[S.LINE_NUMBER].to_numpy(dtype=np.int64),
            rows[S.CLAIM_ID].astype(str).to_numpy(),
            -np.nan_to_num(prob, nan=1.0),
            -np.nan_to_num(dollars, nan=-np.inf),
        )
    )


def _empty_worklist(config) -> pd.DataFrame:
    cols = list(WORKLIST_COLUMNS)
    if config.worklist_patient_id:
        cols.insert(3, S.PATIENT_ID)
    return pd.DataFrame({c: pd.Series([], dtype=object) for c in cols})


def _format_worklist(rows: pd.DataFrame, config) -> pd.DataFrame:
    out = rows.copy()
    out.insert(0, "rank", np.arange(1, len(out) + 1))
    for name in (S.UNITS, S.MODIFIERS, S.RENDERING_PROVIDER_ID, S.PATIENT_ID):
        if name not in out.columns:
            out[name] = pd.NA
    for name in (S.RULE_HITS, S.REASONS, S.SUGGESTED_FIXES):
        out[name] = [tuple(v) if v is not None else () for v in out[name].tolist()]
    if S.MODIFIERS in out.columns:
        out[S.MODIFIERS] = [
            tuple(v) if isinstance(v, tuple | list | np.ndarray) else ()
            for v in out[S.MODIFIERS].tolist()
        ]
    cols = list(WORKLIST_COLUMNS)
    if config.worklist_patient_id:
        cols.insert(3, S.PATIENT_ID)
    return out[cols].reset_index(drop=True)


def build_worklist(result: BatchResult, *, config=None, model=None, explainer=None):
    """The worklist of one batch: candidates ranked by dollars at risk.

    97112 lines at or above ``config.worklist_min_band`` and lines with a
    hard-rule hit, ranked by expected dollars at risk (probability x
    expected payment; for a line that is not 97112, its expected payment),
    top ``config.worklist_top``. With ``model`` (and its explainer), the
    lines' reasons are recomputed from exact contributions.

    Parameters
    ----------
    result : BatchResult
    config : ScoringConfig, optional
    model : DenialRiskModel, optional
    explainer : Explainer, optional

    Returns
    -------
    pandas.DataFrame
        Columns :data:`WORKLIST_COLUMNS` (plus ``patient_id`` when
        ``config.worklist_patient_id``).
    """
    config = config if config is not None else ScoringConfig()
    pool = _Worklist(config.worklist_top)
    pool.add(result, 0)
    if model is not None and explainer is None and config.explain != "none":
        explainer = Explainer(model)
    worklist, _ = pool.finish(model, explainer, config)
    return worklist


def worklist_html(worklist: pd.DataFrame, *, title="ptdenial worklist", subtitle=""):
    """A self-contained HTML page of the worklist (no external assets).

    Every value is HTML-escaped; reasons and fixes are bullet lists.

    Parameters
    ----------
    worklist : pandas.DataFrame
        Output of :func:`build_worklist` / the worklist of :func:`score_file`.
    title, subtitle : str

    Returns
    -------
    str

    Examples
    --------
    >>> import pandas as pd
    >>> from ptdenial.scoring import worklist_html
    >>> page = worklist_html(pd.DataFrame({"rank": [1], "claim_id": ["<C1>"],
    ...                                     "reasons": [("a & b",)]}))
    >>> "&lt;C1&gt;" in page, "a &amp; b" in page, "http" in page
    (True, True, False)
    """
    esc = html.escape
    total = (
        float(pd.to_numeric(worklist["dollars_at_risk"], errors="coerce").sum())
        if "dollars_at_risk" in worklist
        else 0.0
    )
    heads = "".join(
        f"<th>{esc(str(c).replace('_', ' '))}</th>" for c in worklist.columns
    )
    body = []
    cols = list(worklist.columns)
    # build cell text column by column (vectorized over rows), then join rows
    cells = []
    for c in cols:
        values = worklist[c].tolist()
        if c in (S.REASONS, S.SUGGESTED_FIXES):
            cells.append(
                [
                    "<ul>"
                    + "".join(f"<li>{esc(str(x))}</li>" for x in (v or ()))
                    + "</ul>"
                    for v in values
                ]
            )
        elif c in (S.RULE_HITS, S.MODIFIERS):
            cells.append([esc(", ".join(map(str, v or ()))) for v in values])
        elif c == S.DENIAL_PROBABILITY:
            cells.append(["" if pd.isna(v) else f"{float(v):.0%}" for v in values])
        elif c in ("dollars_at_risk", "expected_payment"):
            cells.append(["" if pd.isna(v) else f"${float(v):,.2f}" for v in values])
        elif c == S.DATE_OF_SERVICE:
            cells.append(
                ["" if pd.isna(v) else esc(str(pd.Timestamp(v).date())) for v in values]
            )
        else:
            cells.append(["" if _isna(v) else esc(str(v)) for v in values])
    for row in zip(*cells, strict=True) if cells else []:
        body.append("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>")
    css = (
        "body{font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;"
        "margin:1.5em;color:#1a202c}table{border-collapse:collapse;font-size:.85em}"
        "th,td{border:1px solid #cbd5e0;padding:.3em .5em;vertical-align:top;"
        "text-align:left}th{background:#edf2f7;position:sticky;top:0}"
        "ul{margin:0;padding-left:1.1em}.meta{color:#4a5568}"
    )
    return "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="en"><head><meta charset="utf-8">',
            f"<title>{esc(title)}</title><style>{css}</style></head><body>",
            f"<h1>{esc(title)}</h1>",
            f'<p class="meta">{esc(subtitle)}</p>' if subtitle else "",
            f'<p class="meta">{len(worklist):,} lines, ${total:,.2f} expected at '
            "risk. Ranked by expected dollars at risk (denial probability x "
            "expected payment); hard-rule lines that are not 97112 count their "
            "whole expected payment.</p>",
            f"<table><thead><tr>{heads}</tr></thead><tbody>",
            "\n".join(body),
            "</tbody></table></body></html>",
        ]
    )


def _isna(v) -> bool:
    try:
        return bool(pd.isna(v))
    except (TypeError, ValueError):
        return False


# --- in-memory API --------------------------------------------------------------------
def score_claims(
    model, claims: pd.DataFrame, *, config=None, as_of=None, scored_at=None
) -> pd.DataFrame:
    """Score an in-memory frame of claim lines (all lines of each visit included).

    One :func:`score_batch`, then the lines that reach the worklist get
    exact TreeSHAP reasons (as in :func:`score_file`). Rows that fail
    validation are left out of the result with a
    :class:`~ptdenial.exceptions.DataQualityWarning`; use :func:`score_batch`
    to get them.

    Parameters
    ----------
    model : ptdenial.model.DenialRiskModel
    claims : pandas.DataFrame
        Raw or validated claim lines.
    config : ScoringConfig, optional
    as_of : date-like, optional
    scored_at : timestamp-like, optional

    Returns
    -------
    pandas.DataFrame
        Columns :data:`ptdenial.schema.SCORED_COLUMNS`, one row per valid line.

    Examples
    --------
    >>> from ptdenial.datasets import load_sample_claims
    >>> from ptdenial.model import DenialRiskModel
    >>> from ptdenial.scoring import score_claims
    >>> model = DenialRiskModel(n_estimators=30).fit(load_sample_claims("history"))
    >>> new = load_sample_claims("new_claims")
    >>> scored = score_claims(model, new, as_of="2026-01-01")
    >>> scored.columns.tolist()[5:8]
    ['denial_probability', 'risk_band', 'expected_loss']
    """
    import warnings

    config = config if config is not None else ScoringConfig()
    explainer = Explainer(model) if config.explain != "none" else None
    result = score_batch(
        model, claims, config=config, as_of=as_of, scored_at=scored_at,
        explainer=explainer,
    )  # fmt: skip
    if len(result.quarantine):
        warnings.warn(
            f"{len(result.quarantine)} of {len(claims)} rows failed validation and "
            "are not scored; score_batch returns them with their reasons.",
            DataQualityWarning,
            stacklevel=2,
        )
    pool = _Worklist(config.worklist_top)
    pool.add(result, 0)
    _, patches = pool.finish(model, explainer, config)
    return _arrow_to_scored(_patch(result.arrow, patches.get(0)))


def _patch(table: pa.Table, patch) -> pa.Table:
    """Replace the reasons and fixes of some rows (vectorized ``take``)."""
    if patch is None:
        return table
    rows, reasons, fixes = patch
    idx = np.arange(table.num_rows, dtype=np.int64)
    idx[rows] = table.num_rows + np.arange(len(rows))
    for name, new in ((S.REASONS, reasons), (S.SUGGESTED_FIXES, fixes)):
        col = table.column(name).combine_chunks()
        merged = pa.concat_arrays([col, new.cast(col.type)]).take(pa.array(idx))
        table = table.set_column(table.schema.get_field_index(name), name, merged)
    return table


# --- streaming ------------------------------------------------------------------------
@dataclasses.dataclass
class ScoreRun:
    """What :func:`score_file` did.

    Attributes
    ----------
    manifest : dict
        The run manifest (also written as JSON beside the output).
    worklist : pandas.DataFrame
        The worklist (also written when a worklist path was given).
    scores : numpy.ndarray
        Denial probabilities of the scored 97112 lines (for the report).
    drift_features : pandas.DataFrame
        A deterministic sample of the 97112 lines' model features.
    rule_counts : pandas.Series
        Lines hit per rule id.
    quarantine_summary : pandas.DataFrame
        Quarantined rows per column and check.
    exit_code : int
        0 when every row was scored, 3 when rows were quarantined.
    score_segments : numpy.ndarray
        The payer class of each score in ``scores`` (drift per segment).
    """

    manifest: dict
    worklist: pd.DataFrame
    scores: np.ndarray
    drift_features: pd.DataFrame
    rule_counts: pd.Series
    quarantine_summary: pd.DataFrame
    exit_code: int
    score_segments: np.ndarray = dataclasses.field(
        default_factory=lambda: np.zeros(0, dtype=object)
    )


_KEY_COLUMNS = (S.PATIENT_ID, S.CLAIM_ID, S.LINE_NUMBER)


def _file_columns(path: Path) -> list[str]:
    try:
        if table_format(path) == "csv":
            return pacsv.open_csv(path).schema.names
        return pq.ParquetFile(path).schema_arrow.names
    except (pa.ArrowInvalid, OSError) as exc:
        kind = table_format(path)
        raise InputFileError(f"{path}: cannot read as {kind.upper()} ({exc}).") from exc


def _iter_arrow(path: Path, batch_rows: int, columns=None):
    """Arrow record batches of one file (CSV: every column as text)."""
    if table_format(path) == "csv":
        names = pacsv.open_csv(path).schema.names
        convert = pacsv.ConvertOptions(
            column_types={c: pa.string() for c in names},
            strings_can_be_null=True,
            null_values=[""],
            include_columns=None
            if columns is None
            else [c for c in columns if c in names],
        )
        reader = pacsv.open_csv(
            path, read_options=pacsv.ReadOptions(block_size=1 << 22),
            convert_options=convert,
        )  # fmt: skip
        yield from reader
    else:
        pf = pq.ParquetFile(path, pre_buffer=False)
        cols = None
        if columns is not None:
            cols = [c for c in columns if c in pf.schema_arrow.names]
        yield from pf.iter_batches(batch_size=batch_rows, columns=cols)


def _hash_text(values) -> np.ndarray:
    """uint64 hash of stripped text per row (null hashes like ""), on uniques."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    arr = pc.utf8_trim_whitespace(pc.cast(values, pa.string()))
    enc = pc.dictionary_encode(arr)
    uniques = enc.dictionary.to_numpy(zero_copy_only=False).astype(object)
    hashes = pd.util.hash_array(np.append(uniques, ""), categorize=False)
    idx = enc.indices.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)
    return hashes[idx]  # -1 picks the appended ""


def _line_hash(claim, line) -> np.ndarray:
    """Hash of (claim_id, line_number) with line numbers normalized ("01" = 1)."""
    if isinstance(line, pa.ChunkedArray):
        line = line.combine_chunks()
    if pa.types.is_integer(line.type):
        ints = pc.fill_null(pc.cast(line, pa.int64()), -1).to_numpy()
        h = pd.util.hash_array(ints)
    else:
        enc = pc.dictionary_encode(pc.utf8_trim_whitespace(pc.cast(line, pa.string())))
        text = pd.Series(enc.dictionary.to_numpy(zero_copy_only=False).astype(object))
        num = pd.to_numeric(text, errors="coerce")
        as_int = num.where(num == np.round(num)).astype("Int64").astype("string")
        norm = as_int.fillna(text).astype(object).to_numpy()
        hashes = pd.util.hash_array(np.append(norm, ""), categorize=False)
        h = hashes[enc.indices.fill_null(-1).to_numpy(zero_copy_only=False)]
    return _hash_text(claim) * np.uint64(1_000_003) ^ h


def _key_pass(sources):
    """Slot of every row (patient hash), and per-file row counts.

    ``sources`` holds, per file, an iterable of Arrow batches or tables with
    at least the key columns.
    """
    slots, lines, patients, counts = [], [], [], []
    for batches in sources:
        n = 0
        for rb in batches:
            ph = _hash_text(rb.column(S.PATIENT_ID))
            patients.append(ph)
            slots.append((ph % np.uint64(N_SLOTS)).astype(np.int32))
            lines.append(_line_hash(rb.column(S.CLAIM_ID), rb.column(S.LINE_NUMBER)))
            n += rb.num_rows
        counts.append(n)
    if not slots:
        return np.zeros(0, np.int32), counts, 0
    slot = np.concatenate(slots)
    line = np.concatenate(lines)
    del lines
    order = np.argsort(line, kind="stable")
    sl = line[order]
    dup_sorted = np.zeros(len(sl), dtype=bool)
    if len(sl) > 1:
        same = sl[1:] == sl[:-1]
        dup_sorted[1:] |= same
        dup_sorted[:-1] |= same
    dup = np.zeros(len(sl), dtype=bool)
    dup[order] = dup_sorted
    del order, sl, line
    n_dup = int(dup.sum())
    if n_dup:
        patient = np.concatenate(patients)
        moved = np.isin(patient, np.unique(patient[dup]))
        slot[moved] = _DUP_SLOT
    return slot, counts, n_dup


def _parquet_rows(files):
    """Total rows from Parquet metadata, or None when an input is CSV."""
    if any(table_format(f) == "csv" for f in files):
        return None
    return sum(pq.ParquetFile(f).metadata.num_rows for f in files)


def _buckets(slot: np.ndarray, batch_rows: int) -> np.ndarray:
    """Bucket of each slot: runs of consecutive slots of about ``batch_rows`` rows."""
    counts = np.bincount(slot, minlength=N_SLOTS + 1).astype(np.int64)
    before = np.concatenate([[0], np.cumsum(counts[:N_SLOTS])[:-1]])
    raw = before // max(batch_rows, 1)
    _, bucket = np.unique(raw, return_inverse=True)
    out = np.empty(N_SLOTS + 1, dtype=np.int64)
    out[:N_SLOTS] = bucket
    out[_DUP_SLOT] = bucket.max() + 1 if counts[_DUP_SLOT] else -1
    return out


def _unified_schema(files) -> pa.Schema:
    schemas = []
    for f in files:
        if table_format(f) == "csv":
            names = pacsv.open_csv(f).schema.names
            schemas.append(pa.schema([(n, pa.string()) for n in names]))
        else:
            schemas.append(pq.ParquetFile(f).schema_arrow)
    try:
        unified = pa.unify_schemas(schemas, promote_options="permissive")
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise InputFileError(
            f"the input files disagree on column types ({exc}); write them with the "
            "same schema or score them one by one."
        ) from exc
    # list columns travel as "|"-joined text (see _lists_as_text)
    fields = [
        pa.field(f.name, pa.string())
        if pa.types.is_list(f.type) or pa.types.is_large_list(f.type)
        else f
        for f in unified
    ]
    return pa.schema(fields).append(pa.field(_SRC, pa.int64()))


def _conform(rb, schema: pa.Schema, first: int) -> pa.Table:
    table = pa.Table.from_batches([rb])
    cols = []
    for field in schema:
        if field.name == _SRC:
            cols.append(pa.array(np.arange(first, first + rb.num_rows, dtype=np.int64)))
        elif field.name in table.column_names:
            col = table.column(field.name)
            if pa.types.is_list(col.type) or pa.types.is_large_list(col.type):
                col = pc.binary_join(col.cast(pa.list_(pa.string())), "|")
            cols.append(col.cast(field.type))
        else:
            cols.append(pa.nulls(rb.num_rows, field.type))
    return pa.Table.from_arrays(cols, schema=schema)


def _lists_as_text(table: pa.Table) -> pa.Table:
    """``list<string>`` columns as ``|``-joined text (what CSV inputs hold).

    Validation parses both forms to the same tuples; text converts to pandas
    and parses several times faster than per-row arrays.
    """
    cols = []
    for field in table.schema:
        col = table.column(field.name)
        if pa.types.is_list(field.type) or pa.types.is_large_list(field.type):
            col = pc.binary_join(col.cast(pa.list_(pa.string())), "|")
        cols.append(col)
    return pa.Table.from_arrays(cols, names=table.column_names)


def _progress(config, total, desc):
    on = config.progress == "on" or (
        config.progress == "auto"
        and hasattr(sys.stderr, "isatty")
        and sys.stderr.isatty()
    )
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit="batch", disable=not on, leave=False)


def _ipc_options():
    return ipc.IpcWriteOptions(compression="lz4")


def _read_ipc(path: Path) -> pa.Table:
    with pa.OSFile(str(path), "rb") as fh:
        return ipc.open_stream(fh).read_all()


@contextlib.contextmanager
def _atomic(path: Path):
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    os.chmod(tmp, 0o644)  # mkstemp creates 0600; outputs are shared files
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _csv_ready(table: pa.Table) -> pa.Table:
    cols, names = [], []
    for field in table.schema:
        col = table.column(field.name)
        if pa.types.is_list(field.type):
            sep = "|" if field.name == S.RULE_HITS else " | "
            col = pc.binary_join(col, sep).fill_null("")
        elif pa.types.is_timestamp(field.type) and field.name == S.DATE_OF_SERVICE:
            col = pc.strftime(col, format="%Y-%m-%d")
        elif pa.types.is_timestamp(field.type):
            col = pc.strftime(col, format="%Y-%m-%dT%H:%M:%SZ")
        cols.append(col)
        names.append(field.name)
    return pa.Table.from_arrays(cols, names=names)


class _TableWriter:
    """Parquet or CSV (by suffix) writer of consecutive tables to one file."""

    def __init__(self, path: Path, schema: pa.Schema, *, like: Path):
        self.kind = table_format(like)
        self.path = path
        self.schema = schema
        self.writer = None
        self.compressed = Path(like).name.lower().endswith(".gz")

    def write(self, table: pa.Table):
        if self.kind == "csv":
            table = _csv_ready(table)
            if self.writer is None:
                self._sink = (
                    pa.CompressedOutputStream(str(self.path), "gzip")
                    if self.compressed
                    else pa.OSFile(str(self.path), "wb")
                )
                self.writer = pacsv.CSVWriter(self._sink, table.schema)
            self.writer.write_table(table)
        else:
            if self.writer is None:
                self.writer = pq.ParquetWriter(str(self.path), self.schema)
            self.writer.write_table(table.cast(self.schema))

    def close(self):
        if self.writer is None:
            self.write(self.schema.empty_table())
        self.writer.close()
        if self.kind == "csv":
            self._sink.close()


def _quarantine_arrow(frame: pd.DataFrame) -> pa.Table:
    cols = {}
    for name in frame.columns:
        if name in (S.SOURCE_ROW, S.Q_N_FAILURES):
            cols[name] = pa.array(frame[name].to_numpy(dtype=np.int64))
        else:
            cols[name] = pa.array(frame[name].astype("string"), type=pa.string())
    return pa.table(cols)


def _default_side_path(out: Path, name: str) -> Path:
    suffix = ".csv" if table_format(out) == "csv" else ".parquet"
    stem = out.name
    for s in (".gz", ".csv", ".parquet", ".pq"):
        stem = stem.removesuffix(s)
    return out.with_name(f"{stem}.{name}{suffix}")


def _manifest_path(out: Path) -> Path:
    stem = out.name
    for s in (".gz", ".csv", ".parquet", ".pq"):
        stem = stem.removesuffix(s)
    return out.with_name(f"{stem}.manifest.json")


def worklist_paths(path) -> tuple[Path, Path]:
    """CSV and HTML paths of a worklist given as either one."""
    p = Path(path)
    if p.suffix.lower() in (".html", ".htm"):
        return p.with_suffix(".csv"), p
    return p, p.with_suffix(".html") if p.suffix else p.with_name(p.name + ".html")


def write_worklist(worklist: pd.DataFrame, path, *, title, subtitle):
    """Write a worklist as CSV and as a self-contained HTML page, atomically.

    Parameters
    ----------
    worklist : pandas.DataFrame
        Output of :func:`build_worklist`.
    path : str or Path
        The CSV or the HTML path; the other is written beside it
        (:func:`worklist_paths`).
    title, subtitle : str
        Heading of the HTML page.

    Returns
    -------
    tuple of Path
        ``(csv_path, html_path)``.
    """
    csv_path, html_path = worklist_paths(path)
    write_table(worklist, csv_path)
    page = worklist_html(worklist, title=title, subtitle=subtitle)
    with _atomic(html_path) as tmp:
        tmp.write_text(page, encoding="utf-8")
    return csv_path, html_path


def score_file(
    model,
    claims,
    out,
    *,
    quarantine=None,
    worklist=None,
    config: ScoringConfig | None = None,
    as_of=None,
    scored_at=None,
    model_path=None,
) -> ScoreRun:
    """The nightly job: stream a claims file, write scores, quarantine, worklist.

    Parameters
    ----------
    model : ptdenial.model.DenialRiskModel
    claims : str or Path
        Parquet file, folder of Parquet files, or CSV (``.csv``/``.csv.gz``).
    out : str or Path
        Scored output; ``.parquet`` or ``.csv`` by suffix; written atomically.
    quarantine : str or Path, optional
        Quarantined rows. When omitted and rows fail validation, they are
        written to ``<out stem>.quarantine.<suffix>`` beside the output.
    worklist : str or Path, optional
        Worklist CSV (an HTML page is written beside it with ``.html``), or
        an ``.html`` path (the CSV goes beside it).
    config : ScoringConfig, optional
    as_of : date-like, optional
        Run date (see :func:`score_batch`); default today.
    scored_at : timestamp-like, optional
        Default: midnight UTC of ``as_of`` when given, else now.
    model_path : str or Path, optional
        Recorded (with its SHA-256) in the manifest.

    Returns
    -------
    ScoreRun

    Raises
    ------
    ClaimsSchemaError
        A required column is missing (nothing is written).
    InputFileError
        The input cannot be read.
    """
    config = config if config is not None else ScoringConfig()
    t_start = time.perf_counter()
    as_of_ts, stamp = _run_dates(as_of, scored_at)
    out = Path(out)
    table_format(out)  # fail early on an unknown suffix
    files = claim_files(claims)
    for f in files:
        S.check_required_columns(_file_columns(f), source=str(f))
    timings: dict = {}

    def add_time(name, seconds):
        timings[name] = timings.get(name, 0.0) + seconds

    t0 = time.perf_counter()
    inputs = [{"path": str(f), "sha256": file_sha256(f), "bytes": f.stat().st_size}
              for f in files]  # fmt: skip
    add_time("hash_inputs", time.perf_counter() - t0)

    schema = _unified_schema(files)
    t0 = time.perf_counter()
    preload = None
    if _parquet_rows(files) is not None and _parquet_rows(files) <= config.batch_rows:
        # one batch: read the file once, keys included
        preload, offset = [], 0
        for f in files:
            parts = []
            for rb in _iter_arrow(f, config.batch_rows):
                parts.append(_conform(rb, schema, offset))
                offset += rb.num_rows
            preload.append(pa.concat_tables(parts) if parts else schema.empty_table())
        slot, file_rows, n_dup = _key_pass([[t] for t in preload])
    else:
        key_batch = max(config.batch_rows, 200_000)
        slot, file_rows, n_dup = _key_pass(
            [_iter_arrow(f, key_batch, list(_KEY_COLUMNS)) for f in files]
        )
    n_in = int(len(slot))
    for info, rows in zip(inputs, file_rows, strict=True):
        info["rows"] = int(rows)
    bucket_of_slot = _buckets(slot, config.batch_rows) if n_in else np.zeros(0)
    row_bucket = bucket_of_slot[slot] if n_in else np.zeros(0, np.int64)
    n_buckets = int(row_bucket.max()) + 1 if n_in else 0
    add_time("key_pass", time.perf_counter() - t0)
    logger.info(
        "%s: %d rows in %d file(s); %d batch(es) of about %d rows; %d rows share a "
        "duplicated line key",
        claims, n_in, len(files), n_buckets, config.batch_rows, n_dup,
    )  # fmt: skip
    file_starts = np.concatenate([[0], np.cumsum(file_rows)]).astype(np.int64)

    out.parent.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix=".ptdenial-score-", dir=out.parent))
    explainer = None
    if config.explain != "none":
        explainer = Explainer(model)
    pool = _Worklist(config.worklist_top)
    counts = {"valid": 0, "quarantined": 0, "scored_97112": 0, "rule_hits": 0}
    bands = {"low": 0, "medium": 0, "high": 0, "not_scored": 0}
    explained = {"exact": 0, "approximate": 0, "rules": 0}
    rule_counts: dict = {}
    q_summary: dict = {}
    scores_parts, drift_parts, segment_parts = [], [], []
    drift_step = max(1, int(np.ceil(n_in / 2 / max(config.drift_sample_rows, 1))))
    q_paths, s_paths = [], []
    try:
        # --- spill rows to their buckets --------------------------------------
        t0 = time.perf_counter()
        if n_buckets > 1:
            writers = {}
            offset = 0
            for f in files:
                for rb in _iter_arrow(f, config.batch_rows):
                    tab = _conform(rb, schema, offset)
                    b = row_bucket[offset : offset + rb.num_rows]
                    offset += rb.num_rows
                    order = np.argsort(b, kind="stable")
                    tab = tab.take(pa.array(order))
                    bs = b[order]
                    cuts = np.flatnonzero(np.diff(bs)) + 1
                    starts = np.concatenate([[0], cuts])
                    ends = np.concatenate([cuts, [len(bs)]])
                    for s, e in zip(starts, ends, strict=True):
                        k = int(bs[s])
                        if k not in writers:
                            sink = pa.OSFile(str(workdir / f"in-{k}.arrow"), "wb")
                            writers[k] = (
                                sink,
                                ipc.new_stream(sink, schema, options=_ipc_options()),
                            )
                        writers[k][1].write_table(tab.slice(s, e - s))
            for sink, w in writers.values():
                w.close()
                sink.close()
            if offset != n_in:
                raise InputFileError(
                    f"{claims}: the file changed while it was read ({n_in} rows, "
                    f"then {offset}); score it again."
                )
        add_time("spill", time.perf_counter() - t0)

        # --- score bucket by bucket ------------------------------------------
        bar = _progress(config, n_buckets, "scoring")
        for k in range(n_buckets):
            t0 = time.perf_counter()
            if n_buckets > 1:
                path = workdir / f"in-{k}.arrow"
                tab = _read_ipc(path) if path.exists() else schema.empty_table()
                path.unlink(missing_ok=True)
            elif preload is not None:
                tab = pa.concat_tables(preload) if preload else schema.empty_table()
                preload = None
            else:
                parts, offset = [], 0
                for f in files:
                    for rb in _iter_arrow(f, config.batch_rows):
                        parts.append(_conform(rb, schema, offset))
                        offset += rb.num_rows
                tab = pa.concat_tables(parts) if parts else schema.empty_table()
            src = tab.column(_SRC).to_numpy()
            order = np.lexsort((src, slot[src])) if len(src) else np.zeros(0, np.int64)
            tab = tab.take(pa.array(order)).drop_columns([_SRC])
            src = src[order]
            raw = _lists_as_text(tab).to_pandas(ignore_metadata=True)
            add_time("read_batches", time.perf_counter() - t0)
            if not len(raw):
                bar.update(1)
                continue
            result = score_batch(
                model, raw, config=config, as_of=as_of_ts, scored_at=stamp,
                source_rows=src, source=str(claims), explainer=explainer,
            )  # fmt: skip
            for name, sec in result.timings.items():
                add_time(name, sec)
            t0 = time.perf_counter()
            q = result.quarantine
            if len(q):
                if len(files) > 1:
                    which = (
                        np.searchsorted(
                            file_starts,
                            q[S.SOURCE_ROW].to_numpy(dtype=np.int64),
                            "right",
                        )
                        - 1
                    )
                    q[S.Q_SOURCE] = np.asarray([str(f) for f in files], object)[which]
                for key, n in q.groupby([S.Q_COLUMN, S.Q_CHECK]).size().items():
                    q_summary[key] = q_summary.get(key, 0) + int(n)
                qp = workdir / f"q-{k}.arrow"
                qt = _quarantine_arrow(q)
                with pa.OSFile(str(qp), "wb") as sink:
                    with ipc.new_stream(sink, qt.schema) as w:
                        w.write_table(qt)
                q_paths.append(qp)
            scored = result.scored
            st = result.arrow
            sp_ = workdir / f"s-{k}.arrow"
            with pa.OSFile(str(sp_), "wb") as sink:
                with ipc.new_stream(sink, st.schema, options=_ipc_options()) as w:
                    w.write_table(st)
            s_paths.append((k, sp_))
            # bookkeeping
            counts["valid"] += len(scored)
            counts["quarantined"] += len(q)
            band_values = scored[S.RISK_BAND].value_counts()
            for b, n in band_values.items():
                bands[str(b)] = bands.get(str(b), 0) + int(n)
            for e, n in result.context["explanation"].value_counts().items():
                explained[str(e)] = explained.get(str(e), 0) + int(n)
            if len(result.hits):
                per_rule = result.hits.groupby("rule_id")["pos"].nunique()
                for rid, n in per_rule.items():
                    rule_counts[rid] = rule_counts.get(rid, 0) + int(n)
                counts["rule_hits"] += len(result.hits)
            feats = result.features
            counts["scored_97112"] += len(feats)
            if len(feats):
                scores_parts.append(
                    scored[S.DENIAL_PROBABILITY].to_numpy(
                        dtype=np.float32, na_value=np.nan
                    )[feats.index.to_numpy()]
                )
                segment_parts.append(
                    _words(result.claims[S.PAYER_CLASS].iloc[feats.index], "")
                )
                fslot = _valid_slots(result, raw, slot, src)[feats.index.to_numpy()]
                keep = fslot % drift_step == 0
                if keep.any():
                    drift_parts.append(feats.loc[keep].reset_index(drop=True))
            pool.add(result, k)
            add_time("bookkeeping", time.perf_counter() - t0)
            bar.update(1)
        bar.close()

        # --- worklist, exact reasons, final files ---------------------------------
        t0 = time.perf_counter()
        wl, patches = pool.finish(model, explainer, config)
        counts["worklist"] = len(wl)
        add_time("worklist_exact", time.perf_counter() - t0)
        for part_rows in patches.values():
            explained["exact"] += len(part_rows[0])
            explained["approximate"] -= len(part_rows[0])

        t0 = time.perf_counter()
        q_path = Path(quarantine) if quarantine is not None else None
        if q_path is None and counts["quarantined"]:
            q_path = _default_side_path(out, "quarantine")
        if q_path is not None:
            _write_quarantine(q_paths, q_path)
        with _atomic(out) as tmp:
            writer = _TableWriter(tmp, scored_arrow_schema(), like=out)
            for k, path in s_paths:
                writer.write(_patch(_read_ipc(path), patches.get(k)))
                path.unlink()
            writer.close()
        wl_paths = None
        if worklist is not None:
            wl_paths = write_worklist(
                wl,
                worklist,
                title=f"ptdenial worklist, claims of {as_of_ts.date()}",
                subtitle=f"model {model.model_id}; {counts['valid']:,} lines scored; "
                f"top {config.worklist_top} by dollars at risk",
            )
        add_time("write_outputs", time.perf_counter() - t0)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    if counts["valid"] + counts["quarantined"] != n_in:  # pragma: no cover - invariant
        raise AssertionError(
            f"row accounting failed: {n_in} in, {counts['valid']} scored, "
            f"{counts['quarantined']} quarantined"
        )
    timings["total"] = time.perf_counter() - t_start
    manifest = _manifest(
        model=model, model_path=model_path, inputs=inputs, out=out, q_path=q_path,
        wl_paths=wl_paths, counts=counts, n_in=n_in, bands=bands,
        explained=explained, rule_counts=rule_counts, config=config,
        as_of=as_of_ts, stamp=stamp, timings=timings, n_buckets=n_buckets,
        n_dup=n_dup,
    )  # fmt: skip
    manifest["outputs"]["manifest"] = str(_manifest_path(out))
    write_json(manifest, _manifest_path(out))
    logger.info(
        "scored %d lines (%d 97112), quarantined %d, in %.2f s -> %s",
        counts["valid"], counts["scored_97112"], counts["quarantined"],
        timings["total"], out,
    )  # fmt: skip
    drift = (
        pd.concat(drift_parts, ignore_index=True)
        if drift_parts
        else pd.DataFrame(columns=model.feature_names_)
    )
    qs = pd.DataFrame(
        [(c, k, n) for (c, k), n in sorted(q_summary.items())],
        columns=[S.Q_COLUMN, S.Q_CHECK, "rows"],
    )
    return ScoreRun(
        manifest=manifest,
        worklist=wl,
        scores=np.concatenate(scores_parts)
        if scores_parts
        else np.zeros(0, np.float32),
        drift_features=drift,
        rule_counts=pd.Series(rule_counts, dtype=np.int64).sort_values(ascending=False),
        quarantine_summary=qs,
        exit_code=3 if counts["quarantined"] else 0,
        score_segments=np.concatenate(segment_parts)
        if segment_parts
        else np.zeros(0, dtype=object),
    )


def _versions() -> dict:
    import platform

    import lightgbm
    import sklearn

    import ptdenial

    return {
        "ptdenial": ptdenial.__version__,
        "python": platform.python_version(),
        "pandas": pd.__version__,
        "numpy": np.__version__,
        "pyarrow": pa.__version__,
        "scikit-learn": sklearn.__version__,
        "lightgbm": lightgbm.__version__,
    }


def _valid_slots(result: BatchResult, raw: pd.DataFrame, slot, src) -> np.ndarray:
    """Slot of each valid line of a batch (valid lines keep the raw order)."""
    kept = np.ones(len(raw), dtype=bool)
    if len(result.quarantine):
        rows = result.quarantine[S.SOURCE_ROW].to_numpy(dtype=np.int64)
        kept[np.isin(src, rows)] = False
    return slot[src[kept]]


def _write_quarantine(paths, target: Path):
    tables = [_read_ipc(p) for p in paths]
    if tables:
        table = pa.concat_tables(tables, promote_options="permissive")
    else:
        table = pa.table(
            {
                c: pa.array(
                    [],
                    type=pa.int64()
                    if c in (S.SOURCE_ROW, S.Q_N_FAILURES)
                    else pa.string(),
                )
                for c in S.QUARANTINE_COLUMNS
            }
        )
    with _atomic(target) as tmp:
        writer = _TableWriter(tmp, table.schema, like=target)
        writer.write(table)
        writer.close()


def _manifest(*, model, model_path, inputs, out, q_path, wl_paths, counts, n_in,
              bands, explained, rule_counts, config, as_of, stamp, timings,
              n_buckets, n_dup) -> dict:  # fmt: skip
    card = getattr(model, "card_", {}) or {}
    outputs = {"scored": str(out)}
    if q_path is not None:
        outputs["quarantine"] = str(q_path)
    if wl_paths is not None:
        outputs["worklist_csv"], outputs["worklist_html"] = map(str, wl_paths)
    model_info = {
        "model_id": str(model.model_id),
        "training_window": card.get("training_window"),
        "schema_version": card.get("schema_version"),
        "versions": card.get("versions"),
    }
    if model_path is not None:
        model_info["path"] = str(model_path)
        model_info["sha256"] = file_sha256(model_path)
    return {
        "command": "score",
        "inputs": inputs,
        "outputs": outputs,
        "counts": {
            "rows_in": n_in,
            "valid": counts["valid"],
            "quarantined": counts["quarantined"],
            "scored": counts["valid"],
            "scored_97112": counts["scored_97112"],
            "not_scored": bands.get("not_scored", 0),
            "rule_hits": counts["rule_hits"],
            "rows_sharing_duplicated_keys": n_dup,
            "worklist": int(counts["worklist"]),
        },
        "risk_bands": bands,
        "explanations": explained,
        "rule_lines": dict(sorted(rule_counts.items())),
        "model": model_info,
        "as_of": str(as_of.date()),
        "scored_at": stamp.isoformat(),
        "config": config.to_dict(),
        "batches": n_buckets,
        "timings_s": {k: round(v, 4) for k, v in timings.items()},
        "versions": _versions(),
    }

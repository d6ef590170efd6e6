"""The public entry points: apply_rules, units_supported, rule_hit_summary."""

from __future__ import annotations

import functools
from collections.abc import Iterable
from typing import NamedTuple

import numpy as np
import pandas as pd
import pyarrow as pa

from ptdenial import schema as S
from ptdenial.reference import Reference, load_reference
from ptdenial.rules._arrays import (
    _param,
    _render_hits,
    _sort_order,
)
from ptdenial.rules._catalogue import (
    _RULE_BY_ID,
    GAP_COLUMNS,
    HIT_COLUMNS,
    KINDS,
    VISITS_YTD,
    Rule,
)
from ptdenial.rules._context import _Ctx, _prepare, _units
from ptdenial.rules._registry import _evaluate, _missing_reason


@functools.lru_cache(maxsize=1)
def _shipped_reference() -> Reference:
    """The shipped tables, read once per process (the rules never modify them)."""
    return load_reference()


# --- result -----------------------------------------------------------------
_NO_ROWS = np.zeros(0, dtype=np.int64)
_NO_ROWS.flags.writeable = False  # the shared default must stay empty


class RuleResult(NamedTuple):
    """What :func:`apply_rules` returns.

    Attributes
    ----------
    flags : pandas.DataFrame
        One nullable boolean column per rule id (catalogue order), index
        aligned with the claims. ``<NA>`` = not evaluated on that line (its
        data is missing, or the rule cannot be evaluated from the schema).
    gaps : pandas.DataFrame
        Float columns :data:`GAP_COLUMNS`, same index; NaN where the rule does
        not apply or cannot be evaluated.
    hits : pandas.DataFrame
        One row per rule hit: ``claim_id``, ``line_number``, ``rule_id``,
        ``kind``, ``carc``, ``detail``, ``fix``, in input order. ``kind`` is
        the rule's, except that a hard rule's hit resting on an unverified
        value (a payer-class default, a figure from secondary sources) is
        ``soft``; its detail says which value and why.
    not_evaluated : pandas.DataFrame
        One row per rule that was not (fully) evaluated: ``rule_id``,
        ``n_lines`` (lines where it applies but was not evaluated; all lines
        for rules the schema cannot evaluate), ``reason``.
    hit_rows : numpy.ndarray
        int64, one per row of ``hits`` (same order): the hit's position in
        the claims frame (``claims.iloc[hit_rows]`` are the hit lines), so
        hits can be joined back without matching ``claim_id`` and
        ``line_number``. Empty when there are no hits (or ``hits=False``).
        Defaults to an empty array for results built by hand.
    """

    flags: pd.DataFrame
    gaps: pd.DataFrame
    hits: pd.DataFrame
    not_evaluated: pd.DataFrame
    hit_rows: np.ndarray = _NO_ROWS


def units_supported(
    claims: pd.DataFrame, reference: Reference | None = None
) -> pd.Series:
    """Units the documented minutes support, per line, under the payer's time rule.

    CMS total-time payers: the line's code's share of the visit's units under
    the CMS allocation (ties broken as described in the module docstring);
    per-code midpoint payers: ``floor((minutes + 7) / 15)`` for the code.
    NaN for untimed codes and where minutes are missing. A code billed on
    several lines of one visit gets its supported units on each of them.

    Parameters
    ----------
    claims : pandas.DataFrame
        Canonical claim lines (output of :func:`ptdenial.schema.validate_claims`).
    reference : ptdenial.reference.Reference, optional
        Defaults to the shipped tables.

    Returns
    -------
    pandas.Series
        Float, index aligned with ``claims``, named ``units_supported``.

    Examples
    --------
    The CMS example: 33 minutes of 97110 and 7 of 97140 support 3 units, 2 + 1.

    >>> import pandas as pd
    >>> from ptdenial.rules import units_supported
    >>> visit = pd.DataFrame({
    ...     "claim_id": ["C1", "C1"], "line_number": [1, 2],
    ...     "patient_id": ["P1", "P1"], "payer_id": ["MCR", "MCR"],
    ...     "payer_class": ["medicare", "medicare"],
    ...     "date_of_service": pd.to_datetime(["2025-03-03"] * 2),
    ...     "cpt_code": ["97110", "97140"], "units": [2, 1],
    ...     "charge_amount": [60.0, 50.0], "diagnosis_codes": [("R26.81",)] * 2,
    ...     "rendering_provider_id": ["N1", "N1"], "minutes": [33, 7],
    ... })
    >>> units_supported(visit).tolist()
    [2.0, 1.0]
    """
    ref = _shipped_reference() if reference is None else reference
    claims = _prepare(claims)
    ctx = _Ctx(claims, ref, None)
    u = _units(ctx)
    out = np.where(ctx.cms, u.alloc, np.where(ctx.midpoint, u.midpoint_units, np.nan))
    out = np.where(ctx.timed, out, np.nan)
    return pd.Series(out, index=claims.index, name="units_supported")


def apply_rules(
    claims: pd.DataFrame,
    *,
    reference: Reference | None = None,
    as_of=None,
    rules: Iterable[str] | None = None,
    hits: bool = True,
    hit_kinds: Iterable[str] = ("hard", "soft"),
) -> RuleResult:
    """Evaluate the rule catalogue on claim lines, vectorized.

    Parameters
    ----------
    claims : pandas.DataFrame
        Canonical claim lines (output of :func:`ptdenial.schema.validate_claims`;
        list columns hold tuples, dates are datetimes). Every line is checked,
        97112 or not.
    reference : ptdenial.reference.Reference, optional
        Reference tables, e.g. ``load_reference("my_overrides/")``. Defaults to
        the shipped tables.
    as_of : date-like, optional
        Run date: lines without ``submission_date`` are checked for timely
        filing as if sent on this day. Without it they are not evaluated.
    rules : iterable of str, optional
        Rule ids to report (flags columns and hits); default all.
    hits : bool
        Build the hit rows (detail and fix text). ``False`` skips the text,
        for feature pipelines.
    hit_kinds : iterable of str
        Kinds that produce hit rows; payment and negative rules are flags
        only by default (they are not denials).

    Returns
    -------
    RuleResult
        ``flags``, ``gaps``, ``hits``, ``not_evaluated``, ``hit_rows``.

    Raises
    ------
    ptdenial.exceptions.ClaimsSchemaError
        If required contract columns are missing.
    ptdenial.exceptions.ReferenceDataError
        If a payer class has no policy row, or a table holds unknown values.

    Examples
    --------
    A Medicare 97112 line above the 2025 KX threshold without KX:

    >>> import pandas as pd
    >>> from ptdenial.rules import apply_rules
    >>> line = pd.DataFrame({
    ...     "claim_id": ["C1"], "line_number": [1], "patient_id": ["P1"],
    ...     "payer_id": ["MCR"], "payer_class": ["medicare"],
    ...     "date_of_service": pd.to_datetime(["2025-06-02"]),
    ...     "cpt_code": ["97112"], "units": [2], "charge_amount": [80.0],
    ...     "diagnosis_codes": [("R26.81",)], "rendering_provider_id": ["N1"],
    ...     "modifiers": [("GP",)], "minutes": [31],
    ...     "ytd_therapy_allowed": [2612.0],
    ... })
    >>> result = apply_rules(line)
    >>> bool(result.flags.loc[0, "KX_MISSING"]), bool(result.flags.loc[0, "GP_MISSING"])
    (True, False)
    >>> print(result.hits.loc[result.hits.rule_id == "KX_MISSING", "fix"].item())
    add KX: ytd therapy allowed $2,612 exceeds the 2025 threshold $2,410 ...
    >>> hit_lines = line.iloc[result.hit_rows]   # the claim line of each hit
    >>> hit_lines["claim_id"].tolist() == result.hits["claim_id"].tolist()
    True
    >>> result.flags.loc[0, "CERT_30D"] is pd.NA   # no plan-of-care columns given
    True
    """
    ref = _shipped_reference() if reference is None else reference
    if not isinstance(ref, Reference):
        raise TypeError(
            f"reference must be a ptdenial.reference.Reference (load_reference()); "
            f"got {type(ref)}."
        )
    claims = _prepare(claims)
    selected = list(_RULE_BY_ID) if rules is None else list(rules)
    unknown = [r for r in selected if r not in _RULE_BY_ID]
    if unknown:
        raise ValueError(f"Unknown rule ids {unknown}; known ids: {list(_RULE_BY_ID)}.")
    kinds = set(hit_kinds)
    bad_kinds = kinds - set(KINDS)
    if bad_kinds:
        raise ValueError(f"hit_kinds {sorted(bad_kinds)} unknown; use {KINDS}.")
    ctx = _Ctx(claims, ref, as_of)
    evals, gap_arrays = _evaluate(ctx)
    n = ctx.n
    index = claims.index

    flags = {}
    ne_rows = []
    hit_parts = []
    for order, rid in enumerate(selected):
        rule = _RULE_BY_ID[rid]
        e = evals[rid]
        values = pd.arrays.BooleanArray(e.tri.v.copy(), ~e.tri.k)
        flags[rid] = values
        n_unknown = int((~e.tri.k).sum())
        if n_unknown:
            if not rule.evaluable:
                reason = "not evaluable from the schema: needs " + ", ".join(
                    rule.would_need
                )
            else:
                reason = _missing_reason(ctx, rule) or e.reason or "line data missing"
            ne_rows.append({"rule_id": rid, "n_lines": n_unknown, "reason": reason})
        elif (
            rid == "BENEFIT_LIMIT"
            and not ctx.col(VISITS_YTD)
            and (~np.isnan(ctx.pol["visit_limit"])).any()
        ):
            ne_rows.append(
                {
                    "rule_id": rid,
                    "n_lines": 0,
                    "reason": "visits counted from the input lines (no visits_ytd "
                    "column): a lower bound when the input holds part of the year",
                }
            )
        note = _table_age_note(ctx, rid)
        if note and not n_unknown:
            ne_rows.append({"rule_id": rid, "n_lines": 0, "reason": note})
        if hits and rule.kind in kinds and e.text is not None:
            pos = np.flatnonzero(e.tri.v)
            if len(pos):
                hit_parts.append(_hit_rows(ctx, rule, order, pos, e))
    flags_df = pd.DataFrame(flags, index=index)
    # one column-major block: pandas keeps it without copying column by column
    block = np.empty((len(index), len(GAP_COLUMNS)), dtype=float, order="F")
    for j, name in enumerate(GAP_COLUMNS):
        block[:, j] = gap_arrays[name]
    gaps_df = pd.DataFrame(block, index=index, columns=list(GAP_COLUMNS), copy=False)
    if hit_parts:
        hits_df, hit_rows = _assemble_hits(ctx, selected, hit_parts)
    else:
        hits_df, hit_rows = _empty_hits(claims), np.zeros(0, dtype=np.int64)
    ne = pd.DataFrame(ne_rows, columns=["rule_id", "n_lines", "reason"])
    del n
    return RuleResult(flags_df, gaps_df, hits_df, ne, hit_rows)


#: Rules that read a table imported from CMS's quarterly files.
_CMS_TABLE = {"NCCI_PTP": "ncci_ptp", "NCCI_MI0": "ncci_ptp", "MUE": "mue"}


def _table_age_note(ctx: _Ctx, rid: str) -> str:
    """A note when the imported CMS quarter is older than the dates of service."""
    table = _CMS_TABLE.get(rid)
    record = ctx.ref.imports.get(table) if table else None
    if not record or not ctx.n or np.isnan(ctx.dos).all():
        return ""
    start = pd.Timestamp(record["quarter_start"])
    latest = pd.Timestamp(np.datetime64(int(np.nanmax(ctx.dos)), "D"))
    max_age = float(_param(ctx.ref, "ncci_quarter_max_age_days", 100))
    if (latest - start).days <= max_age:
        return ""
    return (
        f"{table} is CMS's {record['quarter']} file; the latest date of service "
        f"{latest.date()} is {(latest - start).days} days after that quarter "
        "started: load the quarter in force (ptdenial reference import-"
        f"{'ncci' if table == 'ncci_ptp' else 'mue'})"
    )


def _empty_hits(claims: pd.DataFrame) -> pd.DataFrame:
    out = {
        S.CLAIM_ID: pd.Series([], dtype=claims[S.CLAIM_ID].dtype),
        S.LINE_NUMBER: pd.Series([], dtype=claims[S.LINE_NUMBER].dtype),
    }
    for name in HIT_COLUMNS[2:]:
        out[name] = pd.Series([], dtype="str")
    return pd.DataFrame(out)


def _assemble_hits(
    ctx: _Ctx, selected: list[str], parts: list[dict]
) -> tuple[pd.DataFrame, np.ndarray]:
    """One hits table in input order (then catalogue order), built once.

    Text columns stay Arrow arrays: every rule's unique texts are concatenated
    and taken once in hit order, so no per-hit Python string is created.
    Also returns each hit's row position in the claims.
    """
    pos = np.concatenate([p["_pos"] for p in parts])
    order = np.concatenate([p["_order"] for p in parts])
    kind = np.concatenate([p["_kind"] for p in parts])
    sort = _sort_order([(pos, False), (order, False)])
    pos, order, kind = pos[sort], order[sort], kind[sort]
    rules = [_RULE_BY_ID[r] for r in selected]

    def texts_of(key):
        offsets = np.cumsum([0] + [len(p[key][1]) for p in parts])
        codes = np.concatenate(
            [p[key][0] + off for p, off in zip(parts, offsets, strict=False)]
        )
        return pa.concat_arrays([p[key][1] for p in parts]), codes[sort]

    def text(values: pa.Array, idx: np.ndarray):
        return pd.array(values.take(idx), dtype="str")

    def take(uniques, idx):
        values = pd.array(np.asarray(uniques, dtype=object), dtype="str")
        return text(pa.array(values), idx)

    detail = texts_of("detail")
    fix = texts_of("fix")
    hits = pd.DataFrame(
        {
            S.CLAIM_ID: _key_values(ctx.claims[S.CLAIM_ID], pos),
            S.LINE_NUMBER: _key_values(ctx.claims[S.LINE_NUMBER], pos),
            "rule_id": take([r.rule_id for r in rules], order),
            "detail": text(*detail),
            "fix": text(*fix),
            "kind": take(list(KINDS), kind),
            "carc": take([r.carc for r in rules], order),
        }
    )
    return hits, pos.astype(np.int64, copy=False)


def _key_values(column: pd.Series, pos: np.ndarray):
    """``column`` at ``pos``, as the hits table holds it.

    The table is built from NumPy values (an Arrow-backed text column ends up
    as ``str``); Arrow text columns are taken in Arrow, without a Python
    string per hit, to the same ``str`` values.
    """
    dtype = column.dtype
    if isinstance(dtype, pd.StringDtype) and dtype.storage == "pyarrow":
        taken = pa.array(column.array).take(pos)
        # missing keys keep the NumPy route (its type inference decides)
        if taken.null_count == 0:
            return pd.array(taken, dtype="str")
    return column.take(pos).to_numpy()


def _hit_rows(ctx: _Ctx, rule: Rule, order: int, pos: np.ndarray, e) -> dict:
    variant, fields = e.text(pos)
    templates = {name: rule.template(name) for name in ["", *rule.variants]}
    detail, fix = _render_hits(templates, variant, fields, len(pos))
    kind = np.full(len(pos), KINDS.index(rule.kind), dtype=np.int64)
    if e.unverified is not None and rule.kind == "hard":
        # a hard rule's hit that rests on an unverified value is only soft
        kind[np.asarray(e.unverified, bool)[pos]] = KINDS.index("soft")
    return {
        "_pos": pos,
        "_order": np.full(len(pos), order, dtype=np.int64),
        "_kind": kind,
        "detail": detail,
        "fix": fix,
    }


def rule_hit_summary(result: RuleResult, claims: pd.DataFrame | None = None):
    """Lines flagged per rule and, with outcomes, how often they were denied.

    Parameters
    ----------
    result : RuleResult
        Output of :func:`apply_rules`.
    claims : pandas.DataFrame, optional
        The same claim lines. With a ``denied`` column (or the remittance
        columns :func:`ptdenial.schema.derive_outcomes` needs) the summary
        adds the denial rate of flagged lines and the share of all denied
        lines that the rule flags. Pending lines are left out of both.

    Returns
    -------
    pandas.DataFrame
        One row per rule (catalogue order) and three summary rows
        (``any hard``, ``any hard or soft``, ``no hard hit``): ``rule_id``,
        ``kind``, ``lines`` (flagged), ``not_evaluated`` (lines), and, with
        outcomes, ``adjudicated``, ``denial_rate``, ``share_of_denied``.

    Examples
    --------
    >>> import pandas as pd
    >>> from ptdenial.rules import apply_rules, rule_hit_summary
    >>> line = pd.DataFrame({
    ...     "claim_id": ["C1", "C2"], "line_number": [1, 1],
    ...     "patient_id": ["P1", "P2"], "payer_id": ["MCR", "MCR"],
    ...     "payer_class": ["medicare"] * 2,
    ...     "date_of_service": pd.to_datetime(["2025-06-02"] * 2),
    ...     "cpt_code": ["97112"] * 2, "units": [1, 1], "charge_amount": [40.0] * 2,
    ...     "diagnosis_codes": [("R26.81",)] * 2, "rendering_provider_id": ["N1"] * 2,
    ...     "modifiers": [(), ("GP",)], "denied": [True, False],
    ... })
    >>> summary = rule_hit_summary(apply_rules(line), line).set_index("rule_id")
    >>> gp = summary.loc["GP_MISSING"]
    >>> int(gp["lines"]), float(gp["denial_rate"]), float(gp["share_of_denied"])
    (1, 1.0, 1.0)
    """
    flags = result.flags
    kinds = {r.rule_id: r.kind for r in _RULE_BY_ID.values()}
    known = flags.notna().to_numpy()
    fired = flags.fillna(False).to_numpy(dtype=bool)
    columns = list(flags.columns)
    hard = [i for i, c in enumerate(columns) if kinds[c] == "hard"]
    soft = [i for i, c in enumerate(columns) if kinds[c] in ("hard", "soft")]
    any_hard = fired[:, hard].any(axis=1) if hard else np.zeros(len(flags), bool)
    any_soft = fired[:, soft].any(axis=1) if soft else np.zeros(len(flags), bool)
    masks = [(c, kinds[c], fired[:, i], (~known[:, i]).sum()) for i, c in
             enumerate(columns)]  # fmt: skip
    masks += [
        ("any hard", "hard", any_hard, 0),
        ("any hard or soft", "hard+soft", any_soft, 0),
        ("no hard hit", "", ~any_hard, 0),
    ]
    denied = None
    if claims is not None:
        labelled = claims
        if S.DENIED not in claims.columns and S.ADJUDICATION_DATE in claims.columns:
            labelled = S.derive_outcomes(claims)
        if S.DENIED in labelled.columns:
            d = labelled[S.DENIED].reindex(flags.index).astype("boolean")
            denied = d.fillna(False).to_numpy(dtype=bool)
            adjudicated = d.notna().to_numpy()
    rows = []
    for rule_id, kind, mask, n_unknown in masks:
        row = {
            "rule_id": rule_id,
            "kind": kind,
            "lines": int(mask.sum()),
            "not_evaluated": int(n_unknown),
        }
        if denied is not None:
            adj = mask & adjudicated
            n_adj = int(adj.sum())
            n_denied_all = int((denied & adjudicated).sum())
            row["adjudicated"] = n_adj
            row["denial_rate"] = (denied & adj).sum() / n_adj if n_adj else np.nan
            row["share_of_denied"] = (
                (denied & adj).sum() / n_denied_all if n_denied_all else np.nan
            )
        rows.append(row)
    return pd.DataFrame(rows)

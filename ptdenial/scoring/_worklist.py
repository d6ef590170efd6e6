"""The worklist: a bounded pool of candidates, ranking, exact reasons, CSV and HTML.

A worklist line is a 97112 line at or above ``config.worklist_min_band`` or
a line with a hard-rule hit; the worklist holds the ``worklist_top`` lines
with the most expected dollars at risk. The job feeds every batch to one
:class:`_Worklist` pool, which keeps the best lines so far with what their
exact reasons need (claims, features, hits) and, given the model, every
line of their patients with the batch's claim edits (a batch holds every
line of its patients), so that :meth:`_Worklist.finish` values the fixes of
the final lines once (:func:`~ptdenial.scoring._fixes.value_carried_fixes`);
``finish`` also recomputes the reasons with exact TreeSHAP, returns
the *patches* that put them into the scored output, and orders the lines by
``config.worklist_rank`` (:func:`_rank_order`).
"""

from __future__ import annotations

import html
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from ptdenial import schema as S
from ptdenial.config import ScoringConfig
from ptdenial.explain import Explainer, combine_reasons
from ptdenial.io import atomic_path, write_table
from ptdenial.scoring._batch import BatchResult, _covered_rules, _hits_on
from ptdenial.scoring._fixes import line_edits, value_carried_fixes
from ptdenial.scoring._timing import StageTimer

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
    "dollars_saved",
    "p_after_fix",
    "fix_kind",
    "basis",
    S.RULE_HITS,
    S.REASONS,
    S.SUGGESTED_FIXES,
    "explanation",
)
_LISTS = (S.RULE_HITS, S.REASONS, S.SUGGESTED_FIXES)
#: ``fix_kind`` of the worklist, in a biller's words (rescore_fixes' codes ->).
FIX_KIND_WORDS = {"claim_edit": "claim edit", "documentation": "documentation needed"}
_FIX_COLUMNS = ("dollars_saved", "p_after_fix", "fix_kind")


# --- the pool -----------------------------------------------------------------------
class _Worklist:
    """The best ``top`` candidates seen so far, with what exact reasons need."""

    def __init__(self, top: int, *, fix_model=None, config=None):
        self.top = top
        self.rows = None  # display + sort columns + part/row
        self.claims = None
        self.features = None
        self.hits = None
        # with a model, candidates carry their patients' lines and claim edits,
        # and finish() values the fixes of the final lines
        self.fix_model, self.config = fix_model, config
        self.patients = None  # (claims, edits) of the pool's patients
        self.as_of = None
        self.timer = StageTimer()

    def add(self, result: BatchResult, part: int):
        """Offer the candidates of one batch (``part`` names it in the patches)."""
        found = self.candidates(result, part)
        if found is not None:
            self.merge(found)

    def merge(self, found):
        """Take in a batch's :meth:`candidates` (possibly from another process)."""
        self._merge(*found)

    def candidates(self, result: BatchResult, part: int):
        """A batch's best candidates and what their exact reasons need, or None.

        Returns ``(rows, claims, features, hits, patients)``: at most
        ``top`` lines; with a model, ``patients`` is ``(as_of, claims,
        edits)``: every line of the patients of the lines with a claim edit
        and the edits (:func:`_carried_patients`), else None.
        """
        if self.top == 0:
            return None
        ctx = result.context
        cand = np.flatnonzero(ctx["worklist_candidate"].to_numpy(dtype=bool))
        if not len(cand):
            return None
        scored = result.scored
        if len(cand) > self.top:
            cand = self._batch_best(result, cand)
        rows = scored.iloc[cand].reset_index(drop=True)
        for name in ctx.columns:
            if name != "worklist_candidate":
                rows[name] = ctx[name].iloc[cand].to_numpy()
        rows["_part"] = part
        rows["_row"] = cand
        patients = None
        if self.fix_model is not None:
            with self.timer.stage("fix_value"):
                patients = (result.as_of, *_carried_patients(result, cand))
        claims = result.claims.iloc[cand].reset_index(drop=True)
        feats = result.features
        fpos = np.flatnonzero(np.isin(cand, feats.index.to_numpy()))
        f = feats.loc[cand[fpos]]
        f.index = fpos  # position among this batch's candidates
        keep, pos = _hits_on(result.hits, cand, len(scored))
        h = result.hits.loc[keep].assign(pos=pos)
        return rows, claims, f, h, patients

    def _batch_best(self, result: BatchResult, cand: np.ndarray) -> np.ndarray:
        """Only a batch's own best ``top`` can reach the overall top.

        Ranks on the sort keys alone, before building any frame.
        """
        scored = result.scored
        keys = pd.DataFrame(
            {
                "dollars_at_risk": result.context["dollars_at_risk"].to_numpy()[cand],
                S.DENIAL_PROBABILITY: scored[S.DENIAL_PROBABILITY].to_numpy(
                    dtype=float, na_value=np.nan
                )[cand],
                S.CLAIM_ID: scored[S.CLAIM_ID].take(cand).to_numpy(),
                S.LINE_NUMBER: scored[S.LINE_NUMBER].take(cand).to_numpy(),
            }
        )
        return np.sort(cand[_worklist_order(keys)[: self.top]])

    def _merge(self, rows, claims, feats, hits, patients=None):
        if patients is not None:
            self._carry(patients)
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
        if self.patients is not None:  # only the pool's own patients stay
            kept = self.patients[0][S.PATIENT_ID].isin(self.claims[S.PATIENT_ID])
            keep = kept.to_numpy(dtype=bool, na_value=False)
            self.patients = (
                self.patients[0].loc[keep].reset_index(drop=True),
                self.patients[1][keep],
            )

    def _carry(self, patients):
        """Take in a batch's carried patients (a patient is in one batch only)."""
        as_of, claims, edits = patients
        self.as_of = as_of
        if self.patients is not None:
            claims = pd.concat([self.patients[0], claims], ignore_index=True)
            edits = np.concatenate([self.patients[1], edits])
        self.patients = (claims, edits)

    # -- exact reasons -------------------------------------------------------------
    def finish(self, model, explainer, config):
        """Exact reasons for the worklist lines; returns (worklist, patches).

        ``patches`` maps a part (batch) to ``(rows, reasons, fixes)``: the
        rows of that batch's scored table whose reasons and fixes change.
        """
        if self.rows is None or not len(self.rows):
            return _empty_worklist(config), {}
        rows = self.rows.copy()
        if self.fix_model is not None:
            with self.timer.stage("fix_value"):
                self._add_fix_values(rows)
        for name in _LISTS:
            rows[name] = pd.Series(rows[name].tolist(), dtype=object)
        need = self._needs_exact(rows, explainer, config)
        patches = {}
        if need.any():
            reasons, fixes = self._exact_reasons(need, explainer, config)
            n = len(rows)
            for name, new in ((S.REASONS, reasons), (S.SUGGESTED_FIXES, fixes)):
                values = rows[name].to_numpy(dtype=object).copy()
                fresh = np.empty(n, dtype=object)
                fresh[:] = new.to_pylist()
                values[need] = fresh[need]
                rows[name] = values
            rows.loc[need, "explanation"] = "exact"
            patches = _patches(rows, need, reasons, fixes)
        return _format_worklist(rows, config), patches

    def _add_fix_values(self, rows) -> None:
        """``dollars_saved``, ``p_after_fix``, ``fix_kind`` of the pool's lines.

        ``fix_kind`` is empty on lines without a rule-hit fix (model drivers
        only); the other two are empty unless a claim edit was re-scored.
        """
        n = len(rows)
        saved, p1 = np.full(n, np.nan), np.full(n, np.nan)
        kind = np.full(n, "", dtype=object)
        edits = line_edits(self.hits, np.arange(n), n)
        if edits and self.patients is not None:
            at = np.asarray(sorted(edits), dtype=np.int64)
            fixes = value_carried_fixes(
                self.fix_model, rows.iloc[at], self.patients,
                as_of=self.as_of, config=self.config or ScoringConfig(),
            )  # fmt: skip
            saved[at] = fixes["dollars_saved"].to_numpy(float)
            p1[at] = fixes["p_after_fix"].to_numpy(float)
            kind[at] = fixes["fix_kind"].map(FIX_KIND_WORDS).to_numpy(object)
        rows["dollars_saved"], rows["p_after_fix"], rows["fix_kind"] = saved, p1, kind

    def _needs_exact(self, rows, explainer, config) -> np.ndarray:
        """Worklist lines with model features whose reasons are not exact yet."""
        need = np.zeros(len(rows), dtype=bool)
        if (
            config.explain != "none"
            and config.max_model_reasons > 0
            and explainer is not None
            and explainer.available
            and len(self.features)
        ):
            fpos = self.features.index.to_numpy(dtype=np.int64)
            need[fpos] = rows["explanation"].to_numpy()[fpos] != "exact"
        return need

    def _exact_reasons(self, need, explainer, config):
        """Reasons and fixes of every worklist line, exact drivers on ``need``."""
        n = len(need)
        fpos = np.flatnonzero(need)
        Xf = self.features.loc[fpos]
        contrib = explainer.exact(Xf)
        drivers = explainer.model_reasons(
            self.claims.iloc[fpos],
            Xf,
            contrib,
            covered_rules=_covered_rules(self.hits, fpos, n),
            max_reasons=config.max_model_reasons,
            min_contribution=config.min_contribution,
        )
        drivers["pos"] = fpos[drivers["pos"].to_numpy(dtype=np.int64)]
        _, reasons, fixes = combine_reasons(n, self.hits, drivers)
        return reasons, fixes


def _carried_patients(result: BatchResult, cand: np.ndarray) -> tuple:
    """Every line of the patients of ``cand`` with a rule-hit fix, and their edits.

    Returns ``(claims, edits)``: the batch's canonical lines of those
    patients (batch order) and, per line, the claim-edit rule ids of the
    candidates (an empty tuple elsewhere), what the batch's own re-score of
    the candidates' fixes would apply.
    """
    n = len(result.claims)
    edits = line_edits(result.hits, cand, n)
    if not edits:
        return result.claims.iloc[:0], np.empty(0, dtype=object)
    patient = result.claims[S.PATIENT_ID]
    rows = np.fromiter(edits, dtype=np.int64, count=len(edits))
    subset = np.flatnonzero(patient.isin(patient.iloc[rows]).to_numpy(bool))
    rules = np.empty(len(subset), dtype=object)
    rules[:] = [()] * len(subset)
    at = np.searchsorted(subset, rows)
    for j, i in zip(at.tolist(), rows.tolist(), strict=True):
        rules[j] = tuple(sorted(edits[i]))
    return result.claims.iloc[subset].reset_index(drop=True), rules


def _patches(rows, need, reasons, fixes) -> dict:
    """Per part (batch): its rows to patch and their new reasons and fixes."""
    patches = {}
    for part in np.unique(rows.loc[need, "_part"]):
        sel = need & (rows["_part"] == part).to_numpy()
        patches[int(part)] = (
            rows.loc[sel, "_row"].to_numpy(dtype=np.int64),
            reasons.take(pa.array(np.flatnonzero(sel))),
            fixes.take(pa.array(np.flatnonzero(sel))),
        )
    return patches


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


# --- ranking and formatting ---------------------------------------------------------
def _text_rank(text: pd.Series) -> np.ndarray:
    """Each value's rank in text (code point) order, ties equal; sorted in Arrow."""
    import pyarrow.compute as pc

    arr = text.array
    if isinstance(arr, pd.arrays.ArrowStringArray):
        data = arr.__arrow_array__()
        if isinstance(data, pa.ChunkedArray):
            data = data.combine_chunks()
    else:
        data = pa.array(text.to_numpy(dtype=object), type=pa.string())
    return pc.rank(data, sort_keys="ascending", tiebreaker="dense").to_numpy()


def _worklist_order(rows: pd.DataFrame) -> np.ndarray:
    dollars = rows["dollars_at_risk"].to_numpy(dtype=float)
    prob = rows[S.DENIAL_PROBABILITY].to_numpy(dtype=float, na_value=np.nan)
    # claim ids by their rank in text order (integers sort faster than text)
    claim = _text_rank(rows[S.CLAIM_ID].astype(str))
    return np.lexsort(
        (
            rows[S.LINE_NUMBER].to_numpy(dtype=np.int64),
            claim,
            -np.nan_to_num(prob, nan=1.0),
            -np.nan_to_num(dollars, nan=-np.inf),
        )
    )


def _rank_order(rows: pd.DataFrame, rank: str) -> np.ndarray:
    """The worklist's order under ``config.worklist_rank``.

    ``expected_loss``: most dollars at risk first, then the higher
    probability, then claim id and line number. ``dollars_saved``: the
    lines whose claim-edit fix saves dollars (``dollars_saved > 0``) first,
    most saved first (ties in the expected-loss order); then every other
    line (documentation needed, no fix, or a fix that pays less) in the
    expected-loss order. Without any such fix the two orders are the same.
    """
    base = _worklist_order(rows)
    if rank != "dollars_saved" or "dollars_saved" not in rows:
        return base
    saved = pd.to_numeric(rows["dollars_saved"], errors="coerce").to_numpy(float)
    saved = saved[base]
    first = np.nan_to_num(saved, nan=0.0) > 0
    key = np.lexsort((np.arange(len(base)), -np.where(first, saved, 0.0), ~first))
    return base[key]


def _columns(config) -> list:
    cols = list(WORKLIST_COLUMNS)
    if config.worklist_patient_id:
        cols.insert(3, S.PATIENT_ID)
    return cols


def _empty_worklist(config) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series([], dtype=object) for c in _columns(config)})


def _format_worklist(rows: pd.DataFrame, config) -> pd.DataFrame:
    out = rows.iloc[_rank_order(rows, config.worklist_rank)].reset_index(drop=True)
    out.insert(0, "rank", np.arange(1, len(out) + 1))
    if "dollars_saved" not in out.columns:  # no model: nothing re-scored
        out["dollars_saved"], out["p_after_fix"] = np.nan, np.nan
        out["fix_kind"] = ""
    for name in (S.UNITS, S.MODIFIERS, S.RENDERING_PROVIDER_ID, S.PATIENT_ID):
        if name not in out.columns:
            out[name] = pd.NA
    for name in _LISTS:
        out[name] = [tuple(v) if v is not None else () for v in out[name].tolist()]
    if S.MODIFIERS in out.columns:
        out[S.MODIFIERS] = [
            tuple(v) if isinstance(v, tuple | list | np.ndarray) else ()
            for v in out[S.MODIFIERS].tolist()
        ]
    return out[_columns(config)].reset_index(drop=True)


def build_worklist(result: BatchResult, *, config=None, model=None, explainer=None):
    """The worklist of one batch: the candidates with the most dollars at risk.

    97112 lines at or above ``config.worklist_min_band`` and lines with a
    hard-rule hit; the ``config.worklist_top`` with the most expected
    dollars at risk (probability x expected payment; for a line that is not
    97112, its expected payment) are kept. With ``model``, the lines'
    reasons are recomputed from exact contributions, and each line's
    claim-edit fixes are applied to a copy of its patient's lines and
    re-scored with the batch's own ``as_of`` (``p_after_fix``,
    ``dollars_saved``; ``fix_kind`` says "claim edit" or "documentation
    needed", the latter not re-scored). The lines are then ordered by
    ``config.worklist_rank`` (by default dollars a fix saves first, see
    :func:`_rank_order`; without a model, by dollars at risk).

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
    pool = _Worklist(config.worklist_top, fix_model=model, config=config)
    pool.add(result, 0)
    if model is not None and explainer is None and config.explain != "none":
        explainer = Explainer(model)
    worklist, _ = pool.finish(model, explainer, config)
    return worklist


# --- HTML and files -----------------------------------------------------------------
_CSS = (
    "body{font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;"
    "margin:1.5em;color:#1a202c}table{border-collapse:collapse;font-size:.85em}"
    "th,td{border:1px solid #cbd5e0;padding:.3em .5em;vertical-align:top;"
    "text-align:left}th{background:#edf2f7;position:sticky;top:0}"
    "ul{margin:0;padding-left:1.1em}.meta{color:#4a5568}"
)


def _isna(v) -> bool:
    try:
        return bool(pd.isna(v))
    except (TypeError, ValueError):
        return False


def _dollars(v: float) -> str:
    """``$1,234.50``, ``-$12.00``."""
    return f"-${-v:,.2f}" if v < 0 else f"${v:,.2f}"


_HEADS = {
    "dollars_saved": "dollars a fix saves",
    "p_after_fix": "risk after the fix",
    "fix_kind": "fix kind",
}


def _ranking_note(worklist: pd.DataFrame, rank: str) -> str:
    """How the page is ordered, and what the claim edits are worth, in words."""
    loss = (
        "expected dollars at risk (denial probability x expected payment; "
        "hard-rule lines that are not 97112 count their whole expected payment)"
    )
    if "dollars_saved" not in worklist:
        return f"Ranked by {loss}."
    saved = pd.to_numeric(worklist["dollars_saved"], errors="coerce")
    n_edit = int(saved.notna().sum())
    n_doc = int((worklist["fix_kind"] == FIX_KIND_WORDS["documentation"]).sum())
    worth = (
        f" {n_edit} lines have a claim edit (modifier or units) worth "
        f"{_dollars(float(saved[saved > 0].sum()))} in expected payment, re-scored "
        f"with the same as-of; {n_doc} need documentation and are not re-scored."
    )
    if rank == "dollars_saved":
        order = (
            "Ranked by dollars a fix saves: lines whose claim edit saves dollars "
            f"first, most first; then the other lines by {loss}."
        )
    else:
        order = f"Ranked by {loss}."
    return order + worth


def _html_cells(column: str, values: list) -> list:
    """Escaped cell texts of one worklist column."""
    esc = html.escape
    if column in (S.REASONS, S.SUGGESTED_FIXES):
        return [
            "<ul>" + "".join(f"<li>{esc(str(x))}</li>" for x in (v or ())) + "</ul>"
            for v in values
        ]
    if column in (S.RULE_HITS, S.MODIFIERS):
        return [esc(", ".join(map(str, v or ()))) for v in values]
    if column in (S.DENIAL_PROBABILITY, "p_after_fix"):
        return ["" if _isna(v) else f"{float(v):.0%}" for v in values]
    if column in ("dollars_at_risk", "expected_payment", "dollars_saved"):
        return ["" if _isna(v) else _dollars(float(v)) for v in values]
    if column == S.DATE_OF_SERVICE:
        return ["" if pd.isna(v) else esc(str(pd.Timestamp(v).date())) for v in values]
    return ["" if _isna(v) else esc(str(v)) for v in values]


def worklist_html(
    worklist: pd.DataFrame,
    *,
    title="ptdenial worklist",
    subtitle="",
    rank="dollars_saved",
):
    """A self-contained HTML page of the worklist (no external assets).

    Every value is HTML-escaped; reasons and fixes are bullet lists;
    probabilities show as percentages and dollars as ``$1,234.50`` /
    ``-$12.00``.

    Parameters
    ----------
    worklist : pandas.DataFrame
        Output of :func:`build_worklist` / the worklist of :func:`score_file`.
    title, subtitle : str
    rank : {"dollars_saved", "expected_loss"}
        How the worklist was ordered (``config.worklist_rank``), said on the page.

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
        f"<th>{esc(_HEADS.get(str(c), str(c).replace('_', ' ')))}</th>"
        for c in worklist.columns
    )
    # cell text column by column (vectorized over rows), then joined by row
    cells = [_html_cells(c, worklist[c].tolist()) for c in worklist.columns]
    body = [
        "<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>"
        for row in (zip(*cells, strict=True) if cells else [])
    ]
    return "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="en"><head><meta charset="utf-8">',
            f"<title>{esc(title)}</title><style>{_CSS}</style></head><body>",
            f"<h1>{esc(title)}</h1>",
            f'<p class="meta">{esc(subtitle)}</p>' if subtitle else "",
            f'<p class="meta">{len(worklist):,} lines, ${total:,.2f} expected at '
            f"risk. {esc(_ranking_note(worklist, rank))}</p>",
            f"<table><thead><tr>{heads}</tr></thead><tbody>",
            "\n".join(body),
            "</tbody></table></body></html>",
        ]
    )


def worklist_paths(path) -> tuple[Path, Path]:
    """CSV and HTML paths of a worklist given as either one."""
    p = Path(path)
    if p.suffix.lower() in (".html", ".htm"):
        return p.with_suffix(".csv"), p
    return p, p.with_suffix(".html") if p.suffix else p.with_name(p.name + ".html")


def write_worklist(
    worklist: pd.DataFrame, path, *, title, subtitle, rank="dollars_saved"
):
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
    rank : {"dollars_saved", "expected_loss"}
        How the worklist was ordered (said on the page).

    Returns
    -------
    tuple of Path
        ``(csv_path, html_path)``.
    """
    csv_path, html_path = worklist_paths(path)
    write_table(worklist, csv_path)
    page = worklist_html(worklist, title=title, subtitle=subtitle, rank=rank)
    with atomic_path(html_path) as tmp:
        tmp.write_text(page, encoding="utf-8")
    return csv_path, html_path

"""Why a line is at risk, in words a biller understands, and what to change.

A scored line's reasons combine two sources:

* **rule hits** (:func:`ptdenial.rules.apply_rules`): deterministic billing
  edits, each with its detail and its concrete fix (units to bill, modifier
  to add, date to fix), hard edits first;
* **model drivers**: the features that pushed the line's denial risk up,
  grouped into reasons (all four denial-rate features of payer x provider
  are one reason, the five deficit flags another ...) and turned into a
  sentence from the line's own values, e.g. ``payer MCR01 denied 31% of
  97112 lines from this provider in the last 90 days (14 of 45 lines)``.

Contributions come in two flavours (both in log-odds of the uncalibrated
trees, both additive: they sum to the raw score):

* **exact** TreeSHAP from LightGBM's ``pred_contrib``
  (:meth:`ptdenial.model.DenialRiskModel.contributions`): about 2-3k rows/s
  on this machine, so it is kept for the lines a person reads (the
  worklist, optionally the high band);
* **path attribution** (Saabas): each tree's leaf is reached by a path of
  splits; the change of the node value at each split is credited to the
  split's feature. :class:`Explainer` precomputes, per leaf, the credited
  change per reason group as a sparse matrix, so the contributions of ``n``
  rows are one ``pred_leaf`` call and one sparse product, about the cost of
  a second prediction. Its ranking of reasons agrees with TreeSHAP's on most
  lines (see ``bench/results/scoring.md``).

A model driver is dropped when a rule hit on the same line already says it
(a ``CODE_CONTENT`` hit covers the deficit and intervention drivers), and
groups that say nothing actionable (calendar, the practice-wide rate, the
rule flags themselves) never become reasons. Texts never contain patient
identifiers or note text.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ptdenial import schema as S
from ptdenial.exceptions import PtdenialError
from ptdenial.features import spread, text_codes

__all__ = [
    "Explainer",
    "REASON_GROUPS",
    "SILENT_GROUPS",
    "COVERED_BY_RULES",
    "feature_groups",
    "combine_reasons",
]

# (group, exact feature names or prefixes ending with "_" / "__"), in
# matching order: exact names first over all groups, then prefixes in order.
REASON_GROUPS = (
    ("payer_provider_history", ("hist_payer_provider_code_",)),
    ("payer_history", ("hist_payer_code_",)),
    ("provider_history", ("hist_provider_",)),
    ("clinic_history", ("hist_clinic_",)),
    ("patient_history", ("hist_patient_",)),
    ("baseline", ("hist_global_rate", "hist_")),
    ("rules", ("rule__", "gap__")),
    ("deficits", ("deficit_count", "deficit_")),
    ("interventions", ("interventions_fit_97112", "interventions_", "intervention_")),
    ("diagnosis", ("cat__dx_category", "dx_")),
    ("objective_measures", ("objective_measures",)),
    (
        "units_minutes",
        (
            "units",
            "line_minutes",
            "line_minutes_per_unit",
            "visit_units",
            "visit_timed_minutes",
            "visit_minutes_documented",
            "visit_minutes_per_unit",
            "visit_units_97112",
        ),
    ),
    ("same_day_codes", ("visit_has_evaluation", "visit_lines", "visit_units_")),
    ("modifiers", ("n_modifiers", "mod_")),
    (
        "plan_of_care",
        (
            "days_since_certification",
            "poc_certified",
            "days_past_cert_through",
            "days_since_episode_start",
            "visit_number",
        ),
    ),
    (
        "progress_report",
        ("visits_since_progress_report", "days_since_progress_report"),
    ),
    ("authorization", ("has_prior_auth", "auth_")),
    ("filing_lag", ("submission_lag_days",)),
    ("note_signature", ("note_signature_lag_days",)),
    ("payer", ("cat__payer_id", "cat__payer_class")),
    ("credential", ("cat__provider_credential",)),
    ("provider", ("cat__rendering_provider_id",)),
    ("clinic", ("cat__clinic_id",)),
    ("place_of_service", ("cat__place_of_service",)),
    ("therapy_cap", ("ytd_therapy_allowed",)),
    ("referring", ("has_referring_provider",)),
    ("charge", ("charge_per_unit",)),
    ("code", ("is_97112", "cat__cpt_code")),
    ("calendar", ("month_index", "day_of_week")),
    ("other", ()),
)
#: Groups that never become a reason (not actionable, or said by rule hits).
SILENT_GROUPS = frozenset({"baseline", "rules", "code", "calendar", "other"})
#: A model driver is dropped when the line has a hit of one of these rules.
COVERED_BY_RULES = {
    "deficits": ("CODE_CONTENT", "DX_SUPPORT"),
    "interventions": ("CODE_CONTENT",),
    "diagnosis": ("DX_SUPPORT", "DX_MISSING"),
    "objective_measures": (),
    "units_minutes": (
        "UNITS_TOTAL",
        "UNITS_ALLOC",
        "MIN_8",
        "PER_CODE_MIDPOINT",
        "MUE",
    ),
    "same_day_codes": ("NCCI_PTP", "NCCI_MI0"),
    "modifiers": (
        "GP_MISSING",
        "KX_MISSING",
        "CQ_RULE",
        "NCCI_PTP",
        "MOD59_COMMERCIAL",
    ),
    "plan_of_care": ("CERT_30D", "RECERT_90"),
    "progress_report": ("PROGRESS_10",),
    "authorization": ("AUTH_ABSENT", "AUTH_EXCEEDED", "AUTH_INVALID"),
    "filing_lag": ("TIMELY",),
    "therapy_cap": ("KX_MISSING", "TMR"),
    "referring": ("REFERRING_NPI",),
}
_GROUP_NAMES = tuple(g for g, _ in REASON_GROUPS)
_KIND_ORDER = {"hard": 0, "soft": 1, "payment": 2, "negative": 3}
_DEFICIT_WORDS = "balance/coordination/kinesthetic/posture/proprioception"
_INTERVENTION_CODES = {
    "gait_training": ("gait training", "97116"),
    "nmes": ("electrical stimulation (NMES)", "97032"),
    "therapeutic_exercise": ("therapeutic exercise", "97110"),
    "manual_therapy": ("manual therapy", "97140"),
    "therapeutic_activities": ("therapeutic activities", "97530"),
    "group_therapy": ("group therapy", "97150"),
}


def feature_groups(feature_names) -> np.ndarray:
    """Reason group of each model feature.

    Parameters
    ----------
    feature_names : sequence of str

    Returns
    -------
    numpy.ndarray of str
        One of the names in :data:`REASON_GROUPS` per feature (``other``
        when nothing matches).

    Examples
    --------
    >>> from ptdenial.explain import feature_groups
    >>> feature_groups(["hist_payer_code_rate", "deficit_balance", "units",
    ...                 "visit_units_97116", "month_index"]).tolist()
    ['payer_history', 'deficits', 'units_minutes', 'same_day_codes', 'calendar']
    """
    out = []
    for name in feature_names:
        group = None
        for g, keys in REASON_GROUPS:
            if name in keys:
                group = g
                break
        if group is None:
            for g, keys in REASON_GROUPS:
                if any(k.endswith("_") and name.startswith(k) for k in keys):
                    group = g
                    break
        out.append(group or "other")
    return np.asarray(out, dtype=object)


# --- the explainer ---------------------------------------------------------------
class Explainer:
    """Grouped contributions (exact or path attribution) and reason texts.

    Build it once per model and reuse it for every batch: it precomputes the
    trees' path attributions.

    Parameters
    ----------
    model : ptdenial.model.DenialRiskModel
        A fitted model. With ``learner="hist_gradient_boosting"`` no model
        drivers are given (rule hits only): only LightGBM exposes leaves
        and exact contributions here.

    Attributes
    ----------
    groups : tuple of str
        Reason groups, the columns of the contribution matrices.
    feature_group : numpy.ndarray of int
        Group index of each model feature.
    available : bool
        Whether model drivers can be computed.

    Examples
    --------
    >>> from ptdenial.datasets import load_sample_claims
    >>> from ptdenial.model import DenialRiskModel
    >>> from ptdenial.explain import Explainer
    >>> model = DenialRiskModel(n_estimators=30).fit(load_sample_claims("history"))
    >>> new = load_sample_claims("new_claims")
    >>> Xf = model.transform_features(new, as_of="2026-01-01")
    >>> ex = Explainer(model)
    >>> approx = ex.approximate(Xf)
    >>> exact = ex.exact(Xf.head(5))
    >>> approx.shape[1] == exact.shape[1] == len(ex.groups)
    True
    """

    def __init__(self, model):
        self.model = model
        names = list(model.feature_names_)
        self.groups = _GROUP_NAMES
        gidx = {g: i for i, g in enumerate(self.groups)}
        self.feature_group = np.array(
            [gidx[g] for g in feature_groups(names)], dtype=np.int64
        )
        self._n_features = len(names)
        self.available = getattr(model, "learner", "lightgbm") == "lightgbm"
        self._smoothing = float(getattr(model, "smoothing", 20.0))
        self._window = int(getattr(model, "window_days", 90))
        if self.available:
            self._build_paths()

    # -- contributions -------------------------------------------------------------
    def _group_matrix(self):
        import scipy.sparse as sp

        F, G = self._n_features, len(self.groups)
        return sp.csr_matrix(
            (np.ones(F), (np.arange(F), self.feature_group)), shape=(F, G)
        )

    def _build_paths(self):
        import scipy.sparse as sp

        booster = self.model.estimator_.booster_
        self._n_iter = int(self.model.n_iter_)
        dump = booster.dump_model(num_iteration=self._n_iter)
        rows, cols, vals = [], [], []
        offsets, leaf_values = [], []
        offset, bias = 0, 0.0
        for tree in dump["tree_info"][: self._n_iter]:
            n_leaves = int(tree["num_leaves"])
            offsets.append(offset)
            values = np.zeros(max(n_leaves, 1))
            root = tree["tree_structure"]
            if "leaf_value" in root:  # a stump
                values[int(root.get("leaf_index", 0))] = root["leaf_value"]
                bias += root["leaf_value"]
            else:
                bias += root["internal_value"]
                stack = [(root, {})]
                while stack:  # loop over tree nodes, not rows
                    node, credit = stack.pop()
                    feature = int(node["split_feature"])
                    for side in ("left_child", "right_child"):
                        child = node[side]
                        leaf = "leaf_index" in child
                        value = child["leaf_value"] if leaf else child["internal_value"]
                        c = dict(credit)
                        c[feature] = (
                            c.get(feature, 0.0) + value - node["internal_value"]
                        )
                        if leaf:
                            li = int(child["leaf_index"])
                            values[li] = child["leaf_value"]
                            for f, v in c.items():
                                rows.append(offset + li)
                                cols.append(f)
                                vals.append(v)
                        else:
                            stack.append((child, c))
            leaf_values.append(values)
            offset += max(n_leaves, 1)
        leaf_feature = sp.csr_matrix(
            (vals, (rows, cols)), shape=(offset, self._n_features)
        )
        self._leaf_group = (leaf_feature @ self._group_matrix()).tocsr()
        self._group_dense = self._group_matrix().toarray()
        self._offsets = np.asarray(offsets, dtype=np.int64)
        self._leaf_values = np.concatenate(leaf_values)
        self._n_leaves = offset
        linear = getattr(self.model, "linear_", None)
        self.bias_ = bias + (linear.bias_ if linear is not None else 0.0)

    def _check(self):
        if not self.available:
            raise PtdenialError(
                "model drivers need a LightGBM model (learner='lightgbm'); this "
                f"model uses {getattr(self.model, 'learner', '?')!r}."
            )

    @staticmethod
    def _array(Xf):
        return Xf.to_numpy(dtype=np.float64) if isinstance(Xf, pd.DataFrame) else Xf

    def approximate(self, Xf) -> np.ndarray:
        """Path-attribution (Saabas) contributions per reason group.

        Parameters
        ----------
        Xf : pandas.DataFrame or numpy.ndarray
            Model features (:meth:`~ptdenial.model.DenialRiskModel.transform_features`).

        Returns
        -------
        numpy.ndarray of shape (n, len(groups))
            Log-odds; each row plus :attr:`bias_` sums to the raw score.
        """
        import scipy.sparse as sp

        self._check()
        arr = self._array(Xf)
        n = len(arr)
        if n == 0:
            return np.zeros((0, len(self.groups)))
        leaves = self.model.estimator_.booster_.predict(
            arr, num_iteration=self._n_iter, pred_leaf=True
        )
        leaves = np.asarray(leaves, dtype=np.int64).reshape(n, -1) + self._offsets
        t = leaves.shape[1]
        hit = sp.csr_matrix(
            (np.ones(n * t), leaves.ravel(), np.arange(0, n * t + 1, t)),
            shape=(n, self._n_leaves),
        )
        out = np.asarray((hit @ self._leaf_group).todense())
        linear = getattr(self.model, "linear_", None)
        if linear is not None:  # the additive base's terms are exact
            out += linear.contributions(arr, self._group_dense)
        return out

    def raw_score(self, Xf) -> np.ndarray:
        """Raw log-odds of the model (the value contributions add up to)."""
        self._check()
        return self.model._raw_margin(self._array(Xf))

    def exact(self, Xf) -> np.ndarray:
        """Exact TreeSHAP contributions per reason group (LightGBM ``pred_contrib``).

        Parameters
        ----------
        Xf : pandas.DataFrame

        Returns
        -------
        numpy.ndarray of shape (n, len(groups))
        """
        self._check()
        if len(Xf) == 0:
            return np.zeros((0, len(self.groups)))
        frame = (
            Xf
            if isinstance(Xf, pd.DataFrame)
            else pd.DataFrame(Xf, columns=self.model.feature_names_)
        )
        contrib = self.model.contributions(frame).to_numpy()[:, : self._n_features]
        return np.asarray(contrib @ self._group_dense)

    # -- reasons ---------------------------------------------------------------------
    def model_reasons(
        self,
        claims: pd.DataFrame,
        Xf: pd.DataFrame,
        contributions: np.ndarray,
        *,
        covered_rules=None,
        max_reasons: int = 3,
        min_contribution: float = 0.05,
    ) -> pd.DataFrame:
        """Top model drivers of each line as sentences, with a fix where one exists.

        Parameters
        ----------
        claims : pandas.DataFrame
            Validated claim rows, aligned with ``Xf`` (same length and order).
        Xf : pandas.DataFrame
            Their model features.
        contributions : numpy.ndarray of shape (n, len(groups))
            From :meth:`approximate` or :meth:`exact`.
        covered_rules : pandas.DataFrame, optional
            Rule hits as ``pos`` (row position in ``claims``) and ``rule_id``:
            drivers a hit already states are dropped.
        max_reasons : int
        min_contribution : float
            Drivers below this (log-odds) are not reasons.

        Returns
        -------
        pandas.DataFrame
            Long format: ``pos``, ``rank`` (0 = strongest), ``group``,
            ``contribution``, ``reason``, ``fix`` (empty when none).
        """
        n = len(claims)
        empty = pd.DataFrame(
            {
                "pos": pd.Series([], dtype=np.int64),
                "rank": pd.Series([], dtype=np.int64),
                "group": pd.Series([], dtype=object),
                "contribution": pd.Series([], dtype=float),
                "reason": pd.Series([], dtype=object),
                "fix": pd.Series([], dtype=object),
            }
        )
        if n == 0 or max_reasons == 0:
            return empty
        c = np.array(contributions, dtype=float, copy=True)
        silent = np.array([g in SILENT_GROUPS for g in self.groups])
        c[:, silent] = -np.inf
        if covered_rules is not None and len(covered_rules):
            gidx = {g: i for i, g in enumerate(self.groups)}
            for group, rule_ids in COVERED_BY_RULES.items():
                sel = covered_rules["rule_id"].isin(rule_ids).to_numpy()
                if sel.any():
                    pos = covered_rules["pos"].to_numpy()[sel]
                    c[pos, gidx[group]] = -np.inf
        c[c < min_contribution] = -np.inf
        # candidates: a few more than needed, some groups render to nothing
        k = min(max_reasons + 3, c.shape[1])
        parts_pos, parts_group, parts_val = [], [], []
        work = c.copy()
        rows = np.arange(n)
        for _ in range(k):
            best = np.argmax(work, axis=1)
            val = work[rows, best]
            ok = np.isfinite(val)
            if not ok.any():
                break
            parts_pos.append(rows[ok])
            parts_group.append(best[ok])
            parts_val.append(val[ok])
            work[rows, best] = -np.inf
        if not parts_pos:
            return empty
        pos = np.concatenate(parts_pos)
        grp = np.concatenate(parts_group)
        val = np.concatenate(parts_val)
        reason = np.full(len(pos), "", dtype=object)
        fix = np.full(len(pos), "", dtype=object)
        texts: dict = {}
        for gi in np.unique(grp):  # loop over reason groups, not rows
            sel = np.flatnonzero(grp == gi)
            at = pos[sel]
            r, f = _render(
                self.groups[gi],
                _Rows(claims, at, texts),
                _Rows(Xf, at),
                smoothing=self._smoothing,
                window=self._window,
            )
            reason[sel] = r
            fix[sel] = f
        out = pd.DataFrame(
            {
                "pos": pos.astype(np.int64),
                "group": np.asarray(self.groups, dtype=object)[grp],
                "contribution": val,
                "reason": reason,
                "fix": fix,
            }
        )
        out = out[out["reason"] != ""]
        out = out.sort_values(["pos", "contribution"], ascending=[True, False])
        out["rank"] = out.groupby("pos").cumcount().astype(np.int64)
        out = out[out["rank"] < max_reasons]
        return out[["pos", "rank", "group", "contribution", "reason", "fix"]]


# --- sentences ---------------------------------------------------------------------
class _Rows:
    """Some rows of a frame; columns are taken only when a sentence needs them."""

    def __init__(self, frame: pd.DataFrame, at: np.ndarray, texts=None):
        self.frame = frame
        self.at = at
        self.columns = frame.columns
        # shared by the groups of one call: each text column converted once
        self._texts = {} if texts is None else texts

    def __len__(self):
        return len(self.at)

    def num(self, name: str) -> np.ndarray:
        if name not in self.columns:
            return np.full(len(self.at), np.nan)
        col = self.frame[name]
        if not pd.api.types.is_float_dtype(col.dtype):
            col = pd.to_numeric(col, errors="coerce")
        return col.to_numpy(dtype=float, na_value=np.nan)[self.at]

    def text(self, name: str, missing: str = "?") -> np.ndarray:
        if name not in self.columns:
            return np.full(len(self.at), missing, dtype=object)
        if name not in self._texts:
            # every group's sentences ask for the payer and the code: convert
            # each distinct value of the column once
            self._texts[name] = text_codes(self.frame[name])
        codes, uniques = self._texts[name]
        return spread(uniques, codes[self.at], missing)

    def series(self, name: str):
        return self.frame[name].iloc[self.at] if name in self.columns else None


def _ints(values: np.ndarray) -> np.ndarray:
    v = np.nan_to_num(np.asarray(values, dtype=float), nan=0.0)
    return np.round(v).astype(np.int64).astype(str).astype(object)


def _pct(values: np.ndarray) -> np.ndarray:
    v = np.nan_to_num(np.asarray(values, dtype=float), nan=0.0)
    return (np.round(v * 100).astype(np.int64).astype(str).astype(object)) + "%"


def _money(values: np.ndarray) -> np.ndarray:
    v = np.nan_to_num(np.asarray(values, dtype=float), nan=0.0)
    return np.char.mod("$%.2f", v).astype(object)


def _choose(conditions, choices, default="") -> np.ndarray:
    out = np.full(len(conditions[0]) if conditions else 0, default, dtype=object)
    for cond, choice in reversed(list(zip(conditions, choices, strict=True))):
        out = np.where(cond, choice, out)
    return out.astype(object)


def _history(Xf, key, *, smoothing, window):
    """Raw (unsmoothed) denied and total counts, recent window and all time."""
    prior = np.nan_to_num(Xf.num("hist_global_rate"), nan=0.0)
    out = {}
    for suffix, tag in (("_recent", "recent"), ("", "all")):
        n = np.nan_to_num(Xf.num(f"hist_{key}_n{suffix}"), nan=0.0)
        rate = Xf.num(f"hist_{key}_rate{suffix}")
        denied = np.where(
            n > 0, np.nan_to_num(rate * (n + smoothing) - smoothing * prior), 0.0
        )
        denied = np.clip(np.round(denied), 0, n)
        out[tag] = (denied, n)
    return out


def _history_sentence(Xf, key, subject, *, smoothing, window):
    h = _history(Xf, key, smoothing=smoothing, window=window)
    (d_r, n_r), (d_a, n_a) = h["recent"], h["all"]
    recent = n_r > 0
    d = np.where(recent, d_r, d_a)
    n = np.where(recent, n_r, n_a)
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = np.where(n > 0, d / np.maximum(n, 1), 0.0)
    when = np.where(recent, f" in the last {window} days", " in the history")
    text = subject[0] + _pct(rate) + subject[1] + when
    text = text + " (" + _ints(d) + " of " + _ints(n) + " lines)"
    return np.where(n > 0, text, "").astype(object)


def _render(group, claims, Xf, *, smoothing, window):
    """Sentence and fix for one reason group, vectorized over its rows."""
    n = len(claims)
    none = np.full(n, "", dtype=object)
    cpt = claims.text(S.CPT_CODE)
    payer = claims.text(S.PAYER_ID)
    kw = {"smoothing": smoothing, "window": window}
    if group == "payer_provider_history":
        return (
            _history_sentence(
                Xf,
                "payer_provider_code",
                (
                    "payer " + payer + " denied ",
                    " of " + cpt + " lines from this provider",
                ),
                **kw,
            ),
            none,
        )
    if group == "payer_history":
        return (
            _history_sentence(
                Xf,
                "payer_code",
                ("payer " + payer + " denied ", " of " + cpt + " lines"),
                **kw,
            ),
            none,
        )
    if group == "provider_history":
        prov = claims.text(S.RENDERING_PROVIDER_ID)
        return (
            _history_sentence(
                Xf,
                "provider",
                ("rendering provider " + prov + " had ", " of lines denied"),
                **kw,
            ),
            none,
        )
    if group == "clinic_history":
        clinic = claims.text(S.CLINIC_ID)
        return (
            _history_sentence(
                Xf, "clinic", ("clinic " + clinic + " had ", " of lines denied"), **kw
            ),
            none,
        )
    if group == "patient_history":
        return (
            _history_sentence(
                Xf, "patient", ("this patient's earlier lines: ", " denied"), **kw
            ),
            none,
        )
    if group == "deficits":
        count = Xf.num("deficit_count")
        reason = _choose(
            [count == 0, np.isnan(count)],
            [
                f"no {_DEFICIT_WORDS} deficit documented",
                "documented deficits are not in the documentation export",
            ],
        )
        fix = np.where(
            count == 0,
            "document the neuromotor deficit 97112 treats (balance, coordination, "
            "kinesthetic sense, posture or proprioception) and how it was measured",
            "",
        ).astype(object)
        return reason, fix
    if group == "interventions":
        fit = Xf.num("interventions_fit_97112")
        other = np.full(n, "", dtype=object)
        for key, (words, code) in _INTERVENTION_CODES.items():
            flag = Xf.num(f"intervention_{key}") == 1
            piece = f"{words} ({code})"
            other = np.where(
                flag, np.where(other == "", piece, other + ", " + piece), other
            ).astype(object)
        describes = (fit == 0) & (other != "")
        reason = _choose(
            [describes, fit == 0, (fit == 1) & (other != "")],
            [
                "documentation describes " + other + ", not neuromuscular re-education",
                "no neuromuscular re-education intervention documented",
                "documentation also describes "
                + other
                + "; the 97112 time must be distinct",
            ],
        )
        fix = _choose(
            [describes, fit == 0],
            [
                "bill the service documented under its own code, or document the "
                "neuromuscular re-education technique and its minutes",
                "document the neuromuscular re-education technique (balance, "
                "coordination, posture or proprioception training) and its minutes",
            ],
        )
        return reason, fix
    if group == "diagnosis":
        dx = claims.series(S.DIAGNOSIS_CODES)
        if dx is None:
            primary = np.full(n, "", dtype=object)
        else:
            codes, uniques = pd.factorize(dx)
            first = np.array([u[0] if len(u) else "" for u in uniques] + [""], object)
            primary = first[codes]
        supported = Xf.num("dx_primary_supported")
        needs = Xf.num("dx_primary_needs_deficit")
        unspecified = Xf.num("dx_primary_unspecified")
        count = Xf.num("dx_count")
        reason = _choose(
            [
                (count == 0) | (primary == ""),
                supported == 0,
                needs == 1,
                unspecified == 1,
            ],
            [
                "no diagnosis on the line",
                "primary diagnosis " + primary + " is not on the 97112 support list",
                "primary diagnosis "
                + primary
                + " supports 97112 only with a documented neuromotor deficit",
                "primary diagnosis " + primary + " is an unspecified code",
            ],
            default="primary diagnosis " + primary + " is often denied with 97112",
        )
        fix = _choose(
            [
                (count == 0) | (primary == ""),
                supported == 0,
                needs == 1,
                unspecified == 1,
            ],
            [
                "add the ICD-10-CM diagnosis the line treats, primary first",
                "if the note supports it, list the neuromuscular diagnosis first "
                "(e.g. R26.81 unsteadiness on feet, R27.8 lack of coordination)",
                "document the balance or proprioception deficit tied to " + primary,
                "code the diagnosis to its full specificity (laterality, episode)",
            ],
        )
        return reason, fix
    if group == "objective_measures":
        flag = Xf.num("objective_measures")
        reason = np.where(
            flag == 0,
            "no standardized balance measure (Berg, TUG, ABC, DGI ...) in the note",
            "",
        ).astype(object)
        fix = np.where(
            flag == 0,
            "record a standardized measure (Berg, TUG, ABC, DGI) in the note",
            "",
        ).astype(object)
        return reason, fix
    if group == "units_minutes":
        units = Xf.num("units")
        minutes = Xf.num("line_minutes")
        visit_min = Xf.num("visit_timed_minutes")
        visit_units = Xf.num("visit_units")
        with np.errstate(invalid="ignore", divide="ignore"):
            per_unit = minutes / np.maximum(units, 1)
        reason = _choose(
            [np.isnan(minutes) & np.isnan(visit_min), np.isnan(minutes)],
            [
                _ints(units)
                + " units of "
                + cpt
                + " billed without documented minutes",
                _ints(units)
                + " units of "
                + cpt
                + " billed; the visit has "
                + _ints(visit_min)
                + " timed minutes for "
                + _ints(visit_units)
                + " timed units",
            ],
            default=_ints(units)
            + " units of "
            + cpt
            + " billed for "
            + _ints(minutes)
            + " documented minutes ("
            + _ints(per_unit)
            + " minutes per unit)",
        )
        fix = np.where(
            np.isnan(minutes),
            "document the minutes of " + cpt + " in the daily note",
            "",
        ).astype(object)
        return reason, fix
    if group == "same_day_codes":
        others = np.full(n, "", dtype=object)
        for name in Xf.columns:
            if name.startswith("visit_units_") and name != "visit_units_97112":
                code = name.removeprefix("visit_units_")
                flag = Xf.num(name) > 0
                others = np.where(
                    flag, np.where(others == "", code, others + ", " + code), others
                ).astype(object)
        evaluation = Xf.num("visit_has_evaluation") == 1
        lines = Xf.num("visit_lines")
        reason = _choose(
            [evaluation, others != ""],
            [
                "billed on an evaluation day (" + _ints(lines) + " lines that day)",
                "billed the same day as "
                + others
                + " ("
                + _ints(lines)
                + " lines that day)",
            ],
            default="billed with " + _ints(lines) + " lines that day",
        )
        return reason, none
    if group == "modifiers":
        mods = claims.series(S.MODIFIERS)
        if mods is None:
            text = np.full(n, "", dtype=object)
        else:
            codes, uniques = pd.factorize(mods)
            joined = np.array([", ".join(u) for u in uniques] + [""], dtype=object)
            text = joined[codes]
        reason = np.where(
            text == "", "no modifiers on the line", "modifiers on the line: " + text
        ).astype(object)
        return reason, none
    if group == "plan_of_care":
        certified = Xf.num("poc_certified")
        past = Xf.num("days_past_cert_through")
        since_start = Xf.num("days_since_episode_start")
        since_cert = Xf.num("days_since_certification")
        visit = Xf.num("visit_number")
        reason = _choose(
            [certified == 0, past > 0, ~np.isnan(since_cert)],
            [
                "plan of care not certified ("
                + _ints(since_start)
                + " days since the episode began)",
                "visit is " + _ints(past) + " days past the certification end date",
                "visit "
                + _ints(visit)
                + " of the episode, "
                + _ints(since_cert)
                + " days after the plan of care was certified",
            ],
        )
        fix = _choose(
            [certified == 0, past > 0],
            [
                "get the plan of care signed by the certifying physician/NPP",
                "recertify the plan of care before billing this visit",
            ],
        )
        return reason, fix
    if group == "progress_report":
        visits = Xf.num("visits_since_progress_report")
        days = Xf.num("days_since_progress_report")
        reason = np.where(
            np.isnan(visits),
            np.where(
                np.isnan(days), "", _ints(days) + " days since the last progress report"
            ),
            _ints(visits) + " treatment days since the last progress report",
        ).astype(object)
        return reason, none
    if group == "authorization":
        has = Xf.num("has_prior_auth")
        left = Xf.num("auth_visits_remaining")
        reason = _choose(
            [has == 0, left <= 0, ~np.isnan(left)],
            [
                "no prior authorization number on the line",
                "authorized visits used up (" + _ints(left) + " remaining)",
                _ints(left) + " authorized visits remaining",
            ],
        )
        fix = _choose(
            [has == 0, left <= 0],
            [
                "check whether payer " + payer + " needs prior authorization and "
                "add the number",
                "request more authorized visits from payer " + payer,
            ],
        )
        return reason, fix
    if group == "filing_lag":
        lag = Xf.num("submission_lag_days")
        reason = np.where(
            np.isnan(lag),
            "",
            "submitted " + _ints(lag) + " days after the date of service",
        ).astype(object)
        return reason, none
    if group == "note_signature":
        lag = Xf.num("note_signature_lag_days")
        reason = np.where(
            np.isnan(lag),
            "daily note not signed",
            "daily note signed " + _ints(lag) + " days after the visit",
        ).astype(object)
        fix = np.where(
            np.isnan(lag),
            "have the treating clinician sign the daily note before submission",
            "",
        ).astype(object)
        return reason, fix
    if group == "payer":
        pclass = claims.text(S.PAYER_CLASS)
        return (
            "payer " + payer + " (" + pclass + ") denies " + cpt + " more often",
            none,
        )
    if group == "credential":
        cred = claims.text(S.PROVIDER_CREDENTIAL)
        return "rendered by a " + cred, none
    if group == "provider":
        prov = claims.text(S.RENDERING_PROVIDER_ID)
        return "rendering provider " + prov + " is denied more often", none
    if group == "clinic":
        clinic = claims.text(S.CLINIC_ID)
        return "billed from clinic " + clinic, none
    if group == "place_of_service":
        pos = claims.text(S.PLACE_OF_SERVICE)
        return "place of service " + pos, none
    if group == "therapy_cap":
        ytd = Xf.num("ytd_therapy_allowed")
        reason = np.where(
            np.isnan(ytd),
            "",
            _money(ytd) + " of therapy allowed this year before this visit",
        ).astype(object)
        return reason, none
    if group == "referring":
        has = Xf.num("has_referring_provider")
        reason = np.where(has == 0, "no referring provider on the line", "").astype(
            object
        )
        fix = np.where(
            has == 0, "add the referring/certifying provider's NPI", ""
        ).astype(object)
        return reason, fix
    if group == "charge":
        per_unit = Xf.num("charge_per_unit")
        return "charge of " + _money(per_unit) + " per unit", none
    return none, none


# --- combining rule hits and model drivers -----------------------------------------
def combine_reasons(n: int, hits: pd.DataFrame, drivers: pd.DataFrame):
    """Per-line lists: rule ids, reasons (hits first, then drivers), fixes.

    Parameters
    ----------
    n : int
        Number of lines.
    hits : pandas.DataFrame
        Rule hits with ``pos`` (line position), ``rule_id``, ``kind``,
        ``detail``, ``fix``; in catalogue order within a line.
    drivers : pandas.DataFrame
        Output of :meth:`Explainer.model_reasons` (``pos``, ``rank``,
        ``reason``, ``fix``).

    Returns
    -------
    tuple of pyarrow.ListArray
        ``(rule_hits, reasons, suggested_fixes)``, each of length ``n``:
        hard hits, then soft hits, then model drivers by strength; one fix
        per fixable reason, duplicates removed.

    Examples
    --------
    >>> import pandas as pd
    >>> from ptdenial.explain import combine_reasons
    >>> hits = pd.DataFrame({"pos": [1], "rule_id": ["GP_MISSING"], "kind": ["hard"],
    ...                      "detail": ["no GP"], "fix": ["add modifier GP"]})
    >>> drivers = pd.DataFrame({"pos": [1, 0], "rank": [0, 0],
    ...                         "reason": ["no deficit documented", "x"],
    ...                         "fix": ["", ""]})
    >>> ids, reasons, fixes = combine_reasons(2, hits, drivers)
    >>> reasons.to_pylist()
    [['x'], ['no GP', 'no deficit documented']]
    >>> fixes.to_pylist()
    [[], ['add modifier GP']]
    """

    def col(frame, name, dtype=np.int64):
        if not len(frame):
            return np.zeros(0, dtype)
        return frame[name].to_numpy(dtype=dtype)

    def text(frame, name):
        if not len(frame):
            return pa.array([], type=pa.string())
        arr = pa.array(frame[name], from_pandas=True)
        if isinstance(arr, pa.ChunkedArray):
            arr = arr.combine_chunks()
        return arr.cast(pa.string())

    hpos = col(hits, "pos")
    kind = (
        hits["kind"].map(_KIND_ORDER).fillna(9).to_numpy(dtype=np.int64)
        if len(hits)
        else np.zeros(0, np.int64)
    )
    seq = np.arange(len(hits), dtype=np.int64)
    dpos, drank = col(drivers, "pos"), col(drivers, "rank")

    def ordered(pos, order):
        if len(pos) and not (np.all(np.diff(pos) >= 0) and np.all(np.diff(order) >= 0)):
            return np.lexsort((order, pos))
        return None

    def as_list(pos, idx, values):
        if idx is not None:
            pos, values = pos[idx], values.take(pa.array(idx))
        counts = np.bincount(pos, minlength=n) if len(pos) else np.zeros(n, np.int64)
        offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int32)
        return pa.ListArray.from_arrays(pa.array(offsets, type=pa.int32()), values)

    rule_ids = as_list(hpos, ordered(hpos, seq), text(hits, "rule_id"))
    big = np.int64(1 << 40)
    r_pos = np.concatenate([hpos, dpos])
    r_order = np.concatenate([kind * big + seq, 10 * big + drank])
    idx = ordered(r_pos, r_order)
    r_text = pa.concat_arrays([text(hits, "detail"), text(drivers, "reason")])
    reasons = as_list(r_pos, idx, r_text)
    r_fix = pa.concat_arrays([text(hits, "fix"), text(drivers, "fix")])
    if idx is not None:
        r_pos, r_order, r_fix = r_pos[idx], r_order[idx], r_fix.take(pa.array(idx))
    # one fix per fixable reason: drop empty fixes and repeats within a line
    codes = pc.dictionary_encode(r_fix.fill_null("")).indices.to_numpy()
    blank = (pc.fill_null(pc.equal(r_fix, ""), True)).to_numpy(zero_copy_only=False)
    key = r_pos * np.int64(len(codes) + 1) + codes
    _, first = np.unique(key, return_index=True)
    keep = np.zeros(len(key), dtype=bool)
    keep[first] = True
    keep &= ~blank
    sel = np.flatnonzero(keep)
    fixes = as_list(r_pos[sel], None, r_fix.take(pa.array(sel)))
    return rule_ids, reasons, fixes

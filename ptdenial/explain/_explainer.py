"""The explainer: grouped contributions (exact or path attribution) and reasons."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ptdenial._utils import text_array
from ptdenial.exceptions import PtdenialError
from ptdenial.explain._groups import (
    _GROUP_NAMES,
    COVERED_BY_RULES,
    SILENT_GROUPS,
    feature_groups,
)
from ptdenial.explain._sentences import _render, _Rows

_REASON_COLUMNS = ("pos", "rank", "group", "contribution", "reason", "fix")


def _tree_paths(tree: dict):
    """Path attribution of one dumped LightGBM tree.

    Returns ``(values, bias, credits)``: the leaf values, the tree's
    expected value (the root's), and ``(leaf, feature, change)`` for every
    feature split on the way to each leaf, the change of node value at its
    splits summed.
    """
    n_leaves = int(tree["num_leaves"])
    values = np.zeros(max(n_leaves, 1))
    root = tree["tree_structure"]
    credits = []
    if "leaf_value" in root:  # a stump
        values[int(root.get("leaf_index", 0))] = root["leaf_value"]
        return values, root["leaf_value"], credits
    stack = [(root, {})]
    while stack:  # loop over tree nodes, not rows
        node, credit = stack.pop()
        feature = int(node["split_feature"])
        for side in ("left_child", "right_child"):
            child = node[side]
            leaf = "leaf_index" in child
            value = child["leaf_value"] if leaf else child["internal_value"]
            c = dict(credit)
            c[feature] = c.get(feature, 0.0) + value - node["internal_value"]
            if leaf:
                li = int(child["leaf_index"])
                values[li] = child["leaf_value"]
                credits.extend((li, f, v) for f, v in c.items())
            else:
                stack.append((child, c))
    return values, root["internal_value"], credits


def _top_groups(c: np.ndarray, k: int):
    """The ``k`` strongest finite contributions per row: (row, group, value, rank).

    Candidates come strongest first for every row (``rank`` 0, then 1 ...).
    """
    n = len(c)
    parts_pos, parts_group, parts_val, parts_rank = [], [], [], []
    work = c.copy()
    rows = np.arange(n)
    for r in range(k):
        best = np.argmax(work, axis=1)
        val = work[rows, best]
        ok = np.isfinite(val)
        if not ok.any():
            break
        parts_pos.append(rows[ok])
        parts_group.append(best[ok])
        parts_val.append(val[ok])
        parts_rank.append(np.full(int(ok.sum()), r, dtype=np.int64))
        work[rows, best] = -np.inf
    if not parts_pos:
        return None
    return (
        np.concatenate(parts_pos),
        np.concatenate(parts_group),
        np.concatenate(parts_val),
        np.concatenate(parts_rank),
    )


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
    bias_ : float
        The log-odds every row starts from (the trees' expected value plus
        the linear base's), set when ``available``.

    Examples
    --------
    >>> from ptdenial.datasets import load_sample_claims
    >>> from ptdenial.model import DenialRiskModel
    >>> from ptdenial.explain import Explainer
    >>> history = load_sample_claims("history")
    >>> model = DenialRiskModel(n_estimators=30).fit(history)  # doctest: +SKIP
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
        self._count_window = getattr(model, "history_count_window_days", None)
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
        """Per leaf of every tree, the credited change per reason group."""
        import scipy.sparse as sp

        booster = self.model.estimator_.booster_
        self._n_iter = int(self.model.n_iter_)
        dump = booster.dump_model(num_iteration=self._n_iter)
        rows, cols, vals = [], [], []
        offsets, leaf_values = [], []
        offset, bias = 0, 0.0
        for tree in dump["tree_info"][: self._n_iter]:
            offsets.append(offset)
            values, tree_bias, credits = _tree_paths(tree)
            bias += tree_bias
            for li, f, v in credits:
                rows.append(offset + li)
                cols.append(f)
                vals.append(v)
            leaf_values.append(values)
            offset += len(values)
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

    # -- reasons -------------------------------------------------------------------
    def _reasonable(self, contributions, covered_rules, min_contribution):
        """Contributions with silent, covered and weak drivers set to -inf."""
        c = np.array(contributions, dtype=float, copy=True)
        silent = np.array([g in SILENT_GROUPS for g in self.groups])
        c[:, silent] = -np.inf
        if covered_rules is not None and len(covered_rules):
            gidx = {g: i for i, g in enumerate(self.groups)}
            codes, uniques = pd.factorize(covered_rules["rule_id"])
            at = covered_rules["pos"].to_numpy()
            for group, rule_ids in COVERED_BY_RULES.items():
                hit = np.append(np.isin(np.asarray(uniques, dtype=object),
                                        list(rule_ids)), False)  # fmt: skip
                sel = hit[codes]
                if sel.any():
                    c[at[sel], gidx[group]] = -np.inf
        c[c < min_contribution] = -np.inf
        return c

    def _sentences(self, claims, Xf, pos, grp, texts=None):
        """Reason and fix of each (line, group) candidate, one group at a time.

        ``texts`` caches the claims' text columns across calls on the same
        claims.
        """
        reason = np.full(len(pos), "", dtype=object)
        fix = np.full(len(pos), "", dtype=object)
        texts = {} if texts is None else texts
        for gi in np.unique(grp):  # loop over reason groups, not rows
            sel = np.flatnonzero(grp == gi)
            at = pos[sel]
            r, f = _render(
                self.groups[gi],
                _Rows(claims, at, texts),
                _Rows(Xf, at),
                smoothing=self._smoothing,
                window=self._window,
                count_window=self._count_window,
            )
            reason[sel] = r
            fix[sel] = f
        return reason, fix

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
        if len(claims) == 0 or max_reasons == 0:
            return empty
        c = self._reasonable(contributions, covered_rules, min_contribution)
        # candidates: a few more than needed, some groups render to nothing
        top = _top_groups(c, min(max_reasons + 3, c.shape[1]))
        if top is None:
            return empty
        pos, grp, val, cand_rank = top
        reason, fix = self._candidate_sentences(
            claims, Xf, pos, grp, cand_rank, max_reasons
        )
        # per line, its strongest non-empty reasons (ties keep candidate order)
        keep = np.flatnonzero(reason != "")
        keep = keep[np.lexsort((-val[keep], pos[keep]))]
        kept_pos = pos[keep]
        starts = np.flatnonzero(np.r_[True, kept_pos[1:] != kept_pos[:-1]])
        rank = np.arange(len(keep)) - np.repeat(
            starts, np.diff(np.r_[starts, len(keep)])
        )
        sel = keep[rank < max_reasons]
        out = pd.DataFrame(
            {
                "pos": pos[sel].astype(np.int64),
                "rank": rank[rank < max_reasons].astype(np.int64),
                "group": text_array(np.asarray(self.groups, dtype=object)[grp[sel]]),
                "contribution": val[sel],
                "reason": text_array(reason[sel]),
                "fix": text_array(fix[sel]),
            },
            index=sel,
        )
        return out[list(_REASON_COLUMNS)]

    def _candidate_sentences(self, claims, Xf, pos, grp, cand_rank, max_reasons):
        """Sentences of the candidates a line's top ``max_reasons`` can come from.

        The first ``max_reasons`` candidates of every line are rendered; the
        further ones only for lines where some of those said nothing.
        """
        reason = np.full(len(pos), "", dtype=object)
        fix = np.full(len(pos), "", dtype=object)
        texts: dict = {}
        first = np.flatnonzero(cand_rank < max_reasons)
        reason[first], fix[first] = self._sentences(
            claims, Xf, pos[first], grp[first], texts
        )
        spoken = first[reason[first] != ""]
        have = np.bincount(pos[spoken], minlength=len(claims))
        more = np.flatnonzero((cand_rank >= max_reasons) & (have[pos] < max_reasons))
        if len(more):
            reason[more], fix[more] = self._sentences(
                claims, Xf, pos[more], grp[more], texts
            )
        return reason, fix

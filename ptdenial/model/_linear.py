"""An additive logistic base that the trees boost from.

The synthetic world (and, we expect, most payers' behaviour) is close to
additive in the log-odds: a payer's strictness, a provider's habits, a rule
flag each add a fixed amount. A logistic regression on one-hot categoricals
and standardized numbers learns that from little history; trees need many
splits for it and trail by about 0.013 AUC on a 50k-line history
(``bench/results/model.md``). The model therefore starts boosting from this
regression's log-odds: the trees learn what is not additive.

Everything here is plain NumPy at prediction time (a few vector operations
per batch), and each line's log-odds splits exactly into one term per model
feature, centred on the training mean: the linear part's exact SHAP values
for independent features, added to the trees' TreeSHAP values in
:mod:`ptdenial.explain`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

#: A category seen fewer times than this in training shares one coefficient
#: with the other rare and unseen categories of its feature.
MIN_CATEGORY_COUNT = 20
#: The regression learns from at most this many training rows (sampled with the
#: model's random state): a few hundred coefficients need no more, and the
#: 1M-line fit stays within its time budget.
MAX_ROWS = 200_000


def sample_rows(rows: np.ndarray, random_state) -> np.ndarray:
    """The rows the regression learns from: all, or :data:`MAX_ROWS` of them.

    A caller may pass the positions it would select: sampling those gives
    the same rows as :meth:`LinearBase.fit` sampling the selection itself
    (the draw depends only on the count), without copying the selection.
    """
    if len(rows) <= MAX_ROWS:
        return rows
    rng = np.random.default_rng(random_state)
    return np.sort(rng.choice(rows, MAX_ROWS, replace=False))


class LinearBase(BaseEstimator):
    """Additive log-odds over model features, fitted by logistic regression.

    Numeric features: missing values take the training median and get an
    indicator term; values are standardized. Categorical features (integer
    codes): one coefficient per category seen at least
    :data:`MIN_CATEGORY_COUNT` times, one shared by the others.

    Parameters
    ----------
    categorical : sequence of str, default=()
        Names of the categorical (integer-coded) features.
    C : float
        Inverse regularization strength of the logistic regression.
    random_state : int

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from ptdenial.model._linear import LinearBase
    >>> rng = np.random.default_rng(0)
    >>> X = pd.DataFrame({"a": rng.normal(size=2000), "c": rng.integers(0, 3, 2000)})
    >>> y = (rng.random(2000) < 1 / (1 + np.exp(-2 * X["a"]))).astype(int)
    >>> base = LinearBase(categorical=["c"]).fit(X, y)
    >>> terms = base.contributions(X)
    >>> bool(np.allclose(terms.sum(axis=1) + base.bias_, base.decision_function(X)))
    True
    >>> G = np.array([[1.0, 0.0], [0.0, 1.0]])  # each feature its own group
    >>> bool(np.allclose(base.contributions(X, G), terms))
    True
    """

    def __init__(self, *, categorical=(), C=0.5, random_state=0):
        self.categorical = categorical
        self.C = C
        self.random_state = random_state

    @staticmethod
    def _array(X) -> np.ndarray:
        # column-major (pandas' own layout): the terms are added column by
        # column, so each line's sum runs in one fixed order whatever the
        # number of lines; a BLAS product or a row-wise sum may order a row's
        # additions differently for another batch size, and a line's score
        # must not depend on which lines share its batch, to the last bit
        if isinstance(X, pd.DataFrame):
            X = X.to_numpy(dtype=np.float64)
        return np.asfortranarray(X, dtype=np.float64)

    def _cat_slots(self, cat: np.ndarray) -> np.ndarray:
        """Column of each categorical value in its feature's table (rare: last)."""
        slots = np.empty(cat.shape, dtype=np.int64)
        for j in range(cat.shape[1]):
            slots[:, j] = self._slots(j, cat[:, j])
        return slots

    def _slots(self, j: int, values: np.ndarray) -> np.ndarray:
        levels = self.levels_[j]
        if not len(levels):
            return np.zeros(len(values), dtype=np.int64)
        v = np.where(np.isnan(values), -1.0, values)
        at = np.searchsorted(levels, v)
        at_c = np.minimum(at, len(levels) - 1)
        return np.where((at < len(levels)) & (levels[at_c] == v), at_c, len(levels))

    def _column_terms(self, arr: np.ndarray):
        """Yield (feature index, its term per line), feature by feature."""
        cat_pos = {int(c): j for j, c in enumerate(self.cat_idx_)}
        for col in range(arr.shape[1]):
            if isinstance(arr, pd.DataFrame):  # one column at a time, no full copy
                values = arr.iloc[:, col].to_numpy(dtype=np.float64)
            else:
                values = arr[:, col]
            if col in cat_pos:
                j = cat_pos[col]
                yield col, self.coef_cat_[j][self._slots(j, values)]
                continue
            w, mw = self.weight_[col], self.missing_weight_[col]
            if w == 0 and mw == 0:
                continue
            missing = np.isnan(values)
            term = np.where(missing, self.fill_[col], values) * w
            if mw != 0:
                term = term + missing * mw
            yield col, term

    def fit(self, X: pd.DataFrame, y) -> LinearBase:
        """Fit on feature rows ``X`` (a DataFrame of model features) and labels."""
        from sklearn.linear_model import LogisticRegression

        y = np.asarray(y)
        names = list(X.columns)
        self.feature_names_ = names
        self.feature_names_in_ = np.asarray(names, dtype=object)
        self.n_features_in_ = len(names)
        self.cat_idx_ = np.array(
            [names.index(c) for c in self.categorical if c in names], dtype=np.int64
        )
        categorical = set(self.cat_idx_.tolist())
        self.num_idx_ = np.array(
            [i for i in range(len(names)) if i not in categorical], dtype=np.int64
        )
        rows = sample_rows(np.arange(len(X)), self.random_state)
        sub = X if len(rows) == len(X) else X.iloc[rows]
        num = _columns(sub, self.num_idx_)
        cat = _columns(sub, self.cat_idx_)
        yy = y[rows]

        missing = np.isnan(num)
        with np.errstate(all="ignore"):
            median = np.nanmedian(np.where(missing.all(axis=0), 0.0, num), axis=0)
        self.median_ = np.nan_to_num(median)
        # in place: the same values (and layout) as np.where(missing, median_, num)
        z = num
        np.copyto(z, np.broadcast_to(self.median_, z.shape), where=missing)
        del num
        self.mean_ = z.mean(axis=0)
        scale = z.std(axis=0)
        self.scale_ = np.where(scale > 0, scale, 1.0)
        z -= self.mean_  # in place: the same values as (filled - mean) / scale
        z /= self.scale_
        has_missing = missing.any(axis=0) & ~missing.all(axis=0)

        self.levels_ = []
        for j in range(cat.shape[1]):
            v = np.where(np.isnan(cat[:, j]), -1.0, cat[:, j])
            values, counts = np.unique(v, return_counts=True)
            self.levels_.append(values[counts >= MIN_CATEGORY_COUNT])
        slots = self._cat_slots(cat) if cat.shape[1] else np.zeros((len(rows), 0))
        del cat
        k = z.shape[1]
        # the design takes the last references: each block is freed once copied
        blocks = [z, missing[:, has_missing], slots]
        del z, missing, slots
        design = self._design(blocks)
        reg = LogisticRegression(C=self.C, max_iter=300)
        reg.fit(design, yy)
        del design
        coef = reg.coef_.ravel()
        self.coef_num_ = coef[:k]
        self.coef_missing_ = np.zeros(k)
        self.coef_missing_[has_missing] = coef[k : k + int(has_missing.sum())]
        at = k + int(has_missing.sum())
        self.coef_cat_ = []
        for levels in self.levels_:
            width = len(levels) + 1
            self.coef_cat_.append(coef[at : at + width].copy())
            at += width
        self.intercept_ = float(reg.intercept_[0])
        # Full-width vectors (zero at categorical columns): a line's log-odds
        # is then a sum of per-feature terms and a lookup per categorical.
        width = len(names)
        self.fill_ = np.zeros(width)
        self.fill_[self.num_idx_] = self.median_
        self.weight_ = np.zeros(width)
        self.weight_[self.num_idx_] = self.coef_num_ / self.scale_
        self.missing_weight_ = np.zeros(width)
        self.missing_weight_[self.num_idx_] = self.coef_missing_
        self.offset_ = self.intercept_ - float(
            (self.mean_ * self.coef_num_ / self.scale_).sum()
        )
        # centre each feature's term on its training mean (SHAP of a linear model)
        self.term_mean_ = self._term_means(sub)
        self.bias_ = self.offset_ + float(self.term_mean_.sum())
        return self

    def _design(self, blocks: list):
        """The regression's CSR design: z-scores, missing flags, one-hot slots.

        ``blocks`` is ``[z, missing, slots]``; it is emptied, so that each
        block is freed as soon as it is copied in. Built in place, row by
        row in column order, with the zeros dropped: the same matrix as
        stacking the three blocks, without the block copies and int64
        coordinates that ``scipy.sparse.hstack`` makes on the way (they were
        the fit's peak memory).
        """
        import scipy.sparse as sp

        z, missing, slots = blocks
        blocks.clear()
        n, k = z.shape
        widths = [len(levels) + 1 for levels in self.levels_]
        offsets = k + missing.shape[1] + np.concatenate([[0], np.cumsum(widths)[:-1]])
        per_row = k + missing.shape[1] + slots.shape[1]
        data = np.empty((n, per_row))
        data[:, :k] = z
        del z
        data[:, k : k + missing.shape[1]] = missing
        data[:, k + missing.shape[1] :] = 1.0
        index = np.empty((n, per_row), dtype=np.int32)
        index[:, : k + missing.shape[1]] = np.arange(k + missing.shape[1])
        index[:, k + missing.shape[1] :] = slots + offsets.astype(np.int64)
        indptr = np.arange(n + 1, dtype=np.int64) * per_row
        design = sp.csr_matrix(
            (data.ravel(), index.ravel(), indptr),
            shape=(n, k + missing.shape[1] + int(np.sum(widths))),
        )
        design.eliminate_zeros()
        return design

    def _term_means(self, arr) -> np.ndarray:
        """Mean of each feature's uncentred term, one column at a time."""
        out = np.zeros(arr.shape[1])
        for col, term in self._column_terms(arr):
            out[col] = term.mean()
        return out

    def _terms(self, arr: np.ndarray) -> np.ndarray:
        """Each feature's log-odds term, uncentred (they sum to log-odds - offset_)."""
        out = np.zeros(arr.shape, order="F")
        for col, term in self._column_terms(arr):
            out[:, col] = term
        return out

    def decision_function(self, X) -> np.ndarray:
        """Log-odds of each row."""
        check_is_fitted(self, "offset_")
        arr = X if isinstance(X, pd.DataFrame) else self._array(X)
        total = np.full(len(arr), self.offset_)
        for _, term in self._column_terms(arr):
            total += term
        return total

    def contributions(self, X, groups=None) -> np.ndarray:
        """Per-feature log-odds terms, centred: rows sum to log-odds - ``bias_``.

        With ``groups`` (a features x groups matrix), the terms summed per
        group, without building the per-feature matrix.
        """
        check_is_fitted(self, "offset_")
        arr = self._array(X)
        if groups is None:
            return self._terms(arr) - self.term_mean_
        G = np.asarray(groups, dtype=np.float64)
        out = np.zeros((len(arr), G.shape[1]), order="F")
        for col, term in self._column_terms(arr):
            for k in np.flatnonzero(G[col]):
                out[:, k] += term if G[col, k] == 1.0 else term * G[col, k]
        return out - self.term_mean_ @ G


def _columns(X: pd.DataFrame, idx) -> np.ndarray:
    """Float64 column-major array of the columns ``idx`` of ``X``, one at a time.

    The same values and layout as ``LinearBase._array(X)[:, idx]``, without
    the float64 copy of every column on the way.
    """
    out = np.empty((len(X), len(idx)), order="F")
    for j, col in enumerate(idx):
        out[:, j] = X.iloc[:, int(col)].to_numpy(dtype=np.float64)
    return out

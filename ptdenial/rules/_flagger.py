"""PayerRuleFlagger: rule flags and gaps as scikit-learn features."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from ptdenial import schema as S
from ptdenial._utils import ClaimsTransformerMixin
from ptdenial.exceptions import ClaimsSchemaError, DataQualityWarning
from ptdenial.reference import Reference
from ptdenial.rules._catalogue import _RULE_BY_ID, GAP_COLUMNS, RULES
from ptdenial.rules._engine import apply_rules


# --- transformer ------------------------------------------------------------
class PayerRuleFlagger(ClaimsTransformerMixin, TransformerMixin, BaseEstimator):
    """Rule flags and gaps as model features.

    For each selected rule a 0/1 integer column ``rule__<rule_id lower>``
    (1 = the rule fires; lines where it could not be evaluated get 0, the
    gaps keep NaN there), followed by the numeric gaps ``gap__<name>``
    (float, NaN where not applicable). The input's index and row count are
    preserved and the input is not modified.

    Parameters
    ----------
    reference : ptdenial.reference.Reference, optional
        Reference tables; defaults to the shipped ones.
    rules : list of str, optional
        Rule ids to expose; default every rule the schema can evaluate,
        except the negative rule (always 0).
    include_gaps : bool, default=True
        Add the gap columns.
    as_of : date-like, optional
        Run date for timely filing of lines without ``submission_date``.

    Attributes
    ----------
    feature_names_in_ : ndarray of str
        Columns seen in :meth:`fit`.
    n_features_in_ : int
    rules_ : list of str
        The rule ids exposed.

    Examples
    --------
    >>> import pandas as pd
    >>> from ptdenial.rules import PayerRuleFlagger
    >>> line = pd.DataFrame({
    ...     "claim_id": ["C1"], "line_number": [1], "patient_id": ["P1"],
    ...     "payer_id": ["MCR"], "payer_class": ["medicare"],
    ...     "date_of_service": pd.to_datetime(["2025-06-02"]),
    ...     "cpt_code": ["97112"], "units": [2], "charge_amount": [80.0],
    ...     "diagnosis_codes": [("R26.81",)], "rendering_provider_id": ["N1"],
    ...     "modifiers": [()],
    ... })
    >>> out = PayerRuleFlagger(include_gaps=False).fit_transform(line)
    >>> int(out.loc[0, "rule__gp_missing"]), int(out.loc[0, "rule__kx_missing"])
    (1, 0)
    """

    _fitted_attribute = "rules_"

    def __init__(self, *, reference=None, rules=None, include_gaps=True, as_of=None):
        self.reference = reference
        self.rules = rules
        self.include_gaps = include_gaps
        self.as_of = as_of

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.categorical = True
        return tags

    def _validate_params(self):
        if self.reference is not None and not isinstance(self.reference, Reference):
            raise ValueError(
                "The 'reference' parameter of PayerRuleFlagger must be a "
                f"ptdenial.reference.Reference or None. Got {self.reference!r} instead."
            )
        if not isinstance(self.include_gaps, bool | np.bool_):
            raise ValueError(
                "The 'include_gaps' parameter of PayerRuleFlagger must be a bool. "
                f"Got {self.include_gaps!r} instead."
            )
        if self.rules is not None:
            if isinstance(self.rules, str):
                raise ValueError(
                    "The 'rules' parameter of PayerRuleFlagger must be a list of rule "
                    f"ids or None. Got {self.rules!r} instead."
                )
            unknown = [r for r in self.rules if r not in _RULE_BY_ID]
            if unknown:
                raise ValueError(
                    "The 'rules' parameter of PayerRuleFlagger must hold rule ids "
                    f"from {list(_RULE_BY_ID)}. Got unknown {unknown} instead."
                )
        if self.as_of is not None:
            try:
                pd.Timestamp(self.as_of)
            except (TypeError, ValueError) as exc:
                raise ValueError(
                    "The 'as_of' parameter of PayerRuleFlagger must be a date or "
                    f"None. Got {self.as_of!r} instead."
                ) from exc

    def _check_frame(self, X, *, fitting):
        if not isinstance(X, pd.DataFrame):
            raise TypeError(
                "PayerRuleFlagger expects a pandas DataFrame of claim lines "
                f"(schema contract); got {type(X).__name__}."
            )
        missing = [c for c in S.REQUIRED_COLUMNS if c not in X.columns]
        if missing:
            raise ClaimsSchemaError(
                f"PayerRuleFlagger: missing required columns {missing}. Columns "
                f"present: {list(X.columns)}.",
                missing=missing,
            )
        if not fitting:
            gone = [
                c
                for c in self.feature_names_in_
                if c in S.OPTIONAL_COLUMNS and c not in X.columns
            ]
            if gone:
                warnings.warn(
                    f"PayerRuleFlagger: optional columns {gone} were present at fit "
                    "but are missing now; rules that need them are reported as 0.",
                    DataQualityWarning,
                    stacklevel=3,
                )

    def fit(self, X, y=None):
        """Check parameters and columns; remember the input columns.

        Parameters
        ----------
        X : pandas.DataFrame
            Claim lines in the schema contract.
        y : ignored

        Returns
        -------
        self
        """
        self._validate_params()
        self._check_frame(X, fitting=True)
        for attr in ("rules_", "feature_names_in_", "n_features_in_"):
            self.__dict__.pop(attr, None)
        if self.rules is None:
            self.rules_ = [
                r.rule_id for r in RULES if r.evaluable and r.kind != "negative"
            ]
        else:
            self.rules_ = list(self.rules)
        self.feature_names_in_ = np.asarray([str(c) for c in X.columns], dtype=object)
        self.n_features_in_ = len(self.feature_names_in_)
        return self

    def transform(self, X):
        """Return the rule flags (0/1) and gaps of each line.

        Parameters
        ----------
        X : pandas.DataFrame

        Returns
        -------
        pandas.DataFrame
            Same index as ``X``; columns :meth:`get_feature_names_out`.
        """
        check_is_fitted(self, "rules_")
        self._check_frame(X, fitting=False)
        result = apply_rules(
            X, reference=self.reference, as_of=self.as_of, rules=self.rules_, hits=False
        )
        out = {}
        for rid in self.rules_:
            out[f"rule__{rid.lower()}"] = (
                result.flags[rid].fillna(False).to_numpy(dtype=bool).astype(np.int64)
            )
        if self.include_gaps:
            for name in GAP_COLUMNS:
                out[f"gap__{name}"] = result.gaps[name].to_numpy(dtype=float)
        return pd.DataFrame(out, index=X.index)

    def _output_names(self):
        names = [f"rule__{rid.lower()}" for rid in self.rules_]
        if self.include_gaps:
            names += [f"gap__{name}" for name in GAP_COLUMNS]
        return names

"""Small private helpers."""

from __future__ import annotations

import os

#: The library's version (re-exported as ``ptdenial.__version__``); kept here,
#: at the bottom of the import order, so cards and manifests read it without
#: importing the package root.
__version__ = "0.1.0"

# distribution name -> module name, where they differ
_MODULE_OF = {"scikit-learn": "sklearn"}


def jsonable(v):
    """A metric value for JSON: NumPy numbers as Python ones, NaN as ``None``.

    Examples
    --------
    >>> import numpy as np
    >>> from ptdenial._utils import jsonable
    >>> jsonable(np.float64("nan")), jsonable(np.int64(3)), jsonable("x")
    (None, 3, 'x')
    """
    import numpy as np

    if isinstance(v, float | np.floating):
        return None if np.isnan(v) else float(v)
    if isinstance(v, np.integer):
        return int(v)
    return v


def library_versions(*names: str) -> dict:
    """Versions of Python, ptdenial and libraries, for model cards and manifests.

    Parameters
    ----------
    *names : str
        ``"python"``, ``"ptdenial"`` or a distribution name
        (``"scikit-learn"``, ``"lightgbm"`` ...), in the order wanted.

    Returns
    -------
    dict
        Name -> version text (``None`` for a library that is not installed).

    Examples
    --------
    >>> from ptdenial._utils import library_versions
    >>> sorted(library_versions("ptdenial", "numpy"))
    ['numpy', 'ptdenial']
    """
    import importlib
    import platform

    out = {}
    for name in names:
        if name == "python":
            out[name] = platform.python_version()
        elif name == "ptdenial":
            out[name] = __version__
        else:
            try:
                module = importlib.import_module(_MODULE_OF.get(name, name))
            except ImportError:  # pragma: no cover - optional libraries
                out[name] = None
            else:
                out[name] = module.__version__
    return out


def passive_openmp() -> None:
    """Ask OpenMP threads to sleep, not spin, while they wait for work.

    LightGBM and scikit-learn's histogram trees use OpenMP. With the default
    busy-wait policy, a 2-thread fit on a machine whose cores are shared with
    other jobs was measured 7x slower (216 s against 30 s for the sample
    history); with ``OMP_WAIT_POLICY=PASSIVE`` it ran as fast as on an idle
    machine. It only takes effect if set before the OpenMP runtime starts (the
    first import of lightgbm), and a value the user set is kept.
    """
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


class ClaimsTransformerMixin:
    """scikit-learn plumbing shared by the transformers of claim lines.

    Their input is a claims frame with text columns and missing values (the
    tags say so, for scikit-learn's checks), and ``get_feature_names_out``
    returns ``_output_names()`` once the estimator is fitted, which is checked
    on the attribute named by ``_fitted_attribute``. List it before
    ``TransformerMixin, BaseEstimator`` in the bases.
    """

    _fitted_attribute: str

    def _output_names(self):
        raise NotImplementedError

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.string = True
        tags.input_tags.allow_nan = True
        return tags

    def get_feature_names_out(self, input_features=None):
        """Names of the output features.

        Parameters
        ----------
        input_features : ignored

        Returns
        -------
        numpy.ndarray of str
        """
        # imported here, not at the top: ptdenial.cli imports this module
        # before anything may start the OpenMP runtime (see passive_openmp)
        import numpy as np
        from sklearn.utils.validation import check_is_fitted

        check_is_fitted(self, self._fitted_attribute)
        return np.asarray(self._output_names(), dtype=object)


def text_array(values):
    """Python strings as the column pandas infers for them (``str``), made by Arrow.

    The same values and dtype as ``pd.DataFrame({"c": values})`` gives:
    pandas' own inference checks and converts each object in Python, which
    cost a tenth of a scoring batch for its 100k-line text columns. Values
    that are not all text (a missing value, a number) or empty are returned
    as they are, for pandas to infer as before.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from ptdenial._utils import text_array
    >>> values = np.array(["exact", "rules"], dtype=object)
    >>> pd.DataFrame({"c": text_array(values)}).dtypes.equals(
    ...     pd.DataFrame({"c": values}).dtypes)
    True
    >>> text_array(np.array(["x", None], dtype=object)).tolist()
    ['x', None]
    """
    import numpy as np
    import pandas as pd
    import pyarrow as pa

    if not isinstance(values, np.ndarray) or values.dtype != object or not len(values):
        return values
    try:
        data = pa.array(values, type=pa.large_string())
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return values
    if data.null_count:
        return values
    dtype = pd.StringDtype("pyarrow", na_value=np.nan)
    return pd.arrays.ArrowStringArray(data, dtype=dtype)

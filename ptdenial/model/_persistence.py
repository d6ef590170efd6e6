"""Model files: skops with an allow-list of types, and a card beside each file.

Never pickle: :func:`load_model` refuses a file holding types outside a fixed
allow-list (ptdenial, scikit-learn, LightGBM, NumPy, builtins), a file changed
after it was saved, and a model built for another schema version, feature set
or major library version.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from sklearn.utils.validation import check_is_fitted

from ptdenial import features as F
from ptdenial import schema as S
from ptdenial.exceptions import ModelVersionError
from ptdenial.model._card import _versions
from ptdenial.model._estimator import DenialRiskModel

_TRUSTED_PREFIXES = (
    "ptdenial.",
    "sklearn.",
    "lightgbm.",
    "numpy.",
    "builtins.",
    "collections.",
)


def _trusted(types):
    return [t for t in types if t.startswith(_TRUSTED_PREFIXES)]


def _skops_io():
    """``skops.io``, imported without skops' own list of trusted estimators.

    At import, skops builds a default trust list of every scikit-learn
    estimator by importing every scikit-learn module (and pytest) through
    ``sklearn.utils.all_estimators``: about a second of every start-up.
    :func:`load_model` never relies on that list: it trusts by its own
    allow-list (:data:`_TRUSTED_PREFIXES`), so the list is left empty and
    scikit-learn types are checked by ptdenial's allow-list instead. Loading
    is no less strict (a narrower default trusts less, never more).
    """
    import sys

    if "skops.io" in sys.modules:
        return sys.modules["skops.io"]
    import sklearn.utils

    every = sklearn.utils.all_estimators
    sklearn.utils.all_estimators = lambda *args, **kwargs: []
    try:
        import skops.io as sio
    finally:
        sklearn.utils.all_estimators = every
    return sio


def save_model(model: DenialRiskModel, path, *, card_path=None) -> Path:
    """Write a fitted model with skops, plus its model card as JSON beside it.

    The model id is a content hash of the model bytes. The card
    (``<path>.card.json`` unless ``card_path`` is given) records the model id,
    training window, row counts, validation-window metrics, feature names,
    library versions and schema version. Writes are atomic; the path given is
    the path written.

    Parameters
    ----------
    model : DenialRiskModel
    path : str or Path
        Usually ``*.skops``.
    card_path : str or Path, optional

    Returns
    -------
    pathlib.Path

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from ptdenial.datasets import load_sample_claims
    >>> from ptdenial.model import DenialRiskModel, save_model, load_model
    >>> history = load_sample_claims("history")
    >>> model = DenialRiskModel(n_estimators=30).fit(history)  # doctest: +SKIP
    >>> path = save_model(model, pathlib.Path(tempfile.mkdtemp()) / "m.skops")
    >>> load_model(path).model_id == model.model_id
    True
    """
    from ptdenial.io import atomic_path, write_json

    sio = _skops_io()

    check_is_fitted(model, "card_")
    path = Path(path)
    card = dict(model.card_)
    card["model_id"] = "pending"
    model.card_ = card
    payload = sio.dumps(model)
    model_id = hashlib.sha256(payload).hexdigest()[:16]
    card["model_id"] = model_id
    model.card_ = card
    payload = sio.dumps(model)
    with atomic_path(path) as tmp:
        tmp.write_bytes(payload)
    file_card = dict(card, file_sha256=hashlib.sha256(payload).hexdigest())
    write_json(file_card, card_path or _card_path(path))
    return path


def _card_path(path: Path) -> Path:
    return path.with_name(path.name + ".card.json")


def load_model(path) -> DenialRiskModel:
    """Load a model file written by :func:`save_model`, safely.

    Refuses (``ModelVersionError``) a file that holds types outside the
    allow-list (ptdenial, scikit-learn, LightGBM, NumPy, builtins), a file that
    is not a skops archive (e.g. a pickle, or a tampered file), and a model
    built for another schema version or another major version of
    scikit-learn or LightGBM (the message names both versions). When the card
    ``<path>.card.json`` is beside the file, the file's SHA-256 must match the
    one recorded there, so a file changed after saving is refused.

    Parameters
    ----------
    path : str or Path

    Returns
    -------
    DenialRiskModel
    """
    import zipfile

    sio = _skops_io()
    path = Path(path)
    if not path.exists():
        raise ModelVersionError(f"{path}: model file not found.")
    card_file = _card_path(path)
    if card_file.exists():
        recorded = json.loads(card_file.read_text()).get("file_sha256")
        actual = hashlib.sha256(path.read_bytes()).hexdigest()
        if recorded and recorded != actual:
            raise ModelVersionError(
                f"{path}: refused to load; the file's SHA-256 {actual[:16]}... does "
                f"not match {recorded[:16]}... recorded in {card_file.name}. The model "
                "file was changed after it was saved; retrain or restore it."
            )
    try:
        untrusted = sio.get_untrusted_types(file=path)
    except (zipfile.BadZipFile, KeyError, ValueError, json.JSONDecodeError) as exc:
        raise ModelVersionError(
            f"{path}: not a ptdenial model file (skops archive expected; pickle "
            f"files are never loaded): {exc}"
        ) from exc
    refused = sorted(set(untrusted) - set(_trusted(untrusted)))
    if refused:
        raise ModelVersionError(
            f"{path}: refused to load; the file holds types outside the allow-list: "
            f"{refused}. Only models written by ptdenial.save_model are loaded."
        )
    try:
        model = sio.load(path, trusted=untrusted)
    except Exception as exc:  # skops raises many types on tampered content
        raise ModelVersionError(f"{path}: model file is damaged: {exc}") from exc
    if not isinstance(model, DenialRiskModel):
        raise ModelVersionError(
            f"{path}: holds a {type(model).__name__}, not a DenialRiskModel."
        )
    card = getattr(model, "card_", {})
    if card.get("schema_version") != S.SCHEMA_VERSION:
        raise ModelVersionError(
            f"{path}: model built for schema version {card.get('schema_version')}; "
            f"this ptdenial reads schema version {S.SCHEMA_VERSION}. Retrain with "
            "`ptdenial train`."
        )
    if card.get("feature_set_version") != F.FEATURE_SET_VERSION:
        raise ModelVersionError(
            f"{path}: model built with feature set version "
            f"{card.get('feature_set_version', 'unknown (older ptdenial)')}; this "
            f"ptdenial computes feature set version {F.FEATURE_SET_VERSION}. The "
            "features changed since the model was trained: retrain with "
            "`ptdenial train`."
        )
    now = _versions()
    for lib in ("scikit-learn", "lightgbm"):
        built = str(card.get("versions", {}).get(lib, "?"))
        if built.split(".")[0] != now[lib].split(".")[0]:
            raise ModelVersionError(
                f"{path}: model built with {lib} {built}; installed {lib} is "
                f"{now[lib]} (major versions differ). Retrain with `ptdenial train`."
            )
    payload_check = dict(card)
    if payload_check.get("model_id") in (None, "pending"):
        raise ModelVersionError(f"{path}: model card has no model id; re-save it.")
    return model

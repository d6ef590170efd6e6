"""Model files: skops with an allow-list of types, an integrity record, a card.

Never pickle: :func:`load_model` refuses a file holding types outside a fixed
allow-list (ptdenial, scikit-learn, LightGBM, NumPy, builtins), a file changed
after it was saved, and a model built for another schema version, feature set
or major library version.

Threat model (see docs/security.md). A model file decides which claims a
biller looks at, so a changed file must not score silently:

* **Inside the archive**, :func:`save_model` adds ``ptdenial-integrity.json``:
  the SHA-256 of every other member and the model id. A member edited inside
  the archive no longer matches and the file is refused, whether or not its
  card is present, and whatever the card says.
* **Beside the file**, the card ``<file>.card.json`` records the whole file's
  SHA-256 and the model id; it is required. A model without its card, or
  whose card disagrees, is refused unless the caller says it trusts the file
  (``trust_unverified=True``, ``--trust-unverified-model``).
* **Signed** (optional): with a practice-held key (``PTDENIAL_MODEL_KEY``, or
  a file named by ``PTDENIAL_MODEL_KEY_FILE``), the record carries an
  HMAC-SHA256 of its content. When a key is configured, a model must carry
  a valid signature made with it. Without a key, anyone who can write the
  model folder can also rewrite record and card consistently (or train a
  model of their own): the record and card then protect against damage and
  naive edits, the signature against deliberate ones.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import os
import zipfile
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
#: Name of the integrity record inside a model archive.
INTEGRITY_MEMBER = "ptdenial-integrity.json"
#: Environment variables holding the practice's model-signing key (or its file).
MODEL_KEY_ENV = "PTDENIAL_MODEL_KEY"
MODEL_KEY_FILE_ENV = "PTDENIAL_MODEL_KEY_FILE"


def _trusted(types):
    return [t for t in types if t.startswith(_TRUSTED_PREFIXES)]


def _model_key(key=None) -> bytes | None:
    """The signing key: ``key``, else $PTDENIAL_MODEL_KEY, else the key file."""
    if key is not None:
        return key.encode() if isinstance(key, str) else bytes(key)
    value = os.environ.get(MODEL_KEY_ENV)
    if value:
        return value.encode()
    key_file = os.environ.get(MODEL_KEY_FILE_ENV)
    if key_file:
        try:
            data = Path(key_file).read_bytes().strip()
        except OSError as exc:
            raise ModelVersionError(
                f"{MODEL_KEY_FILE_ENV}={key_file}: cannot read the model key file "
                f"({exc.strerror or type(exc).__name__})."
            ) from exc
        if not data:
            raise ModelVersionError(
                f"{MODEL_KEY_FILE_ENV}={key_file}: the file is empty."
            )
        return data
    return None


def _canonical(record: dict) -> bytes:
    body = {k: v for k, v in record.items() if k != "signature"}
    return json.dumps(body, sort_keys=True, separators=(",", ":")).encode()


def _with_integrity(payload: bytes, model_id: str, key: bytes | None) -> bytes:
    """The skops archive plus its integrity record (signed when ``key``)."""
    buf = io.BytesIO(payload)
    with zipfile.ZipFile(buf) as z:
        members = {n: hashlib.sha256(z.read(n)).hexdigest() for n in z.namelist()}
    record = {"format": 1, "model_id": model_id, "members": members}
    if key is not None:
        record["key_id"] = hashlib.sha256(key).hexdigest()[:12]
        record["signature"] = hmac.new(key, _canonical(record), "sha256").hexdigest()
    with zipfile.ZipFile(buf, "a") as z:
        info = zipfile.ZipInfo(INTEGRITY_MEMBER, date_time=(2000, 1, 1, 0, 0, 0))
        z.writestr(info, json.dumps(record, sort_keys=True, indent=1))
    return buf.getvalue()


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


def save_model(model: DenialRiskModel, path, *, card_path=None, key=None) -> Path:
    """Write a fitted model with skops, plus its model card as JSON beside it.

    The model id is a content hash of the model bytes. The archive gets an
    integrity record (SHA-256 of each member, the model id; signed with
    HMAC-SHA256 when a key is given or configured, see the module docstring).
    The card (``<path>.card.json`` unless ``card_path`` is given) records
    the model id, the file's SHA-256, training window, row counts,
    validation-window metrics, feature names, library versions and schema
    version. Writes are atomic; the path given is the path written.

    Parameters
    ----------
    model : DenialRiskModel
    path : str or Path
        Usually ``*.skops``.
    card_path : str or Path, optional
    key : str or bytes, optional
        Signing key; default ``$PTDENIAL_MODEL_KEY`` or the file named by
        ``$PTDENIAL_MODEL_KEY_FILE`` (unsigned when neither is set).

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
    raw_key = _model_key(key)
    card = dict(model.card_)
    card["model_id"] = "pending"
    model.card_ = card
    payload = sio.dumps(model)
    model_id = hashlib.sha256(payload).hexdigest()[:16]
    card["model_id"] = model_id
    model.card_ = card
    payload = _with_integrity(sio.dumps(model), model_id, raw_key)
    with atomic_path(path) as tmp:
        tmp.write_bytes(payload)
    file_card = dict(
        card,
        file_sha256=hashlib.sha256(payload).hexdigest(),
        signed=raw_key is not None,
    )
    write_json(file_card, card_path or _card_path(path))
    return path


def _card_path(path: Path) -> Path:
    return path.with_name(path.name + ".card.json")


def _refuse(path, problem, fix) -> ModelVersionError:
    return ModelVersionError(f"{path}: refused to load; {problem}. Fix: {fix}")


_TRUST_FIX = (
    "restore the card that `ptdenial train` wrote beside the model, or retrain; "
    "if you know where this file comes from, pass --trust-unverified-model "
    "(load_model(..., trust_unverified=True))"
)


def _read_card(path: Path, trust_unverified: bool) -> dict | None:
    """The card beside the model as a dict (``None`` when trusted without it)."""
    card_file = _card_path(path)
    if not card_file.exists():
        if trust_unverified:
            return None
        raise _refuse(path, f"its model card {card_file.name} is missing", _TRUST_FIX)
    if card_file.is_dir():
        raise _refuse(path, f"{card_file.name} is a folder, not a card", _TRUST_FIX)
    try:
        card = json.loads(card_file.read_bytes().decode("utf-8"))
    except UnicodeDecodeError:
        raise _refuse(
            path, f"its card {card_file.name} is not text (binary content)", _TRUST_FIX
        ) from None
    except json.JSONDecodeError as exc:
        raise _refuse(
            path,
            f"its card {card_file.name} is not valid JSON (line {exc.lineno}, "
            f"column {exc.colno})",
            _TRUST_FIX,
        ) from None
    if not isinstance(card, dict):
        raise _refuse(
            path,
            f"its card {card_file.name} holds a JSON {type(card).__name__}, not "
            "the object save_model writes",
            _TRUST_FIX,
        )
    return card


def _check_card(path: Path, data: bytes, card: dict | None, trust: bool) -> None:
    if card is None:
        return
    recorded = card.get("file_sha256")
    actual = hashlib.sha256(data).hexdigest()
    if not recorded:
        if trust:
            return
        raise _refuse(path, "its card records no file SHA-256", _TRUST_FIX)
    if recorded != actual:
        raise _refuse(
            path,
            f"the file's SHA-256 is {actual}, its card "
            f"{_card_path(path).name} records {recorded}: the model file was "
            "changed after it was saved",
            "retrain, or restore the file and card that were saved together",
        )


def _check_integrity(path, data: bytes, card, *, trust: bool, key) -> dict:
    """Check the archive's integrity record; return what was verified."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            names = set(z.namelist())
            record_bytes = (
                z.read(INTEGRITY_MEMBER) if INTEGRITY_MEMBER in names else None
            )
            digests = {
                n: hashlib.sha256(z.read(n)).hexdigest()
                for n in names - {INTEGRITY_MEMBER}
            }
    except (zipfile.BadZipFile, OSError, ValueError, RuntimeError) as exc:
        raise _refuse(
            path,
            f"the archive is damaged ({type(exc).__name__})",
            "retrain, or restore the file that was saved",
        ) from None
    raw_key = _model_key(key)
    if record_bytes is None:
        if trust and raw_key is None:
            return {"verified": "unverified (trusted by the caller)", "signed": False}
        raise _refuse(
            path,
            "the archive holds no integrity record (saved by an older ptdenial, "
            "or rewritten by another tool)",
            _TRUST_FIX if raw_key is None else "retrain with the signing key set",
        )
    try:
        record = json.loads(record_bytes)
        members = dict(record["members"])
    except (ValueError, KeyError, TypeError):
        raise _refuse(path, "its integrity record is damaged", "retrain") from None
    changed = sorted(
        n for n in set(digests) | set(members) if digests.get(n) != members.get(n)
    )
    if changed:
        raise _refuse(
            path,
            f"the archive was edited after it was saved (members {changed[:5]} do "
            "not match its integrity record)",
            "retrain, or restore the file that was saved",
        )
    if card is not None and card.get("model_id") != record.get("model_id"):
        raise _refuse(
            path,
            f"its card names model {card.get('model_id')!r}, the archive "
            f"{record.get('model_id')!r}",
            "keep each model with the card saved with it",
        )
    signed = _check_signature(path, record, raw_key, trust)
    if signed:
        verified = "signature"
    elif card is not None:
        verified = "integrity record and card"
    else:
        verified = "integrity record only (card missing; trusted by the caller)"
    return {"verified": verified, "signed": signed, "model_id": record.get("model_id")}


def _check_signature(path, record: dict, raw_key, trust: bool) -> bool:
    """True when the record's signature was verified with the configured key."""
    if raw_key is None:
        return False
    signature = record.get("signature")
    if not signature:
        if trust:
            return False
        raise _refuse(
            path,
            f"a model signing key is configured ({MODEL_KEY_ENV} or "
            f"{MODEL_KEY_FILE_ENV}) but this model is not signed",
            "retrain with the key set, or pass --trust-unverified-model",
        )
    expected = hmac.new(raw_key, _canonical(record), "sha256").hexdigest()
    if not hmac.compare_digest(expected, str(signature)):
        raise _refuse(
            path,
            "its signature does not match the configured model key (signed with "
            f"key {record.get('key_id')!r}, configured key "
            f"{hashlib.sha256(raw_key).hexdigest()[:12]!r})",
            "use the key the model was signed with, or retrain",
        )
    return True


def load_model(path, *, trust_unverified=False, key=None) -> DenialRiskModel:
    """Load a model file written by :func:`save_model`, safely.

    Refuses (``ModelVersionError``) a folder or a file that is not a skops
    archive (e.g. a pickle), a file holding types outside the allow-list
    (ptdenial, scikit-learn, LightGBM, NumPy, builtins), a model without its
    card ``<path>.card.json`` or whose card is not the JSON object
    :func:`save_model` wrote, a file whose SHA-256 differs from its card's, an
    archive whose members differ from its integrity record, a model that is
    unsigned or signed with another key when a signing key is configured,
    and a model built for another schema version, feature set or major
    version of scikit-learn or LightGBM (the message names both versions).
    The threat model is in the module docstring and docs/security.md.

    Parameters
    ----------
    path : str or Path
    trust_unverified : bool
        Load a model whose origin cannot be verified (no card, no integrity
        record, unsigned while a key is configured). A model proven changed
        (hashes or signature that disagree) is refused all the same.
    key : str or bytes, optional
        Signing key; default ``$PTDENIAL_MODEL_KEY`` or the file named by
        ``$PTDENIAL_MODEL_KEY_FILE``.

    Returns
    -------
    DenialRiskModel
        With ``integrity_`` telling what was verified.
    """
    sio = _skops_io()
    path = Path(path)
    if not path.exists():
        raise ModelVersionError(f"{path}: model file not found.")
    if path.is_dir():
        raise ModelVersionError(
            f"{path}: is a folder; give the model file itself (e.g. model.skops)."
        )
    data = path.read_bytes()  # one read: what is checked is what is loaded
    card = _read_card(path, trust_unverified=True)  # None when missing
    _check_card(path, data, card, trust_unverified)
    try:
        untrusted = sio.get_untrusted_types(data=data)
    except (zipfile.BadZipFile, KeyError, ValueError, json.JSONDecodeError) as exc:
        raise ModelVersionError(
            f"{path}: refused: not a ptdenial model file (skops archive expected; "
            f"pickle files are never loaded): {type(exc).__name__}"
        ) from exc
    refused = sorted(set(untrusted) - set(_trusted(untrusted)))
    if refused:
        raise ModelVersionError(
            f"{path}: refused to load; the file holds types outside the allow-list: "
            f"{refused}. Only models written by ptdenial.save_model are loaded."
        )
    if card is None and not trust_unverified:
        raise _refuse(
            path, f"its model card {_card_path(path).name} is missing", _TRUST_FIX
        )
    integrity = _check_integrity(path, data, card, trust=trust_unverified, key=key)
    try:
        model = sio.loads(data, trusted=untrusted)
    except Exception as exc:  # skops raises many types on tampered content
        raise ModelVersionError(
            f"{path}: model file is damaged: {type(exc).__name__}"
        ) from exc
    if not isinstance(model, DenialRiskModel):
        raise ModelVersionError(
            f"{path}: holds a {type(model).__name__}, not a DenialRiskModel."
        )
    _check_versions(path, getattr(model, "card_", {}))
    if "model_id" in integrity and model.card_.get("model_id") != integrity["model_id"]:
        raise _refuse(
            path, "the model inside names another model id than its record", "retrain"
        )
    model.integrity_ = integrity
    return model


def _check_versions(path, card: dict) -> None:
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
    if card.get("model_id") in (None, "pending"):
        raise ModelVersionError(f"{path}: model card has no model id; re-save it.")

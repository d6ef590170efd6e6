"""Code sets the X12 flattener maps, and patient pseudonymization.

Claim filing indicator codes (837P SBR09, 835 CLP06) -> ``payer_class``
------------------------------------------------------------------------
==========================================  =======================
code (X12 element 1032)                      payer_class
==========================================  =======================
``MA`` Medicare Part A, ``MB`` Part B        ``medicare``
``16`` HMO Medicare Risk                     ``medicare_advantage``
``MC`` Medicaid                              ``medicaid``
``CI`` commercial, ``BL`` BCBS, ``HM`` HMO,  ``commercial``
``12`` PPO, ``13`` POS, ``14`` EPO,
``15`` indemnity, ``17`` DMO, ``FI`` FEP
``WC`` workers' compensation                 ``workers_comp``
``AM`` automobile medical                    ``auto``
``CH`` CHAMPUS / TRICARE                     ``tricare``
anything else (``09``, ``10``, ``11``,       ``other``
``DS``, ``LM``, ``OF``, ``TV``, ``VA``,
``ZZ``, empty)
==========================================  =======================

``HM`` is a commercial HMO; a Medicare Advantage HMO is billed with ``16``.
Plans that file MA claims under ``HM`` or ``CI`` can be corrected per payer
with the ``[payer_class]`` table of a mapping file (see :func:`read_mapping`).

Provider taxonomy (PRV03, NUCC code set) -> ``provider_credential``
--------------------------------------------------------------------
``2251...`` physical therapist -> ``PT``; ``2252...`` physical therapy
assistant -> ``PTA``; ``225X...`` occupational therapist -> ``OT``;
``224Z...`` occupational therapy assistant -> ``OTA``; ``111N...``
chiropractor -> ``DC``; ``20...`` allopathic and osteopathic physicians ->
``MD``; any other taxonomy -> ``other``; no PRV -> empty.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import warnings
from pathlib import Path

from ptdenial.exceptions import DataQualityWarning, InputFileError

__all__ = [
    "FILING_CODE_TO_PAYER_CLASS",
    "PAYER_CLASS_TO_FILING_CODE",
    "KEY_ENV",
    "payer_class_from_filing_code",
    "credential_from_taxonomy",
    "TAXONOMY_FOR_CREDENTIAL",
    "resolve_key",
    "pseudonymize_patient",
]

KEY_ENV = "PTDENIAL_PSEUDONYM_KEY"

FILING_CODE_TO_PAYER_CLASS = {
    "MA": "medicare",
    "MB": "medicare",
    "16": "medicare_advantage",
    "MC": "medicaid",
    "CI": "commercial",
    "BL": "commercial",
    "HM": "commercial",
    "12": "commercial",
    "13": "commercial",
    "14": "commercial",
    "15": "commercial",
    "17": "commercial",
    "FI": "commercial",
    "WC": "workers_comp",
    "AM": "auto",
    "CH": "tricare",
}
# What the fixture writer puts in SBR09 / CLP06 for each class.
PAYER_CLASS_TO_FILING_CODE = {
    "medicare": "MB",
    "medicare_advantage": "16",
    "medicaid": "MC",
    "commercial": "CI",
    "workers_comp": "WC",
    "auto": "AM",
    "tricare": "CH",
    "other": "ZZ",
}

_TAXONOMY_PREFIXES = (
    ("2251", "PT"),
    ("2252", "PTA"),
    ("225X", "OT"),
    ("224Z", "OTA"),
    ("111N", "DC"),
    ("20", "MD"),
)
# What the fixture writer puts in PRV03 for each credential.
TAXONOMY_FOR_CREDENTIAL = {
    "PT": "225100000X",
    "PTA": "225200000X",
    "OT": "225X00000X",
    "OTA": "224Z00000X",
    "DC": "111N00000X",
    "MD": "208100000X",
    "other": "174400000X",
}


def payer_class_from_filing_code(code) -> str:
    """Map a claim filing indicator code (SBR09 / CLP06) to ``payer_class``.

    Parameters
    ----------
    code : str or None

    Returns
    -------
    str
        One of the contract's payer classes (``other`` when unknown).

    Examples
    --------
    >>> from ptdenial.x12 import payer_class_from_filing_code
    >>> [payer_class_from_filing_code(c) for c in ("MB", "16", "HM", "XX", None)]
    ['medicare', 'medicare_advantage', 'commercial', 'other', 'other']
    """
    return FILING_CODE_TO_PAYER_CLASS.get((code or "").strip().upper(), "other")


def credential_from_taxonomy(code):
    """Map a NUCC provider taxonomy code to ``provider_credential``.

    Parameters
    ----------
    code : str or None

    Returns
    -------
    str or None
        ``PT``, ``PTA``, ``OT``, ``OTA``, ``DC``, ``MD``, ``other``; ``None``
        when no code is given.

    Examples
    --------
    >>> from ptdenial.x12 import credential_from_taxonomy
    >>> credential_from_taxonomy("225100000X"), credential_from_taxonomy("")
    ('PT', None)
    """
    code = (code or "").strip().upper()
    if not code:
        return None
    for prefix, cred in _TAXONOMY_PREFIXES:
        if code.startswith(prefix):
            return cred
    return "other"


def resolve_key(key=None, *, key_file=None) -> tuple[bytes, str]:
    """Find the pseudonymization key: argument, key file, environment, or none.

    Parameters
    ----------
    key : str or bytes, optional
        The key itself (wins over everything else).
    key_file : str or Path, optional
        A file whose content (stripped) is the key.

    Returns
    -------
    (bytes, str)
        The key and where it came from: ``parameter``, ``key_file``, ``env``
        or ``ephemeral``. Without any key a random one is drawn for this call
        and a :class:`~ptdenial.exceptions.DataQualityWarning` says that the
        pseudonyms will not match those of other runs.

    Examples
    --------
    >>> from ptdenial.x12 import resolve_key
    >>> resolve_key("s3cret")[1]
    'parameter'
    """
    if key is not None:
        raw = key.encode() if isinstance(key, str) else bytes(key)
        if not raw:
            raise ValueError("The pseudonymization key is empty; give a non-empty key.")
        return raw, "parameter"
    if key_file is not None:
        try:
            raw = Path(key_file).read_bytes().strip()
        except OSError as exc:
            raise InputFileError(
                f"{key_file}: cannot read the pseudonymization key file ({exc})."
            ) from exc
        if not raw:
            raise InputFileError(f"{key_file}: the pseudonymization key file is empty.")
        return raw, "key_file"
    env = os.environ.get(KEY_ENV, "")
    if env.strip():
        return env.strip().encode(), "env"
    warnings.warn(
        f"No pseudonymization key given (parameter, --key-file or {KEY_ENV}); "
        "using a random key for this run: patient_id values are consistent "
        "within this run only and will not match earlier or later ingests.",
        DataQualityWarning,
        stacklevel=3,
    )
    return secrets.token_bytes(32), "ephemeral"


def _norm(value) -> str:
    return " ".join(str(value or "").upper().split())


def pseudonymize_patient(member_id, last_name, first_name, *, key) -> str:
    """Keyed hash (HMAC-SHA256) of a patient's member id and name.

    The identifiers are upper-cased and their whitespace collapsed, then
    joined with ``|``; the pseudonym is ``"P"`` + the first 20 hex digits of
    the HMAC. Without the key nobody can recompute or reverse it.

    Parameters
    ----------
    member_id, last_name, first_name : str or None
    key : bytes or str

    Returns
    -------
    str

    Examples
    --------
    >>> from ptdenial.x12 import pseudonymize_patient
    >>> a = pseudonymize_patient("123A", "Doe", "Jane", key=b"k")
    >>> a == pseudonymize_patient(" 123a", "DOE", "jane ", key=b"k"), len(a)
    (True, 21)
    """
    k = key.encode() if isinstance(key, str) else key
    msg = "|".join(_norm(v) for v in (member_id, last_name, first_name)).encode()
    return "P" + hmac.new(k, msg, hashlib.sha256).hexdigest()[:20]

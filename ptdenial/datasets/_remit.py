"""Remittance codes (CARC/RARC) of paid and denied lines."""

from __future__ import annotations

import numpy as np

from ptdenial import schema as S
from ptdenial.datasets._arrays import _choice
from ptdenial.datasets._vocabulary import CAUSES

# CARC/RARC by dominant cause: (Medicare FFS variant, other payers variant)
_DENIAL_REMIT = {
    "GP_MISSING": ((("CO-4",), ("N519",)), None),
    "KX_MISSING": ((("CO-119",), ()), None),
    "MUE": ((("CO-151",), ("N640",)), None),
    "NCCI_PTP": ((("CO-97",), ("M80",)), (("CO-236",), ())),
    "TIMELY": ((("CO-29",), ()), None),
    "AUTH_ABSENT": ((("CO-197",), ()), None),
    "AUTH_EXCEEDED": ((("CO-198",), ("N640",)), None),
    "BENEFIT_LIMIT": ((("CO-119",), ("N640",)), None),
    "DX_MISSING": ((("CO-16",), ("M76",)), None),
    # The reference (s6.2) gives N280 as the example remark for a missing NPI.
    "REFERRING_NPI": ((("CO-16",), ("N280",)), None),
    "PER_CODE_MIDPOINT": ((("CO-151",), ()), None),
    "DUPLICATE": ((("OA-18",), ()), None),
    "PROVIDER_ELIG": ((("CO-B7",), ()), None),
    "DX_SUPPORT": ((("CO-50",), ("N115",)), (("CO-11",), ("N657",))),
    "CODE_CONTENT": ((("CO-50",), ("N657",)), None),
    "UNITS_TOTAL": ((("CO-151",), ()), None),
    "CERT_30D": ((("CO-50",), ()), None),
    "RECERT_90": ((("CO-50",), ()), None),
    "PROGRESS_10": ((("CO-B12",), ()), None),
    "CQ_MISSING": ((("CO-4",), ()), None),
    "medical_necessity": ((("CO-50",), ("N115",)), (("CO-50",), ())),
    "provider": ((("CO-B12",), ()), None),
    "payer_policy_change": ((("CO-50",), ()), None),  # auth kind: CO-197 (below)
}


#: Codes of a paid line, one bit each in :func:`_paid_bits`.
_PAID_NAMES = ("CO-45", "PR-1", "PR-2", "PR-3", "CO-253", "CO-151")


def _paid_bits(charge, allowed, ded, coins, copay, seq, partial) -> np.ndarray:
    """A bit mask over :data:`_PAID_NAMES` per line (for paid lines)."""
    return (
        (charge - allowed > 0.004) * 1
        + (ded > 0) * 2
        + (coins > 0) * 4
        + (copay > 0) * 8
        + (seq > 0) * 16
        + partial * 32
    )


def _denial_ids(rng, denied, cause_idx, is_mcr, policy_is_auth, noise_denials):
    """An id per denied line into the (CARC, RARC) variants it returns."""
    ids: dict[tuple, int] = {}
    deny_id = np.full(len(denied), -1, dtype=np.int64)
    for ci_, name in enumerate(CAUSES):
        here = denied & (cause_idx == ci_)
        if not here.any():
            continue
        if name == "noise":
            mix = [
                ((carc,), (rarc,) if rarc else ()) for carc, rarc, _ in noise_denials
            ]
            share = np.array([w for *_, w in noise_denials], float)
            pick = _choice(rng, share, int(here.sum()))
            deny_id[here] = np.array([ids.setdefault(v, len(ids)) for v in mix])[pick]
            continue
        mcr_v, other_v = _DENIAL_REMIT[name]
        other_v = other_v or mcr_v
        if name == "payer_policy_change":
            auth_v = (("CO-197",), ())
            deny_id[here & policy_is_auth] = ids.setdefault(auth_v, len(ids))
            deny_id[here & ~policy_is_auth] = ids.setdefault(mcr_v, len(ids))
            continue
        deny_id[here & is_mcr] = ids.setdefault(mcr_v, len(ids))
        deny_id[here & ~is_mcr] = ids.setdefault(other_v, len(ids))
    return deny_id, list(ids)


def _remit_codes(rng, denied, cause_idx, cls, paid_bits, policy_is_auth, noise_denials):
    """Adjustment and remark code tuples per line (looked up per combination).

    Paid lines get the codes of their ``paid_bits`` (:func:`_paid_bits`),
    denied lines those of their dominant cause (:data:`_DENIAL_REMIT`), the
    Medicare variant for Medicare FFS; "noise" denials draw one of
    ``noise_denials``.
    """
    is_mcr = cls == S.PAYER_CLASSES.index("medicare")
    deny_id, variants = _denial_ids(
        rng, denied, cause_idx, is_mcr, policy_is_auth, noise_denials
    )
    code = np.where(denied, 64 + deny_id, paid_bits)
    uniq, inv = np.unique(code, return_inverse=True)
    adj_u = np.empty(len(uniq), dtype=object)
    rem_u = np.empty(len(uniq), dtype=object)
    for i, c in enumerate(uniq):
        c = int(c)
        if c >= 64:
            adj_u[i], rem_u[i] = variants[c - 64]
        else:
            adj_u[i] = tuple(nm for j, nm in enumerate(_PAID_NAMES) if c >> j & 1)
            rem_u[i] = ("N640",) if c & 32 else ()
    return adj_u[inv], rem_u[inv]

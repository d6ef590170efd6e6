"""Parameters of a world, checked once."""

from __future__ import annotations

import dataclasses

import pandas as pd

from bench.worlds._catalog import C


@dataclasses.dataclass(frozen=True)
class PolicyChange:
    """From ``date`` on (by submission date), ``payer_id``'s lines gain
    ``log_odds`` of denial; only ``cpt_code`` lines when it is given."""

    payer_id: str
    date: pd.Timestamp
    log_odds: float
    cpt_code: str | None = None


@dataclasses.dataclass(frozen=True)
class PayerEdit:
    """``payer_id`` denies ``cpt_code`` billed on the same visit as ``with_code``
    unless the ``cpt_code`` line carries 59 or an X{EPSU} modifier."""

    payer_id: str
    cpt_code: str = "97112"
    with_code: str = "97530"
    log_odds: float = 2.5


@dataclasses.dataclass(frozen=True)
class WorldParams:
    """Every knob of :func:`bench.worlds.make_world` (see README.md)."""

    start: str = "2024-01-01"
    months: int = 24
    n_payers: int = 11
    n_clinics: int | None = None
    n_providers: int | None = None
    n_patients: int | None = None
    policy_change: object = None
    payer_edit: object = None
    late_docs: bool = True
    trend: float = 0.08
    noise: float = 0.35
    provider_sd: float = 0.30
    patient_sd: float = 0.35
    level: float = 0.0
    claim_correlation: float = 0.5
    stuck_share: float = 0.005
    denied_column: bool = False
    payer_name_column: bool = True

    def __post_init__(self):
        if self.months < 1:
            raise ValueError(f"months must be at least 1; got {self.months}")
        if not 0.0 <= self.claim_correlation <= 1.0:
            raise ValueError("claim_correlation must be in [0, 1]")
        pd.Timestamp(self.start)  # raises on a bad date

    @property
    def start_day(self) -> pd.Timestamp:
        return pd.Timestamp(self.start).normalize()

    @property
    def end_day(self) -> pd.Timestamp:
        """Last day of the world: the day the history was exported."""
        return self.start_day + pd.DateOffset(months=self.months) - pd.Timedelta(days=1)

    def policy_changes(self, payer_ids) -> list[PolicyChange]:
        raw = self.policy_change
        if raw is None:
            return []
        if isinstance(raw, PolicyChange) or (
            isinstance(raw, tuple) and raw and isinstance(raw[0], str)
        ):
            raw = [raw]
        out = []
        for item in raw:
            if not isinstance(item, PolicyChange):
                if len(item) not in (3, 4):
                    raise ValueError(
                        "policy_change items are (payer_id, date, log_odds"
                        f"[, cpt_code]); got {item!r}"
                    )
                item = PolicyChange(
                    str(item[0]),
                    pd.Timestamp(item[1]).normalize(),
                    float(item[2]),
                    None if len(item) == 3 else str(item[3]),
                )
            _known_payer(item.payer_id, payer_ids, "policy_change")
            out.append(item)
        return out

    def payer_edits(self, payer_ids) -> list[PayerEdit]:
        raw = self.payer_edit
        if raw is None:
            return []
        if isinstance(raw, PayerEdit) or (
            isinstance(raw, tuple) and raw and isinstance(raw[0], str)
        ):
            raw = [raw]
        out = []
        for item in raw:
            if not isinstance(item, PayerEdit):
                item = PayerEdit(*item)
            _known_payer(item.payer_id, payer_ids, "payer_edit")
            for code in (item.cpt_code, item.with_code):
                if code not in C:
                    raise ValueError(
                        f"payer_edit: code {code!r} is not billed in this world; "
                        f"use one of {sorted(C)}"
                    )
            out.append(item)
        return out


def _known_payer(payer_id, payer_ids, knob):
    if payer_id not in payer_ids:
        raise ValueError(
            f"{knob}: unknown payer_id {payer_id!r}; this world's payers are "
            f"{list(payer_ids)}"
        )

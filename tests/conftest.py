"""Shared fixtures: a tiny hand-written claim table in the contract."""

from __future__ import annotations

import pandas as pd
import pytest

ROOT = __import__("pathlib").Path(__file__).resolve().parents[1]


def tiny_raw() -> pd.DataFrame:
    """Five hand-written lines of one Medicare visit and one commercial visit."""
    return pd.DataFrame(
        {
            "claim_id": ["C1", "C1", "C1", "C2", "C2"],
            "line_number": ["1", "2", "3", "1", "2"],
            "patient_id": ["P1", "P1", "P1", "P2", "P2"],
            "payer_id": ["MCR-J15", "MCR-J15", "MCR-J15", "BCBS01", "BCBS01"],
            "payer_class": ["medicare", "medicare", "medicare", "commercial",
                            "commercial"],
            "date_of_service": ["2025-03-03"] * 3 + ["2025-03-04"] * 2,
            "cpt_code": ["97112", "97110", "97140", "97112", "97530"],
            "units": ["2", "1", "1", "3", "1"],
            "charge_amount": ["80.00", "60.00", "55.00", "120.00", "65.00"],
            "diagnosis_codes": ["R26.81", "R26.81|M62.81", "R2681", "S93.401A",
                                "S93.401A"],
            "rendering_provider_id": ["1111111111"] * 3 + ["2222222222"] * 2,
            "modifiers": ["GP", "GP,KX", "GP 59", "", None],
            "minutes": ["30", "10", "8", "40", "10"],
            "submission_date": ["2025-03-05"] * 3 + ["2025-03-06"] * 2,
        }
    )


@pytest.fixture
def tiny_claims() -> pd.DataFrame:
    return tiny_raw()

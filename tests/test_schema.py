import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import tiny_raw
from ptdenial import schema as S
from ptdenial.exceptions import ClaimsSchemaError
from ptdenial.schema import (
    Check,
    check_required_columns,
    derive_outcomes,
    normalize_icd10,
    parse_list_column,
    validate_claims,
)

RUN = "2025-06-30"


def test_tiny_table_validates_with_canonical_dtypes(tiny_claims):
    valid, quarantine = validate_claims(tiny_claims, run_date=RUN)
    assert len(quarantine) == 0
    assert len(valid) == len(tiny_claims)
    assert valid[S.UNITS].dtype == "Int64"
    assert valid[S.CHARGE_AMOUNT].dtype == "float64"
    assert valid[S.DATE_OF_SERVICE].dtype == "datetime64[ns]"
    assert isinstance(valid[S.PAYER_CLASS].dtype, pd.CategoricalDtype)
    assert valid[S.MODIFIERS].tolist() == [("GP",), ("GP", "KX"), ("GP", "59"), (), ()]
    assert valid[S.DIAGNOSIS_CODES].iloc[1] == ("R26.81", "M62.81")
    assert valid[S.DIAGNOSIS_CODES].iloc[2] == ("R26.81",)
    assert valid.index.equals(tiny_claims.index)


def test_missing_required_columns_one_error_names_all(tiny_claims):
    raw = tiny_claims.drop(columns=[S.UNITS, S.PAYER_CLASS])
    with pytest.raises(ClaimsSchemaError) as info:
        validate_claims(raw, source="claims.csv")
    msg = str(info.value)
    assert "claims.csv" in msg and "units" in msg and "payer_class" in msg
    assert info.value.missing == [S.PAYER_CLASS, S.UNITS]


def test_check_required_columns_passes_when_complete(tiny_claims):
    check_required_columns(tiny_claims.columns)


@pytest.mark.parametrize(
    ("column", "value", "check"),
    [
        (S.UNITS, "two", Check.TYPE),
        (S.UNITS, "0", Check.UNITS_RANGE),
        (S.UNITS, "150", Check.UNITS_RANGE),
        (S.UNITS, "1.5", Check.TYPE),
        (S.CHARGE_AMOUNT, "-5", Check.NON_NEGATIVE),
        (S.CHARGE_AMOUNT, "abc", Check.TYPE),
        (S.DATE_OF_SERVICE, "2025-13-45", Check.TYPE),
        (S.DATE_OF_SERVICE, "1999-12-31", Check.DATE_BEFORE_2000),
        (S.DATE_OF_SERVICE, "2025-07-01", Check.DATE_AFTER_RUN),
        (S.SUBMISSION_DATE, "2025-03-01", Check.SUBMISSION_BEFORE_SERVICE),
        (S.CPT_CODE, "9711", Check.CPT_FORMAT),
        (S.CPT_CODE, "97112X", Check.CPT_FORMAT),
        (S.DIAGNOSIS_CODES, "R26.81,XYZ", Check.ICD10_FORMAT),
        (S.MODIFIERS, "GPX", Check.MODIFIER_FORMAT),
        (S.PAYER_CLASS, "blue_cross", Check.VOCABULARY),
        (S.PATIENT_ID, "  ", Check.NOT_NULL),
        (S.LINE_NUMBER, None, Check.NOT_NULL),
    ],
)
def test_each_check_quarantines_one_row(tiny_claims, column, value, check):
    raw = tiny_claims.copy()
    raw.loc[0, column] = value
    valid, quarantine = validate_claims(raw, run_date=RUN, source="x.csv")
    assert len(valid) == 4 and len(quarantine) == 1
    row = quarantine.iloc[0]
    assert row[S.SOURCE_ROW] == 0
    assert row["claim_id"] == "C1"
    assert check.value in set(row["check"].split(";")) or row["check"] == check.value
    assert row["column"] == column
    assert row["source"] == "x.csv"
    assert row["reason"]


def test_cert_through_date_may_lie_ahead(tiny_claims):
    raw = tiny_claims.assign(cert_through_date="2025-09-30")
    valid, quarantine = validate_claims(raw, run_date=RUN)
    assert len(quarantine) == 0


def test_hcpcs_code_is_valid(tiny_claims):
    raw = tiny_claims.copy()
    raw.loc[1, S.CPT_CODE] = "g0283"
    valid, _ = validate_claims(raw, run_date=RUN)
    assert valid.loc[1, S.CPT_CODE] == "G0283"


def test_duplicate_keys_quarantine_every_copy(tiny_claims):
    raw = pd.concat([tiny_claims, tiny_claims.iloc[[0]]], ignore_index=True)
    valid, quarantine = validate_claims(raw, run_date=RUN)
    assert len(valid) == 4
    assert sorted(quarantine[S.SOURCE_ROW]) == [0, 5]
    assert set(quarantine["check"]) == {Check.DUPLICATE_KEY.value}


def test_quarantine_keeps_raw_row_and_counts_failures(tiny_claims):
    raw = tiny_claims.copy()
    raw.loc[2, S.UNITS] = "x"
    raw.loc[2, S.CHARGE_AMOUNT] = "-1"
    _, quarantine = validate_claims(raw, run_date=RUN)
    row = quarantine.iloc[0]
    assert row[S.Q_N_FAILURES] == 2
    assert row[S.UNITS] == "x" and row[S.CHARGE_AMOUNT] == "-1"
    assert "units" in row["reason"] and "charge_amount" in row["reason"]


def test_first_row_offsets_source_rows(tiny_claims):
    raw = tiny_claims.copy()
    raw.loc[3, S.UNITS] = "0"
    _, quarantine = validate_claims(raw, run_date=RUN, first_row=1000)
    assert quarantine[S.SOURCE_ROW].tolist() == [1003]


def test_parquet_types_validate(tiny_claims):
    valid, _ = validate_claims(tiny_claims, run_date=RUN)
    again, quarantine = validate_claims(valid, run_date=RUN)
    assert len(quarantine) == 0
    pd.testing.assert_frame_equal(valid, again)


def test_list_columns_accept_arrays_and_delimiters():
    s = pd.Series([np.array(["gp", "kx"]), "GP;KX", "GP | KX", ["GP", None], None])
    assert parse_list_column(s).tolist() == [
        ("GP", "KX"),
        ("GP", "KX"),
        ("GP", "KX"),
        ("GP",),
        (),
    ]


def test_unknown_columns_pass_through(tiny_claims):
    raw = tiny_claims.assign(practice_note="x")
    valid, _ = validate_claims(raw, run_date=RUN)
    assert (valid["practice_note"] == "x").all()


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("R26.81", "R26.81"),
        ("r2681", "R26.81"),
        ("R42", "R42"),
        ("S93.401A", "S93.401A"),
        ("U07.1", None),
        ("1234", None),
        ("R26.81234", None),
    ],
)
def test_normalize_icd10(code, expected):
    assert normalize_icd10(code) == expected


def _outcome_frame(**cols):
    return pd.DataFrame(cols)


def test_derive_outcomes_rules():
    df = _outcome_frame(
        adjudication_date=pd.to_datetime(["2025-01-10"] * 6 + [None]),
        allowed_amount=[0.0, 40.0, 0.0, 40.0, 30.0, 0.0, np.nan],
        paid_amount=[0.0, 0.0, 0.0, 30.0, 25.0, 0.0, np.nan],
        adjustment_codes=[
            ("CO-119",),
            ("PR-1",),
            ("CO-45",),
            ("CO-45", "PR-2"),
            ("CO-151",),
            ("PR-1", "CO-50"),
            (),
        ],
    )
    out = derive_outcomes(df)
    assert out[S.DENIED].tolist()[:6] == [True, False, False, False, False, True]
    assert out[S.PARTIALLY_DENIED].tolist()[:6] == [
        False,
        False,
        False,
        False,
        True,
        False,
    ]
    assert out[S.PENDING].tolist() == [False] * 6 + [True]
    assert out[S.DENIED].isna().iloc[6]


def test_derive_outcomes_respects_given_denied():
    df = _outcome_frame(
        adjudication_date=pd.to_datetime(["2025-01-10", "2025-01-10"]),
        paid_amount=[0.0, 0.0],
        adjustment_codes=[("CO-50",), ("CO-50",)],
        denied=pd.array([False, pd.NA], dtype="boolean"),
    )
    out = derive_outcomes(df)
    assert out[S.DENIED].tolist() == [False, True]


def test_derive_outcomes_uses_reference_sets():
    from ptdenial.reference import load_reference

    ref = load_reference()
    carc = ref.carc.copy()
    carc.loc[(carc["kind"] == "CARC") & (carc["code"] == "45"), "is_denial"] = True
    custom = load_reference({"carc": carc})
    df = _outcome_frame(
        adjudication_date=pd.to_datetime(["2025-01-10"]),
        paid_amount=[0.0],
        allowed_amount=[0.0],
        adjustment_codes=[("CO-45",)],
    )
    assert not derive_outcomes(df)[S.DENIED].iloc[0]
    assert derive_outcomes(df, reference=custom)[S.DENIED].iloc[0]


# --- property: no row is ever lost -----------------------------------------------
_cell = st.one_of(
    st.none(),
    st.text(max_size=6),
    st.sampled_from(["1", "0", "-3", "97112", "x", "2025-01-01", "R26.81", "GP"]),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), n=st.integers(min_value=0, max_value=12))
def test_every_row_is_valid_or_quarantined(data, n):
    base = pd.concat([tiny_raw()] * 3, ignore_index=True).head(n).copy()
    for col in base.columns:
        base[col] = [data.draw(st.one_of(st.just(v), _cell)) for v in base[col]]
    valid, quarantine = validate_claims(base, run_date=RUN)
    assert len(valid) + len(quarantine) == len(base)
    assert set(valid.index).isdisjoint(set(quarantine[S.SOURCE_ROW]))
    assert sorted(list(valid.index) + list(quarantine[S.SOURCE_ROW])) == list(
        range(len(base))
    )


# --- Arrow shortcuts give what the general (object) path gives -------------------
def _messy_raw() -> pd.DataFrame:
    """tiny_raw with the values the coercions and checks must tell apart."""
    raw = pd.concat([tiny_raw()] * 4, ignore_index=True)
    raw[S.LINE_NUMBER] = [str(i + 1) for i in range(len(raw))]
    raw.loc[0, S.UNITS] = " 3 "
    raw.loc[1, S.UNITS] = "1.5"
    raw.loc[2, S.UNITS] = None
    raw.loc[3, S.CHARGE_AMOUNT] = "$1,234.50"
    raw.loc[4, S.CHARGE_AMOUNT] = "-2"
    raw.loc[5, S.DATE_OF_SERVICE] = "2025-13-45"
    raw.loc[6, S.DATE_OF_SERVICE] = "  "
    raw.loc[7, S.DATE_OF_SERVICE] = " 2025-03-03 "
    raw.loc[8, S.PATIENT_ID] = " \t"
    raw.loc[9, S.CPT_CODE] = " g0283 "
    raw.loc[10, S.CPT_CODE] = "9711"
    raw.loc[11, S.PAYER_CLASS] = "Medicare Advantage"
    raw.loc[12, S.PAYER_CLASS] = "blue cross"
    raw.loc[13, S.DIAGNOSIS_CODES] = "r2681 ; XYZ"
    raw.loc[14, S.MODIFIERS] = "gp,,kx"
    raw.loc[15, S.MINUTES] = "-1"
    raw.loc[16, S.SUBMISSION_DATE] = "2025-01-01"
    raw.loc[17, S.CLAIM_ID] = None
    raw.loc[18, [S.CLAIM_ID, S.LINE_NUMBER]] = ["C1", "1"]  # duplicate key
    raw[S.OBJECTIVE_MEASURES_DOCUMENTED] = ["yes", " No ", "maybe", None] * 5
    raw[S.ADJUSTMENT_CODES] = ["CO-45|PR2", "co45", "??", None, ""] * 4
    return raw


def _assert_same_result(a, b):
    pd.testing.assert_frame_equal(a.valid, b.valid)
    pd.testing.assert_frame_equal(a.quarantine, b.quarantine)


def test_arrow_text_validates_like_object_columns():
    raw = _messy_raw()
    assert isinstance(raw[S.UNITS].array, pd.arrays.ArrowStringArray)
    arrow = validate_claims(raw, run_date=RUN, source="x.csv")
    general = validate_claims(raw.astype(object), run_date=RUN, source="x.csv")
    _assert_same_result(arrow, general)
    assert 0 < len(arrow.quarantine) < len(raw)
    assert arrow.valid[S.UNITS].dtype == "Int64"
    assert arrow.valid[S.CLAIM_ID].dtype == "string"


def test_chunked_arrow_columns_validate_like_one_chunk():
    import pyarrow as pa

    raw = _messy_raw()
    table = pa.Table.from_pandas(raw, preserve_index=False)
    chunked = pa.concat_tables([table.slice(0, 7), table.slice(7, 1), table.slice(8)])
    again = chunked.to_pandas()
    assert again[S.UNITS].array.__arrow_array__().num_chunks == 3
    _assert_same_result(
        validate_claims(raw, run_date=RUN), validate_claims(again, run_date=RUN)
    )


def test_categorical_input_validates_like_text():
    raw = _messy_raw()
    typed = raw.assign(
        **{S.PAYER_CLASS: raw[S.PAYER_CLASS].astype("category")},
        provider_credential=pd.Categorical(["PT", "pta", None, "XX"] * 5),
    )
    text = typed.assign(provider_credential=typed[S.PROVIDER_CREDENTIAL].astype(object))
    _assert_same_result(
        validate_claims(typed, run_date=RUN), validate_claims(text, run_date=RUN)
    )


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), n=st.integers(min_value=0, max_value=10))
def test_arrow_and_object_paths_agree(data, n):
    base = pd.concat([tiny_raw()] * 2, ignore_index=True).head(n).copy()
    for col in base.columns:
        base[col] = [data.draw(st.one_of(st.just(v), _cell)) for v in base[col]]
    _assert_same_result(
        validate_claims(base, run_date=RUN),
        validate_claims(base.astype(object), run_date=RUN),
    )


# --- declared value checks -----------------------------------------------------
def test_value_checks_are_declared_for_contract_columns():
    coercion_checks = {Check.TYPE, Check.NOT_NULL, Check.VOCABULARY}
    declared = {vc.check for vc in S.VALUE_CHECKS}
    assert set(Check) - coercion_checks <= declared
    for vc in S.VALUE_CHECKS:
        assert vc.column in S.COLUMNS, vc
        assert vc.shows in {"value", "raw"}
        assert vc.reason.strip()


def test_value_failures_on_a_canonical_frame_match_validation():
    raw = tiny_raw()
    raw.loc[0, S.UNITS] = "0"
    raw.loc[1, S.DIAGNOSIS_CODES] = "R26.81|XYZ"
    raw.loc[2, S.SUBMISSION_DATE] = "2025-03-01"
    raw.loc[3, S.MINUTES] = "-4"
    result = validate_claims(raw, run_date=RUN)
    canon = validate_claims(tiny_raw(), run_date=RUN).valid.copy()
    canon.loc[0, S.UNITS] = 0
    canon.at[1, S.DIAGNOSIS_CODES] = ("R26.81", "XYZ")
    canon.loc[2, S.SUBMISSION_DATE] = pd.Timestamp("2025-03-01")
    canon.loc[3, S.MINUTES] = -4
    found = {
        (int(np.flatnonzero(f.mask)[0]), f.column, str(f.check), f.message)
        for f in S.value_failures(canon, run_date=RUN)
    }
    q = result.quarantine
    expected = set(
        zip(q[S.SOURCE_ROW], q[S.Q_COLUMN], q[S.Q_CHECK], q[S.Q_REASON], strict=True)
    )
    assert found == expected
    assert len(found) == 4


def test_value_failures_skip_absent_columns_and_use_run_parameters():
    frame = pd.DataFrame(
        {
            S.UNITS: pd.array([5, 2], dtype="Int64"),
            S.DATE_OF_SERVICE: pd.to_datetime(["2025-01-02", "2025-02-03"]),
        }
    )
    failures = list(S.value_failures(frame, run_date="2025-01-31", max_units=4))
    assert [(f.column, f.check) for f in failures] == [
        (S.UNITS, Check.UNITS_RANGE),
        (S.DATE_OF_SERVICE, Check.DATE_AFTER_RUN),
    ]
    assert failures[0].mask.tolist() == [True, False]
    assert failures[0].message == "units must be between 1 and 4"
    assert failures[1].mask.tolist() == [False, True]
    assert failures[1].message.endswith("after the run date 2025-01-31")

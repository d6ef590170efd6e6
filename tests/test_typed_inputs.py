"""Typed inputs validate exactly as their text does (issue #16), dates never wrap (#15).

The same claim lines are written as a warehouse would type them (date32,
date64, naive and zoned timestamps, dictionary and large strings, int8-int64
with nulls, decimal128, booleans as bool, 0/1 or Y/N, list<string>) and as
the text a CSV export holds; validation must keep the same rows, quarantine
the same rows with the same checks and values, and give the same canonical
frame.
"""

import datetime as dt
import decimal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import tiny_raw
from ptdenial import schema as S
from ptdenial.io import read_claims
from ptdenial.schema import arrow_to_raw, validate_claims

RUN = "2025-06-30"
KEYS = [S.SOURCE_ROW, S.CLAIM_ID, S.LINE_NUMBER, S.Q_COLUMN, S.Q_CHECK, S.Q_VALUE,
        S.Q_REASON, S.Q_N_FAILURES]  # fmt: skip

# --- values a column may hold, as Python objects ------------------------------------
_days = st.one_of(
    st.dates(dt.date(2023, 1, 1), dt.date(2026, 2, 1)),
    st.sampled_from(
        [
            dt.date(1600, 1, 1),
            dt.date(1999, 12, 31),
            dt.date(9999, 12, 31),
            dt.date(1677, 9, 21),
            dt.date(1677, 9, 22),
            dt.date(2262, 4, 11),
            dt.date(2262, 4, 12),
        ]
    ),  # fmt: skip
)
_times = st.builds(
    dt.datetime.combine,
    _days,
    st.times(dt.time(0, 0), dt.time(23, 59, 59)).map(
        lambda t: t.replace(microsecond=0)
    ),
)
_cents = st.one_of(
    st.integers(-500_00, 2_000_00), st.integers(-(10**13), 10**13), st.just(0)
)
_codes = st.lists(st.sampled_from(["GP", "KX", "59", "GPX", "xs", "CQ"]), max_size=3)


def _maybe(strategy):
    return st.one_of(st.none(), strategy, strategy, strategy)


@st.composite
def _lines(draw, n):
    """``n`` claim lines as Python values (None = missing)."""
    base = tiny_raw()
    rows = []
    for i in range(n):
        b = base.iloc[i % len(base)]
        rows.append({
            S.CLAIM_ID: draw(st.sampled_from([b[S.CLAIM_ID], f" C{i} ", "C1"])),
            S.LINE_NUMBER: draw(_maybe(st.integers(-3, 120))),
            S.PATIENT_ID: draw(st.sampled_from(["P1", " P2", "", "  "])),
            S.PAYER_ID: b[S.PAYER_ID],
            S.PAYER_CLASS: draw(st.sampled_from(
                ["medicare", "Medicare Advantage", "blue cross", "commercial"])),
            S.DATE_OF_SERVICE: draw(_maybe(_days)),
            S.CPT_CODE: draw(st.sampled_from(["97112", " g0283 ", "9711", "97110"])),
            S.UNITS: draw(_maybe(st.integers(-2, 127))),
            S.CHARGE_AMOUNT: draw(_maybe(_cents)),
            S.DIAGNOSIS_CODES: b[S.DIAGNOSIS_CODES],
            S.RENDERING_PROVIDER_ID: draw(st.sampled_from([1111111111, 2222222222])),
            S.MODIFIERS: draw(_maybe(_codes)),
            S.SUBMISSION_DATE: draw(_maybe(_times)),
            S.NOTE_SIGNED_DATE: draw(_maybe(_times)),
            S.CERT_THROUGH_DATE: draw(_maybe(_days)),
            S.OBJECTIVE_MEASURES_DOCUMENTED: draw(_maybe(st.booleans())),
            S.VISIT_NUMBER: draw(_maybe(st.integers(-1, 40))),
        })  # fmt: skip
    return rows


# --- the same lines, typed and as text ---------------------------------------------
_INT_TYPES = [pa.int8(), pa.int16(), pa.int32(), pa.int64()]


def _column(values, typ):
    return pa.array(values, type=typ, from_pandas=True)


def _timestamps(values, unit, tz):
    """Wall-clock datetimes as Arrow timestamps (zoned: the same wall-clock time)."""
    if tz is None:
        return pa.array(values, type=pa.timestamp(unit))
    idx = pd.DatetimeIndex([pd.NaT if v is None else pd.Timestamp(v) for v in values])
    # a year Arrow can hold but pandas cannot: keep it naive-equivalent via UTC
    try:
        zoned = idx.as_unit("us").tz_localize(tz, nonexistent="shift_forward",
                                              ambiguous=False)  # fmt: skip
    except (pd.errors.OutOfBoundsDatetime, OverflowError, ValueError,
            NotImplementedError):  # fmt: skip
        zoned = idx.as_unit("us").tz_localize("UTC")
        tz = "UTC"
    return pa.array(zoned, type=pa.timestamp("us", tz=tz))


def _text_of_timestamps(arr) -> list:
    """What str() of each typed value reads (a text export writes the same)."""
    out = []
    for v in arr.to_pylist():
        if v is None:
            out.append(None)
        elif isinstance(v, dt.datetime) and v.tzinfo is not None:
            out.append(v.isoformat(sep=" "))
        else:
            out.append(str(v))
    return out


def _typed_and_text(rows, style):
    """Two Arrow tables: warehouse-typed and text, holding the same values."""
    col = {k: [r[k] for r in rows] for k in rows[0]}
    typed, text = {}, {}
    for name, values in col.items():
        if name in (S.DATE_OF_SERVICE, S.CERT_THROUGH_DATE):
            typ = pa.date32() if style["dates"] != "date64" else pa.date64()
            typed[name] = _column(values, typ)
            text[name] = [None if v is None else v.isoformat() for v in values]
        elif name in (S.SUBMISSION_DATE, S.NOTE_SIGNED_DATE):
            tz = style["tz"] if name == S.NOTE_SIGNED_DATE else None
            typed[name] = _timestamps(values, style["unit"], tz)
            text[name] = _text_of_timestamps(typed[name])
        elif name == S.CHARGE_AMOUNT:
            decs = [
                None if v is None else decimal.Decimal(v).scaleb(-2) for v in values
            ]
            typed[name] = _column(decs, pa.decimal128(16, 2))
            text[name] = [None if v is None else str(v) for v in decs]
        elif name in (S.LINE_NUMBER, S.UNITS, S.VISIT_NUMBER):
            typed[name] = _column(values, style["ints"])
            text[name] = [None if v is None else str(v) for v in values]
        elif name == S.RENDERING_PROVIDER_ID:
            typed[name] = _column(values, pa.int64())
            text[name] = [str(v) for v in values]
        elif name == S.MODIFIERS:
            typed[name] = _column(values, pa.list_(pa.string()))
            text[name] = [None if v is None else ";".join(v) for v in values]
        elif name == S.OBJECTIVE_MEASURES_DOCUMENTED:
            typed[name], text[name] = _bools(values, style["bools"])
        else:
            arr = _column(values, pa.string())
            typed[name] = (
                arr.dictionary_encode()
                if style["dict"]
                else arr.cast(pa.large_string())
            )
            text[name] = values
    text_table = pa.table({k: pa.array(v, type=pa.string()) for k, v in text.items()})
    return pa.table(typed), text_table


def _bools(values, style):
    mask = [v is None for v in values]
    vals = [bool(v) for v in values]
    if style == "bool":
        typed = pa.array(vals, mask=np.array(mask))
        words = ["true" if v else "false" for v in vals]
    elif style == "01":
        typed = pa.array([int(v) for v in vals], type=pa.int8(), mask=np.array(mask))
        words = ["1" if v else "0" for v in vals]
    else:
        words = ["Y" if v else "N" for v in vals]
        typed = pa.array(words, type=pa.string(), mask=np.array(mask))
        typed = typed.dictionary_encode()
    return typed, [None if m else w for m, w in zip(mask, words, strict=True)]


_styles = st.fixed_dictionaries({
    "dates": st.sampled_from(["date32", "date64"]),
    "unit": st.sampled_from(["s", "ms", "us"]),
    "tz": st.sampled_from([None, "UTC", "America/Chicago", "Asia/Kolkata"]),
    "ints": st.sampled_from(_INT_TYPES),
    "bools": st.sampled_from(["bool", "01", "yn"]),
    "dict": st.booleans(),
})  # fmt: skip


def _assert_same(typed, text, keys=KEYS):
    pd.testing.assert_frame_equal(typed.valid, text.valid)
    pd.testing.assert_frame_equal(
        typed.quarantine[keys].reset_index(drop=True),
        text.quarantine[keys].reset_index(drop=True),
    )


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), n=st.integers(1, 9), style=_styles)
def test_typed_and_text_inputs_validate_the_same(data, n, style):
    rows = data.draw(_lines(n))
    typed, text = _typed_and_text(rows, style)
    a = validate_claims(arrow_to_raw(typed), run_date=RUN, source="x")
    b = validate_claims(arrow_to_raw(text), run_date=RUN, source="x")
    _assert_same(a, b)
    # pandas' own conversion (Python date, Decimal and bool objects; integers
    # with a missing value as floats, so shown as "3.0") agrees too
    c = validate_claims(typed.to_pandas(), run_date=RUN, source="x")
    _assert_same(c, b, keys=[k for k in KEYS if k not in (S.LINE_NUMBER, S.Q_VALUE)])


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), n=st.integers(1, 9), style=_styles)
def test_typed_parquet_and_csv_files_validate_the_same(data, n, style):
    import tempfile
    from pathlib import Path

    import pyarrow.parquet as pq

    rows = data.draw(_lines(n))
    typed, text = _typed_and_text(rows, style)
    with tempfile.TemporaryDirectory() as tmp:
        pq.write_table(typed, Path(tmp) / "typed.parquet")
        pacsv.write_csv(text, Path(tmp) / "text.csv")
        a = read_claims(Path(tmp) / "typed.parquet")
        b = read_claims(Path(tmp) / "text.csv")
    _assert_same(
        validate_claims(a, run_date=RUN, source="x"),
        validate_claims(b, run_date=RUN, source="x"),
    )


# --- dates outside datetime64[ns] (issue #15, item 5 and 12) -----------------------
@pytest.mark.parametrize(
    ("value", "column", "check"),
    [
        ("1600-01-01", S.CERT_THROUGH_DATE, "date_before_2000"),
        ("9999-12-31", S.CERT_THROUGH_DATE, "type"),
        ("1600-01-01", S.DATE_OF_SERVICE, "date_before_2000"),
        ("9999-12-31", S.DATE_OF_SERVICE, "date_after_run_date"),
        ("2262-04-12", S.SUBMISSION_DATE, "date_after_run_date"),
        ("1677-09-21", S.EPISODE_START_DATE, "date_before_2000"),
    ],
)
@pytest.mark.parametrize("typing", ["text", "date32", "timestamp_us", "object"])
def test_dates_outside_pandas_range_are_quarantined_as_given(value, column, check,
                                                              typing):  # fmt: skip
    raw = tiny_raw()
    before = raw[column] if column in raw else pd.Series([None] * len(raw))
    col = [None if v is None else dt.date.fromisoformat(v) for v in before]
    col[1] = dt.date.fromisoformat(value)
    if typing == "text":
        raw[column] = [None if d is None else d.isoformat() for d in col]
    elif typing == "date32":
        raw[column] = pd.Series(pd.arrays.ArrowExtensionArray(pa.array(col)))
    elif typing == "timestamp_us":
        stamps = pa.array(
            [None if d is None else dt.datetime.combine(d, dt.time()) for d in col],
            type=pa.timestamp("us"),
        )
        raw[column] = stamps.to_pandas()
    else:
        raw[column] = pd.Series(col, dtype=object)
    valid, q = validate_claims(raw, run_date=RUN)
    assert len(valid) == len(raw) - 1
    assert q[S.SOURCE_ROW].tolist() == [1]
    assert (q[S.Q_COLUMN].iloc[0], q[S.Q_CHECK].iloc[0]) == (column, check)
    assert q[S.Q_VALUE].iloc[0].startswith(value)
    assert q[column].iloc[0].startswith(value)
    stored = valid[column].dropna()
    assert stored.between("2000-01-01", "2262-04-11").all()


def test_mixed_time_zones_keep_each_values_wall_clock_day():
    raw = tiny_raw()
    raw[S.NOTE_SIGNED_DATE] = [
        "2025-03-03T23:30:00-06:00",
        "2025-03-04T04:30:00+00:00",
        "2025-03-03 08:00:00+05:30",
        "2025-03-03T10:00:00Z",
        None,
    ]
    valid, q = validate_claims(raw, run_date=RUN)
    assert len(q) == 0
    assert valid[S.NOTE_SIGNED_DATE].dt.strftime("%Y-%m-%d").tolist()[:4] == [
        "2025-03-03", "2025-03-04", "2025-03-03", "2025-03-03"]  # fmt: skip
    objects = raw.assign(**{S.NOTE_SIGNED_DATE: [
        pd.Timestamp("2025-03-03 23:30", tz="America/Chicago"),
        pd.Timestamp("2025-03-04 04:30", tz="UTC"), None, None, None]})  # fmt: skip
    valid, q = validate_claims(objects, run_date=RUN)
    assert len(q) == 0
    assert valid[S.NOTE_SIGNED_DATE].dt.day.tolist()[:2] == [3, 4]


def test_unreadable_dates_among_zoned_ones_are_quarantined():
    raw = tiny_raw()
    raw[S.NOTE_SIGNED_DATE] = [
        "2025-03-03T23:30:00-06:00", "2025-03-04T04:30:00+00:00", "not a date",
        "2025-02-30", None]  # fmt: skip
    valid, q = validate_claims(raw, run_date=RUN)
    assert q[S.SOURCE_ROW].tolist() == [2, 3]
    assert set(q[S.Q_CHECK]) == {"type"}
    assert q[S.Q_VALUE].tolist() == ["not a date", "2025-02-30"]


# --- column types no kind reads (issue #15, item 12) --------------------------------
def _parquet_with(tmp_path, name, column):
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(tiny_raw(), preserve_index=False)
    i = table.schema.get_field_index(name)
    path = tmp_path / f"{name}.parquet"
    pq.write_table(table.set_column(i, name, column), path)
    return path


def test_uint64_integers_validate_as_their_values(tmp_path):
    raw = tiny_raw()
    units = [None if pd.isna(v) else int(float(v)) for v in raw[S.UNITS]]
    path = _parquet_with(tmp_path, S.UNITS, pa.array(units, pa.uint64()))
    typed = validate_claims(read_claims(path), run_date=RUN)
    text = validate_claims(raw, run_date=RUN)
    assert typed.valid[S.UNITS].tolist() == text.valid[S.UNITS].tolist()
    assert typed.quarantine[S.SOURCE_ROW].tolist() == text.quarantine[
        S.SOURCE_ROW
    ].tolist()


@pytest.mark.parametrize(
    ("name", "column"),
    [
        (S.PATIENT_ID, pa.array([{"id": 1}] * 5)),
        (S.PAYER_ID, pa.array([{"k": "v"}] * 5, pa.map_(pa.string(), pa.string()))),
        (S.UNITS, pa.array([[1]] * 5)),
        (S.DIAGNOSIS_CODES, pa.array([[["M62.81"]]] * 5)),
    ],
    ids=["struct", "map", "list-in-scalar", "list-of-lists"],
)
def test_nested_columns_are_refused_naming_file_and_column(
    tmp_path, name, column, sample_model_file
):
    from ptdenial.exceptions import InputFileError
    from ptdenial.model import load_model
    from ptdenial.scoring import score_file

    path = _parquet_with(tmp_path, name, column)
    with pytest.raises(InputFileError, match=rf"{name}\.parquet: column '{name}'"):
        read_claims(path)
    with pytest.raises(InputFileError, match=f"column '{name}' holds nested"):
        score_file(load_model(sample_model_file), path, tmp_path / "o" / "s.parquet",
                   as_of="2026-01-01")  # fmt: skip
    assert not (tmp_path / "o").exists() or not list((tmp_path / "o").iterdir())


def test_a_list_of_codes_is_not_refused(tmp_path):
    path = _parquet_with(tmp_path, S.MODIFIERS, pa.array([["GP", "KX"], None, [],
                                                          ["59"], ["GP"]]))  # fmt: skip
    result = validate_claims(read_claims(path), run_date=RUN)
    assert len(result.valid) + len(result.quarantine) >= len(tiny_raw())

"""Claims as a PM system shows them on a night, and three ways to write them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

# dated documentation fields blanked after a night; cert_through_date goes
# with the certification it belongs to
DOC_DATES = ("poc_certified_date", "last_progress_report_date", "note_signed_date")
OUTCOMES = (
    "adjudication_date",
    "allowed_amount",
    "paid_amount",
    "adjustment_codes",
    "remark_codes",
    "denied",
)
LIST_COLUMNS = (
    "diagnosis_codes",
    "modifiers",
    "deficits_documented",
    "interventions_documented",
    "adjustment_codes",
    "remark_codes",
)
TYPINGS = ("strings", "warehouse", "csv")
BOOL_STYLES = ("bool", "yn", "01", "text")
# list delimiters: text typings use several so that readers meet them all
STRING_DELIMS = {
    "diagnosis_codes": "|",
    "modifiers": ",",
    "deficits_documented": ";",
    "interventions_documented": ",",
    "adjustment_codes": " ",
    "remark_codes": ",",
}
CSV_DELIMS = {
    "diagnosis_codes": "|",
    "modifiers": ";",
    "deficits_documented": ";",
    "interventions_documented": "|",
    "adjustment_codes": ";",
    "remark_codes": "|",
}
_LOCAL_TZ = "America/Chicago"


def _as_datetime(s: pd.Series) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(s.dtype):
        if getattr(s.dt, "tz", None) is not None:
            s = s.dt.tz_localize(None)
        return s.dt.normalize()
    return pd.to_datetime(s.replace("", None), errors="coerce", format="mixed")


def as_of_night(claims: pd.DataFrame, night=None) -> pd.DataFrame:
    """The claims as the practice-management system exported them on ``night``.

    Every dated documentation field signed after the night is empty
    (``poc_certified_date`` with its ``cert_through_date``,
    ``last_progress_report_date``, ``note_signed_date``), and outcomes not
    known yet (``adjudication_date`` after the night) are empty too.

    Parameters
    ----------
    claims : pandas.DataFrame
        A world's claims (any rows of it).
    night : date-like, optional
        The export day. ``None`` uses each row's own ``submission_date``:
        every line as it looked when it was sent.

    Returns
    -------
    pandas.DataFrame
        A copy; rows and columns are unchanged, only values are blanked.

    Examples
    --------
    >>> from bench.worlds import as_of_night, make_world
    >>> claims, _ = make_world(3_000, seed=2)
    >>> sent = as_of_night(claims)
    >>> bool((sent["note_signed_date"] > sent["submission_date"]).any())
    False
    """
    out = claims.copy()
    if night is None:
        limit = _as_datetime(claims["submission_date"])
    else:
        limit = pd.Series(pd.Timestamp(night).normalize(), index=claims.index)
    for name in DOC_DATES:
        if name not in out:
            continue
        late = (_as_datetime(out[name]) > limit).fillna(False).to_numpy()
        out[name] = out[name].mask(late)
        if name == "poc_certified_date" and "cert_through_date" in out:
            out["cert_through_date"] = out["cert_through_date"].mask(
                late | out[name].isna().to_numpy()
            )
    if "adjudication_date" in out:
        adj = _as_datetime(out["adjudication_date"])
        unknown = (adj.isna() | (adj > limit)).to_numpy()
        for name in OUTCOMES:
            if name not in out:
                continue
            col = out[name]
            if col.dtype == object:
                col = col.copy()
                col[unknown] = None
                out[name] = col
            else:
                out[name] = col.mask(unknown)
    return out


def history_as_of(claims: pd.DataFrame, day) -> pd.DataFrame:
    """Lines sent on or before ``day``, as exported that day (for training)."""
    d = pd.Timestamp(day).normalize()
    rows = claims[_as_datetime(claims["submission_date"]) <= d]
    return as_of_night(rows, d).reset_index(drop=True)


def night_batch(claims: pd.DataFrame, night) -> pd.DataFrame:
    """The lines sent on ``night``, as they looked that night (to score)."""
    d = pd.Timestamp(night).normalize()
    rows = claims[_as_datetime(claims["submission_date"]) == d]
    return as_of_night(rows, d).reset_index(drop=True)


# --- writing -----------------------------------------------------------------------


def write_world(
    claims: pd.DataFrame,
    path,
    typing: str = "warehouse",
    *,
    bool_style: str | None = None,
    parts: int = 1,
) -> Path:
    """Write claims in one of three typings.

    Parameters
    ----------
    claims : pandas.DataFrame
        A world's claims (or any rows of them, e.g. :func:`as_of_night`).
    path : str or Path
        ``.parquet`` for ``strings``/``warehouse`` (a folder of ``parts``
        files when ``parts > 1``), ``.csv`` or ``.csv.gz`` for ``csv``.
    typing : {"strings", "warehouse", "csv"}
        ``strings``: Parquet whose every column is text, lists as delimited
        strings, empty text for missing values. ``warehouse``: the types a
        warehouse or pandas export carries (date32, naive and zoned
        timestamps, dictionary strings, large_string, int8/int16/int32 and
        nullable ints, decimal128(12,2), NPIs as int64, list<string>).
        ``csv``: the text form as CSV, lists delimited by ``;`` or ``|``.
    bool_style : {"bool", "yn", "01", "text"}, optional
        How ``objective_measures_documented`` (and ``denied``) are written.
        Defaults: ``bool`` for warehouse, ``text`` (true/false) for strings,
        ``yn`` for csv.
    parts : int
        Number of Parquet files (row ranges) for ``strings``/``warehouse``.

    Returns
    -------
    Path
    """
    if typing not in TYPINGS:
        raise ValueError(f"typing must be one of {TYPINGS}; got {typing!r}")
    style = bool_style or {"warehouse": "bool", "strings": "text", "csv": "yn"}[typing]
    if style not in BOOL_STYLES:
        raise ValueError(f"bool_style must be one of {BOOL_STYLES}; got {style!r}")
    path = Path(path)
    if typing == "warehouse":
        table = warehouse_table(claims, bool_style=style)
    else:
        delims = CSV_DELIMS if typing == "csv" else STRING_DELIMS
        table = text_table(
            claims, delims=delims, bool_style=style, nulls_as_empty=typing == "strings"
        )
    if typing == "csv":
        if not path.name.endswith((".csv", ".csv.gz")):
            raise ValueError(f"{path}: a csv typing needs a .csv or .csv.gz path")
        path.parent.mkdir(parents=True, exist_ok=True)
        compression = "gzip" if path.name.endswith(".gz") else None
        with (
            pa.CompressedOutputStream(str(path), "gzip")
            if compression
            else pa.OSFile(str(path), "wb") as sink
        ):
            pacsv.write_csv(table, sink)
        return path
    if parts > 1:
        path.mkdir(parents=True, exist_ok=True)
        step = -(-table.num_rows // parts)
        for i in range(parts):
            pq.write_table(table.slice(i * step, step), path / f"part-{i:04d}.parquet")
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path, row_group_size=250_000)
    return path


def _list_text(s: pd.Series, delim: str, nulls_as_empty: bool) -> pa.Array:
    codes, uniques = pd.factorize(s, use_na_sentinel=True)
    texts = [delim.join(u) if u is not None else None for u in uniques]
    if not nulls_as_empty:
        texts.append(None)
    else:
        texts.append("")
    table = pa.array(texts, type=pa.string())
    return table.take(pa.array(np.where(codes < 0, len(texts) - 1, codes)))


def _bool_values(s: pd.Series, style: str):
    mask = s.isna().to_numpy()
    vals = s.fillna(False).to_numpy(dtype=bool)
    if style == "bool":
        return pa.array(vals, mask=mask)
    if style == "01":
        return pa.array(vals.astype(np.int8), mask=mask)
    labels = ("Y", "N") if style == "yn" else ("true", "false")
    return pa.array(
        np.where(vals, labels[0], labels[1]).astype(object), mask=mask, type=pa.string()
    )


def text_table(
    claims: pd.DataFrame, *, delims, bool_style="text", nulls_as_empty=False
) -> pa.Table:
    """Every column as text (dates ISO, amounts with 2 decimals)."""
    cols = {}
    for name in claims.columns:
        s = claims[name]
        if name in LIST_COLUMNS:
            arr = _list_text(s, delims.get(name, ","), nulls_as_empty)
        elif pd.api.types.is_datetime64_any_dtype(s.dtype):
            arr = pa.array(s.dt.strftime("%Y-%m-%d"), type=pa.string())
        elif pd.api.types.is_bool_dtype(s.dtype) or str(s.dtype) == "boolean":
            arr = _bool_values(s, bool_style).cast(pa.string())
        elif pd.api.types.is_float_dtype(s.dtype):
            codes, uniques = pd.factorize(s, use_na_sentinel=True)
            txt = [f"{v:.2f}" for v in uniques] + [None]
            arr = pa.array(txt, type=pa.string()).take(
                pa.array(np.where(codes < 0, len(txt) - 1, codes))
            )
        else:
            arr = pa.array(s.astype("string"), type=pa.string())
        if nulls_as_empty:
            arr = arr.fill_null("")
        cols[name] = arr
    return pa.table(cols)


def _decimal(values: pd.Series) -> pa.Array:
    """decimal128(12, 2) built from exact cents."""
    v = values.to_numpy(dtype=float, na_value=np.nan)
    mask = np.isnan(v)
    cents = np.rint(np.nan_to_num(v) * 100).astype(np.int64)
    data = np.stack([cents, np.where(cents < 0, -1, 0)], axis=1).astype(np.int64)
    validity = pa.array(~mask).buffers()[1] if mask.any() else None
    return pa.Array.from_buffers(
        pa.decimal128(12, 2), len(v), [validity, pa.py_buffer(data.tobytes())]
    )


def _dict(s: pd.Series) -> pa.Array:
    return pa.array(s.astype("string"), type=pa.string()).dictionary_encode()


def _int(s: pd.Series, typ) -> pa.Array:
    return pa.array(s.astype("Int64"), type=pa.int64()).cast(typ)


def _date32(s: pd.Series) -> pa.Array:
    return pa.array(
        s.to_numpy(dtype="datetime64[D]"), type=pa.date32(), mask=s.isna().to_numpy()
    )


def _clock(n: int, first_minute: int, span: int, salt: int) -> np.ndarray:
    """Deterministic times of day (minutes) for ``n`` rows."""
    i = np.arange(n, dtype=np.int64)
    return first_minute + (i * 7919 + salt) % span


def warehouse_table(claims: pd.DataFrame, *, bool_style="bool") -> pa.Table:
    """The claims as a warehouse (or ``DataFrame.to_parquet``) would type them."""
    n = len(claims)
    cols = {}
    for name in claims.columns:
        s = claims[name]
        if name in LIST_COLUMNS:
            cols[name] = _list_array(s)
        elif name in ("claim_id", "prior_auth_number", "note_text"):
            cols[name] = pa.array(s.astype("string"), type=pa.large_string())
        elif name in ("rendering_provider_id", "referring_provider_id"):
            cols[name] = pa.array(pd.to_numeric(s).astype("Int64"), type=pa.int64())
        elif name in (
            "patient_id",
            "payer_id",
            "payer_name",
            "payer_class",
            "cpt_code",
            "place_of_service",
            "provider_credential",
        ):
            cols[name] = _dict(s)
        elif name == "clinic_id":
            cols[name] = pa.array(s.astype("string"), type=pa.string())
        elif name == "line_number":
            cols[name] = _int(s, pa.int8()) if s.max() < 128 else _int(s, pa.int16())
        elif name in (
            "units",
            "visit_timed_minutes",
            "auth_visits_approved",
            "auth_visits_used",
        ):
            cols[name] = _int(s, pa.int32())
        elif name in ("minutes", "visit_number"):
            cols[name] = _int(s, pa.int16())
        elif name == "visits_since_progress_report":
            cols[name] = _int(s, pa.int8()) if s.max() < 128 else _int(s, pa.int16())
        elif name in (
            "charge_amount",
            "allowed_amount",
            "paid_amount",
            "ytd_therapy_allowed",
        ):
            cols[name] = _decimal(s)
        elif name in (
            "date_of_service",
            "episode_start_date",
            "poc_certified_date",
            "last_progress_report_date",
        ):
            cols[name] = _date32(s)
        elif name == "cert_through_date":  # a naive timestamp at midnight
            cols[name] = pa.array(
                s.to_numpy(dtype="datetime64[ms]"),
                type=pa.timestamp("ms"),
                mask=s.isna().to_numpy(),
            )
        elif name == "submission_date":  # naive, evening batch time
            t = s.to_numpy(dtype="datetime64[m]") + _clock(n, 18 * 60, 300, 11).astype(
                "timedelta64[m]"
            )
            cols[name] = pa.array(
                t.astype("datetime64[us]"),
                type=pa.timestamp("us"),
                mask=s.isna().to_numpy(),
            )
        elif name == "note_signed_date":  # UTC instant, same calendar day
            t = s.to_numpy(dtype="datetime64[m]") + _clock(n, 14 * 60, 240, 5).astype(
                "timedelta64[m]"
            )
            cols[name] = pa.array(
                t.astype("datetime64[ms]"),
                type=pa.timestamp("ms", tz="UTC"),
                mask=s.isna().to_numpy(),
            )
        elif name == "adjudication_date":  # local time zone, early morning
            wall = pd.Series(
                s.to_numpy(dtype="datetime64[m]")
                + _clock(n, 3 * 60, 180, 3).astype("timedelta64[m]")
            )
            local = wall.dt.tz_localize(_LOCAL_TZ).dt.as_unit("us")
            cols[name] = pa.array(local, type=pa.timestamp("us", tz=_LOCAL_TZ))
        elif name in ("objective_measures_documented", "denied"):
            cols[name] = _bool_values(s, bool_style)
        else:
            cols[name] = pa.array(s)
    return pa.table(cols)


def _list_array(s: pd.Series) -> pa.Array:
    """list<string> through the distinct values (fast on a million rows)."""
    codes, uniques = pd.factorize(s, use_na_sentinel=True)
    values = [list(u) for u in uniques] + [None]
    dictionary = pa.array(values, type=pa.list_(pa.string()))
    return dictionary.take(pa.array(np.where(codes < 0, len(values) - 1, codes)))

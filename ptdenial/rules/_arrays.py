"""Vectorized helpers of the rule engine: three-valued logic, codes, text."""

from __future__ import annotations

import functools
import string
import weakref
from collections.abc import Callable, Mapping
from typing import NamedTuple

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ptdenial import schema as S
from ptdenial._distinct import combinations as _combos
from ptdenial._distinct import dense_ids as _combine
from ptdenial._distinct import first_positions as _first_positions
from ptdenial._distinct import flags, map_values
from ptdenial.exceptions import ReferenceDataError
from ptdenial.reference import Reference
from ptdenial.reference._payers import POLICY_FIELDS, resolve_policies
from ptdenial.reference._payers import _prepare as _prepare_policies


# --- tri-state logic --------------------------------------------------------
class _Tri:
    """Kleene three-valued boolean array: value ``v`` where known ``k``."""

    __slots__ = ("k", "v")

    def __init__(self, v, k=None):
        v = np.asarray(v, dtype=bool)
        k = np.ones(v.shape, bool) if k is None else np.asarray(k, dtype=bool)
        self.k = k
        self.v = v & k

    def __and__(self, other):
        o = other if isinstance(other, _Tri) else _Tri(other)
        k = (self.k & o.k) | (self.k & ~self.v) | (o.k & ~o.v)
        return _Tri(self.v & o.v, k)

    __rand__ = __and__

    def __or__(self, other):
        o = other if isinstance(other, _Tri) else _Tri(other)
        k = (self.k & o.k) | self.v | o.v
        return _Tri(self.v | o.v, k)

    __ror__ = __or__

    def __invert__(self):
        return _Tri(~self.v, self.k)


def _known(values, known) -> _Tri:
    return _Tri(values, known)


# --- small vectorized helpers -----------------------------------------------
def _float(series: pd.Series) -> np.ndarray:
    if not pd.api.types.is_numeric_dtype(series.dtype):
        # to_numeric leaves numeric columns as they are: skip its overhead
        series = pd.to_numeric(series, errors="coerce")
    return series.to_numpy(dtype=float, na_value=np.nan)


def _days(series: pd.Series) -> np.ndarray:
    """Dates as float day numbers (NaN when missing)."""
    s = series
    if not pd.api.types.is_datetime64_any_dtype(s.dtype):
        s = pd.to_datetime(s, errors="coerce", format="mixed")
    if getattr(s.dt, "tz", None) is not None:
        s = s.dt.tz_localize(None)
    arr = s.to_numpy(dtype="datetime64[ns]").astype("datetime64[D]")
    out = arr.astype(np.int64).astype(float)
    out[np.isnat(arr)] = np.nan
    return out


def _day_number(value) -> float:
    return float(np.datetime64(pd.Timestamp(value).date(), "D").astype(np.int64))


def _blank(series: pd.Series) -> np.ndarray:
    """True where a text column is missing or only blanks (per unique value)."""
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    # one conversion to Python objects: iterating an Arrow array is slow
    uniques = np.asarray(uniques, dtype=object)
    blank = lambda u: not isinstance(u, str) or not u.strip()  # noqa: E731
    return map_values(blank, codes, uniques, missing=True, dtype=bool)


def _factorize(values) -> tuple[np.ndarray, np.ndarray]:
    if isinstance(values, pd.Series) and values.dtype == object:
        fast = _factorize_objects(values.to_numpy())
        if fast is not None:
            return fast
    codes, uniques = pd.factorize(values, use_na_sentinel=False)
    return np.asarray(codes, dtype=np.int64), np.asarray(uniques, dtype=object)


def _factorize_objects(arr: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """``pd.factorize(arr, use_na_sentinel=False)`` through object identity first.

    Validated list columns hold one tuple object per distinct value, and
    hashing and comparing 100k tuples is slow. The object pointers are
    factorized as integers instead; only the first object of each is then
    factorized by value. Both steps number values by first occurrence, so
    codes and uniques are those of ``pd.factorize``. None where it would not
    pay off (few rows, or mostly distinct objects).
    """
    n = len(arr)
    if n < 1000 or arr.dtype != object or not arr.flags.c_contiguous:
        return None
    try:
        pointers = np.frombuffer(memoryview(arr).cast("B"), dtype=np.uintp)
    except (TypeError, ValueError, BufferError):
        return None
    by_object = pd.factorize(pointers)[0]
    n_objects = int(by_object.max()) + 1
    if n_objects > n // 4:
        return None
    first = _first_positions(by_object, n_objects)
    codes, uniques = pd.factorize(arr[first], use_na_sentinel=False)
    return codes.astype(np.int64)[by_object], np.asarray(uniques, dtype=object)


def _sort_order(keys: list[tuple[np.ndarray, bool]]) -> np.ndarray:
    """Stable order by several non-negative integer keys (first = primary).

    Each key is ``(values, descending)``. The keys are packed into one int64
    when their bit widths allow (one argsort instead of a slow lexsort).
    """
    cols = [np.asarray(v, dtype=np.int64) for v, _ in keys]
    widths = [int(c.max()).bit_length() if len(c) else 1 for c in cols]
    if sum(widths) <= 62:
        packed = np.zeros(len(cols[0]), dtype=np.int64)
        for c, w, (_, desc) in zip(cols, widths, keys, strict=True):
            top = (1 << w) - 1
            packed = (packed << w) | (top - c if desc else c)
        return np.argsort(packed, kind="stable")
    return np.lexsort(
        tuple(-c if d else c for c, (_, d) in zip(cols, keys, strict=True))[::-1]
    )


def _list_column(claims: pd.DataFrame, name: str) -> pd.Series | None:
    if name not in claims.columns:
        return None
    col = claims[name]
    head = col.array[: min(len(col), 1000)]
    first = next((v for v in head if v is not None and v is not pd.NA), None)
    if first is not None and not isinstance(first, tuple):
        col = S.parse_list_column(col)
    return col


def _list_flags(factorized, n: int, tests: Mapping[str, Callable]):
    """Evaluate predicates on the unique values of a list column, then take.

    ``factorized`` is ``(codes, uniques)`` of the list column, or None.
    """
    if factorized is None:
        return None
    codes, uniques = factorized
    values = [u if isinstance(u, tuple) else () for u in uniques]
    # all-boolean tests come back as bool arrays (cheaper than object, same values)
    return flags(codes, values, tests)


class _Field(NamedTuple):
    """Raw values of one text field of a hit, formatted only per unique value.

    ``kind``: ``str`` (as is), ``int``, ``units`` ("2 units"), ``money``
    ("$2,612"), ``date`` (day number -> ISO date) or ``coded`` (integer codes
    into ``uniques``).
    """

    values: np.ndarray
    kind: str
    uniques: np.ndarray | None = None


#: What a hit says of a reference value that is verified, and of one that is not.
_VERIFIED_WORDS = ("value verified", "value not verified")


def _as_str(values) -> _Field:
    return _Field(np.asarray(values, dtype=object), "str")


def _verified_str(flags) -> _Field:
    """Per hit, the words a biller reads for a reference value's ``verified`` flag."""
    return _as_str(np.where(np.asarray(flags, dtype=bool), *_VERIFIED_WORDS))


def _int_str(values) -> _Field:
    return _Field(np.asarray(values, dtype=float), "int")


def _units_str(values) -> _Field:
    return _Field(np.asarray(values, dtype=float), "units")


def _money_str(values) -> _Field:
    # + 0.0 turns a rounded -0.0 (a float sum's -1e-13) into 0.0: "$0", never "$-0"
    return _Field(np.round(np.asarray(values, dtype=float), 2) + 0.0, "money")


def _date_str(days) -> _Field:
    return _Field(np.asarray(days, dtype=float), "date")


def _format_one(value, kind: str) -> str:
    if kind == "str":
        return "" if value is None or value is pd.NA else str(value)
    if value is None or value is pd.NA or not np.isfinite(value):
        return "?"
    if kind == "int":
        return str(int(value))
    if kind == "units":
        return f"{int(value)} unit" + ("" if value == 1 else "s")
    if kind == "money":
        return f"${value:,.0f}" if float(value).is_integer() else f"${value:,.2f}"
    if kind == "date":
        return str(np.datetime64(int(value), "D"))
    raise AssertionError(kind)


def _format_uniques(uniques, kind: str) -> list[str] | np.ndarray:
    """:func:`_format_one` of each value, vectorized for the numeric kinds."""
    values = uniques
    if kind == "str" or not (
        isinstance(values, np.ndarray) and values.dtype == np.float64
    ):
        return [_format_one(u, kind) for u in uniques]
    out = np.full(len(values), "?", dtype=object)
    finite = np.isfinite(values)
    if kind == "money":
        out[finite] = [
            f"${v:,.0f}" if v.is_integer() else f"${v:,.2f}"
            for v in values[finite].tolist()
        ]
        return out
    # int64 holds these exactly (astype truncates toward zero, as int() does)
    small = finite & (np.abs(values) < 2.0**62)
    ints = values[small].astype(np.int64)
    if kind == "int":
        out[small] = ints.astype(str)
    elif kind == "units":
        plural = np.where(values[small] == 1, " unit", " units")
        out[small] = np.strings.add(ints.astype(str), plural)
    elif kind == "date":
        out[small] = ints.astype("datetime64[D]").astype(str)
    else:
        raise AssertionError(kind)
    big = np.flatnonzero(finite & ~small)
    out[big] = [_format_one(v, kind) for v in values[big]]
    return out


def _field_codes(field: _Field) -> tuple[np.ndarray, list[str] | np.ndarray]:
    """Integer codes of a field's values and the formatted text of each code."""
    if field.kind == "coded":
        text = [u if isinstance(u, str) else "" for u in field.uniques]
        return np.asarray(field.values, dtype=np.int64), text
    codes, uniques = pd.factorize(field.values, use_na_sentinel=False)
    return codes.astype(np.int64), _format_uniques(uniques, field.kind)


_EMPTY = pa.scalar("", pa.large_string())


@functools.lru_cache(maxsize=256)
def _template_pieces(template: str) -> tuple[tuple[str, str | None], ...]:
    """``(literal, field)`` pairs of a template; format specs are not used."""
    return tuple(
        (lit, fld or None) for lit, fld, _, _ in string.Formatter().parse(template)
    )


def _fill_template(pieces, columns: Mapping[str, tuple], rows, m: int):
    """One template filled in for ``m`` hits, once per distinct field combination.

    ``columns`` maps a field to ``(texts, codes)``: its formatted uniques as a
    large_string array and each hit's code into them; ``rows`` selects the
    hits (None: all). Only the fields this template uses make a combination,
    so there are few; Arrow concatenates their texts. Returns ``(codes,
    texts)``: hit ``i`` reads ``texts[codes[i]]``.
    """
    used = list(dict.fromkeys(fld for _, fld in pieces if fld is not None))
    if not used:
        text = "".join(lit for lit, _ in pieces)
        return np.zeros(m, dtype=np.int64), pa.array([text], type=pa.large_string())
    codes = {f: columns[f][1] if rows is None else columns[f][1][rows] for f in used}
    if len(used) == 1:
        combo = codes[used[0]]
        texts = {used[0]: columns[used[0]][0]}
    else:
        combo, first = _combos(list(codes.values()))
        texts = {f: columns[f][0].take(codes[f][first]) for f in used}
    args = []
    for lit, fld in pieces:
        if lit:
            args.append(pa.scalar(lit, pa.large_string()))
        if fld is not None:
            args.append(texts[fld])
    return combo, pc.binary_join_element_wise(*args, _EMPTY)


def _variant_groups(templates, variant, k: int) -> list[tuple[str, np.ndarray | None]]:
    """``(variant name, hit rows)`` per variant present; rows None = all hits."""
    if variant is None:
        return [("", None)]
    values = np.asarray(variant)
    groups = []
    covered = 0
    for name in templates:
        mask = values == name
        count = int(np.count_nonzero(mask))
        if count == k:
            return [(name, None)]
        if count:
            groups.append((name, np.flatnonzero(mask)))
            covered += count
    if covered != k:
        known = np.zeros(k, dtype=bool)
        for _, rows in groups:
            known[rows] = True
        raise KeyError(values[np.flatnonzero(~known)[0]])
    return groups


def _render_hits(templates, variant, fields, k: int):
    """Detail and fix text of ``k`` hits, without a Python string per hit.

    Each field is formatted once per unique value; each template is then
    filled in once per distinct combination of the fields *it* uses (Arrow
    concatenates the pieces), and the hits take their text by code.
    ``templates`` maps a variant name to its ``(detail, fix)`` templates;
    ``variant`` is an array of variant names, or None for the main one.
    Returns ``((detail_codes, detail_texts), (fix_codes, fix_texts))``: the
    texts are pyarrow large_string arrays and hit ``i`` reads
    ``detail_texts[detail_codes[i]]``.
    """
    if k == 0:
        empty = (np.zeros(0, np.int64), pa.array([], type=pa.large_string()))
        return empty, empty
    groups = _variant_groups(templates, variant, k)
    pieces = {
        name: [_template_pieces(tpl) for tpl in templates[name]] for name, _ in groups
    }
    used = sorted(
        {fld for pair in pieces.values() for tpl in pair for _, fld in tpl if fld}
    )
    columns = {}
    for name in used:
        codes, text = _field_codes(fields[name])
        columns[name] = (pa.array(text, type=pa.large_string()), codes)
    out = []
    for which in (0, 1):  # detail, fix
        if len(groups) == 1:
            name, _ = groups[0]
            out.append(_fill_template(pieces[name][which], columns, None, k))
            continue
        codes = np.empty(k, dtype=np.int64)
        chunks = []
        offset = 0
        for name, rows in groups:
            c, texts = _fill_template(pieces[name][which], columns, rows, len(rows))
            codes[rows] = c + offset
            chunks.append(texts)
            offset += len(texts)
        out.append((codes, pa.concat_arrays(chunks)))
    return out[0], out[1]


# --- reference preparation --------------------------------------------------
def _bool_values(frame: pd.DataFrame, column: str, default: bool) -> np.ndarray:
    if column not in frame.columns:
        return np.full(len(frame), default, dtype=bool)
    return np.array(
        [
            bool(v) if isinstance(v, bool | np.bool_) else default
            for v in frame[column].to_numpy(dtype=object)
        ],
        dtype=bool,
    )


def _effective_range(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    lo = (
        _days(frame["effective_from"])
        if "effective_from" in frame.columns
        else np.full(len(frame), np.nan)
    )
    hi = (
        _days(frame["effective_to"])
        if "effective_to" in frame.columns
        else np.full(len(frame), np.nan)
    )
    return lo, hi


def _in_range(day, lo, hi) -> np.ndarray:
    return (np.isnan(lo) | (day >= lo)) & (np.isnan(hi) | (day <= hi))


#: Policy fields the rules read per line (``ctx.pol``); the matrix's other
#: fields (``appeal_deadline_days``) serve other parts of the library.
RULE_POLICIES = tuple(f for f in POLICY_FIELDS if f != "appeal_deadline_days")


_MEMO: dict[int, tuple[weakref.ref, dict]] = {}


def _memo(ref: Reference, key, build: Callable):
    """Compute something from a Reference once per Reference object.

    Tables are treated as immutable: load a new Reference after editing one.
    """
    entry = _MEMO.get(id(ref))
    if entry is None or entry[0]() is not ref:
        for k in [k for k, (w, _) in _MEMO.items() if w() is None]:
            del _MEMO[k]
        entry = (weakref.ref(ref), {})
        _MEMO[id(ref)] = entry
    store = entry[1]
    if key not in store:
        store[key] = build()
    return store[key]


class _Policies(NamedTuple):
    """Per line: each policy field's value, provenance and verification."""

    values: dict  # field -> array (plus "row": the payer row, else the class row)
    src: dict  # field -> 0 built-in, 1 class default, 2 the payer's own row
    verified: dict  # field -> bool array
    payer_name: np.ndarray  # per line: the matched payer row's name ("" if none)


def _resolve_policies(ref: Reference, dos, payer, payer_class, day_codes) -> _Policies:
    """Per-line payer policy from the matrix (:mod:`ptdenial.reference._payers`).

    Per field: the payer's own row (exact ``payer_id``, else ``payer_match``)
    when it sets the field, else the class default row, else the built-in
    default. Resolution runs on the unique (payer_id, payer_class, date)
    triples, then is taken per line. ``payer`` and ``payer_class`` are
    ``(codes, uniques)`` of the columns.
    """
    table = _memo(ref, "policy", lambda: _prepare_policies(ref.payer_policies))
    id_codes, id_u = payer
    cls_codes, cls_u = payer_class
    n = len(id_codes)
    combo = _combine(id_codes, cls_codes, day_codes) if n else id_codes
    first = _first_positions(combo, int(combo.max()) + 1 if n else 0)
    # str() once per payer id and class, then taken per (payer, class, date)
    u_pid = np.array([_plain_text(x) for x in id_u], dtype=object)[id_codes[first]]
    u_cls = np.array([_plain_text(x) for x in cls_u], dtype=object)[cls_codes[first]]
    u_day = dos[first] if n else np.array([], float)
    res = resolve_policies(None, u_pid, u_cls, u_day, prepared=table)
    take = combo if n else np.zeros(0, dtype=np.int64)
    values = {name: res[name][take] for name in RULE_POLICIES}
    row = np.where(res["payer_row"] >= 0, res["payer_row"], res["class_row"])
    values["row"] = row[take]
    names = table["name"]
    payer_name = (
        np.where(res["payer_row"] >= 0, names[np.maximum(res["payer_row"], 0)], "")
        if len(names)
        else np.full(len(first), "", dtype=object)
    )
    return _Policies(
        values,
        {name: res["src:" + name][take] for name in RULE_POLICIES},
        {name: res["ver:" + name][take] for name in RULE_POLICIES},
        np.asarray(payer_name, dtype=object)[take],
    )


def _plain_text(value) -> str:
    return "" if value is None or value is pd.NA else str(value)


def _param(ref: Reference, name: str, default=None):
    def build():
        try:
            return ref.parameter(name)
        except ReferenceDataError:
            if default is None:
                raise
            return default

    return _memo(ref, ("param", name), build)


def _param_since(ref: Reference, name: str) -> float:
    def build():
        rows = ref.parameters[ref.parameters["name"] == name]
        if rows.empty or "effective_from" not in rows.columns:
            return np.nan
        return _days(rows["effective_from"]).max()

    return _memo(ref, ("since", name), build)

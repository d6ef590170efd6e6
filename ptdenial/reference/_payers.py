"""The per-payer policy matrix: one row per payer over its class defaults.

``payer_policies.csv`` holds two kinds of rows:

* **class defaults** (``payer_id`` and ``payer_match`` empty): one per
  ``payer_class``, every field set (empty = no such policy, e.g. no visit
  limit). Apart from Medicare's, these are guesses (domain reference,
  Errata s7) and marked ``verified = false``.
* **payer rows** (``payer_id`` set): a payer's own values. A payer row sets
  only the fields where the payer differs from its class; every field it
  leaves empty is inherited from the class default. ``payer_match`` (a
  case-insensitive regular expression) lets one shipped row recognise the
  ids practices give a payer (``UHC01``, ``COM-UHC-CP``); an exact
  ``payer_id`` match wins over a pattern. ``payer_class`` may be empty: the
  row then applies to the payer in any class.

Per field, the value comes from the payer row if it sets it, else from the
class row, else from the built-in default (no policy). Each value carries
its provenance (``payer`` / ``default`` / ``builtin``) and whether it is
verified: the row's ``verified`` flag, or the field's name in the row's
``verified_fields`` list. Rules report hits that rest on an unverified value
as soft, and say when a value is the class default rather than the payer's
own.

Fields (columns)
----------------
=========================  =====================================================
``time_rule``              ``CMS_TOTAL_TIME`` or ``PER_CODE_MIDPOINT`` (AMA)
``daily_timed_unit_cap``   most timed units a day (empty: none known)
``requires_gp``            GP/GO/GN on therapy lines
``cq_applies``             CQ on services furnished in whole or part by a PTA
``pta_payment_factor``     payment of a CQ line (Medicare 0.85 since 2022)
``kx_applies``             KX threshold (Medicare Part B)
``poc_rules_apply``        plan-of-care certification and progress reports
``referring_npi_required`` referring/certifying practitioner on the claim
``mppr_applies``           multiple procedure payment reduction
``accepts_59_bypass``      the payer honours 59/X on NCCI column-2 codes
``filing_limit_days``      timely filing limit from the date of service
``visit_limit``            visits a calendar year (``none``: no limit)
``auth_required``          prior authorization (initial evaluations exempt)
``appeal_deadline_days``   first-level appeal (Medicare: redetermination, 120)
=========================  =====================================================
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from ptdenial.exceptions import ReferenceDataError
from ptdenial.reference._tables import POLICY_BOOLS, POLICY_NUMBERS

__all__ = [
    "POLICY_FIELDS",
    "BUILTIN",
    "payer_matrix",
    "resolve_payer",
    "resolve_policies",
]

CMS_TOTAL_TIME = "CMS_TOTAL_TIME"
PER_CODE_MIDPOINT = "PER_CODE_MIDPOINT"
TIME_RULES = (CMS_TOTAL_TIME, PER_CODE_MIDPOINT)

#: Every policy field of the matrix, in display order.
POLICY_FIELDS = ("time_rule", *POLICY_BOOLS, *POLICY_NUMBERS)

#: Values when neither the payer row nor the class row sets a field.
BUILTIN = {
    "time_rule": CMS_TOTAL_TIME,
    **dict.fromkeys(POLICY_BOOLS, False),
    "accepts_59_bypass": True,
    **dict.fromkeys(POLICY_NUMBERS, np.nan),
}

#: Provenance codes of a resolved value.
BUILTIN_SRC, DEFAULT_SRC, PAYER_SRC = 0, 1, 2


def _days(values) -> np.ndarray:
    s = pd.to_datetime(pd.Series(values), errors="coerce")
    arr = s.to_numpy(dtype="datetime64[ns]").astype("datetime64[D]")
    out = arr.astype(np.int64).astype(float)
    out[np.isnat(arr)] = np.nan
    return out


def _text(frame: pd.DataFrame, column: str) -> np.ndarray:
    if column not in frame.columns:
        return np.full(len(frame), "", dtype=object)
    out = frame[column].astype("string").fillna("").str.strip()
    return out.to_numpy(dtype=object)


def _prepare(table: pd.DataFrame) -> dict:
    """The matrix as arrays, checked (unknown time rules, bad patterns)."""
    t = table.reset_index(drop=True)
    n = len(t)
    pid = _text(t, "payer_id")
    match = _text(t, "payer_match")
    patterns = []
    for i, pat in enumerate(match):
        if not pat:
            patterns.append(None)
            continue
        try:
            patterns.append(re.compile(pat, re.IGNORECASE))
        except re.error as exc:
            raise ReferenceDataError(
                f"payer_policies.csv row {i + 2}: payer_match {pat!r} is not a valid "
                f"regular expression ({exc}). Fix or empty it."
            ) from None
    time_rule = np.array([s.upper() for s in _text(t, "time_rule")], dtype=object)
    bad = sorted(set(time_rule) - set(TIME_RULES) - {""})
    if bad:
        raise ReferenceDataError(
            f"payer_policies.csv: time_rule {bad} unknown; use one of {TIME_RULES} "
            "(or leave it empty on a payer row to inherit the class default)."
        )
    values = {"time_rule": time_rule}
    is_set = {"time_rule": time_rule != ""}
    for name in POLICY_BOOLS:
        col = (
            t[name].astype("boolean")
            if name in t.columns
            else pd.Series(pd.NA, index=t.index, dtype="boolean")
        )
        is_set[name] = col.notna().to_numpy()
        values[name] = col.fillna(BUILTIN[name]).to_numpy(dtype=bool)
    for name in POLICY_NUMBERS:
        col = (
            pd.to_numeric(t[name], errors="coerce")
            if name in t.columns
            else pd.Series(np.nan, index=t.index)
        )
        values[name] = col.to_numpy(dtype=float)
        is_set[name] = ~np.isnan(values[name])
    verified = (
        t["verified"].fillna(False).to_numpy(dtype=bool)
        if "verified" in t.columns
        else np.zeros(n, bool)
    )
    vfields = [
        {f.strip() for f in re.split(r"[|,; ]+", s) if f.strip()}
        for s in _text(t, "verified_fields")
    ]
    unknown = sorted(set().union(*vfields) - set(POLICY_FIELDS)) if n else []
    if unknown:
        raise ReferenceDataError(
            f"payer_policies.csv: verified_fields names unknown fields {unknown}; "
            f"use field names from {list(POLICY_FIELDS)}."
        )
    lo = _days(t["effective_from"]) if "effective_from" in t else np.full(n, np.nan)
    hi = _days(t["effective_to"]) if "effective_to" in t else np.full(n, np.nan)
    return {
        "n": n,
        "pid": pid,
        "pid_upper": np.array([s.upper() for s in pid], dtype=object),
        "patterns": patterns,
        "pcls": np.array([s.lower() for s in _text(t, "payer_class")], dtype=object),
        "is_class_row": (pid == "") & (match == ""),
        "name": _text(t, "payer_name"),
        "source": _text(t, "source"),
        "lo": lo,
        "hi": hi,
        "values": values,
        "is_set": is_set,
        "verified": verified,
        "vfields": vfields,
    }


def _covers(day, lo, hi):
    return (np.isnan(lo) | (day >= lo)) & (np.isnan(hi) | (day <= hi))


def resolve_policies(table, payer_ids, payer_classes, days, *, prepared=None) -> dict:
    """Resolve the matrix for each (payer id, payer class, day).

    Parameters
    ----------
    table : pandas.DataFrame
        ``payer_policies`` (ignored when ``prepared`` is given).
    payer_ids, payer_classes : sequence of str
    days : numpy.ndarray of float
        Day numbers (days since 1970-01-01); NaN or inf for "any date" (the
        rows in force from now on).
    prepared : dict, optional
        :func:`_prepare` of the table, to reuse across calls.

    Returns
    -------
    dict
        Per field an array of values; ``src:<field>`` (0 built-in, 1 class
        default, 2 payer's own) and ``ver:<field>`` (verified) arrays;
        ``payer_row`` and ``class_row`` (row index or -1).

    Raises
    ------
    ptdenial.exceptions.ReferenceDataError
        When neither a payer row nor a class row matches.
    """
    t = _prepare(table) if prepared is None else prepared
    ids = np.array([str(x).strip() for x in payer_ids], dtype=object)
    ids_upper = np.array([x.upper() for x in ids], dtype=object)
    classes = np.array([str(x).strip().lower() for x in payer_classes], dtype=object)
    day = np.where(np.isnan(np.asarray(days, float)), np.inf, np.asarray(days, float))
    m = len(ids)
    class_row = _pick(t, m, lambda r: classes == t["pcls"][r], day, t["is_class_row"],
                      fallback=True)  # fmt: skip
    # patterns are matched once per distinct id
    uniq, inv = np.unique(ids, return_inverse=True) if m else (ids, np.zeros(0, int))

    def payer_match(r):
        cls_ok = (t["pcls"][r] == "") | (classes == t["pcls"][r])
        exact = (t["pid_upper"][r] != "") & (ids_upper == t["pid_upper"][r])
        pat = t["patterns"][r]
        by_pattern = np.zeros(m, bool)
        if pat is not None and len(uniq):
            by_pattern = np.array([bool(pat.search(u)) for u in uniq])[inv]
        return cls_ok & (exact | by_pattern), np.where(exact, 0, 1)

    payer_row = _pick(t, m, payer_match, day, ~t["is_class_row"], fallback=False)
    missing = (class_row < 0) & (payer_row < 0)
    if missing.any():
        raise ReferenceDataError(
            f"No payer policy for payer_class {sorted(set(classes[missing]))}: add a "
            "default row (empty payer_id) for each class to payer_policies.csv, or "
            "a row per payer_id."
        )
    out = {"payer_row": payer_row, "class_row": class_row}
    for name in POLICY_FIELDS:
        vals = t["values"][name]
        is_set = t["is_set"][name]
        ver_row = t["verified"] | np.array([name in f for f in t["vfields"]], bool)
        pr, cr = np.maximum(payer_row, 0), np.maximum(class_row, 0)
        from_payer = (payer_row >= 0) & (is_set[pr] if t["n"] else False)
        from_class = ~from_payer & (class_row >= 0) & (is_set[cr] if t["n"] else False)
        builtin = BUILTIN[name]
        if t["n"]:
            value = np.where(
                from_payer, vals[pr], np.where(from_class, vals[cr], builtin)
            )
            ver = np.where(from_payer, ver_row[pr], from_class & ver_row[cr])
        else:
            value = np.full(m, builtin, dtype=object)
            ver = np.zeros(m, bool)
        if name in POLICY_BOOLS:
            value = value.astype(bool)
        elif name in POLICY_NUMBERS:
            value = value.astype(float)
        out[name] = value
        out["src:" + name] = np.where(
            from_payer, PAYER_SRC, np.where(from_class, DEFAULT_SRC, BUILTIN_SRC)
        )
        out["ver:" + name] = ver.astype(bool)
    return out


def _pick(t, m, matcher, day, eligible, *, fallback: bool) -> np.ndarray:
    """Best row per item: in force on the day, then latest effective_from,
    then the later row; ``fallback`` also takes rows not in force (ranked
    after those in force) so that every class resolves on any date."""
    best = np.full(m, -1, dtype=np.int64)
    best_prio = np.full(m, 9)
    best_lo = np.full(m, -np.inf)
    for r in range(t["n"]):
        if not eligible[r]:
            continue
        got = matcher(r)
        match, prio = got if isinstance(got, tuple) else (got, np.zeros(m, int))
        covered = _covers(day, t["lo"][r], t["hi"][r])
        if not fallback:
            match = match & covered
        p = np.where(covered, prio, prio + 2)
        lo = -np.inf if np.isnan(t["lo"][r]) else t["lo"][r]
        better = match & ((p < best_prio) | ((p == best_prio) & (lo >= best_lo)))
        best[better] = r
        best_prio[better] = p[better]
        best_lo[better] = lo
    return best


def resolve_payer(table, payer_class, payer_id=None, date=None) -> dict:
    """The policy of one payer (see :meth:`Reference.payer_policy`)."""
    t = _prepare(table)
    day = np.array([np.inf if date is None else _days([date])[0]])
    res = resolve_policies(None, [payer_id or ""], [payer_class], day, prepared=t)
    out: dict = {}
    for name in POLICY_FIELDS:
        v = res[name][0]
        if name in POLICY_NUMBERS and np.isfinite(v) and float(v).is_integer():
            v = int(v)
        elif name in POLICY_BOOLS:
            v = bool(v)
        out[name] = v
    rows = [r for r in (res["payer_row"][0], res["class_row"][0]) if r >= 0]
    out["payer_class"] = payer_class
    out["payer_id"] = payer_id or ""
    out["payer_name"] = (
        t["name"][res["payer_row"][0]] if res["payer_row"][0] >= 0 else ""
    )
    out["source"] = " | ".join(t["source"][r] for r in rows)
    out["defaults"] = [n for n in POLICY_FIELDS if res["src:" + n][0] != PAYER_SRC]
    out["unverified"] = [
        n
        for n in POLICY_FIELDS
        if res["src:" + n][0] != BUILTIN_SRC and not res["ver:" + n][0]
    ]
    out["verified"] = not out["unverified"]
    return out


def payer_matrix(table, payers=None, *, template: bool = False) -> pd.DataFrame:
    """The matrix as resolved per payer, or a template to fill in.

    Parameters
    ----------
    table : pandas.DataFrame
        ``payer_policies``.
    payers : pandas.DataFrame, optional
        ``payer_class`` and ``payer_id`` of the payers to show (e.g. those of
        a claims file); default the table's own rows.
    template : bool
        Return instead a ``payer_policies.csv`` with one row per payer and
        every field empty (inherit the class default): the practice fills in
        its payers' own values, sources and ``verified``.

    Returns
    -------
    pandas.DataFrame
        One row per payer: ``payer_class``, ``payer_id``, ``payer_name``, each
        field's value, ``own_fields`` (set by the payer's own row),
        ``unverified_fields`` and ``source``.

    Examples
    --------
    >>> import pandas as pd
    >>> from ptdenial.reference import load_reference
    >>> from ptdenial.reference._payers import payer_matrix
    >>> payers = pd.DataFrame({"payer_class": ["commercial"], "payer_id": ["UHC01"]})
    >>> m = payer_matrix(load_reference().payer_policies, payers)
    >>> m.loc[0, "payer_name"], int(m.loc[0, "filing_limit_days"])
    ('UnitedHealthcare (commercial)', 90)
    >>> m.loc[0, "own_fields"]
    'time_rule|cq_applies|mppr_applies|filing_limit_days'
    >>> "visit_limit" in m.loc[0, "unverified_fields"]
    True
    """
    if payers is None:
        t = table.reset_index(drop=True)
        payers = pd.DataFrame(
            {
                "payer_class": t["payer_class"].astype(str),
                "payer_id": t["payer_id"].astype(str),
            }
        ).drop_duplicates()
    payers = payers.reset_index(drop=True)
    if template:
        out = pd.DataFrame(
            {
                "payer_class": payers["payer_class"],
                "payer_id": payers["payer_id"],
                "payer_name": "",
                "payer_match": "",
                **dict.fromkeys(POLICY_FIELDS, ""),
                "source": "practice: the payer's contract or policy (fill in)",
                "effective_from": "",
                "effective_to": "",
                "verified": "false",
                "verified_fields": "",
            }
        )
        return out[out["payer_id"].astype(str).str.strip() != ""]
    rows = []
    for cls, pid in zip(payers["payer_class"], payers["payer_id"], strict=True):
        pol = resolve_payer(table, cls, pid)
        row = {
            "payer_class": cls,
            "payer_id": pid,
            "payer_name": pol["payer_name"],
        }
        row.update({name: pol[name] for name in POLICY_FIELDS})
        row["own_fields"] = "|".join(
            n for n in POLICY_FIELDS if n not in pol["defaults"]
        )
        row["unverified_fields"] = "|".join(pol["unverified"])
        row["source"] = pol["source"]
        rows.append(row)
    return pd.DataFrame(rows)

"""Evaluation context: per-line arrays shared by the rules, and the 8-minute rule."""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np
import pandas as pd

from ptdenial import schema as S
from ptdenial.reference import Reference
from ptdenial.rules._arrays import (
    _bool_values,
    _combine,
    _day_number,
    _days,
    _factorize,
    _Field,
    _first_positions,
    _float,
    _list_column,
    _list_flags,
    _memo,
    _resolve_policies,
    _sort_order,
)
from ptdenial.rules._catalogue import (
    _BYPASS,
    _THERAPY_MODIFIERS,
    CMS_TOTAL_TIME,
    PER_CODE_MIDPOINT,
    TARGET_CODE,
)


# --- evaluation context -----------------------------------------------------
class _Ctx:
    """Arrays shared by the rules, computed once per call."""

    def __init__(self, claims: pd.DataFrame, ref: Reference, as_of):
        self.claims = claims
        self.ref = ref
        self.n = n = len(claims)
        self.cols = set(claims.columns)
        self.as_of = None if as_of is None else _day_number(as_of)

        self.dos = _days(claims[S.DATE_OF_SERVICE])
        dos_int = np.nan_to_num(self.dos, nan=0).astype(np.int64)
        self.year = np.where(
            np.isnan(self.dos),
            -1,
            dos_int.astype("datetime64[D]").astype("datetime64[Y]").astype(np.int64)
            + 1970,
        )
        self._codes_cache: dict[str, object] = {}
        self.units = np.nan_to_num(_float(claims[S.UNITS]), nan=0.0)

        code_ids, code_u = _factorize(claims[S.CPT_CODE])
        self.code_ids = code_ids
        self.code_u = np.array(
            [
                "" if (c is None or c is pd.NA) else str(c).strip().upper()
                for c in code_u
            ],
            dtype=object,
        )
        tc = _memo(ref, "therapy", lambda: _therapy_table(ref))
        pos = tc["index"].get_indexer(self.code_u)
        self.code_row = np.where(pos >= 0, pos, -1)  # per unique code
        known = pos >= 0

        def per_line(column, missing):
            u = np.where(known, tc[column][np.maximum(pos, 0)], missing)
            return u[code_ids] if n else np.zeros(0, dtype=u.dtype)

        self.timed = per_line("timed", False).astype(bool)
        self.initial_eval = per_line("evaluation", "") == "initial"
        self.is_target = (
            (self.code_u == TARGET_CODE)[code_ids] if n else np.zeros(0, bool)
        )
        self.discipline = per_line("discipline", "")

        pol = _resolve_policies(
            ref,
            self.dos,
            self.codes(S.PAYER_ID),
            self.codes(S.PAYER_CLASS),
            self.codes(S.DATE_OF_SERVICE)[0],
        )
        self.pol, self.pol_src, self.pol_ver = pol.values, pol.src, pol.verified
        self.payer_name = pol.payer_name
        self.cms = self.pol["time_rule"] == CMS_TOTAL_TIME
        self.midpoint = self.pol["time_rule"] == PER_CODE_MIDPOINT

        # visits: patient x rendering provider x date of service
        keys = [self.codes(c)[0] for c in S.VISIT_KEYS]
        self.visit = _combine(*keys) if n else np.zeros(0, np.int64)
        self.n_visits = int(self.visit.max()) + 1 if n else 0
        self.vc = _combine(self.visit, code_ids) if n else np.zeros(0, np.int64)
        self.n_vc = int(self.vc.max()) + 1 if n else 0
        self.vc_first = _first_positions(self.vc, self.n_vc)
        self.units_vc = np.bincount(self.vc, weights=self.units, minlength=self.n_vc)
        # the patient's services on the date of service, whoever rendered them
        # (claim scope: NCCI pairs, MUE date-of-service edits, MPPR)
        day_keys = [self.codes(S.PATIENT_ID)[0], self.codes(S.DATE_OF_SERVICE)[0]]
        self.day = _combine(*day_keys) if n else np.zeros(0, np.int64)
        self.n_days = int(self.day.max()) + 1 if n else 0

        self._modifier_flags()
        # therapy lines: "always therapy" codes, and "sometimes therapy" codes
        # unless a physician or chiropractor rendered them (CMS therapy list)
        sometimes = per_line("sometimes", False).astype(bool)
        self.always = per_line("always", False).astype(bool) | (
            sometimes & ~self._physician()
        )
        self.ot = self._ot_bucket()

    def _physician(self) -> np.ndarray:
        """Lines a physician (MD) or chiropractor (DC) rendered."""
        if not self.col(S.PROVIDER_CREDENTIAL):
            return np.zeros(self.n, bool)
        c_codes, c_u = self.codes(S.PROVIDER_CREDENTIAL)
        doc = np.array([_plain(u).upper() in ("MD", "DC") for u in c_u], dtype=bool)
        return doc[c_codes] if len(c_u) else np.zeros(self.n, bool)

    def _ot_bucket(self) -> np.ndarray:
        """Lines in the OT bucket of the KX threshold (PT and SLP share one).

        The code's discipline (OT evaluations), else the modifier (GO; GP/GN
        are PT/SLP), else the rendering credential (OT, OTA); PT otherwise.
        """
        ot = self.discipline == "OT"
        pt = self.discipline == "PT"
        go = self.mod_go & ~self.mod_therapy_ptslp
        cred = np.zeros(self.n, bool)
        if self.col(S.PROVIDER_CREDENTIAL):
            c_codes, c_u = self.codes(S.PROVIDER_CREDENTIAL)
            ot_u = np.array([_plain(u).upper() in ("OT", "OTA") for u in c_u], bool)
            cred = ot_u[c_codes] if len(c_u) else cred
        undecided = ~ot & ~pt & ~self.mod_go & ~self.mod_therapy_ptslp
        return ot | (~pt & go) | (undecided & cred)

    def policy_note(self, field: str, label: str, pos) -> _Field:
        """Where a hit's payer policy value comes from, per hit.

        The payer's own row, or its class default ("not the payer's own"),
        and whether the value is verified.
        """
        pid_codes, pid_u = self.codes(S.PAYER_ID)
        cls_codes, cls_u = self.codes(S.PAYER_CLASS)
        src = self.pol_src[field][pos]
        ver = self.pol_ver[field][pos]
        key = _combine(pid_codes[pos], cls_codes[pos], src, ver.astype(np.int64))
        n_keys = int(key.max()) + 1 if len(key) else 0
        first = _first_positions(key, n_keys)
        texts = []
        for i in first:
            p = pos[i]
            pid = _plain(pid_u[pid_codes[p]])
            cls = _plain(cls_u[cls_codes[p]]).replace("_", " ")
            name = self.payer_name[p] or pid
            if src[i] == 2:
                text = f"{label} from {name}'s own policy row"
                text += "" if ver[i] else ", not verified"
            elif ver[i]:
                text = f"{label} of {cls} policy"
            else:
                text = (
                    f"{label} is the {cls} class default, not {pid}'s own, and not "
                    f"verified: set {pid}'s own {field} in payer_policies.csv"
                )
            texts.append(text)
        return _Field(key, "coded", np.array(texts, dtype=object))

    def _modifier_flags(self) -> None:
        """Per line: therapy (GP/GO/GN), KX, CQ and the first bypass modifier."""
        n = self.n
        mods = self.list_codes(S.MODIFIERS)
        self.has_mods = mods is not None
        self.mods_known = np.full(n, self.has_mods)
        flags = _list_flags(
            mods,
            n,
            {
                "therapy": lambda t: any(m in _THERAPY_MODIFIERS for m in t),
                "ptslp": lambda t: "GP" in t or "GN" in t,
                "go": lambda t: "GO" in t,
                "kx": lambda t: "KX" in t,
                "cq": lambda t: "CQ" in t,
                "bypass": lambda t: next((m for m in t if m in _BYPASS), ""),
            },
        )
        if flags is None:
            z = np.zeros(n, bool)
            self.mod_therapy = self.mod_kx = self.mod_cq = z
            self.mod_therapy_ptslp = self.mod_go = z
            self.mod_bypass = np.full(n, "", dtype=object)
        else:
            self.mod_therapy = flags["therapy"].astype(bool)
            self.mod_therapy_ptslp = flags["ptslp"].astype(bool)
            self.mod_go = flags["go"].astype(bool)
            self.mod_kx = flags["kx"].astype(bool)
            self.mod_cq = flags["cq"].astype(bool)
            self.mod_bypass = flags["bypass"]

    def shared(self, key: str, build: Callable[[], object]):
        """``build()``, computed once per call: arrays several rule families read."""
        key = "shared:" + key
        if key not in self._codes_cache:
            self._codes_cache[key] = build()
        return self._codes_cache[key]

    def codes(self, name) -> tuple[np.ndarray, np.ndarray]:
        """Factorized column (codes, uniques), computed once per call."""
        if name not in self._codes_cache:
            if name == S.DATE_OF_SERVICE:
                codes, uniques = pd.factorize(
                    np.nan_to_num(self.dos, nan=-1).astype(np.int64)
                )
                self._codes_cache[name] = (codes.astype(np.int64), uniques)
            else:
                self._codes_cache[name] = _factorize(self.claims[name])
        return self._codes_cache[name]

    def list_codes(self, name) -> tuple[np.ndarray, np.ndarray] | None:
        """Factorized list column (codes, unique tuples); None if absent."""
        key = "list:" + name
        if key not in self._codes_cache:
            col = _list_column(self.claims, name)
            self._codes_cache[key] = None if col is None else _factorize(col)
        return self._codes_cache[key]

    def col(self, name) -> bool:
        return name in self.cols

    def floats(self, name) -> np.ndarray:
        if name not in self.cols:
            return np.full(self.n, np.nan)
        return _float(self.claims[name])

    def dates(self, name) -> np.ndarray:
        """Day numbers of a date column, converted once per call (read-only)."""
        if name not in self.cols:
            return np.full(self.n, np.nan)
        key = "dates:" + name
        if key not in self._codes_cache:
            days = _days(self.claims[name])
            days.flags.writeable = False
            self._codes_cache[key] = days
        return self._codes_cache[key]

    def code_str(self, pos) -> _Field:
        return _Field(self.code_ids[pos], "coded", self.code_u)

    def text(self, name, pos) -> _Field:
        """A text field of the hits at ``pos``: the column's value as text."""
        column = self.claims[name]
        if name in self._codes_cache and isinstance(
            column.dtype, pd.StringDtype | pd.CategoricalDtype
        ):
            # already factorized: the text of each unique value, taken per hit
            codes, uniques = self._codes_cache[name]
            text = np.array([_plain(u) for u in uniques], dtype=object)
            return _Field(codes[pos], "coded", text)
        values = column.take(pos).to_numpy(dtype=object)
        return _Field(np.array([_plain(v) for v in values], dtype=object), "str")


def _therapy_table(ref: Reference) -> dict:
    tc = ref.therapy_codes
    codes = tc["code"].astype(str).str.strip().str.upper()

    def text(column, lower=True):
        if column not in tc.columns:
            return np.full(len(tc), "", dtype=object)
        values = tc[column].astype("string").fillna("").str.strip()
        values = values.str.lower() if lower else values.str.upper()
        return values.to_numpy(dtype=object)

    lists = (
        tc["interventions"].astype(str).fillna("")
        if "interventions" in tc.columns
        else pd.Series([""] * len(tc))
    )
    target: set[str] = set()
    other: dict[str, list[str]] = {}
    for code, items in zip(codes, lists, strict=True):
        for item in [x.strip().upper() for x in str(items).split("|") if x.strip()]:
            if code == TARGET_CODE:
                target.add(item)
            else:
                other.setdefault(item, []).append(code)
    not_paid = [
        frozenset(x.strip() for x in v.split("|") if x.strip())
        for v in text("not_paid_by")
    ]
    return {
        "index": pd.Index(codes),
        "codes": codes.to_numpy(dtype=object),
        "timed": _bool_values(tc, "timed", False),
        "always": _bool_values(tc, "always_therapy", False),
        "sometimes": text("therapy_list") == "sometimes",
        "evaluation": text("evaluation"),
        "discipline": text("discipline", lower=False),
        "attendance": text("attendance"),
        "not_paid_by": not_paid,
        "use_instead": text("use_instead", lower=False),
        "target_interventions": frozenset(target),
        "intervention_codes": other,
    }


def _plain(value) -> str:
    return str(value) if isinstance(value, str | int | np.integer) else ""


# --- 8-minute rule ----------------------------------------------------------
class _Units(NamedTuple):
    minutes_known: np.ndarray  # visit total timed minutes known (per line)
    total_minutes: np.ndarray  # per line: visit total timed minutes
    billed_total: np.ndarray  # per line: visit billed timed units
    supported_total: np.ndarray  # per line: floor((T+7)/15) or 0
    alloc_known: np.ndarray  # per line: per-code allocation computable
    code_minutes: np.ndarray  # per line: minutes of the line's code in the visit
    code_units: np.ndarray  # per line: billed units of the line's code in the visit
    lo: np.ndarray  # per line: fewest units the code may get (CMS)
    hi: np.ndarray  # per line: most units the code may get (CMS)
    alloc: np.ndarray  # per line: tie-broken CMS allocation for the code
    midpoint_units: np.ndarray  # per line: floor((m+7)/15) per code


def _unit_rule_floor(minutes: np.ndarray) -> np.ndarray:
    out = np.floor((minutes + 7.0) / 15.0)
    out[minutes < 8] = 0.0
    return out


def _units(ctx: _Ctx) -> _Units:
    """The 8-minute-rule arrays of every line (see the ``_Units`` fields)."""
    visit, nv = ctx.visit, ctx.n_visits
    timed = ctx.timed
    m = ctx.floats(S.MINUTES)
    has_m = ctx.col(S.MINUTES)
    billed_v, total_v, supported_v, alloc_v = _visit_minutes(ctx, m)

    # code level (visit x code), timed codes only
    first = ctx.vc_first
    m_vc = np.bincount(ctx.vc, weights=np.nan_to_num(m), minlength=ctx.n_vc)
    units_vc = ctx.units_vc
    timed_vc = timed[first]
    visit_vc = visit[first]
    base = np.floor(m_vc / 15.0)
    rem = m_vc - 15.0 * base
    left_v = np.where(
        np.isnan(supported_v),
        0.0,
        np.nan_to_num(supported_v)
        - np.bincount(visit_vc, weights=base * timed_vc, minlength=nv),
    )
    left_v = np.clip(left_v, 0, None)
    sel = np.flatnonzero(timed_vc & alloc_v[visit_vc])
    lo, hi, alloc = _cms_allocation(ctx, sel, m_vc, base, rem, left_v)
    mid_vc = _unit_rule_floor(m_vc)

    line_vc = ctx.vc
    total = total_v[visit]
    known_total = ~np.isnan(total)
    alloc_line = alloc_v[visit] & timed
    code_m = np.where(has_m, m_vc[line_vc], np.nan)
    code_m = np.where(timed & ~np.isnan(m), code_m, np.nan)
    return _Units(
        minutes_known=known_total,
        total_minutes=total,
        billed_total=billed_v[visit],
        supported_total=supported_v[visit],
        alloc_known=alloc_line,
        code_minutes=code_m,
        code_units=units_vc[line_vc],
        lo=np.where(alloc_line, lo[line_vc], np.nan),
        hi=np.where(alloc_line, hi[line_vc], np.nan),
        alloc=np.where(alloc_line, alloc[line_vc], np.nan),
        midpoint_units=np.where(np.isnan(code_m), np.nan, mid_vc[line_vc]),
    )


def _visit_minutes(ctx: _Ctx, m: np.ndarray):
    """Per visit: billed timed units, total timed minutes, units they support,
    and whether the per-code minutes allow a per-code allocation.

    The total is ``visit_timed_minutes`` when given, else the sum of the
    lines' minutes (when every timed line has them).
    """
    visit, nv = ctx.visit, ctx.n_visits
    timed = ctx.timed
    vtm = ctx.floats(S.VISIT_TIMED_MINUTES)
    billed_v = np.bincount(visit, weights=ctx.units * timed, minlength=nv)
    n_timed_v = np.bincount(visit, weights=timed, minlength=nv)
    miss_v = np.bincount(visit, weights=timed & np.isnan(m), minlength=nv) > 0
    sum_m_v = np.bincount(
        visit, weights=np.where(timed, np.nan_to_num(m), 0.0), minlength=nv
    )
    vtm_v = np.full(nv, np.nan)
    ok = ~np.isnan(vtm)
    if ok.any():
        np.fmax.at(vtm_v, visit[ok], vtm[ok])
    from_lines = ctx.col(S.MINUTES) & ~miss_v & (n_timed_v > 0)
    total_v = np.where(~np.isnan(vtm_v), vtm_v, np.where(from_lines, sum_m_v, np.nan))
    supported_v = np.where(
        np.isnan(total_v), np.nan, _unit_rule_floor(np.nan_to_num(total_v))
    )
    alloc_v = from_lines & (np.isnan(vtm_v) | (sum_m_v == vtm_v))
    return billed_v, total_v, supported_v, alloc_v


def _cms_allocation(ctx: _Ctx, sel, m_vc, base, rem, left_v):
    """CMS allocation of each (visit, code) in ``sel``: fewest, most, tie-broken.

    Each code has its whole 15-minute blocks (``base``); the ``left_v`` units
    still left in a visit go to the codes with the most remaining minutes
    (``rem``). ``lo``/``hi`` bound the units any tie-break gives; ``alloc`` is
    the one named in texts (ties: more minutes, more units billed, lower code).
    """
    nv = ctx.n_visits
    visit_vc = ctx.visit[ctx.vc_first]
    lo = base.copy()
    hi = base.copy()
    alloc = base.copy()
    if not len(sel):
        return lo, hi, alloc
    code_rank = np.empty(len(ctx.code_u), dtype=np.int64)
    code_rank[np.argsort(ctx.code_u.astype(str), kind="stable")] = np.arange(
        len(ctx.code_u)
    )
    code_of = code_rank[ctx.code_ids[ctx.vc_first[sel]]]
    order = _sort_order(
        [
            (visit_vc[sel], False),
            (rem[sel], True),
            (np.clip(m_vc[sel], 0, 1023), True),
            (np.clip(ctx.units_vc[sel], 0, 255), True),
            (code_of, False),
        ]
    )
    s = sel[order]
    sv = visit_vc[s]
    counts = np.bincount(sv, minlength=nv)
    starts = np.cumsum(counts) - counts
    rank = np.arange(len(s)) - starts[sv]
    left = left_v[sv]
    alloc[s] = base[s] + (rank < left)
    # threshold remaining minutes: the left-th largest (ties accepted)
    has_left = left_v >= 1
    thr_v = np.full(nv, np.inf)
    vv = np.flatnonzero(has_left & (counts > 0))
    idx = starts[vv] + np.minimum(left_v[vv], counts[vv]).astype(np.int64) - 1
    thr_v[vv] = rem[s[idx]]
    r = rem[s]
    thr = thr_v[sv]
    gt = r > thr
    eq = (r == thr) & has_left[sv]
    n_gt = np.bincount(sv, weights=gt, minlength=nv)
    n_eq = np.bincount(sv, weights=eq, minlength=nv)
    slots = left_v - n_gt
    all_eq = eq & (slots[sv] >= n_eq[sv])
    lo[s] = base[s] + gt + all_eq
    hi[s] = base[s] + gt + (eq & (slots[sv] > 0))
    return lo, hi, alloc


# --- public entry point -----------------------------------------------------
def _prepare(claims: pd.DataFrame) -> pd.DataFrame:
    if not isinstance(claims, pd.DataFrame):
        raise TypeError(
            "apply_rules expects a pandas DataFrame of claim lines; got "
            f"{type(claims)}."
        )
    S.check_required_columns(claims.columns)
    return claims

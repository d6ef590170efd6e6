"""The denial work queue: next action, deadline and expected recovery per line."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from ptdenial import schema as S
from ptdenial.analytics import expected_payment
from ptdenial.exceptions import ClaimsSchemaError, ReferenceDataError
from ptdenial.recovery._actions import (
    APPEAL,
    CORRECTED_CLAIM,
    PATIENT_RESPONSIBILITY,
    WRITE_OFF,
    appeal_limits,
    carc_actions,
    rarc_actions,
    recovery_likelihoods,
)
from ptdenial.reference import load_reference

__all__ = ["denial_queue", "QUEUE_COLUMNS"]

#: Columns of :func:`denial_queue`, in order.
QUEUE_COLUMNS = (
    "rank",
    S.CLAIM_ID,
    S.LINE_NUMBER,
    S.PAYER_ID,
    S.PAYER_CLASS,
    S.DATE_OF_SERVICE,
    S.CPT_CODE,
    S.UNITS,
    S.MODIFIERS,
    S.ADJUDICATION_DATE,
    S.CHARGE_AMOUNT,
    S.PAID_AMOUNT,
    "expected_payment",
    S.ADJUSTMENT_CODES,
    S.REMARK_CODES,
    S.RULE_HITS,
    "denial_reason",
    "action",
    "todo",
    "documents",
    "deadline",
    "deadline_basis",
    "deadline_verified",
    "days_left",
    "recoverable",
    "likelihood",
    "likelihood_source",
    "expected_recovery",
)

# Rules whose fix is a claim edit: when one fired on a denied line with the
# same CARC, the next action is a corrected claim carrying the rule's fix.
_CORRECTABLE_RULES = frozenset(
    {
        "GP_MISSING",
        "KX_MISSING",
        "DX_MISSING",
        "DX_SUPPORT",
        "NCCI_PTP",
        "MUE",
        "PER_CODE_MIDPOINT",
        "REFERRING_NPI",
        "AUTH_INVALID",
        "UNITS_TOTAL",
        "UNITS_ALLOC",
        "MIN_8",
    }
)
_CLAIM_EDIT_RARCS = frozenset({"M76", "N280", "N519", "N657"})
_APPEAL_LIMITS = {
    r.payer_class: (int(r.days), bool(r.verified), r.source)
    for r in appeal_limits().itertuples(index=False)
}
_RARC_ACTIONS = rarc_actions()


def _split(code: str) -> tuple[str, str]:
    group, _, carc = str(code).partition("-")
    return (group, carc) if carc else ("", group)


def _codes(value) -> tuple:
    if isinstance(value, tuple | list | np.ndarray):
        return tuple(str(v) for v in value)
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ()
    return tuple(c for c in str(value).replace(",", "|").split("|") if c)


def _hits_by_line(claims: pd.DataFrame, hits) -> dict:
    """(claim_id, line_number) -> list of (rule_id, fix, carc) from a hit table."""
    out: dict = {}
    if hits is not None and len(hits):
        for row in hits.itertuples(index=False):
            key = (str(row.claim_id), int(row.line_number))
            out.setdefault(key, []).append(
                (
                    str(row.rule_id),
                    str(getattr(row, "fix", "") or ""),
                    str(getattr(row, "carc", "") or ""),
                )
            )
    elif S.RULE_HITS in claims.columns:  # a scored table: ids only
        for cid, ln, ids in zip(
            claims[S.CLAIM_ID], claims[S.LINE_NUMBER], claims[S.RULE_HITS], strict=True
        ):
            if len(_codes(ids)):
                out[(str(cid), int(ln))] = [(r, "", "") for r in _codes(ids)]
    return out


def _decide(codes, rarcs, rule_hits, table, non_denial) -> dict:
    """Action for one line from its CARCs, RARCs and rule hits."""
    pairs = [_split(c) for c in codes]
    denial = [(g, c) for g, c in pairs if c not in non_denial]
    group, code = denial[0] if denial else (pairs[0] if pairs else ("", ""))
    reason = f"{group}-{code}" if group else code
    hit = table.get((code, group)) or table.get((code, "*"))
    if hit is None:
        action = PATIENT_RESPONSIBILITY if group == "PR" else APPEAL
        decision = {
            "action": action,
            "todo": f"{reason}: not in the decision table; "
            "read the remittance text and decide",
            "documents": "",
        }
    else:
        decision = dict(zip(("action", "todo", "documents"), hit, strict=True))
    docs = [decision["documents"]] if decision["documents"] else []
    for rarc in rarcs:
        note = _RARC_ACTIONS.get(rarc)
        if note is None:
            continue
        if rarc in _CLAIM_EDIT_RARCS and decision["action"] in (
            APPEAL,
            CORRECTED_CLAIM,
        ):
            decision["action"] = CORRECTED_CLAIM
            decision["todo"] = f"{note[1]} ({rarc})"
        elif note[0] == APPEAL and decision["action"] == APPEAL:
            docs.append(f"{note[1]} ({rarc})")
    denial_codes = {c for _, c in denial}
    for rule_id, fix, carc in rule_hits:
        rule_code = _split(carc)[1] if carc else ""
        if rule_id in _CORRECTABLE_RULES and (not carc or rule_code in denial_codes):
            if decision["action"] in (APPEAL, WRITE_OFF, CORRECTED_CLAIM):
                decision["action"] = CORRECTED_CLAIM
                decision["todo"] = f"corrected claim: {fix or rule_id}"
                decision["rule"] = (rule_id, fix)
                docs = []
                break
    decision["documents"] = "; ".join(docs)
    decision["denial_reason"] = reason
    return decision


def _str(value, default: str = "") -> str:
    """Text of a cell; ``default`` for missing values (None, NaN, <NA>)."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return default
    return str(value) or default


_POLICY_CACHE: dict = {}


_BILL_UNITS = re.compile(r"\bbill (?:at most )?(\d+) units?\b")


def _units_after_fix(rule, units, cpt_code, reference):
    """Units the corrected claim will bill, when its fix changes them; else None.

    A units fix pays for fewer units: the MUE fix bills the MUE value, the
    8-minute-rule fixes bill the units their text names.
    """
    if rule is None or units is None or pd.isna(units):
        return None
    rule_id, fix = rule
    if rule_id == "MUE":
        mue = reference.mue[reference.mue["cpt_code"].astype(str) == str(cpt_code)]
        return min(int(units), int(mue["mue_units"].iloc[-1])) if len(mue) else None
    if rule_id in ("UNITS_TOTAL", "UNITS_ALLOC", "PER_CODE_MIDPOINT", "MIN_8"):
        found = _BILL_UNITS.search(fix or "")
        return min(int(units), int(found.group(1))) if found else None
    return None


def _policy_days(reference, payer_class: str, payer_id: str, column: str):
    key = (id(reference), payer_class, payer_id, column)
    if key not in _POLICY_CACHE:
        if len(_POLICY_CACHE) > 10_000:
            _POLICY_CACHE.clear()
        _POLICY_CACHE[key] = _policy_days_uncached(
            reference, payer_class, payer_id, column
        )
    return _POLICY_CACHE[key]


def _policy_days_uncached(reference, payer_class, payer_id, column):
    try:
        policy = reference.payer_policy(payer_class, payer_id)
    except ReferenceDataError:  # an unknown class falls back to "other"
        policy = reference.payer_policy("other")
    value = policy.get(column)
    if "unverified" in policy:  # the policy matrix flags each field
        verified = column not in policy["unverified"]
    else:
        verified = str(policy.get("verified", "")).lower() in ("true", "1")
    if value is None or pd.isna(value) or str(value) == "":
        return None, verified
    return int(float(value)), verified


def _deadline(row, action, reference, appeal_days) -> tuple:
    """(deadline, basis, verified) of an action; NaT where none applies."""
    payer_class = _str(row.get(S.PAYER_CLASS), "other")
    payer_id = _str(row.get(S.PAYER_ID))
    if action == CORRECTED_CLAIM and pd.notna(row.get(S.DATE_OF_SERVICE)):
        days, verified = _policy_days(
            reference, payer_class, payer_id, "filing_limit_days"
        )
        if days is not None:
            return (
                row[S.DATE_OF_SERVICE] + pd.Timedelta(days=days),
                f"timely filing: {days} days from the date of service",
                verified,
            )
    if action == APPEAL and pd.notna(row.get(S.ADJUDICATION_DATE)):
        days, verified, basis = None, False, ""
        if appeal_days and (payer_id in appeal_days or payer_class in appeal_days):
            days = int(appeal_days.get(payer_id, appeal_days.get(payer_class)))
            basis, verified = "set by the user", True
        if days is None:
            days, verified = _policy_days(
                reference, payer_class, payer_id, "appeal_deadline_days"
            )
            basis = "payer policy matrix"
        if days is None:
            days, verified, basis = _APPEAL_LIMITS.get(
                payer_class, _APPEAL_LIMITS["other"]
            )
        return (
            row[S.ADJUDICATION_DATE] + pd.Timedelta(days=days),
            f"appeal: {days} days from the remittance ({basis})",
            verified,
        )
    return pd.NaT, "", pd.NA


def _labelled(claims: pd.DataFrame, reference) -> pd.DataFrame:
    if S.DENIED in claims.columns and S.PARTIALLY_DENIED in claims.columns:
        return claims
    needed = (S.ADJUDICATION_DATE, S.PAID_AMOUNT, S.ADJUSTMENT_CODES)
    missing = [c for c in needed if c not in claims.columns]
    if missing and S.DENIED not in claims.columns:
        raise ClaimsSchemaError(
            f"The denial queue needs remittance outcomes; missing {missing}. Pass "
            "an ingested 835 or a claim table with its remittance columns.",
            missing=missing,
        )
    return S.derive_outcomes(claims, reference=reference)


def denial_queue(
    claims: pd.DataFrame,
    *,
    as_of=None,
    hits=None,
    reference=None,
    likelihoods=None,
    appeal_days=None,
) -> pd.DataFrame:
    """What to do next with each denied or partially denied line, and by when.

    The action comes from the line's first denial CARC with its group
    (:func:`carc_actions`), refined by its RARCs (a remark that names a claim
    error, e.g. ``M76`` or ``N280``, makes it a corrected claim; one that
    names a policy, e.g. ``N115``, adds the documents to attach) and by the
    rule hits on the line: a claim-edit rule (GP, KX, diagnosis, NCCI, MUE,
    units, referring NPI ...) whose CARC is among the line's denial CARCs
    turns it into a corrected claim with the rule's fix. A timely-filing
    denial (CARC 29) of a line whose ``submission_date`` was within the
    payer's filing limit becomes an appeal with proof of timely filing.

    Deadlines: a corrected claim must arrive within the payer's filing limit
    from the date of service (``payer_policies.filing_limit_days``); an
    appeal within the payer's appeal window from the remittance date
    (``appeal_days`` when given, else the policy matrix's
    ``appeal_deadline_days`` when it has that column, else :func:`appeal_limits`:
    Medicare 120 days per 42 CFR 405.942, the others marked as defaults).
    ``deadline_verified`` carries the source's ``verified`` flag.

    Ranking: ``expected_recovery = recoverable x likelihood``, where
    ``recoverable`` is the expected payment
    (:func:`ptdenial.analytics.expected_payment`, learned from the paid lines
    of ``claims``) minus what was paid, for the actions that can bring money
    back (a corrected claim that bills fewer units, the MUE or 8-minute-rule
    fix, recovers only the units it bills), and ``likelihood`` is the
    action's row of :func:`recovery_likelihoods` (``likelihood_source`` says
    where it comes from). A line whose deadline has passed on ``as_of``
    recovers 0.

    Parameters
    ----------
    claims : pandas.DataFrame
        An ingested 835 (:func:`ptdenial.x12.read_835`) or claim lines with
        outcome columns (``adjudication_date``, ``paid_amount``,
        ``adjustment_codes`` ...), canonical dtypes.
    as_of : str or Timestamp, optional
        Work date for ``days_left``; default today.
    hits : pandas.DataFrame, optional
        Tidy rule hits (``apply_rules(...).hits``) of the same lines; without
        it, a ``rule_hits`` column of a scored table is used when present.
    reference : ptdenial.reference.Reference, optional
    likelihoods : pandas.DataFrame or path, optional
        Overrides for :func:`recovery_likelihoods`.
    appeal_days : mapping of payer_id or payer_class to int, optional
        The practice's own appeal windows (marked verified).

    Returns
    -------
    pandas.DataFrame
        :data:`QUEUE_COLUMNS`, best expected recovery first.

    Examples
    --------
    >>> import pandas as pd
    >>> from ptdenial.recovery import denial_queue
    >>> lines = pd.DataFrame({
    ...     "claim_id": ["C1", "C2", "C3"], "line_number": [1, 1, 1],
    ...     "payer_id": ["MCR"] * 3, "payer_class": ["medicare"] * 3,
    ...     "date_of_service": pd.to_datetime(["2026-01-05"] * 3),
    ...     "cpt_code": ["97112"] * 3, "units": [1, 1, 1],
    ...     "charge_amount": [60.0] * 3,
    ...     "adjudication_date": pd.to_datetime(["2026-02-01"] * 3),
    ...     "allowed_amount": [0.0, 0.0, 33.0], "paid_amount": [0.0, 0.0, 26.4],
    ...     "adjustment_codes": [("CO-50",), ("CO-4",), ("CO-45", "PR-2")],
    ...     "remark_codes": [("N115",), ("N519",), ()],
    ... })
    >>> q = denial_queue(lines, as_of="2026-02-10")
    >>> q[["claim_id", "action", "deadline"]].astype(str).values.tolist()
    [['C2', 'corrected_claim', '2027-01-05'], ['C1', 'appeal', '2026-06-01']]
    """
    reference = reference if reference is not None else load_reference()
    as_of = pd.Timestamp(
        as_of if as_of is not None else pd.Timestamp.today()
    ).normalize()
    labelled = _labelled(claims, reference)
    denied = labelled[S.DENIED].fillna(False).astype(bool)
    if S.PARTIALLY_DENIED in labelled.columns:
        denied |= labelled[S.PARTIALLY_DENIED].fillna(False).astype(bool)
    if S.PENDING in labelled.columns:
        denied &= ~labelled[S.PENDING].fillna(False).astype(bool)
    priced = expected_payment(labelled, reference=reference)
    lines = labelled[denied.to_numpy()].copy()
    lines["expected_payment"] = priced[denied.to_numpy()].round(2).to_numpy()
    rows = _decide_all(lines, hits, reference, appeal_days, as_of, likelihoods)
    return _finish(lines, rows)


def _decide_all(lines, hits, reference, appeal_days, as_of, likelihoods) -> list:
    table = {
        (r.code, r.group): (r.action, r.todo, r.documents)
        for r in carc_actions().itertuples(index=False)
    }
    non_denial = reference.non_denial_carcs()
    like = recovery_likelihoods(likelihoods)
    like_map = {
        (r.action, r.payer_class): (float(r.likelihood), r.source)
        for r in like.itertuples(index=False)
    }
    by_line = _hits_by_line(lines, hits)
    rows = []
    for rec in lines.to_dict("records"):
        key = (str(rec[S.CLAIM_ID]), int(rec[S.LINE_NUMBER]))
        rule_hits = by_line.get(key, [])
        d = _decide(
            _codes(rec.get(S.ADJUSTMENT_CODES)),
            _codes(rec.get(S.REMARK_CODES)),
            rule_hits,
            table,
            non_denial,
        )
        _timely_filing_proof(d, rec, rule_hits, reference)
        d["deadline"], d["deadline_basis"], d["deadline_verified"] = _deadline(
            rec, d["action"], reference, appeal_days
        )
        d["days_left"] = (
            pd.NA if pd.isna(d["deadline"]) else int((d["deadline"] - as_of).days)
        )
        paid = pd.to_numeric(rec.get(S.PAID_AMOUNT), errors="coerce")
        paid = 0.0 if pd.isna(paid) else float(paid)
        units = rec.get(S.UNITS)
        after = _units_after_fix(
            d.pop("rule", None), units, rec.get(S.CPT_CODE), reference
        )
        scale = after / int(units) if after is not None and int(units) > 0 else 1.0
        if after is not None:
            d["todo"] += f" (pays {after} of {int(units)} units)"
        gap = max(float(rec["expected_payment"]) * scale - paid, 0.0)
        recovers = d["action"] in (CORRECTED_CLAIM, APPEAL, PATIENT_RESPONSIBILITY)
        d["recoverable"] = round(gap, 2) if recovers else 0.0
        cls = _str(rec.get(S.PAYER_CLASS))
        p, source = like_map.get((d["action"], cls)) or like_map.get((d["action"], ""))
        d["likelihood"], d["likelihood_source"] = p, source
        expired = d["days_left"] is not pd.NA and d["days_left"] < 0
        if expired:
            d["todo"] = f"deadline passed: {d['todo']}"
        d["expected_recovery"] = 0.0 if expired else round(d["recoverable"] * p, 2)
        d[S.RULE_HITS] = tuple(r for r, _, _ in rule_hits)
        rows.append(d)
    return rows


def _timely_filing_proof(d: dict, rec: dict, rule_hits, reference) -> None:
    """CARC 29 on a line sent within the filing limit: appeal with proof."""
    if d["denial_reason"].split("-")[-1] != "29" or any(
        r == "TIMELY" for r, _, _ in rule_hits
    ):
        return
    sent, dos = rec.get(S.SUBMISSION_DATE), rec.get(S.DATE_OF_SERVICE)
    if sent is None or dos is None or pd.isna(sent) or pd.isna(dos):
        return
    days, _ = _policy_days(
        reference,
        _str(rec.get(S.PAYER_CLASS), "other"),
        _str(rec.get(S.PAYER_ID)),
        "filing_limit_days",
    )
    if days is not None and (sent - dos).days <= days:
        d["action"] = APPEAL
        d["todo"] = "appeal: the claim was filed in time"
        d["documents"] = "proof of timely filing (clearinghouse acceptance report)"


def _finish(lines: pd.DataFrame, rows: list) -> pd.DataFrame:
    decided = pd.DataFrame(rows, index=lines.index)
    out = lines.drop(columns=[c for c in decided.columns if c in lines.columns])
    out = pd.concat([out, decided], axis=1)
    for col in QUEUE_COLUMNS:
        if col not in out.columns:
            out[col] = pd.NA
    out["deadline"] = pd.to_datetime(out["deadline"])
    out["days_left"] = out["days_left"].astype("Int64")
    out["deadline_verified"] = out["deadline_verified"].astype("boolean")
    out["expected_recovery"] = out["expected_recovery"].astype(float)
    out = out.sort_values(
        ["expected_recovery", "deadline"],
        ascending=[False, True],
        na_position="last",
        kind="stable",
    ).reset_index(drop=True)
    out["rank"] = np.arange(1, len(out) + 1)
    return out[list(QUEUE_COLUMNS)]

"""Write claim-line tables as 837P and 835 files (test fixtures, demos).

The writers exist so that tests can round-trip the synthetic world:
claim lines -> X12 -> :func:`ptdenial.x12.read_x12` -> the same table. They
write valid envelopes (SE/GE/IEA counts are computed, and the reader checks
them with pyx12) but are not a billing system: names are placeholders and
only what the contract carries is written.

What the files carry, column by column:

* 837P: ``claim_id`` (CLM01), ``line_number`` (LX01), ``patient_id`` (as the
  subscriber's member id NM1*IL09, with the placeholder name
  ``PATIENT, SYNTHETIC``; the reader turns it into a keyed pseudonym),
  ``payer_id`` (NM1*PR09), ``payer_class`` (SBR09, see
  ``PAYER_CLASS_TO_FILING_CODE``), ``date_of_service`` (DTP*472),
  ``cpt_code`` and up to 4 ``modifiers`` (SV101), ``charge_amount`` (SV102),
  ``units`` (SV104), ``diagnosis_codes`` (HI, at most 12 per claim and 4 per
  line, through SV107 pointers), ``rendering_provider_id`` (NM1*82) and
  ``provider_credential`` (PRV*PE taxonomy), ``referring_provider_id``
  (NM1*DN), ``place_of_service`` (CLM05-1 / SV105), ``clinic_id`` (billing
  provider NM1*85), ``submission_date`` (BHT04), ``prior_auth_number``
  (REF*G1), ``episode_start_date`` (DTP*454), and the line control number
  REF*6R (``line_control_number`` when present, else ``line_number``).
* 835: the same keys plus ``adjudication_date`` (DTM*405), ``paid_amount``
  (SVC03), ``allowed_amount`` (AMT*B6), ``adjustment_codes`` (CAS, in order;
  the amounts are split from charge - allowed and allowed - paid because the
  table holds no per-code amounts) and ``remark_codes`` (LQ*HE). Pending
  lines (no adjudication date) are not written.

Not carried by X12 (they come from the documentation export): ``minutes``,
``visit_timed_minutes``, ``auth_visits_*``, ``visit_number``, plan-of-care
and progress-report dates, documented deficits and interventions, objective
measures, note dates and text, ``ytd_therapy_allowed``.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import pandas as pd

from ptdenial import schema as S
from ptdenial.io import atomic_path
from ptdenial.x12._codes import PAYER_CLASS_TO_FILING_CODE, TAXONOMY_FOR_CREDENTIAL
from ptdenial.x12._flatten import LINE_CONTROL_NUMBER

__all__ = ["write_837p", "write_835", "FIXTURE_PATIENT_NAME"]

# (last, first) written for every patient; the member id is the patient_id.
FIXTURE_PATIENT_NAME = ("PATIENT", "SYNTHETIC")


def _d(value) -> str:
    return "" if pd.isna(value) else pd.Timestamp(value).strftime("%Y%m%d")


def _m(value) -> str:
    return "" if value is None or pd.isna(value) else f"{float(value):.2f}"


def _s(value) -> str:
    return (
        ""
        if value is None or (not isinstance(value, tuple) and pd.isna(value))
        else (str(value))
    )


class _Out:
    """Segment text with SE/GE/IEA counts computed on the fly."""

    def __init__(self, comp):
        self.comp = comp
        self.parts: list[str] = []
        self.n_st_segs = 0
        self.n_st = 0
        self.control = ""

    def seg(self, *elements):
        items = [_s(e) for e in elements]
        while len(items) > 1 and items[-1] == "":
            items.pop()
        head = items[0]
        if head == "SE":
            items[1] = str(self.n_st_segs + 1)
        elif head == "GE":
            items[1:3] = [str(self.n_st), self.control]
        elif head == "IEA":
            items[1:3] = ["1", f"{int(self.control):09d}"]
        self.parts.append("*".join(items) + "~\n")
        if head == "ST":
            self.n_st += 1
            self.n_st_segs = 1
        elif head not in ("ISA", "GS", "GE", "IEA", "SE"):
            self.n_st_segs += 1

    def envelope(self, fg, version, control, date):
        stamp = pd.Timestamp(date) if not pd.isna(date) else pd.Timestamp("2000-01-01")
        self.control = str(control)
        self.seg(
            "ISA",
            "00",
            " " * 10,
            "00",
            " " * 10,
            "ZZ",
            "PTDENIAL".ljust(15),
            "ZZ",
            "RECEIVER".ljust(15),
            stamp.strftime("%y%m%d"),
            "1200",
            "^",
            "00501",
            f"{control:09d}",
            "0",
            "T",
            self.comp,
        )
        self.seg(
            "GS",
            fg,
            "PTDENIAL",
            "RECEIVER",
            stamp.strftime("%Y%m%d"),
            "1200",
            str(control),
            "X",
            version,
        )

    def close(self, path):
        self.seg("GE", "0", "0")
        self.seg("IEA", "0", "0")
        with atomic_path(path) as tmp:
            tmp.write_text("".join(self.parts))
        return Path(path)


_FIELDS = (
    S.CLAIM_ID,
    S.LINE_NUMBER,
    S.PATIENT_ID,
    S.PAYER_ID,
    S.PAYER_CLASS,
    S.DATE_OF_SERVICE,
    S.CPT_CODE,
    S.MODIFIERS,
    S.UNITS,
    S.CHARGE_AMOUNT,
    S.DIAGNOSIS_CODES,
    S.RENDERING_PROVIDER_ID,
    S.PROVIDER_CREDENTIAL,
    S.CLINIC_ID,
    S.REFERRING_PROVIDER_ID,
    S.PLACE_OF_SERVICE,
    S.SUBMISSION_DATE,
    S.PRIOR_AUTH_NUMBER,
    S.EPISODE_START_DATE,
    S.ADJUDICATION_DATE,
    S.ALLOWED_AMOUNT,
    S.PAID_AMOUNT,
    S.ADJUSTMENT_CODES,
    S.REMARK_CODES,
)


def _records(claims: pd.DataFrame) -> list[dict]:
    """Sorted plain records with every field the writers use (None when absent)."""
    df = claims.sort_values([S.CLAIM_ID, S.LINE_NUMBER], kind="stable")
    cols = {}
    for name in _FIELDS:
        if name in df.columns:
            col = df[name].astype(object)
            cols[name] = col.where(df[name].notna(), None).tolist()
        else:
            cols[name] = [None] * len(df)
    if LINE_CONTROL_NUMBER in df.columns:
        lcn = df[LINE_CONTROL_NUMBER].astype("string")
        lcn = lcn.fillna(df[S.LINE_NUMBER].astype("string"))
    else:
        lcn = df[S.LINE_NUMBER].astype("string")
    cols["_lcn"] = lcn.tolist()
    names = list(cols)
    return [
        dict(zip(names, row, strict=True)) for row in zip(*cols.values(), strict=True)
    ]


def _by(records, key):
    """Group consecutive records by ``key`` (records are sorted by claim)."""
    return [list(g) for _, g in itertools.groupby(records, key=lambda r: r[key])]


def _shared(values):
    """The common value of a claim's lines, or None when they differ."""
    uniq = set(values)
    return uniq.pop() if len(uniq) == 1 else None


def write_837p(claims: pd.DataFrame, path, *, component=":", control=1) -> Path:
    """Write claim lines as one 837P (005010X222A1) interchange.

    Parameters
    ----------
    claims : pandas.DataFrame
        Canonical claim lines (output of :func:`ptdenial.schema.validate_claims`).
    path : str or Path
        File to write.
    component : str
        Component separator (ISA16), ``":"`` or ``">"`` for instance.
    control : int
        Interchange and group control number.

    Returns
    -------
    pathlib.Path

    Raises
    ------
    ValueError
        When a claim has more than 12 distinct diagnoses or a line more than
        4 (the 837P's limits).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> import pandas as pd
    >>> from ptdenial.x12 import read_837p, write_837p
    >>> lines = pd.DataFrame({"claim_id": ["C1"], "line_number": [1],
    ...     "patient_id": ["P1"], "payer_id": ["MCR"], "payer_class": ["medicare"],
    ...     "date_of_service": pd.to_datetime(["2025-01-02"]), "cpt_code": ["97112"],
    ...     "modifiers": [("GP",)], "units": [2], "charge_amount": [80.0],
    ...     "diagnosis_codes": [("R26.81",)], "rendering_provider_id": ["1111111111"]})
    >>> p = write_837p(lines, pathlib.Path(tempfile.mkdtemp()) / "c.837")
    >>> read_837p(p, key="k")[["cpt_code", "units", "payer_class"]].to_dict("records")
    [{'cpt_code': '97112', 'units': 2, 'payer_class': 'medicare'}]
    """
    records = _records(claims)
    for claim in _by(records, S.CLAIM_ID):
        bht = claim[0][S.SUBMISSION_DATE]
        if bht is None:
            bht = max(r[S.DATE_OF_SERVICE] for r in claim)
        for r in claim:
            r["_bht"] = bht
    records.sort(key=lambda r: (pd.Timestamp(r["_bht"]), r[S.CLAIM_ID]))
    out = _Out(component)
    out.envelope("HC", "005010X222A1", control, records[0]["_bht"] if records else None)
    n_st = 0
    for batch in _by(records, "_bht"):
        n_st += 1
        out.seg("ST", "837", f"{n_st:04d}", "005010X222A1")
        out.seg("BHT", "0019", "00", f"B{n_st}", _d(batch[0]["_bht"]), "1200", "CH")
        out.seg("NM1", "41", "2", "PTDENIAL", "", "", "", "", "46", "PTDENIAL")
        out.seg("NM1", "40", "2", "RECEIVER", "", "", "", "", "46", "RECEIVER")
        hl = 0
        for lines in _by(batch, S.CLAIM_ID):
            hl = _claim_837(out, lines, hl)
        out.seg("SE", "0", f"{n_st:04d}")
    return out.close(path)


def _claim_837(out, lines, hl):
    first = lines[0]
    c = out.comp
    hl += 1
    billing = _s(first[S.CLINIC_ID]) or "UNKNOWN"
    out.seg("HL", str(hl), "", "20", "1")
    out.seg("NM1", "85", "2", "BILLING PROVIDER", "", "", "", "", "XX", billing)
    hl += 1
    out.seg("HL", str(hl), str(hl - 1), "22", "0")
    payer_class = _s(first[S.PAYER_CLASS]) or "other"
    out.seg(
        "SBR",
        "P",
        "18",
        "",
        "",
        "",
        "",
        "",
        "",
        PAYER_CLASS_TO_FILING_CODE.get(payer_class, "ZZ"),
    )
    last, first_name = FIXTURE_PATIENT_NAME
    out.seg("NM1", "IL", "1", last, first_name, "", "", "", "MI", first[S.PATIENT_ID])
    out.seg(
        "NM1", "PR", "2", first[S.PAYER_ID], "", "", "", "", "PI", first[S.PAYER_ID]
    )
    dx: list[str] = []
    for ln in lines:
        for code in ln[S.DIAGNOSIS_CODES] or ():
            if code not in dx:
                dx.append(code)
    if len(dx) > 12:
        raise ValueError(
            f"claim {first[S.CLAIM_ID]!r} has {len(dx)} diagnoses; an "
            "837P claim holds at most 12."
        )
    claim_pos = _shared(ln[S.PLACE_OF_SERVICE] for ln in lines)
    if claim_pos is None:
        claim_pos = _s(first[S.PLACE_OF_SERVICE])
    total = sum(float(ln[S.CHARGE_AMOUNT]) for ln in lines)
    out.seg(
        "CLM",
        first[S.CLAIM_ID],
        _m(total),
        "",
        "",
        f"{claim_pos}{c}B{c}1",
        "Y",
        "A",
        "Y",
        "Y",
    )
    episode = _shared(ln[S.EPISODE_START_DATE] for ln in lines)
    if episode is not None:
        out.seg("DTP", "454", "D8", _d(episode))
    auth = _shared(ln[S.PRIOR_AUTH_NUMBER] for ln in lines)
    if auth is not None:
        out.seg("REF", "G1", auth)
    if dx:
        hi = [
            f"{'ABK' if i == 0 else 'ABF'}{c}{code.replace('.', '')}"
            for i, code in enumerate(dx)
        ]
        out.seg("HI", *hi)
    referring = _shared(ln[S.REFERRING_PROVIDER_ID] for ln in lines)
    if referring is not None:
        out.seg("NM1", "DN", "1", "REFERRING", "", "", "", "", "XX", referring)
    pairs = [(ln[S.RENDERING_PROVIDER_ID], ln[S.PROVIDER_CREDENTIAL]) for ln in lines]
    rendering = _shared(pairs)
    if rendering is not None:
        _rendering(out, *rendering)
    for ln, pair in zip(lines, pairs, strict=True):
        _line_837(out, ln, dx, claim_pos, auth, referring, rendering, pair)
    return hl


def _rendering(out, provider, credential):
    out.seg("NM1", "82", "1", "RENDERING", "", "", "", "", "XX", provider)
    if credential is not None:
        taxonomy = TAXONOMY_FOR_CREDENTIAL.get(credential, "174400000X")
        out.seg("PRV", "PE", "PXC", taxonomy)


def _line_837(out, ln, dx, claim_pos, auth, referring, rendering, pair):
    c = out.comp
    codes = ln[S.DIAGNOSIS_CODES] or ()
    if len(codes) > 4:
        raise ValueError(
            f"claim {ln[S.CLAIM_ID]!r} line {ln[S.LINE_NUMBER]} points "
            f"to {len(codes)} diagnoses; an 837P line holds at most 4."
        )
    ptr = c.join(str(dx.index(code) + 1) for code in codes)
    mods = tuple(ln[S.MODIFIERS] or ())[:4]
    proc = c.join(["HC", ln[S.CPT_CODE], *mods])
    pos = _s(ln[S.PLACE_OF_SERVICE])
    out.seg("LX", str(ln[S.LINE_NUMBER]))
    out.seg(
        "SV1",
        proc,
        _m(ln[S.CHARGE_AMOUNT]),
        "UN",
        str(int(ln[S.UNITS])),
        pos if pos != claim_pos else "",
        "",
        ptr,
    )
    out.seg("DTP", "472", "D8", _d(ln[S.DATE_OF_SERVICE]))
    line_auth = _s(ln[S.PRIOR_AUTH_NUMBER])
    if auth is None and line_auth:
        out.seg("REF", "G1", line_auth)
    out.seg("REF", "6R", ln["_lcn"])
    if rendering is None:
        _rendering(out, *pair)
    line_ref = _s(ln[S.REFERRING_PROVIDER_ID])
    if referring is None and line_ref:
        out.seg("NM1", "DN", "1", "REFERRING", "", "", "", "", "XX", line_ref)


def _cas(out, codes, charge, allowed, paid):
    """CAS segments in the order of ``codes``, with amounts split evenly."""
    if not codes:
        return
    charge = 0.0 if pd.isna(charge) else float(charge)
    paid = 0.0 if pd.isna(paid) else float(paid)
    allowed = paid if pd.isna(allowed) else float(allowed)
    pr = [c for c in codes if c.startswith("PR-")]
    other = [c for c in codes if not c.startswith("PR-")]
    amount = {}
    for group, total in ((pr, allowed - paid), (other, charge - allowed)):
        for c in group:
            amount[c] = round(total / len(group), 2) if group else 0.0
    runs: list[list[str]] = []
    for code in codes:
        if (
            runs
            and runs[-1][0].split("-")[0] == code.split("-")[0]
            and len(runs[-1]) < 6
        ):
            runs[-1].append(code)
        else:
            runs.append([code])
    for run in runs:
        group = run[0].split("-")[0]
        elements = []
        for code in run:
            elements += [code.split("-", 1)[1], _m(amount[code]), ""]
        out.seg("CAS", group, *elements)


def write_835(claims: pd.DataFrame, path, *, component=":", control=1) -> Path:
    """Write the adjudicated lines of a claim table as one 835 interchange.

    One transaction set per payer and adjudication date; one CLP per claim
    (status 4 when nothing was allowed or paid, else 1).

    Parameters
    ----------
    claims : pandas.DataFrame
        Canonical claim lines with outcome columns.
    path : str or Path
        File to write.
    component : str
        Component separator (ISA16).
    control : int
        Interchange and group control number.

    Returns
    -------
    pathlib.Path

    Examples
    --------
    >>> import tempfile, pathlib
    >>> import pandas as pd
    >>> from ptdenial.x12 import read_835, write_835
    >>> lines = pd.DataFrame({"claim_id": ["C1"], "line_number": [1],
    ...     "patient_id": ["P1"], "payer_id": ["MCR"], "payer_class": ["medicare"],
    ...     "date_of_service": pd.to_datetime(["2025-01-02"]), "cpt_code": ["97112"],
    ...     "units": [2], "charge_amount": [80.0], "diagnosis_codes": [("R26.81",)],
    ...     "rendering_provider_id": ["1111111111"],
    ...     "adjudication_date": pd.to_datetime(["2025-01-20"]),
    ...     "allowed_amount": [0.0], "paid_amount": [0.0],
    ...     "adjustment_codes": [("CO-50",)], "remark_codes": [("N115",)]})
    >>> p = write_835(lines, pathlib.Path(tempfile.mkdtemp()) / "r.835")
    >>> read_835(p, key="k").loc[0, ["claim_status", "adjustment_codes"]].tolist()
    ['4', ('CO-50',)]
    """
    records = [r for r in _records(claims) if r[S.ADJUDICATION_DATE] is not None]
    records.sort(
        key=lambda r: (
            str(r[S.PAYER_ID]),
            pd.Timestamp(r[S.ADJUDICATION_DATE]),
            r[S.CLAIM_ID],
        )
    )
    out = _Out(component)
    first_date = min((r[S.ADJUDICATION_DATE] for r in records), default=None)
    out.envelope("HP", "005010X221A1", control, first_date)
    n_st = 0
    for batch in _by_many(records, (S.PAYER_ID, S.ADJUDICATION_DATE)):
        n_st += 1
        payer, adj = batch[0][S.PAYER_ID], batch[0][S.ADJUDICATION_DATE]
        paid_total = sum(_f(r[S.PAID_AMOUNT]) for r in batch)
        out.seg("ST", "835", f"{n_st:04d}")
        out.seg(
            "BPR",
            "I",
            _m(paid_total),
            "C",
            "CHK",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            _d(adj),
        )
        out.seg("TRN", "1", f"{control}{n_st:05d}", "1999999999")
        out.seg("DTM", "405", _d(adj))
        out.seg("N1", "PR", payer, "XV", payer)
        out.seg("N1", "PE", "PAYEE", "XX", "1999999999")
        out.seg("LX", "1")
        for n_clp, lines in enumerate(_by(batch, S.CLAIM_ID), 1):
            _claim_835(out, lines, f"{control}{n_st:04d}{n_clp:05d}")
        out.seg("SE", "0", f"{n_st:04d}")
    return out.close(path)


def _f(value) -> float:
    return 0.0 if value is None else float(value)


def _by_many(records, keys):
    return [
        list(g)
        for _, g in itertools.groupby(records, key=lambda r: tuple(r[k] for k in keys))
    ]


def _claim_835(out, lines, icn):
    first = lines[0]
    charge = sum(_f(ln[S.CHARGE_AMOUNT]) for ln in lines)
    paid = sum(_f(ln[S.PAID_AMOUNT]) for ln in lines)
    allowed = [ln[S.ALLOWED_AMOUNT] for ln in lines]
    pr = sum(
        _f(a) - _f(ln[S.PAID_AMOUNT])
        for a, ln in zip(allowed, lines, strict=True)
        if a is not None
    )
    status = "4" if paid == 0 and sum(_f(a) for a in allowed) == 0 else "1"
    payer_class = _s(first[S.PAYER_CLASS]) or "other"
    out.seg(
        "CLP",
        first[S.CLAIM_ID],
        status,
        _m(charge),
        _m(paid),
        _m(max(pr, 0.0)),
        PAYER_CLASS_TO_FILING_CODE.get(payer_class, "ZZ"),
        icn,
    )
    last, first_name = FIXTURE_PATIENT_NAME
    out.seg("NM1", "QC", "1", last, first_name, "", "", "", "MI", first[S.PATIENT_ID])
    out.seg(
        "NM1",
        "82",
        "1",
        "RENDERING",
        "",
        "",
        "",
        "",
        "XX",
        first[S.RENDERING_PROVIDER_ID],
    )
    c = out.comp
    for ln in lines:
        mods = tuple(ln[S.MODIFIERS] or ())[:4]
        out.seg(
            "SVC",
            c.join(["HC", ln[S.CPT_CODE], *mods]),
            _m(ln[S.CHARGE_AMOUNT]),
            _m(ln[S.PAID_AMOUNT]),
            "",
            str(int(ln[S.UNITS])),
        )
        out.seg("DTM", "472", _d(ln[S.DATE_OF_SERVICE]))
        _cas(
            out,
            tuple(ln[S.ADJUSTMENT_CODES] or ()),
            ln[S.CHARGE_AMOUNT],
            ln[S.ALLOWED_AMOUNT],
            ln[S.PAID_AMOUNT],
        )
        out.seg("REF", "6R", ln["_lcn"])
        if ln[S.ALLOWED_AMOUNT] is not None:
            out.seg("AMT", "B6", _m(ln[S.ALLOWED_AMOUNT]))
        for rarc in tuple(ln[S.REMARK_CODES] or ()):
            out.seg("LQ", "HE", rarc)

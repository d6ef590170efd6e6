"""State machines that turn 835 and 837P segments into line-level records.

The records are plain dicts of strings; :mod:`ptdenial.x12._read` turns them
into typed columns in one vectorized pass per column.
"""

from __future__ import annotations

from ptdenial import schema as S
from ptdenial.x12._codes import (
    credential_from_taxonomy,
    payer_class_from_filing_code,
    pseudonymize_patient,
)
from ptdenial.x12._lexer import Segment, _fail

__all__ = [
    "LINE_CONTROL_NUMBER",
    "CLAIM_STATUS",
    "PAID_UNITS",
    "ADJUDICATED_CPT_CODE",
    "PAYER_CLAIM_CONTROL_NUMBER",
    "CLAIM_ADJUSTMENT_CODES",
    "CLAIM_REMARK_CODES",
    "CLAIM_LEVEL",
    "REMIT_CLAIM_INDEX",
    "SOURCE_FILE",
    "PAYER_NAME",
    "ICD9_DIAGNOSIS_CODES",
    "CLAIM_FREQUENCY",
    "X12_VERSION",
    "X12_PROBLEMS",
    "SOURCE_SEGMENT",
]

# Extra columns (kept beside the contract columns; extras pass through).
LINE_CONTROL_NUMBER = "line_control_number"
CLAIM_STATUS = "claim_status"
PAID_UNITS = "paid_units"
ADJUDICATED_CPT_CODE = "adjudicated_cpt_code"
PAYER_CLAIM_CONTROL_NUMBER = "payer_claim_control_number"
CLAIM_ADJUSTMENT_CODES = "claim_adjustment_codes"
CLAIM_REMARK_CODES = "claim_remark_codes"
CLAIM_LEVEL = "claim_level"
REMIT_CLAIM_INDEX = "remit_claim_index"
SOURCE_FILE = "source_file"
PAYER_NAME = "payer_name"
ICD9_DIAGNOSIS_CODES = "icd9_diagnosis_codes"
CLAIM_FREQUENCY = "claim_frequency"
X12_VERSION = "x12_version"
# Structure problems of a line's segments, as ``(column, value, reason)``
# tuples (ingest quarantines these lines), and the position of the segment
# the line comes from (SV1/SVC, else LX/CLP).
X12_PROBLEMS = "x12_problems"
SOURCE_SEGMENT = "source_segment"
# 835 claim-header segments that never occur inside a service line (2110):
# seen after an SVC, they start a claim whose CLP is missing.
_835_HEADER_SEGS = {"NM1", "MIA", "MOA"}
_835_HEADER_DTM = {"232", "233", "050", "036"}

PROFESSIONAL = ("X098", "X222")
INSTITUTIONAL = ("X096", "X223")
DENTAL = ("X097", "X224")


def _cas_codes(seg: Segment) -> list[str]:
    group = seg.get(1).upper()
    codes = []
    for i in (2, 5, 8, 11, 14, 17):
        reason = seg.get(i).upper()
        if reason:
            codes.append(f"{group}-{reason}")
    return codes


def _procedure(seg: Segment, i: int, path):
    """(qualifier, code, modifiers) of a composite procedure element."""
    parts = seg.parts(i)
    qual = parts[0].upper()
    if (
        len(parts) == 1
        and len(qual) > 2
        and not qual[2:3].isalnum()
        and qual[:2].isalpha()
    ):
        raise _fail(
            path,
            seg.pos,
            seg.id,
            seg.line,
            f"{seg.id}{i:02d} uses {qual[2]!r} between its parts, "
            f"but ISA16 declares {seg.comp!r} as the component separator",
            "the file's separators are inconsistent; export it again",
        )
    code = parts[1].upper() if len(parts) > 1 else ""
    mods = tuple(m.upper() for m in parts[2:6] if m)
    return qual, code, mods


def _icd9_dotted(code: str) -> str:
    code = code.strip().upper().replace(".", "")
    if code.startswith("E"):
        return code if len(code) <= 4 else f"{code[:4]}.{code[4:]}"
    return code if len(code) <= 3 else f"{code[:3]}.{code[3:]}"


def _problem(column, value, reason, seg: Segment) -> tuple:
    """One structure problem: (column, value, reason naming the segment)."""
    return (column, value, f"segment {seg.pos} ({seg.id}): {reason}")


def _cut_claim(seg: Segment, required: int, reason: str):
    """The problem of a claim segment without its id or first ``required`` elements."""
    if seg.get(1) and len(seg.el) > required:
        return None
    return _problem(S.CLAIM_ID, seg.get(1), reason, seg)


def _to_float(value: str) -> float:
    try:
        return float(value)
    except ValueError:
        return float("nan")


class Flat835:
    """Collect one row per SVC (or per CLP without SVC) of 835 transactions."""

    def __init__(self, path, key, cache, claim_index_start=0):
        self.path = path
        self.key = key
        self.cache = cache
        self.rows: list[dict] = []
        self.n_claims = 0
        self.n_svc = 0
        self.claim_index = claim_index_start
        self.notes: list[str] = []
        self.version = ""
        self._claim = None
        self._line = None
        self._header = {}

    # -- envelope ---------------------------------------------------------------
    def start(self, version):
        self.version = version
        self._header = {
            "payer_id": "",
            "payer_name": "",
            "payee_id": "",
            "production": "",
            "payment": "",
            "in_payer": False,
        }
        self._claim = None
        self._line = None

    def end(self):
        self._close_claim()

    # -- segments -----------------------------------------------------------------
    def feed(self, seg: Segment):
        handler = getattr(self, "_seg_" + seg.id, None)
        if handler is not None:
            handler(seg)

    def _seg_BPR(self, seg):
        self._header["payment"] = seg.get(16)

    def _seg_N1(self, seg):
        h = self._header
        code = seg.get(1).upper()
        h["in_payer"] = code == "PR"
        if code == "PR":
            h["payer_name"] = seg.get(2)
            h["payer_id"] = seg.get(4)
        elif code == "PE":
            h["payee_id"] = seg.get(4)

    def _seg_REF(self, seg):
        q = seg.get(1).upper()
        if self._line is not None:
            if q == "6R":
                self._line["lcn"] = seg.get(2)
        elif self._claim is None and q == "2U" and self._header["in_payer"]:
            if not self._header["payer_id"]:
                self._header["payer_id"] = seg.get(2)

    def _seg_DTM(self, seg):
        q, value = seg.get(1), seg.get(2)
        if self._line is not None and q in _835_HEADER_DTM:
            self._headless(seg, f"claim date DTM*{q} after a service line")
        if self._line is not None:
            if q == "472" or (q == "150" and not self._line["dos"]):
                self._line["dos"] = value
        elif self._claim is not None:
            if q == "232":
                self._claim["stmt_from"] = value
        elif q == "405":
            self._header["production"] = value

    def _seg_CLP(self, seg):
        self._close_claim()
        problem = _cut_claim(
            seg,
            4,
            "the CLP segment is cut: CLP01-CLP04 (claim id, status, charge, "
            "paid) are required; export the file again",
        )
        self._open_claim(seg, problem)

    def _open_claim(self, seg, problem=None):
        """Start a claim at ``seg`` (a CLP, or the first segment of a headless one)."""
        clp = seg.id == "CLP"
        self.n_claims += 1
        self.claim_index += 1
        self._claim = {
            "claim_id": seg.get(1) if clp else "",
            "status": seg.get(2) if clp else "",
            "charge": seg.get(3) if clp else "",
            "paid": seg.get(4) if clp else "",
            "filing": seg.get(6) if clp else "",
            "icn": seg.get(7) if clp else "",
            "cas": [],
            "remarks": [],
            "member": "",
            "last": "",
            "first": "",
            "insured": "",
            "rendering": "",
            "stmt_from": "",
            "lines": [],
            "index": self.claim_index,
            "pos": seg.pos,
            "problem": problem,
        }
        self._line = None

    def _headless(self, seg, what):
        """A claim whose CLP is missing starts at ``seg``: keep its lines apart."""
        self._close_claim()
        self._open_claim(
            seg,
            _problem(
                S.CLAIM_ID,
                "",
                f"{what} without a CLP segment before it: the claim's CLP is "
                "missing, so its lines cannot be credited to a claim; export the "
                "file again",
                seg,
            ),
        )

    def _seg_CAS(self, seg):
        if self._line is not None:
            self._line["cas"].extend(_cas_codes(seg))
        elif self._claim is not None:
            self._claim["cas"].extend(_cas_codes(seg))

    def feed_header(self, seg):
        """NM1/MIA/MOA after an SVC: a claim header whose CLP went missing."""
        if self._line is not None and seg.id in _835_HEADER_SEGS:
            self._headless(seg, f"claim header segment {seg.id} after a service line")

    def _seg_NM1(self, seg):
        self.feed_header(seg)
        c = self._claim
        if c is None or self._line is not None:
            return
        code = seg.get(1).upper()
        if code == "QC":
            c["last"], c["first"], c["member"] = seg.get(3), seg.get(4), seg.get(9)
        elif code == "IL":
            c["insured"] = seg.get(9)
        elif code == "82":
            c["rendering"] = seg.get(9)

    def _seg_MOA(self, seg):
        self.feed_header(seg)
        if self._claim is not None:
            self._claim["remarks"].extend(
                seg.get(i).upper() for i in (3, 4, 5, 6, 7) if seg.get(i)
            )

    def _seg_MIA(self, seg):
        self.feed_header(seg)
        if self._claim is not None:
            self._claim["remarks"].extend(
                seg.get(i).upper() for i in (5, 20, 21, 22, 23) if seg.get(i)
            )

    def _seg_SVC(self, seg):
        if self._claim is None:
            self._headless(seg, "service line SVC")
        problem = None
        if not seg.get(1):
            problem = _problem(
                S.CPT_CODE,
                "",
                "SVC01 (procedure) is missing: the segment was cut; export the "
                "file again",
                seg,
            )
        self.n_svc += 1
        qual, code, mods = _procedure(seg, 1, self.path)
        orig = _procedure(seg, 6, self.path) if seg.get(6) else None
        self._line = {
            "qual": qual,
            "code": orig[1] if orig else code,
            "mods": orig[2] if orig else mods,
            "adj_code": code if orig else "",
            "charge": seg.get(2),
            "paid": seg.get(3),
            "units": seg.get(7) or seg.get(5),
            "paid_units": seg.get(5),
            "dos": "",
            "lcn": "",
            "allowed": "",
            "cas": [],
            "remarks": [],
            "pos": seg.pos,
            "problem": problem,
        }
        self._claim["lines"].append(self._line)

    def _seg_AMT(self, seg):
        if self._line is not None and seg.get(1).upper() == "B6":
            self._line["allowed"] = seg.get(2)

    def _seg_LQ(self, seg):
        if self._line is not None and seg.get(1).upper() == "HE" and seg.get(2):
            self._line["remarks"].append(seg.get(2).upper())

    def _seg_LX(self, seg):
        self._close_claim()

    def _seg_PLB(self, seg):
        self._close_claim()

    # -- rows ---------------------------------------------------------------------
    def _patient(self, member, last, first) -> str:
        ck = (member, last, first)
        pid = self.cache.get(ck)
        if pid is None:
            pid = pseudonymize_patient(*ck, key=self.key)
            self.cache[ck] = pid
        return pid

    def _close_claim(self):
        c = self._claim
        self._claim = None
        self._line = None
        if c is None:
            return
        h = self._header
        pid = self._patient(c["insured"] or c["member"], c["last"], c["first"])
        base = {
            S.CLAIM_ID: c["claim_id"],
            S.PATIENT_ID: pid,
            S.PAYER_ID: h["payer_id"] or h["payer_name"].upper(),
            PAYER_NAME: h["payer_name"],
            S.PAYER_CLASS: payer_class_from_filing_code(c["filing"]),
            S.RENDERING_PROVIDER_ID: c["rendering"] or h["payee_id"],
            S.ADJUDICATION_DATE: h["production"] or h["payment"],
            CLAIM_STATUS: c["status"],
            PAYER_CLAIM_CONTROL_NUMBER: c["icn"],
            CLAIM_ADJUSTMENT_CODES: tuple(c["cas"]),
            CLAIM_REMARK_CODES: tuple(c["remarks"]),
            REMIT_CLAIM_INDEX: c["index"],
            SOURCE_FILE: str(self.path),
            X12_VERSION: self.version,
        }
        if not c["lines"]:
            self.rows.append(base | self._claim_level(c))
            return
        self._check_balance(c)
        denied_claim = c["status"] == "4"
        for n, ln in enumerate(c["lines"], 1):
            cas = ln["cas"] or (c["cas"] if denied_claim else [])
            problems = tuple(p for p in (c["problem"], ln["problem"]) if p)
            self.rows.append(
                base
                | {
                    S.LINE_NUMBER: n,
                    LINE_CONTROL_NUMBER: ln["lcn"],
                    S.DATE_OF_SERVICE: ln["dos"] or c["stmt_from"],
                    S.CPT_CODE: ln["code"],
                    S.MODIFIERS: ln["mods"],
                    S.UNITS: ln["units"] or "1",
                    S.CHARGE_AMOUNT: ln["charge"],
                    S.ALLOWED_AMOUNT: ln["allowed"],
                    S.PAID_AMOUNT: ln["paid"],
                    S.ADJUSTMENT_CODES: tuple(cas),
                    S.REMARK_CODES: tuple(ln["remarks"]),
                    PAID_UNITS: ln["paid_units"],
                    ADJUDICATED_CPT_CODE: ln["adj_code"],
                    CLAIM_LEVEL: False,
                    X12_PROBLEMS: problems,
                    SOURCE_SEGMENT: ln["pos"],
                }
            )

    @staticmethod
    def _claim_level(c) -> dict:
        """The one row of a claim without SVC lines."""
        return {
            S.LINE_NUMBER: None,
            LINE_CONTROL_NUMBER: "",
            S.DATE_OF_SERVICE: c["stmt_from"],
            S.CPT_CODE: "",
            S.MODIFIERS: (),
            S.UNITS: "",
            S.CHARGE_AMOUNT: c["charge"],
            S.ALLOWED_AMOUNT: "",
            S.PAID_AMOUNT: c["paid"],
            S.ADJUSTMENT_CODES: tuple(c["cas"]),
            S.REMARK_CODES: tuple(c["remarks"]),
            PAID_UNITS: "",
            ADJUDICATED_CPT_CODE: "",
            CLAIM_LEVEL: True,
            X12_PROBLEMS: (c["problem"],) if c["problem"] else (),
            SOURCE_SEGMENT: c["pos"],
        }

    def _check_balance(self, c):
        """Note a claim whose lines charge more than CLP03 (lines of another claim?)."""
        total = sum(_to_float(ln["charge"] or "0") for ln in c["lines"])
        charge = _to_float(c["charge"] or "nan")
        if charge == charge and total > charge + 0.005:
            self.notes.append(
                f"{self.path}: segment {c['pos']} (CLP): the service lines charge "
                f"{total:.2f}, more than the claim's CLP03 {charge:.2f}; check that "
                "no CLP segment is missing"
            )


class Flat837P:
    """Collect one row per service line (LX/SV1) of 837P transactions."""

    def __init__(self, path, key, cache):
        self.path = path
        self.key = key
        self.cache = cache
        self.rows: list[dict] = []
        self.n_claims = 0
        self.n_lines = 0
        self.version = ""
        self._claim = None
        self._line = None

    def start(self, version):
        self.version = version
        self._bht = ""
        self._billing = {"id": "", "taxonomy": ""}
        self._sub = {}
        self._pat = {}
        self._claim = None
        self._line = None
        self._where = ""  # last HL level: 20/22/23

    def end(self):
        self._close_claim()

    def feed(self, seg: Segment):
        handler = getattr(self, "_seg_" + seg.id, None)
        if handler is not None:
            handler(seg)

    def _seg_BHT(self, seg):
        self._bht = seg.get(4)

    def _seg_HL(self, seg):
        self._close_claim()
        level = seg.get(3)
        self._where = level
        if level == "20":
            self._billing = {"id": "", "taxonomy": ""}
            self._sub, self._pat = {}, {}
        elif level == "22":
            self._sub, self._pat = {}, {}
        elif level == "23":
            self._pat = {}

    def _seg_PRV(self, seg):
        code = seg.get(3)
        if self._line is not None:
            if self._line.get("nm1") == "82":
                self._line["taxonomy"] = code
        elif self._claim is not None:
            if self._claim.get("nm1") == "82" and not self._claim["cob"]:
                self._claim["taxonomy"] = code
        elif self._where == "20" and seg.get(1).upper() == "BI":
            self._billing["taxonomy"] = code

    def _seg_SBR(self, seg):
        if self._claim is not None:
            self._claim["cob"] = True  # 2320: other subscriber (COB) information
            self._claim["nm1"] = ""
            return
        self._sub["filing"] = seg.get(9)

    def _seg_NM1(self, seg):
        code = seg.get(1).upper()
        c, ln = self._claim, self._line
        if ln is not None:
            ln["nm1"] = code
            if code == "82":
                ln["rendering"] = seg.get(9)
            elif code == "DN":
                ln["referring"] = seg.get(9)
            return
        if c is not None:
            if c["cob"]:
                return
            c["nm1"] = code
            if code == "82":
                c["rendering"] = seg.get(9)
            elif code == "DN":
                c["referring"] = seg.get(9)
            return
        if code == "85":
            self._billing["id"] = seg.get(9)
        elif code == "IL":
            self._sub.update(member=seg.get(9), last=seg.get(3), first=seg.get(4))
        elif code == "PR":
            self._sub.update(payer_id=seg.get(9), payer_name=seg.get(3))
        elif code == "QC":
            self._pat.update(last=seg.get(3), first=seg.get(4))

    def _seg_CLM(self, seg):
        self._close_claim()
        problem = _cut_claim(
            seg,
            2,
            "the CLM segment is cut: CLM01 and CLM02 (claim id, total "
            "charge) are required; export the file again",
        )
        self._open_claim(seg, problem)

    def _open_claim(self, seg, problem=None):
        """Start a claim at ``seg`` (a CLM, or the first segment of a headless one)."""
        clm = seg.id == "CLM"
        self.n_claims += 1
        pos_parts = seg.parts(5) if clm else [""]
        self._claim = {
            "claim_id": seg.get(1) if clm else "",
            "pos": pos_parts[0],
            "freq": pos_parts[2] if len(pos_parts) > 2 else "",
            "dx": [],
            "auth": "",
            "rendering": "",
            "referring": "",
            "taxonomy": "",
            "episode": "",
            "dos": "",
            "cob": False,
            "nm1": "",
            "lines": [],
            "seg": seg.pos,
            "problem": problem,
            "last_lx": None,
        }
        self._line = None

    def _headless(self, seg, what):
        """Lines whose CLM is missing start at ``seg``: keep them apart."""
        self._close_claim()
        self._open_claim(
            seg,
            _problem(
                S.CLAIM_ID,
                "",
                f"{what}: the claim's CLM segment is missing, so the line cannot "
                "be credited to a claim; export the file again",
                seg,
            ),
        )

    def _seg_DTP(self, seg):
        q, value = seg.get(1), seg.get(3)
        value = value.split("-")[0]
        if self._line is not None:
            if q == "472":
                self._line["dos"] = value
        elif self._claim is not None and not self._claim["cob"]:
            if q == "454":
                self._claim["episode"] = value
            elif q == "472":
                self._claim["dos"] = value

    def _seg_REF(self, seg):
        q = seg.get(1).upper()
        if self._line is not None:
            if q == "6R":
                self._line["lcn"] = seg.get(2)
            elif q == "G1":
                self._line["auth"] = seg.get(2)
        elif self._claim is not None and not self._claim["cob"] and q == "G1":
            self._claim["auth"] = seg.get(2)

    def _seg_HI(self, seg):
        if self._line is not None:  # HI is claim-level (2300): a CLM went missing
            self._headless(seg, "diagnosis segment HI after a service line")
        if self._claim is None or self._claim["cob"]:
            return
        for i in range(1, len(seg.el)):
            parts = seg.parts(i)
            qual = parts[0].upper()
            if qual in ("ABK", "ABF", "BK", "BF") and len(parts) > 1 and parts[1]:
                self._claim["dx"].append((qual, parts[1].upper()))

    def _seg_LX(self, seg):
        c = self._claim
        if c is None:
            self._headless(seg, "service line LX outside a claim")
        else:
            number = _to_float(seg.get(1))
            if c["last_lx"] is not None and number <= c["last_lx"]:
                self._headless(
                    seg, f"LX numbering restarts after line {c['last_lx']:g}"
                )
            if number == number:
                self._claim["last_lx"] = number
        self._new_line(seg, seg.get(1))

    def _new_line(self, seg, lx, problem=None):
        self._line = {
            "lx": lx,
            "sv1": False,
            "dos": "",
            "lcn": "",
            "auth": "",
            "rendering": "",
            "referring": "",
            "taxonomy": "",
            "nm1": "",
            "seg": seg.pos,
            "problem": problem,
        }
        self._claim["lines"].append(self._line)
        self.n_lines += 1
        return self._line

    def _seg_SV1(self, seg):
        if self._claim is None:
            self._headless(seg, "service line SV1 outside a claim")
        ln = self._line
        if ln is None or ln["sv1"]:
            what = (
                "SV1 without an LX segment before it"
                if ln is None
                else f"a second SV1 under LX {ln['lx']}"
            )
            ln = self._new_line(seg, "")
            ln["problem"] = _problem(
                S.LINE_NUMBER,
                "",
                f"{what}: the line's LX segment is missing, so it has no line "
                "number; export the file again",
                seg,
            )
        if not seg.get(1):
            ln["problem"] = ln["problem"] or _problem(
                S.CPT_CODE,
                "",
                "SV101 (procedure) is missing: the segment was cut; export the "
                "file again",
                seg,
            )
        qual, code, mods = _procedure(seg, 1, self.path)
        ln.update(
            sv1=True,
            seg=seg.pos,
            code=code,
            mods=mods,
            charge=seg.get(2),
            units=seg.get(4),
            pos=seg.get(5),
            ptr=[p for p in seg.parts(7) if p],
        )

    def _seg_SE(self, seg):
        self._close_claim()

    def _close_claim(self):
        c = self._claim
        self._claim = None
        self._line = None
        if c is None:
            return
        sub, pat = self._sub, self._pat
        ck = (
            sub.get("member", ""),
            pat.get("last", sub.get("last", "")),
            pat.get("first", sub.get("first", "")),
        )
        pid = self.cache.get(ck)
        if pid is None:
            pid = pseudonymize_patient(*ck, key=self.key)
            self.cache[ck] = pid
        for ln in c["lines"]:
            icd10, icd9 = _line_diagnoses(ln, c["dx"])
            rendering = ln["rendering"] or c["rendering"]
            if ln["rendering"]:
                taxonomy = ln["taxonomy"]
            elif c["rendering"]:
                taxonomy = c["taxonomy"]
            else:
                taxonomy = self._billing["taxonomy"]
            self.rows.append(
                {
                    S.CLAIM_ID: c["claim_id"],
                    S.LINE_NUMBER: ln["lx"],
                    S.PATIENT_ID: pid,
                    S.PAYER_ID: sub.get("payer_id", ""),
                    PAYER_NAME: sub.get("payer_name", ""),
                    S.PAYER_CLASS: payer_class_from_filing_code(sub.get("filing")),
                    S.DATE_OF_SERVICE: ln["dos"] or c["dos"],
                    S.CPT_CODE: ln.get("code", ""),
                    S.MODIFIERS: ln.get("mods", ()),
                    S.UNITS: ln.get("units", ""),
                    S.CHARGE_AMOUNT: ln.get("charge", ""),
                    S.DIAGNOSIS_CODES: tuple(icd10),
                    S.RENDERING_PROVIDER_ID: rendering or self._billing["id"],
                    S.PROVIDER_CREDENTIAL: credential_from_taxonomy(taxonomy),
                    S.CLINIC_ID: self._billing["id"],
                    S.REFERRING_PROVIDER_ID: ln["referring"] or c["referring"],
                    S.PLACE_OF_SERVICE: ln.get("pos") or c["pos"],
                    S.SUBMISSION_DATE: self._bht,
                    S.PRIOR_AUTH_NUMBER: ln["auth"] or c["auth"],
                    S.EPISODE_START_DATE: c["episode"],
                    LINE_CONTROL_NUMBER: ln["lcn"],
                    ICD9_DIAGNOSIS_CODES: tuple(icd9),
                    CLAIM_FREQUENCY: c["freq"],
                    SOURCE_FILE: str(self.path),
                    X12_VERSION: self.version,
                    X12_PROBLEMS: _line_problems(c, ln),
                    SOURCE_SEGMENT: ln["seg"],
                }
            )


def _line_diagnoses(ln, dx) -> tuple[list, list]:
    """ICD-10 and ICD-9 codes an SV1's pointers (SV107) pick from the claim's HI."""
    icd10, icd9 = [], []
    for p in ln.get("ptr", []):
        try:
            qual, code = dx[int(p) - 1]
        except (ValueError, IndexError):
            continue
        if qual in ("BK", "BF"):
            icd9.append(_icd9_dotted(code))
        else:
            icd10.append(S.normalize_icd10(code) or code)
    return icd10, icd9


def _line_problems(c, ln) -> tuple:
    problems = [p for p in (c["problem"], ln["problem"]) if p]
    if not ln["sv1"]:
        problems.append(
            (
                S.CPT_CODE,
                "",
                f"segment {ln['seg']} (LX): service line {ln['lx']} has no SV1 "
                "segment (procedure, charge, units); export the file again",
            )
        )
    return tuple(problems)

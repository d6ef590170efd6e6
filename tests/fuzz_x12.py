"""Mutations of X12 files and the property every mutant must keep (issue #15).

Shared by ``tests/test_fuzz_x12.py`` (a bounded hypothesis run in ``make
test``) and ``bench/bench_fuzz.py`` (10,000 mutants). A mutant is parsed or
refused with ptdenial's own error naming the file, never a crash; no line
is lost (every SV1/SVC, and every LX or CLP without one, is an output row, a
quarantine row or a side-table row); no message, note or manifest quotes a
patient's name or member id.
"""

from __future__ import annotations

import json
import os
import random
import re
from dataclasses import dataclass
from pathlib import Path

from ptdenial.exceptions import PtdenialError
from ptdenial.x12 import ingest, iter_segments, write_835, write_837p
from ptdenial.x12._flatten import DENTAL, INSTITUTIONAL

KEY = "fuzz-key"
HERE = Path(__file__).resolve().parent


def public_dir() -> Path | None:
    """The public X12 files (never copied into the repository), if present."""
    for cand in (
        os.environ.get("PTDENIAL_X12_PUBLIC"),
        HERE.parents[1] / "shared" / "data" / "x12-public",
        HERE.parents[2] / "shared" / "data" / "x12-public",
        Path("/work/shared/data/x12-public"),
    ):
        if cand and Path(cand).is_dir():
            return Path(cand)
    return None


def public_files() -> list[Path]:
    root = public_dir()
    if root is None:
        return []
    skip = {"LICENSE", "COMMIT", "README.md"}
    return sorted(p for p in root.rglob("*") if p.is_file() and p.name not in skip)


def generated_files(folder: Path, n_patients: int = 25, seed: int = 7) -> list[Path]:
    """An 837P and an 835 of a small synthetic world (written once per folder)."""
    from ptdenial.datasets import make_claims

    folder.mkdir(parents=True, exist_ok=True)
    c837, c835 = folder / "gen.837", folder / "gen.835"
    if not (c837.exists() and c835.exists()):
        claims = make_claims(n_patients, random_state=seed).claims.head(60)
        write_837p(claims, c837)
        write_835(claims, c835)
    return [c837, c835]


# --- mutations ------------------------------------------------------------------------
@dataclass
class Layout:
    """A file cut at its segment terminator, keeping what sits between segments."""

    segments: list[str]
    term: str
    ele: str

    @classmethod
    def of(cls, text: str) -> Layout:
        i = text.find("ISA")
        if i >= 0 and len(text) > i + 106:
            ele = text[i + 3]
            seps = [j for j in range(i, min(len(text), i + 400)) if text[j] == ele]
            term = text[seps[15] + 2] if len(seps) >= 16 else "~"
        else:
            ele, term = "*", "~"
        if term in "\r\n":
            term = "\n"
        return cls(text.split(term), term, ele)

    def text(self) -> str:
        return self.term.join(self.segments)


def _pick(rng: random.Random, lay: Layout) -> int:
    return rng.randrange(len(lay.segments)) if lay.segments else 0


def _element_op(rng, lay: Layout, value_of) -> None:
    i = _pick(rng, lay)
    parts = lay.segments[i].split(lay.ele)
    if len(parts) < 2:
        return
    k = rng.randrange(1, len(parts))
    parts[k] = value_of(parts[k])
    lay.segments[i] = lay.ele.join(parts)


def mutate(text: str, rng: random.Random, n_ops: int = 1) -> tuple[str, list[str]]:
    """``text`` after ``n_ops`` random mutations, and their names."""
    lay = Layout.of(text)
    done = []
    for _ in range(n_ops):
        op = rng.choice(OPS)
        done.append(op)
        if op == "drop" and lay.segments:
            del lay.segments[_pick(rng, lay)]
        elif op == "duplicate" and lay.segments:
            i = _pick(rng, lay)
            lay.segments.insert(i, lay.segments[i])
        elif op == "swap" and len(lay.segments) > 1:
            i, j = _pick(rng, lay), _pick(rng, lay)
            lay.segments[i], lay.segments[j] = lay.segments[j], lay.segments[i]
        elif op == "drop_id":  # a whole kind of segment disappears (all LX, all CLP)
            sid = rng.choice(["LX", "CLP", "CLM", "SV1", "SVC", "GS", "ST", "SE", "GE"])
            lay.segments = [s for s in lay.segments if s.strip()[:4] != sid + lay.ele]
        elif op == "truncate":
            t = lay.text()
            return t[: rng.randrange(len(t) + 1)], done
        elif op == "redelimit":
            new = rng.choice(["|", "^", "!", "~", ":", "\x1d", "*", "a"])
            lay.segments = [s.replace(lay.ele, new) for s in lay.segments]
            lay.ele = new
        elif op == "huge":
            size = rng.choice([1000, 70_000, 300_000])
            _element_op(rng, lay, lambda v, n=size: v + "X" * n)
        elif op == "non_ascii":
            chars = rng.choice(["é", "漢字", "\u202e", "\x00", "\ufeff", "Ω≈ç√"])
            _element_op(rng, lay, lambda v, c=chars: v + c)
        elif op == "junk":
            t = lay.text()
            k = rng.randrange(len(t) + 1)
            junk = "".join(
                chr(rng.randrange(0, 256)) for _ in range(rng.randint(1, 40))
            )
            lay = Layout.of(t[:k] + junk + t[k:])
        elif op == "number":
            value = rng.choice(["1.5", "-3", "99991231", "16000101", "20251340", "",
                                "1e400", "NaN", "0x1F", "１２"])  # fmt: skip
            _element_op(rng, lay, lambda v, x=value: x)
        elif op == "empty":
            lay.segments.insert(_pick(rng, lay), "")
    return lay.text(), done


OPS = (
    "drop",
    "duplicate",
    "swap",
    "drop_id",
    "truncate",
    "redelimit",
    "huge",
    "non_ascii",
    "junk",
    "number",
    "empty",
)


# --- the property ---------------------------------------------------------------
_835_HEADER_DTM = {"232", "233", "050", "036"}


def expected_rows(path: Path) -> tuple[int, int]:
    """(837P rows, 835 rows) a reader must account for, counted from segments.

    837P: every LX, plus every SV1 that does not complete the LX just before
    it. 835: every SVC, plus every claim without one (a CLP, or a claim
    header whose CLP is missing).
    """
    n837 = n835 = 0
    kind = None
    fresh_lx = False
    claim_open, claim_svc = False, 0
    gs_version = ""

    def close_835():
        nonlocal n835, claim_open, claim_svc
        if claim_open and claim_svc == 0:
            n835 += 1
        claim_open, claim_svc = False, 0

    for seg in iter_segments(path, notes=[], problems=[]):
        sid = seg.id
        if sid == "GS":
            gs_version = seg.get(8)
        if sid == "ST":
            close_835()
            fresh_lx = False
            version = seg.get(3) or gs_version
            st01 = seg.get(1)
            if st01 == "835":
                kind = "835"
            elif st01 == "837" and not any(
                t in version for t in INSTITUTIONAL + DENTAL
            ):
                kind = "837P"
            else:
                kind = None
            continue
        if kind == "837P":
            if sid == "LX":
                n837 += 1
                fresh_lx = True
            elif sid == "SV1":
                if not fresh_lx:
                    n837 += 1
                fresh_lx = False
            elif sid in ("CLM", "HL", "SE", "HI"):
                fresh_lx = False
        elif kind == "835":
            header = sid in ("NM1", "MIA", "MOA") or (
                sid == "DTM" and seg.get(1) in _835_HEADER_DTM
            )
            if sid == "CLP":
                close_835()
                claim_open = True
            elif header and claim_svc:
                close_835()
                claim_open = True
            elif sid == "SVC":
                if not claim_open:
                    claim_open = True
                claim_svc += 1
                n835 += 1
            elif sid in ("LX", "PLB", "SE"):
                close_835()
        if sid == "SE":
            kind = None
    close_835()
    return n837, n835


def phi_tokens(text: str) -> set[str]:
    """Names and member ids of patients/subscribers (NM1*IL/QC) in an X12 text."""
    lay = Layout.of(text)
    out = set()
    for s in lay.segments:
        parts = s.strip().split(lay.ele)
        if parts[0] == "NM1" and len(parts) > 3 and parts[1] in ("IL", "QC"):
            for k in (3, 4, 9):
                if k < len(parts) and len(parts[k].strip()) >= 4:
                    out.add(parts[k].strip())
    return out


class Violation(AssertionError):
    """A mutant broke the property (the message says how)."""


def check_mutant(path: Path, kind: str, phi: set[str]) -> dict:
    """Ingest one mutant and check the property; return what happened.

    Raises
    ------
    Violation
        A crash (an exception that is not ptdenial's), a message without the
        file's name or quoting PHI, or rows lost.
    """
    args = {"claims_837": [path]} if kind == "837" else {"remits_835": [path]}
    try:
        res = ingest(key=KEY, **args)
    except PtdenialError as exc:
        _check_message(str(exc), path, phi)
        if getattr(exc, "internal", False):
            raise Violation(f"internal reader error: {exc}") from exc
        return {"outcome": "refused"}
    except Exception as exc:  # noqa: BLE001 - this is what the property forbids
        raise Violation(f"crash: {type(exc).__name__}: {exc}"[:500]) from exc
    for err in [*res.errors, *res.problems]:
        _check_message(str(err), path, phi)
        if getattr(err, "internal", False):
            raise Violation(f"internal reader error: {err}")
    leaked = leaks(manifest_text(res.manifest), phi)
    if leaked:
        raise Violation(f"PHI {leaked[0]!r} in the ingest manifest")
    n_out = len(res.table) + len(res.quarantine) + len(res.unmatched_remits)
    n_out += len(res.reversed)
    if res.errors:
        if n_out:
            raise Violation(f"file refused but {n_out} rows came out")
        return {"outcome": "refused"}
    n837, n835 = expected_rows(path)
    want = n837 if kind == "837" else n835
    if n_out != want:
        raise Violation(
            f"rows lost or invented: {want} lines in the file, {len(res.table)} out "
            f"+ {len(res.quarantine)} quarantined + {len(res.unmatched_remits)} "
            f"unmatched + {len(res.reversed)} reversed"
        )
    return {"outcome": "read", "rows": want, "quarantined": len(res.quarantine)}


def manifest_text(manifest: dict) -> str:
    """The manifest's text without the claim keys it lists by design.

    Unmatched claim and remit keys (claim id, line number, line control
    number) are listed on purpose; in the public files some claim ids are
    placeholders such as ``PATIENT ACCOUNT NUMBER`` that share words with a
    name, so the PHI check reads everything else.
    """
    keys = ("unmatched_claims", "unmatched_remits")
    rest = {k: v for k, v in manifest.items() if k not in keys}
    return json.dumps(rest, default=str)


def leaks(text: str, phi: set[str]) -> list[str]:
    """PHI tokens found in ``text`` as whole words or numbers."""
    return [
        t
        for t in sorted(phi)
        if re.search(rf"(?<![A-Za-z0-9]){re.escape(t)}(?![A-Za-z0-9])", text)
    ]


def _check_message(message: str, path: Path, phi: set[str]) -> None:
    if path.name not in message and "ingest:" not in message:
        raise Violation(f"message does not name the file: {message[:300]}")
    leaked = leaks(message, phi)
    if leaked:
        raise Violation(f"PHI {leaked[0]!r} in a message: {message[:300]}")

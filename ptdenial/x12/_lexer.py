"""Split an X12 file into segments, checked by pyx12 on the way.

Real files bend the standard: line breaks after (or before) the segment
terminator, an ISA whose fixed-width fields were trimmed, several interchanges
in one file, or a bare ``ST``...``SE`` transaction set without an envelope.
This module finds the delimiters of each interchange itself (the element
separator is ISA's 4th character, the component separator the character after
the 16th element separator, the segment terminator the character after that,
skipping a line break when a non-letter follows it), rewrites the interchange
in canonical form (fixed-width ISA, one segment per line) and walks it with
:class:`pyx12.x12file.X12Reader`, which checks the envelope: SE/GE/IEA counts
and control numbers, unterminated loops, invalid segment identifiers.

Anything that makes a file unusable raises :class:`X12FormatError` naming the
file, the segment's position (1-based among the file's segments), its line and
its identifier.
"""

from __future__ import annotations

import dataclasses
import io
import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyx12.errors
import pyx12.x12file

from ptdenial.exceptions import InputFileError, X12FormatError

__all__ = ["X12FormatError", "Segment", "iter_segments"]

# Fixed widths of ISA01..ISA16.
_ISA_WIDTHS = (2, 10, 2, 10, 2, 15, 2, 15, 6, 4, 1, 5, 9, 1, 1, 1)
# pyx12 error codes that only warn (style, HL/LX numbering).
_SOFT_SEG_ERRORS = {"SEG1", "HL1", "HL2", "LX"}
# Trailer counts and control numbers that disagree: the data may be whole, so
# the file is read and the problem reported, unless ``strict``.
_COUNT_ERRORS = {
    ("st", "3"),
    ("st", "4"),
    ("gs", "4"),
    ("gs", "5"),
    ("isa", "001"),
    ("isa", "021"),
}
_SEG_ID = re.compile(r"^[A-Z][A-Z0-9]{1,2}$")
_MAX_ISA_CHARS = 400


class Segment:
    """One segment: identifier, elements (``el[0]`` is the identifier),
    position in the file (1-based), text line, and the component separator."""

    __slots__ = ("id", "el", "pos", "line", "comp")

    def __init__(self, id, el, pos, line, comp):  # noqa: A002 - X12 wording
        self.id = id
        self.el = el
        self.pos = pos
        self.line = line
        self.comp = comp

    def __repr__(self):
        return f"Segment({self.id!r}, pos={self.pos})"

    def get(self, i: int) -> str:
        """Element ``i`` (1-based) stripped, or ``""`` when absent."""
        return self.el[i].strip() if i < len(self.el) else ""

    def parts(self, i: int) -> list[str]:
        """Components of element ``i`` (a one-item list for simple elements)."""
        return [p.strip() for p in self.get(i).split(self.comp)]


def _fail(path, pos, seg_id, line, problem, fix) -> X12FormatError:
    where = f"segment {pos}" if pos else "start of file"
    if seg_id:
        where += f" ({seg_id}"
        where += f", line {line})" if line else ")"
    return X12FormatError(
        f"{path}: {where}: {problem}. Fix: {fix}",
        path=str(path),
        segment=pos,
        segment_id=seg_id,
    )


@dataclasses.dataclass
class _Raw:
    text: str
    start: int  # offset of the segment's first character in the file text
    synthetic: bool = False


class _Scanner:
    """Cut a file's text into interchanges of raw segments."""

    def __init__(self, text: str, path, notes):
        self.text = text
        self.path = path
        self.notes = notes
        self.n = 0  # segments seen so far (file positions)
        self._newlines = None

    def line_of(self, offset: int) -> int:
        if self._newlines is None:
            raw = np.frombuffer(self.text.encode("latin-1"), dtype=np.uint8)
            self._newlines = np.flatnonzero(raw == 10)
        return int(np.searchsorted(self._newlines, offset)) + 1

    def lines_of(self, offsets) -> list[int]:
        self.line_of(0)
        return (np.searchsorted(self._newlines, np.asarray(offsets)) + 1).tolist()

    def skip_ws(self, i: int) -> int:
        t = self.text
        while i < len(t) and t[i] in " \t\r\n\x00\ufeff":
            i += 1
        return i

    def interchanges(self):
        t = self.text
        i = self.skip_ws(0)
        if i >= len(t):
            raise _fail(
                self.path,
                0,
                None,
                None,
                "the file is empty",
                "remove it or export the file again",
            )
        first = True
        while i < len(t):
            if t.startswith("ISA", i):
                yield self._isa_interchange(i)
                i = self.skip_ws(self._end)
            elif first and re.match(r"ST[^A-Za-z0-9\s]", t[i : i + 3]):
                yield self._bare(i)
                i = len(t)
            else:
                pos = self.n + 1
                snippet = t[i : i + 20].replace("\n", " ")
                raise _fail(
                    self.path,
                    pos,
                    snippet[:3],
                    self.line_of(i),
                    f"expected an ISA segment, found {snippet!r}",
                    "an X12 file must start with ISA (or be a bare ST...SE "
                    "transaction); check that the file is X12 and not cut",
                )
            first = False

    # -- delimiters -----------------------------------------------------------
    def _isa_delims(self, i: int):
        t = self.text
        pos = self.n + 1
        line = self.line_of(i)
        if len(t) < i + 4:
            raise _fail(
                self.path,
                pos,
                "ISA",
                line,
                "the ISA segment is truncated",
                "export the file again",
            )
        ele = t[i + 3]
        if ele.isalnum() or ele.isspace():
            raise _fail(
                self.path,
                pos,
                "ISA",
                line,
                f"bad element separator {ele!r} (ISA's 4th character must be a "
                "symbol such as '*' or '|')",
                "export the file again; the ISA segment is damaged",
            )
        seps = []
        j = i + 3
        limit = min(len(t), i + _MAX_ISA_CHARS)
        while len(seps) < 16 and j < limit:
            if t[j] == ele:
                seps.append(j)
            j += 1
        if len(seps) < 16 or seps[-1] + 1 >= len(t):
            raise _fail(
                self.path,
                pos,
                "ISA",
                line,
                f"the ISA segment has fewer than 16 elements separated by {ele!r}",
                "the ISA segment is truncated or uses mixed separators; export "
                "the file again",
            )
        comp = t[seps[-1] + 1]
        k = seps[-1] + 2
        if k >= len(t):
            raise _fail(
                self.path,
                pos,
                "ISA",
                line,
                "the file ends inside ISA",
                "export the file again",
            )
        term = t[k]
        if term in "\r\n":
            k2 = self.skip_ws(k)
            nxt = t[k2] if k2 < len(t) else ""
            if nxt and not nxt.isalnum():
                term, k = nxt, k2
            else:
                term = "\n"
        if comp.isalnum() or comp.isspace() or comp == ele:
            raise _fail(
                self.path,
                pos,
                "ISA",
                line,
                f"bad component separator {comp!r} in ISA16",
                "ISA16 must be a symbol different from the element separator, "
                "such as ':' or '>'",
            )
        if term.isalnum() or term in (ele, comp):
            raise _fail(
                self.path,
                pos,
                "ISA",
                line,
                f"bad segment terminator {term!r} after ISA16",
                "the segment terminator must be a symbol (such as '~') that "
                "differs from the element and component separators",
            )
        isa_text = t[i : seps[-1] + 2]
        return ele, comp, term, isa_text, k + 1

    def _split(self, start: int, term: str, stop_at_iea: bool):
        """Raw segments from ``start`` up to and including IEA (or EOF)."""
        t = self.text
        out = []
        j = start
        while True:
            k = t.find(term, j)
            if k < 0:
                rest = t[j:]
                frag = rest.strip(" \t\r\n\x00\x1a")
                if (
                    frag
                    and stop_at_iea
                    and re.fullmatch(
                        r"IEA[^A-Za-z0-9\s][0-9]+[^A-Za-z0-9\s][0-9A-Za-z ]+", frag
                    )
                ):
                    self.n += 1
                    self.notes.append(
                        f"{self.path}: segment {self.n} (IEA, line "
                        f"{self.line_of(j)}): no segment terminator after the "
                        "final IEA; read anyway"
                    )
                    out.append(_Raw(frag, j + len(rest) - len(rest.lstrip())))
                    self._end = len(t)
                    return out
                if frag:
                    j += len(rest) - len(rest.lstrip())
                    pos = self.n + 1
                    raise _fail(
                        self.path,
                        pos,
                        frag[:3],
                        self.line_of(j),
                        f"truncated segment {frag[:40]!r}: no segment terminator "
                        f"{term!r} before the end of the file",
                        "the file was cut off; export or download it again",
                    )
                self._end = len(t)
                return out
            body = t[j:k]
            stripped = body.strip(" \t\r\n")
            if stripped:
                lead = len(body) - len(body.lstrip(" \t\r\n"))
                self.n += 1
                out.append(_Raw(stripped, j + lead))
                if (
                    stop_at_iea
                    and stripped[:3] == "IEA"
                    and (len(stripped) == 3 or not stripped[3].isalnum())
                ):
                    self._end = k + 1
                    return out
            j = k + 1

    def _isa_interchange(self, i: int):
        ele, comp, term, isa_text, after = self._isa_delims(i)
        self.n += 1
        isa = _Raw(isa_text, i)
        rest = self._split(after, term, stop_at_iea=True)
        return ele, comp, term, [isa, *rest], False

    def _bare(self, i: int):
        t = self.text
        ele = t[i + 2]
        m = re.match(
            r"ST"
            + re.escape(ele)
            + r"[0-9A-Za-z]+"
            + re.escape(ele)
            + r"[0-9A-Za-z]+(?:"
            + re.escape(ele)
            + r"[0-9A-Za-z]*)?",
            t[i:],
        )
        if m is None or i + m.end() >= len(t):
            raise _fail(
                self.path,
                1,
                "ST",
                self.line_of(i),
                "cannot read the ST segment of this bare transaction set",
                "add the ISA/GS envelope or export the file again",
            )
        k = i + m.end()
        term = t[k]
        if term in "\r\n":
            k2 = self.skip_ws(k)
            nxt = t[k2] if k2 < len(t) else ""
            term = nxt if nxt and not nxt.isalnum() else "\n"
        comp = ":"
        cm = re.search(
            re.escape(term)
            + r"\s*(?:SVC|SV1)"
            + re.escape(ele)
            + r"[A-Z]{2}([^A-Za-z0-9])",
            t,
        )
        if cm and cm.group(1) not in (ele, term):
            comp = cm.group(1)
        segs = self._split(i, term, stop_at_iea=False)
        return ele, comp, term, segs, True


def _fixed_isa(isa_text: str, ele: str, path, line: int) -> list[str]:
    parts = isa_text.split(ele)
    fields = []
    for n, (value, width) in enumerate(zip(parts[1:17], _ISA_WIDTHS, strict=True), 1):
        if n == 16:
            fields.append(value)
            continue
        if len(value) > width:
            raise _fail(
                path,
                1,
                "ISA",
                line,
                f"ISA{n:02d} is {len(value)} characters; ISA fields have fixed "
                f"widths (ISA{n:02d}: {width})",
                "the ISA segment is damaged or uses an unexpected separator",
            )
        fields.append(value.ljust(width))
    return ["ISA", *fields]


def _envelope(segs, ele, comp, st_id):
    """Synthetic ISA/GS/GE/IEA around a bare transaction set."""
    fg = "HP" if st_id == "835" else "HC"
    ver = "005010X221A1" if st_id == "835" else "005010X222A1"
    n_st = sum(1 for s in segs if s.text[:2] == "ST" and not s.text[2:3].isalnum())
    head = [
        ele.join(
            [
                "ISA",
                "00",
                " " * 10,
                "00",
                " " * 10,
                "ZZ",
                "UNKNOWN".ljust(15),
                "ZZ",
                "UNKNOWN".ljust(15),
                "000101",
                "0000",
                "^",
                "00501",
                "000000001",
                "0",
                "P",
                comp,
            ]
        ),
        ele.join(["GS", fg, "UNKNOWN", "UNKNOWN", "20000101", "0000", "1", "X", ver]),
    ]
    tail = [ele.join(["GE", str(n_st), "1"]), ele.join(["IEA", "1", "000000001"])]
    return (
        [_Raw(h, -1, True) for h in head]
        + list(segs)
        + [_Raw(x, -1, True) for x in tail]
    )


def iter_segments(
    path, *, strict=False, notes=None, problems=None
) -> Iterator[Segment]:
    """Yield the segments of an X12 file after pyx12 has checked them.

    Parameters
    ----------
    path : str or Path
        An X12 file (one or several interchanges, or a bare transaction set).
    strict : bool
        Also refuse files whose trailer counts or control numbers disagree
        (SE01, GE01, IEA01, SE02/GE02/IEA02) and files whose composites use
        another component separator than ISA16 declares.
    notes : list, optional
        Receives non-fatal findings (strings naming the file and segment).
    problems : list, optional
        Receives :class:`X12FormatError` for trailer counts or control numbers
        that disagree when ``strict`` is false (the data is still yielded).

    Yields
    ------
    Segment

    Raises
    ------
    X12FormatError
        When the file cannot be used: bad separators, a truncated segment, a
        missing trailer, an invalid segment identifier (and, with ``strict``,
        wrong counts).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from ptdenial.x12 import iter_segments
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "bare.835"
    >>> _ = p.write_text("ST*835*1~BPR*I*0*C*NON~SE*3*1~")
    >>> [s.id for s in iter_segments(p)]
    ['ST', 'BPR', 'SE']
    """
    path = Path(path)
    notes = [] if notes is None else notes
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InputFileError(f"{path}: cannot read the file ({exc}).") from exc
    text = raw.decode("latin-1")
    scanner = _Scanner(text, path, notes)
    for ele, comp, term, segs, bare in scanner.interchanges():
        if bare:
            st = segs[0].text.split(ele)
            segs = _envelope(segs, ele, comp, st[1] if len(st) > 1 else "")
            isa_fields = segs[0].text.split(ele)
            notes.append(
                f"{path}: no ISA/GS envelope; read as a bare "
                "transaction set (version assumed 5010)"
            )
        else:
            isa_fields = _fixed_isa(
                segs[0].text, ele, path, scanner.line_of(segs[0].start)
            )
        comp = _component_in_use(segs, ele, comp, path, strict, notes, scanner)
        ctx = (path, strict, notes, problems)
        yield from _walk(ctx, scanner, segs, isa_fields, ele, comp, term)


_COMPOSITE_SEGS = ("SVC", "SV1", "SV2", "HI")


def _component_in_use(segs, ele, comp, path, strict, notes, scanner):
    """The component separator the composites really use (ISA16 normally)."""
    pos = scanner.n - sum(1 for s in segs if not s.synthetic)
    for s in segs:
        if s.synthetic:
            continue
        pos += 1
        if s.text[:3] not in _COMPOSITE_SEGS and s.text[:2] != "HI":
            continue
        parts = s.text.split(ele)
        if len(parts) < 2 or len(parts[1]) < 3:
            continue
        value = parts[1]
        if comp in value:
            return comp
        cand = value[2] if value[:2].isalpha() else value[3:4]
        if cand and not cand.isalnum() and cand not in (ele, " "):
            seg_id = parts[0]
            problem = (
                f"composite {value!r} uses {cand!r} between components, but "
                f"ISA16 declares {comp!r}"
            )
            if strict:
                raise _fail(
                    path,
                    pos,
                    seg_id,
                    scanner.line_of(s.start),
                    problem,
                    "the file's separators are inconsistent; export it again",
                )
            notes.append(
                f"{path}: segment {pos} ({seg_id}): {problem}; read with {cand!r}"
            )
            return cand
        return comp
    return comp


def _walk(ctx, scanner, segs, isa_fields, ele, comp, term):
    path, strict, notes, problems = ctx
    out_term = "~" if term == "\n" else term
    if term == "\n" and any("~" in s.text for s in segs):
        out_term = "\x1c"
    isa_fields = list(isa_fields)
    isa_fields[16] = comp
    lines = [ele.join(isa_fields)] + [s.text for s in segs[1:]]
    doc = "".join(f"{x}{out_term}\n" for x in lines)
    positions = []
    file_pos = scanner.n - sum(1 for s in segs if not s.synthetic)
    lines_no = scanner.lines_of([max(s.start, 0) for s in segs])
    for s, line_no in zip(segs, lines_no, strict=True):
        if s.synthetic:
            positions.append((None, None))
        else:
            file_pos += 1
            positions.append((file_pos, line_no))
    try:
        reader = pyx12.x12file.X12Reader(io.StringIO(doc))
    except pyx12.errors.X12Error as exc:
        pos, line = positions[0]
        raise _fail(
            path,
            pos or 1,
            "ISA",
            line,
            f"pyx12 cannot read the ISA ({exc})",
            "check the ISA segment (version 00401 or 00501)",
        ) from exc
    n = 0
    last = (None, None, None)
    try:
        for _seg in reader:
            if n >= len(segs):  # pragma: no cover - both sides split alike
                break
            pos, line = positions[n]
            els = lines[n].split(ele)
            seg_id = els[0].strip()
            last = (pos, seg_id, line)
            _check(reader.pop_errors(), ctx, pos, seg_id, line)
            if not _SEG_ID.match(seg_id):
                raise _fail(
                    path,
                    pos,
                    seg_id[:8],
                    line,
                    f"invalid segment identifier {seg_id[:12]!r}",
                    f"the element separator declared in ISA is {ele!r}; the "
                    "file mixes separators or is damaged",
                )
            n += 1
            if pos is not None:  # synthetic envelope segments stay internal
                yield Segment(seg_id, els, pos, line or 0, comp)
    except pyx12.errors.X12Error as exc:
        pos, line = positions[min(n, len(positions) - 1)]
        raise _fail(
            path, pos, None, line, f"pyx12: {exc}", "export the file again"
        ) from exc
    reader.cleanup()
    _check(reader.pop_errors(), ctx, last[0], last[1], last[2])


def _check(errors, ctx, pos, seg_id, line):
    path, strict, notes, problems = ctx
    for kind, code, message, _value, _src in errors:
        if kind == "seg" and code in _SOFT_SEG_ERRORS:
            notes.append(f"{path}: segment {pos} ({seg_id}): {message}")
            continue
        fix = {
            "st": "SE01 must count the segments from ST to SE and SE02 repeat ST02; "
            "the transaction set is damaged or was edited by hand",
            "gs": "GE01 must count the ST sets in the group and GE02 repeat GS06",
            "isa": "IEA01 must count the GS groups and IEA02 repeat ISA13",
        }.get(kind, "the segment is damaged; export the file again")
        if (kind, code) in (("gs", "3"), ("isa", "024")):
            message = (
                f"{seg_id} found while an inner loop is still open "
                f"({message}): a trailer (SE or GE) is missing"
            )
            fix = "the file lost segments; export it again"
        err = _fail(path, pos, seg_id, line, message, fix)
        if (kind, code) in _COUNT_ERRORS and not strict:
            if problems is not None:
                problems.append(err)
            continue
        raise err

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

The file is read in blocks (``_BLOCK``, 4 MiB) and segments are cut and
handed to pyx12 as they are split, so memory holds about a block, the
segment being cut and a bounded lookahead (``_LOOKAHEAD``, 8 MiB, for the
first composite), never the file's text or one object per segment: the
envelope checks keep counters, line numbers are counted as the text goes by.

Anything that makes a file unusable raises :class:`X12FormatError` naming the
file, the segment's position (1-based among the file's segments), its line and
its identifier. Messages never quote element values: a segment may carry a
patient's name or member id (PHI), so they name the segment and the element.
"""

from __future__ import annotations

import collections
import dataclasses
import re
from collections.abc import Iterator
from pathlib import Path

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
# The file is read in blocks of this many bytes (one latin-1 character each).
_BLOCK = 4 << 20
# How far past an interchange's start the checks of the component separator
# look for the first composite (SVC, SV1, SV2, HI).
_LOOKAHEAD = 8 << 20
# What pyx12 raises (besides X12Error) when the envelope is broken: a GE
# without GS, a second GE, an SE without ST ... (it indexes an empty stack).
_PYX12_CRASHES = (IndexError, KeyError, AttributeError, TypeError, ValueError)
_QUOTED = re.compile(r"\"[^\"]*\"|'[^']*'|\([^)]*\)")


def _scrub(message: str) -> str:
    """A pyx12 message without the segment text it may quote (PHI)."""
    return _QUOTED.sub("(...)", str(message))


def _seg_label(text: str) -> str:
    """A segment identifier fit to print: 2-3 letters/digits, else a description.

    Never the text after an identifier: a damaged segment can carry names or
    member ids there.
    """
    text = text.strip()
    if re.fullmatch(r"[A-Za-z0-9]{1,3}", text):
        return text
    head = re.match(r"[A-Z][A-Z0-9]{1,2}(?=[^A-Za-z0-9])", text)
    if head:
        return f"{head.group()} and {len(text) - head.end()} more characters"
    return f"<{len(text)} characters>"


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
        seg_id = _seg_label(seg_id)  # a damaged identifier can hold data
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
    pos: int | None = None  # 1-based position among the file's segments
    line: int | None = None


@dataclasses.dataclass
class _Interchange:
    """Delimiters of one interchange and a lazy stream of its raw segments."""

    ele: str
    comp: str
    term: str
    isa: _Raw
    segments: Iterator[_Raw]
    bare: bool
    start: int  # offset of the first real segment (ISA, or ST when bare)
    first_pos: int  # its position in the file


class _Window:
    """The text of a file from the segment being cut onwards, read in blocks.

    Offsets are the file's: latin-1 maps one byte to one character, so a
    block boundary never splits a character. Text before the segment being
    cut is dropped once it exceeds a block (its newlines counted first), so
    the window holds about a block, the segment being cut and any lookahead,
    never the whole file.
    """

    def __init__(self, fh, block: int):
        self._fh, self._block = fh, max(1, int(block))
        self.buf, self.base, self.eof = "", 0, False
        self._line, self._line_at = 1, 0

    @property
    def end(self) -> int:
        """File offset just past the text read so far."""
        return self.base + len(self.buf)

    def fill(self, end: int) -> bool:
        """Read until offset ``end`` is read or the file ends; True if it is."""
        while self.end < end and not self.eof:
            data = self._fh.read(max(self._block, end - self.end))
            if data:
                self.buf += data.decode("latin-1")
            else:
                self.eof = True
        return self.end >= end

    def text(self, a: int, b: int) -> str:
        """The text from offset ``a`` to ``b`` (shorter at the end of the file)."""
        self.fill(b)
        return self.buf[a - self.base : b - self.base]

    def char(self, i: int) -> str:
        """The character at offset ``i``, or ``""`` past the end of the file."""
        return self.text(i, i + 1)

    def skip_ws(self, i: int) -> int:
        while (c := self.char(i)) and c in " \t\r\n\x00\ufeff":
            i += 1
        return i

    def find(self, sub: str, a: int) -> int:
        """Offset of the next ``sub`` at or after ``a``; -1 when the file has none."""
        while True:
            k = self.buf.find(sub, a - self.base)
            if k >= 0:
                return self.base + k
            if self.eof:
                return -1
            a = max(a, self.end - len(sub) + 1)
            self.fill(self.end + 1)

    def scan(self, how, a: int, limit: int):
        """``how(buf, pos, endpos)`` (a compiled pattern's search or match)
        over the text from ``a``, reading up to ``limit`` characters ahead.

        A match (or no match) that reaches the end of the text read so far
        is tried again on more text, so the result does not depend on the
        block size. Offsets in the match are relative to :attr:`base`.
        """
        size = self._block
        while True:
            stop = a + limit
            self.fill(min(a + size, stop))
            hi = min(self.end, stop)
            m = how(self.buf, a - self.base, hi - self.base)
            if self.eof or hi >= stop or (m and self.base + m.end() < hi):
                return m
            size *= 2

    def line_of(self, offset: int) -> int:
        """1-based line of a file offset (cheap for increasing offsets)."""
        at, base = self._line_at, self.base
        if offset >= at:
            self.fill(offset)
            self._line += self.buf.count("\n", at - base, offset - base)
        else:
            self._line -= self.buf.count("\n", offset - base, at - base)
        self._line_at = offset
        return self._line

    def drop(self, upto: int) -> None:
        """Forget the text before offset ``upto`` once it exceeds a block."""
        if upto - self.base <= self._block:
            return
        if self._line_at < upto:
            self.line_of(upto)
        self.buf = self.buf[upto - self.base :]
        self.base = upto


class _Scanner:
    """Cut a file's text into interchanges of raw segments, lazily."""

    def __init__(self, window: _Window, path, notes):
        self.w = window
        self.path = path
        self.notes = notes
        self.n = 0  # segments cut so far (file positions)
        self.n_st = 0  # ST segments cut (bare transaction sets)
        self._end = 0

    def line_of(self, offset: int) -> int:
        return self.w.line_of(offset)

    def raw(self, text: str, start: int) -> _Raw:
        self.n += 1
        return _Raw(text, start, False, self.n, self.line_of(start))

    def skip_ws(self, i: int) -> int:
        return self.w.skip_ws(i)

    def fail(self, pos, seg_id, offset, problem, fix) -> X12FormatError:
        line = self.line_of(offset) if offset is not None else None
        return _fail(self.path, pos, seg_id, line, problem, fix)

    def interchanges(self) -> Iterator[_Interchange]:
        """Each interchange; consume its segments before asking for the next."""
        w = self.w
        i = self.skip_ws(0)
        if not w.char(i):
            raise self.fail(
                0, None, None, "the file is empty", "remove it or export the file again"
            )
        first = True
        while w.char(i):
            head = w.text(i, i + 20)
            if head.startswith("ISA"):
                yield self._isa_interchange(i)
                i = self.skip_ws(self._end)
            elif first and re.match(r"ST[^A-Za-z0-9\s]", head[:3]):
                yield self._bare(i)
                return
            else:
                raise self.fail(
                    self.n + 1,
                    _seg_label(re.split(r"[^A-Za-z0-9]", head)[0]),
                    i,
                    "expected an ISA segment here",
                    "an X12 file must start with ISA (or be a bare ST...SE "
                    "transaction); check that the file is X12 and not cut",
                )
            first = False

    # -- delimiters -----------------------------------------------------------
    def _isa_separators(self, i: int):
        """Element separator and the offsets of ISA's 16 element separators."""
        w = self.w
        pos = self.n + 1
        if not w.fill(i + 4):
            raise self.fail(
                pos, "ISA", i, "the ISA segment is truncated", "export the file again"
            )
        ele = w.char(i + 3)
        if ele.isalnum() or ele.isspace():
            raise self.fail(
                pos,
                "ISA",
                i,
                f"bad element separator {ele!r} (ISA's 4th character must be a "
                "symbol such as '*' or '|')",
                "export the file again; the ISA segment is damaged",
            )
        isa = w.text(i, i + _MAX_ISA_CHARS)
        seps = [i + j for j in range(3, len(isa)) if isa[j] == ele][:16]
        if len(seps) < 16 or not w.fill(seps[-1] + 3):
            raise self.fail(
                pos,
                "ISA",
                i,
                f"the ISA segment has fewer than 16 elements separated by {ele!r}",
                "the ISA segment is truncated or uses mixed separators; export "
                "the file again",
            )
        return ele, seps

    def _isa_delims(self, i: int):
        """(element sep, component sep, terminator, ISA text, offset after ISA)."""
        w = self.w
        pos = self.n + 1
        ele, seps = self._isa_separators(i)
        comp = w.char(seps[-1] + 1)
        k = seps[-1] + 2
        term = w.char(k)
        if term in "\r\n":
            k2 = self.skip_ws(k)
            nxt = w.char(k2)
            if nxt and not nxt.isalnum():
                term, k = nxt, k2
            else:
                term = "\n"
        if comp.isalnum() or comp.isspace() or comp == ele:
            raise self.fail(
                pos,
                "ISA",
                i,
                f"bad component separator {comp!r} in ISA16",
                "ISA16 must be a symbol different from the element separator, "
                "such as ':' or '>'",
            )
        if term.isalnum() or term in (ele, comp):
            raise self.fail(
                pos,
                "ISA",
                i,
                f"bad segment terminator {term!r} after ISA16",
                "the segment terminator must be a symbol (such as '~') that "
                "differs from the element and component separators",
            )
        return ele, comp, term, w.text(i, seps[-1] + 2), k + 1

    def _split(self, start: int, term: str, stop_at_iea: bool) -> Iterator[_Raw]:
        """Raw segments from ``start`` up to and including IEA (or EOF).

        Without ``stop_at_iea`` (a bare transaction set) the ST segments are
        counted in :attr:`n_st` for the synthetic GE01.
        """
        w = self.w
        st = None
        if not stop_at_iea:
            st = re.compile(rf"\s*ST{re.escape(w.char(start + 2))}")
        j = start
        while True:
            w.drop(j)
            k = w.buf.find(term, j - w.base)  # fast path: within the window
            k = w.base + k if k >= 0 else w.find(term, j)
            if k < 0:
                yield from self._last(j, stop_at_iea)
                return
            body = w.buf[j - w.base : k - w.base]
            if st is not None and st.match(body):
                self.n_st += 1
            stripped = body.strip(" \t\r\n")
            if stripped:
                lead = len(body) - len(body.lstrip(" \t\r\n"))
                yield self.raw(stripped, j + lead)
                if (
                    stop_at_iea
                    and stripped[:3] == "IEA"
                    and (len(stripped) == 3 or not stripped[3].isalnum())
                ):
                    self._end = k + 1
                    return
            j = k + 1

    def _last(self, j: int, stop_at_iea: bool) -> Iterator[_Raw]:
        """What follows the last terminator: nothing, an unterminated IEA, or a cut."""
        w = self.w
        rest = w.text(j, w.end)  # no terminator left: the window reaches EOF
        frag = rest.strip(" \t\r\n\x00\x1a")
        self._end = w.end
        if not frag:
            return
        at = j + len(rest) - len(rest.lstrip())
        if stop_at_iea and re.fullmatch(
            r"IEA[^A-Za-z0-9\s][0-9]+[^A-Za-z0-9\s][0-9A-Za-z ]+", frag
        ):
            seg = self.raw(frag, at)
            self.notes.append(
                f"{self.path}: segment {seg.pos} (IEA, line {seg.line}): no segment "
                "terminator after the final IEA; read anyway"
            )
            yield seg
            return
        raise self.fail(
            self.n + 1,
            _seg_label(re.split(r"[^A-Za-z0-9]", frag)[0]),
            at,
            f"truncated segment of {len(frag)} characters: no segment terminator "
            "before the end of the file",
            "the file was cut off; export or download it again",
        )

    def _isa_interchange(self, i: int) -> _Interchange:
        ele, comp, term, isa_text, after = self._isa_delims(i)
        isa = self.raw(isa_text, i)
        segs = self._split(after, term, stop_at_iea=True)
        return _Interchange(ele, comp, term, isa, segs, False, i, isa.pos)

    def _bare(self, i: int) -> _Interchange:
        w = self.w
        ele = w.char(i + 2)
        e = re.escape(ele)
        st_head = re.compile(rf"ST{e}[0-9A-Za-z]+{e}[0-9A-Za-z]+(?:{e}[0-9A-Za-z]*)?")
        m = w.scan(st_head.match, i, _LOOKAHEAD)
        if m is None or not w.fill(w.base + m.end() + 1):
            raise self.fail(
                1,
                "ST",
                i,
                "cannot read the ST segment of this bare transaction set",
                "add the ISA/GS envelope or export the file again",
            )
        k = w.base + m.end()
        st_id = m.group(0).split(ele)[1]
        term = w.char(k)
        if term in "\r\n":
            nxt = w.char(self.skip_ws(k))
            term = nxt if nxt and not nxt.isalnum() else "\n"
        comp = ":"
        cm = w.scan(
            re.compile(
                re.escape(term) + rf"\s*(?:SVC|SV1){e}[A-Z]{{2}}([^A-Za-z0-9])"
            ).search,
            i,
            _LOOKAHEAD,
        )
        if cm and cm.group(1) not in (ele, term):
            comp = cm.group(1)
        head = _envelope(ele, comp, st_id, 0)[0]
        segs = _chain(
            head[1:],
            self._split(i, term, stop_at_iea=False),
            self._bare_tail(ele, comp, st_id),
        )
        return _Interchange(ele, comp, term, head[0], segs, True, i, self.n + 1)

    def _bare_tail(self, ele, comp, st_id) -> Iterator[_Raw]:
        """The synthetic GE/IEA, once the ST sets have been counted."""
        yield from _envelope(ele, comp, st_id, self.n_st)[1]


def _chain(*parts):
    for part in parts:
        yield from part


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


def _envelope(ele, comp, st_id, n_st):
    """Synthetic ISA/GS (head) and GE/IEA (tail) around a bare transaction set."""
    fg = "HP" if st_id == "835" else "HC"
    ver = "005010X221A1" if st_id == "835" else "005010X222A1"
    isa = [
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
    gs = ["GS", fg, "UNKNOWN", "UNKNOWN", "20000101", "0000", "1", "X", ver]
    head = [_Raw(ele.join(isa), -1, True), _Raw(ele.join(gs), -1, True)]
    tail = [
        _Raw(ele.join(["GE", str(n_st), "1"]), -1, True),
        _Raw(ele.join(["IEA", "1", "000000001"]), -1, True),
    ]
    return head, tail


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
        missing or repeated envelope segment, an invalid segment identifier
        (and, with ``strict``, wrong counts). Segments before the fault may
        already have been yielded.

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
        fh = path.open("rb")
    except OSError as exc:
        raise _unreadable(path, exc) from exc
    with fh:
        scanner = _Scanner(_Window(fh, _BLOCK), path, notes)
        has_tilde = None
        for ix in scanner.interchanges():
            if ix.bare:
                isa_fields = ix.isa.text.split(ix.ele)
                notes.append(
                    f"{path}: no ISA/GS envelope; read as a bare "
                    "transaction set (version assumed 5010)"
                )
            else:
                isa_fields = _fixed_isa(ix.isa.text, ix.ele, path, ix.isa.line)
            comp = _component_in_use(scanner, ix, notes, strict)
            if ix.term == "\n" and has_tilde is None:
                has_tilde = _file_has_tilde(path)
            ctx = (path, strict, notes, problems)
            yield from _walk(ctx, ix, isa_fields, comp, bool(has_tilde))


def _unreadable(path, exc: OSError) -> InputFileError:
    return InputFileError(
        f"{path}: cannot read the file ({exc.strerror or type(exc).__name__})."
    )


def _file_has_tilde(path: Path) -> bool:
    """Whether the file holds a ``~`` anywhere, read block by block."""
    try:
        with path.open("rb") as fh:
            while block := fh.read(_BLOCK):
                if b"~" in block:
                    return True
    except OSError as exc:
        raise _unreadable(path, exc) from exc
    return False


def _component_in_use(scanner, ix: _Interchange, notes, strict) -> str:
    """The component separator the composites really use (ISA16 normally).

    Looks at the first composite (SVC01, SV101, SV201, HI01) after the ISA,
    within ``_LOOKAHEAD`` characters of it (the first claim, in practice).
    """
    e, comp = re.escape(ix.ele), ix.comp
    term = "\n" if ix.term == "\n" else re.escape(ix.term)
    w = scanner.w
    m = w.scan(
        re.compile(rf"(?:^|{term})\s*(SVC|SV1|SV2|HI){e}([^{term}{e}]*)").search,
        ix.start,
        _LOOKAHEAD,
    )
    if m is None or len(m.group(2)) < 3:
        return comp
    value = m.group(2)
    if comp in value:
        return comp
    cand = value[2] if value[:2].isalpha() else value[3:4]
    if not cand or cand.isalnum() or cand in (ix.ele, " "):
        return comp
    at = w.base + m.start(1)
    pos = ix.first_pos + w.buf.count(ix.term, ix.start - w.base, at - w.base)
    line = scanner.line_of(at)
    problem = (
        f"the composite {m.group(1)}01 uses {cand!r} between components, but "
        f"ISA16 declares {comp!r}"
    )
    if strict:
        raise _fail(
            scanner.path,
            pos,
            m.group(1),
            line,
            problem,
            "the file's separators are inconsistent; export it again",
        )
    notes.append(
        f"{scanner.path}: segment {pos} ({m.group(1)}): {problem}; read with {cand!r}"
    )
    return cand


class _Feed:
    """A read-only text file over canonical segment lines, made on demand."""

    closed = False

    def __init__(self, lines: Iterator[str]):
        self._lines = lines
        self._buf = ""

    def read(self, n: int = -1) -> str:
        parts, size = [self._buf], len(self._buf)
        while n < 0 or size < n:
            line = next(self._lines, None)
            if line is None:
                break
            parts.append(line)
            size += len(line)
        buf = "".join(parts)
        if n < 0:
            self._buf = ""
            return buf
        self._buf = buf[n:]
        return buf[:n]

    def close(self):
        self.closed = True


def _canonical(ix: _Interchange, isa_fields, comp, out_term, pending):
    """Canonical lines for pyx12; each segment's (raw, elements) goes to ``pending``."""
    isa_fields = list(isa_fields)
    isa_fields[16] = comp
    isa_text = ix.ele.join(isa_fields)
    pending.append((ix.isa, isa_text.split(ix.ele)))
    yield f"{isa_text}{out_term}\n"
    for s in ix.segments:
        pending.append((s, s.text.split(ix.ele)))
        yield f"{s.text}{out_term}\n"


def _walk(ctx, ix: _Interchange, isa_fields, comp, has_tilde):
    path = ctx[0]
    out_term = "~" if ix.term == "\n" else ix.term
    if ix.term == "\n" and has_tilde:
        out_term = "\x1c"
    pending: collections.deque = collections.deque()
    feed = _Feed(_canonical(ix, isa_fields, comp, out_term, pending))
    try:
        reader = pyx12.x12file.X12Reader(feed)
    except pyx12.errors.X12Error as exc:
        raise _fail(
            path,
            ix.isa.pos or 1,
            "ISA",
            ix.isa.line,
            f"pyx12 cannot read the ISA ({_scrub(exc)})",
            "check the ISA segment (version 00401 or 00501)",
        ) from exc
    last = (None, None, None)
    try:
        for _seg in reader:
            if not pending:  # pragma: no cover - both sides split alike
                break
            raw, els = pending.popleft()
            seg_id = els[0].strip()
            last = (raw.pos, seg_id, raw.line)
            _check(reader.pop_errors(), ctx, raw.pos, seg_id, raw.line)
            if not _SEG_ID.match(seg_id):
                raise _fail(
                    path,
                    raw.pos,
                    _seg_label(seg_id),
                    raw.line,
                    "invalid segment identifier",
                    f"the element separator declared in ISA is {ix.ele!r}; the "
                    "file mixes separators or is damaged",
                )
            if not raw.synthetic:  # synthetic envelope segments stay internal
                yield Segment(seg_id, els, raw.pos, raw.line or 0, comp)
    except pyx12.errors.X12Error as exc:
        raw = pending[0][0] if pending else None
        pos, line = (raw.pos, raw.line) if raw else last[::2]
        raise _fail(
            path, pos, None, line, f"pyx12: {_scrub(exc)}", "export the file again"
        ) from exc
    except _PYX12_CRASHES as exc:
        raw = pending[0][0] if pending else None
        if raw is not None:
            last = (raw.pos, _seg_label(raw.text.split(ix.ele)[0]), raw.line)
        pos, seg_id, line = last
        raise _fail(
            path,
            pos,
            seg_id,
            line,
            "the envelope is broken here: a GS, GE, ST or SE segment is missing, "
            f"repeated or out of place (pyx12 stopped with {type(exc).__name__})",
            "the file lost or gained envelope segments; export it again",
        ) from exc
    reader.cleanup()
    _check(reader.pop_errors(), ctx, last[0], last[1], last[2])


def _check(errors, ctx, pos, seg_id, line):
    path, strict, notes, problems = ctx
    for kind, code, message, _value, _src in errors:
        if kind == "seg" and code in _SOFT_SEG_ERRORS:
            notes.append(f"{path}: segment {pos} ({seg_id}): {_scrub(message)}")
            continue
        message = _scrub(message)
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

"""The X12 lexer streams: block boundaries are invisible, memory does not grow.

Issue #15 item 15. :func:`ptdenial.x12.iter_segments` reads the file in
blocks of ``_lexer._BLOCK`` bytes; these tests force blocks of a few bytes so
that every separator, terminator, CRLF and the ISA itself fall across a block
boundary, and check that the segments, positions, lines, notes, problems and
errors are those of one block holding the whole file.
"""

from __future__ import annotations

import sys
import tracemalloc
from pathlib import Path

import pytest

from ptdenial.exceptions import PtdenialError
from ptdenial.schema import DIAGNOSIS_CODES
from ptdenial.x12 import _lexer, iter_segments, write_835, write_837p

sys.path.insert(0, str(Path(__file__).resolve().parent))

from fuzz_x12 import generated_files, public_files  # noqa: E402

CASES = Path(__file__).resolve().parent / "x12_cases"
WHOLE = 1 << 30  # one block holds any test file: the lexer before streaming

ISA = (
    "ISA*00*          *00*          *ZZ*SENDER         *ZZ*RECEIVER       "
    "*240101*1200*^*00501*000000001*0*P*:~"
)


def _interchange(body: list[str], term="~", sep="\n", ctl="000000001") -> str:
    isa = ISA.replace("000000001", ctl).replace("~", term)
    segs = ["GS*HP*S*R*20240101*1200*1*X*005010X221A1", "ST*835*0001", *body]
    segs += [f"SE*{len(body) + 2}*0001", "GE*1*1", f"IEA*1*{ctl}"]
    return isa + sep + sep.join(s + term for s in segs) + sep


BODY = [
    "BPR*I*100*C*ACH",
    "CLP*C1*1*100*80**12*X",
    "SVC*HC:97112:GP*100*80**2",
    "DTM*472*20240105",
    "CAS*CO*45*20",
]
TEXTS = {
    "crlf": _interchange(BODY, sep="\r\n"),
    "one line": _interchange(BODY, sep=""),
    "newline terminator": _interchange(BODY, term="", sep="\n")[:-1],
    "newline terminator, tilde in a value": _interchange(
        [*BODY, "REF*F8*A~B"], term="", sep="\n"
    )[:-1],
    "two interchanges": _interchange(BODY) + _interchange(BODY, ctl="000000002"),
    "bare": "ST*835*1~\r\n"
    + "~\r\n".join(BODY)
    + "~\r\nSE*7*1~\r\nST*835*2~BPR*I*0*C*NON~SE*3*2~",
    "wrong SE count": _interchange(BODY).replace("SE*7*0001", "SE*9*0001"),
    "component mismatch": _interchange(BODY).replace("HC:97112:GP", "HC>97112>GP"),
    "unterminated IEA": _interchange(BODY, sep="").rstrip("~\n"),
    "truncated": _interchange(BODY)[:-40],
    "missing GE": _interchange(BODY).replace("GE*1*1~\n", ""),
    "bad element separator": "ISA" + "A" * 120,
    "short ISA": ISA[:60],
    "junk": "hello world, not X12",
    "whitespace only": " \r\n \n",
}


def _lex(path, block: int, monkeypatch, strict=False):
    """Everything the lexer tells about a file, read in blocks of ``block``."""
    monkeypatch.setattr(_lexer, "_BLOCK", block)
    notes, problems, segs = [], [], []
    try:
        for s in iter_segments(path, strict=strict, notes=notes, problems=problems):
            segs.append((s.id, tuple(s.el), s.pos, s.line, s.comp))
        error = None
    except PtdenialError as exc:
        error = (type(exc).__name__, str(exc))
    return segs, notes, [str(p) for p in problems], error


def _same_for_small_blocks(path, monkeypatch, blocks=(1, 2, 3, 7, 64)):
    """What a whole-file block reads (not strict), after checking small blocks."""
    found = {}
    for strict in (True, False):
        found[strict] = _lex(path, WHOLE, monkeypatch, strict)
        for block in blocks:
            got = _lex(path, block, monkeypatch, strict)
            assert got == found[strict], (path, block, strict)
    return found[False]


@pytest.mark.parametrize("name", list(TEXTS))
def test_block_boundaries_are_invisible(name, tmp_path, monkeypatch):
    path = tmp_path / "case.835"
    path.write_bytes(TEXTS[name].encode("latin-1"))
    segs, notes, problems, error = _same_for_small_blocks(path, monkeypatch)
    # the cases mean what their names say (the comparison is not vacuous)
    if name.startswith(("crlf", "one line", "newline terminator", "bare")):
        assert segs and error is None and not problems
        assert [s[0] for s in segs].count("SVC") == 1
    if name.endswith("tilde in a value"):
        assert segs[-4][1] == ("REF", "F8", "A~B")  # the '~' is data here
    if name == "two interchanges":
        assert [s[0] for s in segs].count("ISA") == 2 and error is None
    if name == "wrong SE count":
        assert error is None and len(problems) == 1 and "SE01" in problems[0]
    if name == "component mismatch":
        assert any("'>'" in n for n in notes) and segs[5][4] == ">"
    if name in ("truncated", "junk", "whitespace only", "short ISA"):
        assert error is not None and str(path) in error[1]


def test_lines_are_counted_across_blocks(tmp_path, monkeypatch):
    path = tmp_path / "crlf.835"
    path.write_bytes(TEXTS["crlf"].encode())
    segs = _lex(path, 2, monkeypatch)[0]
    assert [s[3] for s in segs] == list(range(1, len(segs) + 1))


def test_bare_set_counts_its_transactions_for_ge(tmp_path, monkeypatch):
    """The synthetic GE01 counts the ST sets as they are cut, not by a pre-scan."""
    path = tmp_path / "bare.835"
    path.write_bytes(TEXTS["bare"].encode())
    monkeypatch.setattr(_lexer, "_BLOCK", 3)
    problems, notes = [], []
    ids = [s.id for s in iter_segments(path, notes=notes, problems=problems)]
    assert ids.count("ST") == 2 and "GE" not in ids
    assert not problems  # a wrong GE01 would be reported here
    assert any("no ISA/GS envelope" in n for n in notes)


def test_case_files_read_alike_in_tiny_blocks(tmp_path, monkeypatch):
    files = sorted(p for p in CASES.rglob("*") if p.is_file())
    files += generated_files(tmp_path / "gen")
    assert len(files) > 10
    for path in files:
        _same_for_small_blocks(path, monkeypatch, blocks=(1, 5, 13))


@pytest.mark.parametrize("path", public_files(), ids=lambda p: p.name)
def test_public_files_read_alike_in_tiny_blocks(path, monkeypatch):
    _same_for_small_blocks(path, monkeypatch, blocks=(1, 7))


def test_sample_round_trip_reads_alike_in_small_blocks(
    sample_history, tmp_path, monkeypatch
):
    claims = sample_history
    few_dx = claims[DIAGNOSIS_CODES].map(len) <= 4  # what an 837P line can point to
    claims = claims.loc[few_dx].head(400)
    write_837p(claims, tmp_path / "s.837")
    write_835(claims, tmp_path / "s.835")
    for name in ("s.837", "s.835"):
        segs = _same_for_small_blocks(tmp_path / name, monkeypatch, blocks=(3, 4096))[0]
        assert sum(s[0] in ("SV1", "SVC") for s in segs) > 0


def _big_835(path: Path, claims: int) -> Path:
    body = ["BPR*I*100*C*ACH"]
    for k in range(claims):
        body += [
            f"CLP*C{k}*1*100*80**12*X{k}",
            "SVC*HC:97112:GP*100*80**2",
            "DTM*472*20240105",
            "CAS*CO*45*20",
        ]
    path.write_text(_interchange(body))
    return path


def _lexer_peak(path: Path) -> int:
    tracemalloc.start()
    try:
        n = sum(s.id == "SVC" for s in iter_segments(path))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert n > 0
    return peak


def test_lexer_memory_does_not_grow_with_the_file(tmp_path, monkeypatch):
    """Peak traced memory over a 4x larger file stays within 1.5x (not 4x).

    Blocks of 16 KiB stand for the 4 MiB of real runs: both files span many
    blocks, so what grows with the file (its text, a list per segment)
    would show as a 4x peak.
    """
    monkeypatch.setattr(_lexer, "_BLOCK", 16 << 10)
    monkeypatch.setattr(_lexer, "_LOOKAHEAD", 64 << 10)
    small = _big_835(tmp_path / "small.835", 1000)
    large = _big_835(tmp_path / "large.835", 4000)
    assert large.stat().st_size > 3.5 * small.stat().st_size > 3.5 * (80 << 10)
    _lexer_peak(small)  # warm caches (pyx12 maps, regex) outside the measure
    p_small, p_large = _lexer_peak(small), _lexer_peak(large)
    assert p_large <= 1.5 * p_small, (p_small, p_large)
    grown = large.stat().st_size - small.stat().st_size
    assert p_large - p_small < grown / 4  # the text would add all of it

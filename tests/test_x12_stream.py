"""X12 ingest in chunks (issue #15 item 15): same result, bounded chunks."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ptdenial import schema as S
from ptdenial.cli import main
from ptdenial.datasets import make_claims
from ptdenial.io import read_claims
from ptdenial.x12 import _ingest as ingest_module
from ptdenial.x12 import ingest, write_835, write_837p
from ptdenial.x12._stream import Spill

KEY = "test-key"
CASES = Path(__file__).parent / "x12_cases"
RUN_DATE = "2026-12-01"


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """Generated 837P + 835 of about 120 lines, with the hand-made cases."""
    root = tmp_path_factory.mktemp("x12stream")
    claims = make_claims(12, random_state=7).claims
    claims = claims.loc[claims[S.ADJUDICATION_DATE].notna()].reset_index(drop=True)
    write_837p(claims, root / "gen.837")
    write_835(claims, root / "gen.835")
    return {
        "claims": [root / "gen.837", CASES / "edge_5010.837", CASES / "edge_gt.837"],
        "remits": [root / "gen.835", *sorted(CASES.glob("*.835"))],
        "n": len(claims),
    }


def _same(a, b):
    pd.testing.assert_frame_equal(a.table, b.table)
    pd.testing.assert_frame_equal(a.quarantine, b.quarantine)
    for name in ("unmatched_claims", "unmatched_remits", "unmatched_docs", "reversed"):
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name))
    assert a.manifest["counts"] == b.manifest["counts"]
    assert a.manifest["unmatched_claims"] == b.manifest["unmatched_claims"]
    assert a.manifest["unmatched_remits"] == b.manifest["unmatched_remits"]


@pytest.mark.parametrize("which", ["both", "835"])
def test_small_chunks_give_the_one_chunk_result(files, which):
    args = {
        "both": {"claims_837": files["claims"], "remits_835": files["remits"]},
        "835": {"remits_835": files["remits"]},
    }[which]
    whole = ingest(key=KEY, run_date=RUN_DATE, chunk_rows=1_000_000, **args)
    assert len(whole.table) > 20
    _same(whole, ingest(key=KEY, run_date=RUN_DATE, chunk_rows=23, **args))


@pytest.mark.parametrize("which", ["both", "835", "837P", "twice"])
def test_many_partitions_give_the_one_partition_result(files, which, monkeypatch):
    """Partitions of 20 lines (a dozen or more: claims split off from most
    others, some partitions with claims but no remits or the reverse) give the result of
    one partition: reversals, latest remittance, matching and repeated keys
    are decided within a claim, and the table keeps its reading order."""
    args = {
        "both": {"claims_837": files["claims"], "remits_835": files["remits"]},
        "835": {"remits_835": files["remits"]},
        "837P": {"claims_837": files["claims"]},
        "twice": {
            "claims_837": [files["claims"][0]] * 2,
            "remits_835": [files["remits"][0]] * 2 + files["remits"][1:],
        },
    }[which]
    monkeypatch.setattr(ingest_module, "_PARTITION_LINES", 10**9)
    one = ingest(key=KEY, run_date=RUN_DATE, chunk_rows=29, **args)
    seen = []
    real = ingest_module._Run._plan_part

    def spy(self, part, n_parts, raw):
        seen.append(n_parts)
        return real(self, part, n_parts, raw)

    monkeypatch.setattr(ingest_module._Run, "_plan_part", spy)
    monkeypatch.setattr(ingest_module, "_PARTITION_LINES", 20)
    many = ingest(key=KEY, run_date=RUN_DATE, chunk_rows=29, **args)
    assert len(set(seen)) == 1 and seen[0] >= 10 and len(seen) == seen[0]
    assert len(one.table) + len(one.quarantine) > 20
    _same(one, many)


def test_a_claims_lines_share_one_partition_in_both_kinds(files, tmp_path):
    """The partition of a line depends on its claim id only (stable hash)."""
    from ptdenial.x12._read import scan_x12
    from ptdenial.x12._stream import claim_buckets

    spills = {}
    for kind, paths in (("837P", files["claims"][:1]), ("835", files["remits"][:1])):
        spills[kind] = Spill(kind, tmp_path, 13)
        scan_x12(paths, KEY, expect=kind, strict=False, sink=spills[kind])
    claims = {}
    for spill in spills.values():
        for part in range(5):
            keys, _bad, rows = spill.partition(part, 5)
            assert (rows[1:] > rows[:-1]).all()  # reading order
            for claim in keys[S.CLAIM_ID]:
                assert claims.setdefault(claim, part) == part
    assert len(claims) > 5
    again = claim_buckets(pd.Series(list(claims), dtype=object))
    assert [int(b) % 5 for b in again] == list(claims.values())
    most = [spills["835"].partition(part, 256)[2] for part in range(256)]
    assert sorted(np.concatenate(most).tolist()) == list(range(spills["835"].n_rows))
    with pytest.raises(ValueError, match="n_parts"):
        spills["835"].partition(0, 257)


def test_repeated_keys_across_chunks_are_all_quarantined(files):
    """The same 837P twice: every copy of a key fails, wherever its chunk.

    Also the 837P-only path in small chunks.
    """
    once = ingest(claims_837=files["claims"][:1], key=KEY, run_date=RUN_DATE)
    twice = [files["claims"][0], files["claims"][0]]
    whole = ingest(claims_837=twice, key=KEY, run_date=RUN_DATE, chunk_rows=10**6)
    chunked = ingest(claims_837=twice, key=KEY, run_date=RUN_DATE, chunk_rows=29)
    _same(whole, chunked)
    dup = chunked.quarantine[chunked.quarantine["check"] == "duplicate_key"]
    assert len(dup) == 2 * len(once.table)
    rows = chunked.quarantine[S.SOURCE_ROW].tolist()
    assert rows == sorted(rows)  # in table order, as one validation gives them


def test_reversals_net_across_chunks(tmp_path):
    """A reversal and its original in different chunks still cancel."""
    path = CASES / "reversal.835"
    whole = ingest(remits_835=[path], key=KEY, run_date=RUN_DATE)
    assert len(whole.reversed)  # the fixture has a pair that cancels
    _same(whole, ingest(remits_835=[path], key=KEY, run_date=RUN_DATE, chunk_rows=1))


def test_table_is_written_in_chunks_of_at_most_chunk_rows(files, tmp_path, monkeypatch):
    """With out=, no chunk handed to the writer exceeds chunk_rows (the bound)."""
    sizes = []
    real = ingest_module.write_table_chunks

    def recording(frames, path):
        def counted():
            for frame in frames:
                sizes.append(len(frame))
                yield frame

        return real(counted(), path)

    monkeypatch.setattr(ingest_module, "write_table_chunks", recording)
    out = tmp_path / "t.parquet"
    args = {"claims_837": files["claims"], "remits_835": files["remits"]}
    res = ingest(key=KEY, run_date=RUN_DATE, out=out, chunk_rows=31, **args)
    assert len(sizes) >= 3 and max(sizes) <= 31
    assert res.table_path == out and len(res.table) == 0  # columns only
    assert sum(sizes) == res.manifest["counts"]["valid"]
    whole = ingest(key=KEY, run_date=RUN_DATE, **args)
    back = pd.read_parquet(out)
    assert list(back.columns) == list(whole.table.columns)
    assert back[S.CLAIM_ID].tolist() == whole.table[S.CLAIM_ID].tolist()
    assert back[S.DENIED].tolist() == whole.table[S.DENIED].tolist()
    assert not list(tmp_path.glob(".ptdenial-ingest-*"))  # spill removed


def test_one_partition_is_every_row_in_reading_order(files, tmp_path):
    """The spill keeps no keys in memory: one partition reads them all back."""
    from ptdenial.x12._read import scan_x12

    spill = Spill("835", tmp_path, 50)
    scan_x12(files["remits"][:1], KEY, expect="835", strict=False, sink=spill)
    keys, bad, rows = spill.partition(0, 1)
    assert len(keys) == len(bad) == spill.n_rows > 0
    np.testing.assert_array_equal(rows, np.arange(spill.n_rows))
    np.testing.assert_array_equal(bad, spill.bad())
    assert not hasattr(spill, "_keys")


def test_spill_chunks_hold_at_most_chunk_rows(files, tmp_path):
    from ptdenial.x12._read import scan_x12

    spill = Spill("835", tmp_path, 4)
    scan_x12(files["remits"], KEY, expect="835", strict=False, sink=spill)
    sizes = [n for _p, n in spill.parts]
    assert len(sizes) > 5 and max(sizes) <= 4
    assert sum(len(c) for _at, c in spill.chunks()) == spill.n_rows


def test_chunk_rows_must_be_positive(files):
    with pytest.raises(ValueError, match="chunk_rows"):
        ingest(claims_837=files["claims"], key=KEY, chunk_rows=0)


def test_cli_chunk_rows_gives_the_same_files(files, tmp_path, monkeypatch):
    monkeypatch.setenv("PTDENIAL_PSEUDONYM_KEY", KEY)
    outs = {}
    for tag, extra in (("one", []), ("small", ["--chunk-rows", "37"])):
        out = tmp_path / tag / "history.csv"
        argv = ["ingest", "--claims-837", *map(str, files["claims"])]
        argv += ["--remits-835", *map(str, files["remits"])]
        argv += ["--out", str(out), "--as-of", RUN_DATE, *extra]
        assert main(argv) == 3  # the hand-made cases leave lines unmatched
        manifest = json.loads((out.parent / "history.manifest.json").read_text())
        outs[tag] = (out.read_text(), read_claims(out), manifest["counts"])
    assert outs["one"][0] == outs["small"][0]
    assert outs["one"][2] == outs["small"][2]
    quarantine = tmp_path / "small" / "history.quarantine.csv"
    assert len(pd.read_csv(quarantine)) == outs["small"][2]["quarantined"]
    assert (
        main(["ingest", "--claims-837", "x.837", "--out", "o.csv", "--chunk-rows", "0"])
        == 2
    )


_HOLD_SPILL = """
import sys, time
from ptdenial.x12._stream import spill_folder
with spill_folder(sys.argv[1]) as tmp:
    (tmp / "835-0.arrow").write_bytes(b"rows")
    print(tmp, flush=True)
    time.sleep(120)
"""


def test_spill_of_a_killed_run_is_removed_by_the_next(files, tmp_path):
    """SIGKILL leaves the spill folder; the next ingest beside it removes it,
    and only it: not a running process's, another host's or another name."""
    import os
    import signal
    import subprocess
    import sys

    from ptdenial._owner import owner_tag
    from ptdenial.x12._stream import SPILL_PREFIX

    proc = subprocess.Popen(
        [sys.executable, "-c", _HOLD_SPILL, str(tmp_path)],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])},
    )
    left = Path(proc.stdout.readline().strip())
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    proc.stdout.close()
    assert left.is_dir() and left.parent == tmp_path  # what SIGKILL leaves
    live = tmp_path / f"{SPILL_PREFIX}{owner_tag()}live"  # this process: running
    other_host = tmp_path / f"{SPILL_PREFIX}elsewhere-{proc.pid}-0-x"
    not_ours = tmp_path / ".ptdenial-ingestion-notes"
    for keep in (live, other_host, not_ours):
        keep.mkdir()
    out = tmp_path / "t.parquet"
    ingest(key=KEY, run_date=RUN_DATE, out=out, remits_835=files["remits"][:1])
    assert not left.exists()
    assert live.is_dir() and other_host.is_dir() and not_ours.is_dir()
    assert sorted(p.name for p in tmp_path.glob(f"{SPILL_PREFIX}*")) == sorted(
        [live.name, other_host.name]
    )

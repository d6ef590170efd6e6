"""The job with worker processes (#16) and its scratch space (#15, item 10)."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from ptdenial import _owner
from ptdenial.config import ScoringConfig
from ptdenial.datasets import load_sample_claims
from ptdenial.io import atomic_path, write_table
from ptdenial.model import save_model
from ptdenial.scoring import _scratch, score_file
from ptdenial.scoring._workers import worker_count

AS_OF = "2026-01-01"
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def model(sample_model):
    return sample_model  # the session's one fitted sample model (conftest.py)


@pytest.fixture(scope="module")
def inputs(tmp_path_factory, model):
    d = tmp_path_factory.mktemp("parallel")
    new = load_sample_claims("new_claims")
    return {
        "dir": d,
        "model": save_model(model, d / "model.skops"),
        "claims": write_table(new, d / "new.parquet"),
        "rows": len(new),
    }


def _outputs(folder: Path) -> dict:
    out = {}
    for name in ("scored.parquet", "scored.quarantine.parquet"):
        if (folder / name).exists():
            out[name] = pq.read_table(folder / name)
    out["worklist.csv"] = (folder / "worklist.csv").read_text()
    return out


def test_worker_processes_give_the_same_outputs(tmp_path, model, inputs, monkeypatch):
    """Slow: starts a worker process (a fresh interpreter loading the model)."""
    import ptdenial.scoring._job as J
    import ptdenial.scoring._workers as W

    batch = inputs["rows"] // 4 + 1  # five batches or so
    here = []
    real = J.score_bucket
    real_take = W.Workers.take
    worker_took = threading.Event()

    def take(self):
        k = real_take(self)
        if threading.current_thread() is not threading.main_thread():
            worker_took.set()  # handed to the worker (its serving thread asks)
        return k

    def slowed(state, k):  # the parent waits, so the worker takes batches too
        here.append(k)
        worker_took.wait(timeout=120)  # however long a loaded machine needs
        return real(state, k)

    runs = {}
    for workers in (0, 1):
        if workers:
            here.clear()
            monkeypatch.setattr(J, "score_bucket", slowed)
            monkeypatch.setattr(W.Workers, "take", take)
        folder = tmp_path / f"w{workers}"
        run = score_file(
            model, inputs["claims"], folder / "scored.parquet",
            worklist=folder / "worklist.csv", as_of=AS_OF,
            config=ScoringConfig(batch_rows=batch, workers=workers, progress="off"),
        )  # fmt: skip
        assert run.manifest["batches"] >= 4
        runs[workers] = (run, _outputs(folder))
    assert len(here) < runs[1][0].manifest["batches"]  # the worker scored some
    (r0, o0), (r1, o1) = runs[0], runs[1]
    assert o0.keys() == o1.keys()
    for name in o0:
        assert (
            o0[name] == o1[name]
            if isinstance(o0[name], str)
            else o0[name].equals(o1[name])
        ), name
    assert r0.manifest["counts"] == r1.manifest["counts"]
    assert r0.manifest["explanations"] == r1.manifest["explanations"]
    assert (r0.scores == r1.scores).all()
    assert r0.drift_features.equals(r1.drift_features)
    assert not list(tmp_path.rglob(".ptdenial-score-*"))


def test_spilled_and_preloaded_inputs_give_the_same_outputs(
    tmp_path, model, inputs, monkeypatch
):
    """An input under the memory budget is kept, not spilled; same outputs.

    The spilled run has a worker process that takes batches (it reads the
    spill); the preloaded one (under the budget) none, and no spill.
    """
    import ptdenial.scoring._job as J
    import ptdenial.scoring._workers as W

    spills = []
    real_spill = J._spill
    monkeypatch.setattr(
        J, "_spill", lambda *a, **k: spills.append(1) or real_spill(*a, **k)
    )
    real, real_take = J.score_bucket, W.Workers.take
    worker_took = threading.Event()

    def take(self):
        k = real_take(self)
        if threading.current_thread() is not threading.main_thread():
            worker_took.set()
        return k

    def slowed(state, k):
        worker_took.wait(timeout=120)
        return real(state, k)

    outs = {}
    for budget, workers in ((0, 1), (ScoringConfig().keep_input_mib, 0)):
        if workers:
            monkeypatch.setattr(J, "score_bucket", slowed)
            monkeypatch.setattr(W.Workers, "take", take)
        else:
            monkeypatch.setattr(J, "score_bucket", real)
        folder = tmp_path / f"b{budget}"
        spills.clear()
        run = score_file(
            model, inputs["claims"], folder / "scored.parquet",
            worklist=folder / "worklist.csv", as_of=AS_OF,
            config=ScoringConfig(batch_rows=inputs["rows"] // 4 + 1, workers=workers,
                                 progress="off", keep_input_mib=budget),
        )  # fmt: skip
        assert run.manifest["batches"] >= 4
        assert len(spills) == (1 if budget == 0 else 0)
        outs[budget] = _outputs(folder)
    assert worker_took.is_set()
    spilled, kept = outs.values()
    assert spilled.keys() == kept.keys()
    for name in spilled:
        same = spilled[name] == kept[name]
        assert same if isinstance(same, bool) else spilled[name].equals(kept[name])


def test_dictionary_encoded_keys_give_the_same_outputs(
    tmp_path, model, inputs, monkeypatch
):
    """Row groups with their own dictionaries: kept or spilled, same outputs."""
    import pyarrow.compute as pc

    import ptdenial.scoring._stream as ST

    monkeypatch.setattr(ST, "_BIG_DICTIONARY", 8)  # the sample's patients are few
    table = pq.read_table(inputs["claims"])
    for name in ("patient_id", "claim_id", "payer_id"):
        i = table.schema.get_field_index(name)
        table = table.set_column(i, name, pc.dictionary_encode(table.column(i)))
    typed = tmp_path / "dictionary.parquet"
    pq.write_table(table, typed, row_group_size=inputs["rows"] // 5 + 1)
    assert pq.ParquetFile(typed).num_row_groups > 1
    assert str(pq.read_schema(typed).field("patient_id").type).startswith("dictionary")
    outs = []
    for claims, budget in ((inputs["claims"], 0), (typed, 0), (typed, 1024)):
        folder = tmp_path / f"{claims.stem}-{budget}"
        score_file(
            model, claims, folder / "scored.parquet", worklist=folder / "worklist.csv",
            as_of=AS_OF, config=ScoringConfig(batch_rows=inputs["rows"] // 4 + 1,
                                              workers=0, progress="off",
                                              keep_input_mib=budget),
        )  # fmt: skip
        outs.append(_outputs(folder))
    for other in outs[1:]:
        assert other.keys() == outs[0].keys()
        for name in other:
            same = other[name] == outs[0][name]
            assert same if isinstance(same, bool) else other[name].equals(outs[0][name])


def test_preload_gives_up_above_its_budget(tmp_path, inputs):
    import ptdenial.scoring._stream as ST

    files = [inputs["claims"]]
    schema = ST._unified_schema(files)
    tables = ST._preload(files, schema, 500, 1 << 30)
    assert sum(t.num_rows for t in tables) == inputs["rows"]
    size = sum(t.nbytes for t in tables)
    # Parquet: given up on the first batches (rows x bytes per row > budget)
    assert ST._preload(files, schema, 500, size // 2) is None
    csv = write_table(pq.read_table(files[0]).to_pandas(), tmp_path / "new.csv")
    csv_schema = ST._unified_schema([csv])
    assert ST._preload([csv], csv_schema, 500, csv.stat().st_size - 1) is None
    kept = ST._preload([csv], csv_schema, 500, 1 << 30)
    assert sum(t.num_rows for t in kept) == inputs["rows"]


def test_worker_count_rules():
    assert worker_count(-1, 1) == 0 and worker_count(3, 1) == 0
    assert worker_count(0, 10) == 0
    assert worker_count(5, 3) == 2  # never more workers than batches to share
    assert worker_count(-1, 3) == 0  # auto: a worker would not pay back its start
    assert 0 <= worker_count(-1, 10) <= 3


def test_a_worker_that_fails_leaves_its_batches_to_the_parent(
    tmp_path, model, inputs, monkeypatch
):
    import ptdenial.scoring._workers as W

    monkeypatch.setattr(W, "_command", lambda: [sys.executable, "-c", "pass"])
    folder = tmp_path / "out"
    run = score_file(
        model, inputs["claims"], folder / "scored.parquet", as_of=AS_OF,
        config=ScoringConfig(batch_rows=inputs["rows"] // 4 + 1, workers=1,
                             progress="off"),
    )  # fmt: skip
    assert run.manifest["counts"]["rows_in"] == inputs["rows"]


# --- the scratch space -----------------------------------------------------------
def test_scratch_is_private_while_the_run_lasts(tmp_path, model, inputs, monkeypatch):
    import ptdenial.scoring._bucket as B

    seen = []
    real = B.score_batch

    def spy(*args, **kwargs):
        for d in tmp_path.rglob(".ptdenial-score-*"):
            seen.append(("dir", stat.S_IMODE(d.stat().st_mode)))
            seen.extend(("file", stat.S_IMODE(f.stat().st_mode)) for f in d.iterdir())
        return real(*args, **kwargs)

    monkeypatch.setattr(B, "score_batch", spy)
    score_file(
        model, inputs["claims"], tmp_path / "scored.parquet", as_of=AS_OF,
        config=ScoringConfig(batch_rows=inputs["rows"] // 3 + 1, workers=0,
                             progress="off"),
    )  # fmt: skip
    assert ("dir", 0o700) in seen
    assert {mode for kind, mode in seen if kind == "file"} == {0o600}
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_an_error_mid_run_leaves_no_rows_behind(tmp_path, model, inputs, monkeypatch):
    import ptdenial.scoring._bucket as B

    calls = []
    real = B.score_batch

    def failing(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:  # the spill and the first output part exist by now
            raise MemoryError("out of memory in batch 2")
        return real(*args, **kwargs)

    monkeypatch.setattr(B, "score_batch", failing)
    out = tmp_path / "out"
    with pytest.raises(MemoryError, match="batch 2"):
        score_file(
            model, inputs["claims"], out / "scored.parquet",
            worklist=out / "worklist.csv", as_of=AS_OF,
            config=ScoringConfig(batch_rows=inputs["rows"] // 3 + 1, workers=0,
                                 progress="off"),
        )  # fmt: skip
    assert len(calls) == 2
    assert list(out.iterdir()) == []  # no spill, no temporary or partial output


def test_output_is_private_until_complete(tmp_path):
    target = tmp_path / "scored.parquet"
    umask = os.umask(0o022)
    try:
        with atomic_path(target, tag=_scratch.temp_tag()) as tmp:
            assert stat.S_IMODE(tmp.stat().st_mode) == 0o600
            assert _scratch._TMP.match(tmp.name)  # a later run can sweep it
            tmp.write_text("x")
    finally:
        os.umask(umask)
    assert stat.S_IMODE(target.stat().st_mode) == 0o644
    assert [p.name for p in tmp_path.iterdir()] == ["scored.parquet"]


def test_a_failed_output_write_leaves_nothing(tmp_path):
    target = tmp_path / "scored.parquet"
    with pytest.raises(OSError, match="disk full"):
        with atomic_path(target, tag=_scratch.temp_tag()) as tmp:
            tmp.write_text("half")
            raise OSError("disk full")
    assert list(tmp_path.iterdir()) == []


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_sweep_removes_only_leftovers_of_dead_runs(tmp_path):
    host = _owner.host()
    dead = _dead_pid()
    mine = _owner.owner_tag()
    leftovers = [
        tmp_path / f"{_scratch.SCRATCH_PREFIX}{host}-{dead}-123-abc",
        tmp_path / f".scored.parquet.ptdenial-{host}-{dead}-123-x1y2.tmp",
    ]
    kept = [
        tmp_path / f"{_scratch.SCRATCH_PREFIX}{mine}live",  # this live process
        tmp_path / f"{_scratch.SCRATCH_PREFIX}otherhost-{dead}-123-abc",
        tmp_path / f"{_scratch.SCRATCH_PREFIX}oldstyle",  # no owner: not ours to judge
        tmp_path / f".scored.parquet.{dead}.tmp",  # not a ptdenial name
        tmp_path / "scored.parquet",
    ]
    if _owner.start_ticks(os.getpid()) is not None:  # a reused pid: another start
        leftovers.append(
            tmp_path / f"{_scratch.SCRATCH_PREFIX}{host}-{os.getpid()}-1-reused"
        )
    for p in leftovers + kept:
        if p.name.endswith(".tmp") or p.name == "scored.parquet":
            p.write_text("rows")
        else:
            p.mkdir()
            (p / "in-0.arrow").write_text("rows")
    removed = _scratch.sweep(tmp_path)
    assert sorted(removed) == sorted(leftovers)
    assert all(p.exists() for p in kept)
    assert not any(p.exists() for p in leftovers)


_STOPPABLE = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    import ptdenial.scoring._bucket as B
    from ptdenial.config import ScoringConfig
    from ptdenial.model import load_model
    from ptdenial.scoring import score_file

    real = B.score_batch
    def slow(*args, **kwargs):
        Path(sys.argv[3]).write_text("spilled")
        time.sleep(60)
        return real(*args, **kwargs)
    B.score_batch = slow
    score_file(load_model(sys.argv[1]), sys.argv[2], Path(sys.argv[4]),
               as_of="2026-01-01",
               config=ScoringConfig(batch_rows=int(sys.argv[5]), workers=0,
                                    progress="off"))
    """
)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_stopped_run_leaves_no_rows_behind(tmp_path, inputs, sig):
    """Slow: a real process, stopped by a real signal while its spill exists."""
    ready = tmp_path / "ready"
    out = tmp_path / "out" / "scored.parquet"
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen(
        [sys.executable, "-c", _STOPPABLE, str(inputs["model"]),
         str(inputs["claims"]), str(ready), str(out), str(inputs["rows"] // 3 + 1)],
        env=env, stderr=subprocess.PIPE,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while not ready.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.1)
    assert ready.exists(), proc.stderr.read().decode()[-2000:]
    assert list(out.parent.glob(".ptdenial-score-*"))  # the spill is there now
    proc.send_signal(sig)
    code = proc.wait(timeout=30)
    assert code != 0
    assert list(out.parent.iterdir()) == []

"""Worker processes: more buckets scored at once, same outputs.

Scoring a bucket is single-threaded Python and pandas for the most part, so
on a machine with a spare core the job scores buckets in worker processes
next to its own. A worker is a fresh interpreter started with
:mod:`subprocess` (nothing inherited from the parent, whose thread pools do
not survive a fork, and the user's own script is never re-run). It connects
back over a local socket authenticated by a random key, rebuilds the model
from the parent's own bytes (skops), then asks the parent for bucket numbers
until none is left. It writes each bucket's scored part and quarantine into
the run's scratch folder and sends back a
:class:`~ptdenial.scoring._bucket.BucketOut` (counts, scores, worklist
candidates). Messages are pickled between the two processes of one run over
that connection only; nothing pickled is written to disk or read from a
file. The parent merges the outs in bucket order, so the outputs are those
of a run without workers. A worker that fails or dies leaves its bucket to
the parent, which scores it itself.
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import time
from pathlib import Path

_SPARE_MAX = 3  # workers on a large machine: memory grows with each
# A worker needs about as long to start (interpreter, imports, model) as the
# parent needs for two batches: below this many batches it would not pay.
_AUTO_MIN_BUCKETS = 4


def worker_count(setting: int, n_buckets: int) -> int:
    """Worker processes for a run.

    ``setting`` >= 0 is taken as given (capped at one less than the
    batches); -1 (auto) gives one per spare core, up to 3, when the input
    has at least 4 batches.
    """
    if n_buckets < 2:
        return 0
    if setting >= 0:
        return min(setting, n_buckets - 1)
    if n_buckets < _AUTO_MIN_BUCKETS:
        return 0
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        cores = os.cpu_count() or 1
    return max(0, min(cores - 1, _SPARE_MAX, n_buckets - 1))


def _model_bytes(model) -> bytes:
    from ptdenial.model._persistence import _skops_io

    return _skops_io().dumps(model)


def _load_model(data: bytes):
    from ptdenial.model._persistence import _skops_io

    sio = _skops_io()
    # the bytes were written by the parent from its own loaded model
    return sio.loads(data, trusted=sio.get_untrusted_types(data=data))


# --- the worker process -------------------------------------------------------------
def _serve_buckets(conn) -> None:
    """Score the buckets the parent hands out, until it says there are none.

    The model comes first (so it loads while the parent reads the input's
    keys), then the run's state, then bucket numbers.
    """
    from ptdenial.scoring._bucket import score_bucket

    data, config = conn.recv()
    model = _load_model(data)
    explainer = None
    if config.wants_model_reasons():
        from ptdenial.explain import Explainer

        explainer = Explainer(model)
    state = conn.recv()
    if state is None:
        return
    state.model, state.explainer = model, explainer
    while True:
        conn.send(("next", None, None))
        k = conn.recv()
        if k is None:
            return
        try:
            out = score_bucket(state, k)
        except Exception as exc:  # noqa: BLE001 - the parent rescores, and raises
            conn.send(("failed", k, type(exc).__name__))
            continue
        conn.send(("done", k, out))


def main() -> None:
    """Entry point of a worker process (the parent writes its address on stdin)."""
    import signal
    from multiprocessing.connection import Client

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when to stop
    hello = json.loads(sys.stdin.read())
    try:
        conn = Client(hello["address"], authkey=bytes.fromhex(hello["key"]))
    except OSError:  # the parent finished (or stopped) before this worker started
        return
    try:
        _serve_buckets(conn)
    except (EOFError, OSError):  # the parent is gone
        pass
    finally:
        conn.close()


# --- the parent's side --------------------------------------------------------------
def _command() -> list[str]:
    """The worker's command line: this interpreter, this ptdenial."""
    root = str(Path(__file__).resolve().parents[2])  # holds ptdenial/
    code = (
        f"import sys; sys.path.insert(0, {root!r}); "
        "from ptdenial.scoring._workers import main; main()"
    )
    return [sys.executable, "-c", code]


class Workers:
    """Worker processes of one run, and the bucket counter they share with it.

    Started before the key pass (:meth:`give` hands them the run's state
    once it is planned, :meth:`start` lets them take buckets once the spill
    is complete). One thread per worker hands out bucket numbers (from the
    same counter as :meth:`take`) and queues what the worker sends back.
    ``prepare``, when set, is called with a bucket number before a worker
    gets it (a preloaded input writes the bucket's file then); a bucket it
    fails on is left to the parent.
    """

    def __init__(self, n: int, model, config):
        from multiprocessing.connection import Listener

        self.n_buckets = 0
        self.prepare = None
        self._state = None
        self._next = 0
        self._lock = threading.Lock()
        self._planned = threading.Event()
        self._go = threading.Event()
        self._stop = threading.Event()
        self.messages: queue.Queue = queue.Queue()
        self.taken: set = set()
        self.done: dict = {}
        self.failed: set = set()
        key = os.urandom(32)
        self.listener = Listener(authkey=key)
        hello = json.dumps({"address": self.listener.address, "key": key.hex()})
        init = (_model_bytes(model), config)
        self.procs = []
        for _ in range(n):
            proc = subprocess.Popen(
                _command(), stdin=subprocess.PIPE, stdout=subprocess.DEVNULL
            )
            proc.stdin.write(hello.encode())
            proc.stdin.close()
            self.procs.append(proc)
        self.connected = 0
        self.threads = [
            threading.Thread(target=self._serve, args=(init,), daemon=True)
            for _ in range(n)
        ]
        for t in self.threads:
            t.start()

    def give(self, state) -> None:
        """The run's state (planned), for the workers to score its buckets."""
        self.n_buckets = state.plan.n_buckets
        self._state = state
        self._planned.set()

    def take(self) -> int:
        """The next bucket (for this process or a worker)."""
        with self._lock:
            k = self._next
            self._next += 1
        return k

    def _serve(self, init) -> None:
        try:
            conn = self.listener.accept()
        except OSError:  # closed before this worker connected
            return
        with self._lock:
            self.connected += 1
        try:
            conn.send(init)
            self._planned.wait()
            conn.send(None if self._stop.is_set() else self._state)
            while not self._stop.is_set():
                kind, k, payload = conn.recv()
                if kind == "next":
                    self._go.wait()
                    k = self._next_prepared()
                    if k is None:
                        conn.send(None)
                        return
                    conn.send(k)
                else:
                    self.messages.put((kind, k, payload))
        except (EOFError, OSError):  # the worker ended or died
            pass
        finally:
            conn.close()

    def _next_prepared(self):
        """The next bucket for a worker, prepared; None when none is left."""
        while True:
            k = self.take()
            if k >= self.n_buckets or self._stop.is_set():
                return None
            self.messages.put(("took", k, None))
            try:
                if self.prepare is not None:
                    self.prepare(k)
            except Exception as exc:  # noqa: BLE001 - the parent scores it, and raises
                self.messages.put(("failed", k, type(exc).__name__))
                continue
            return k

    def start(self) -> None:
        """Let the workers take buckets (the spill is complete)."""
        self._go.set()

    def _handle(self, msg) -> None:
        kind, k, payload = msg
        if kind == "took":
            self.taken.add(k)
        elif kind == "done":
            self.taken.discard(k)
            self.done[k] = payload
        elif kind == "failed":
            self.taken.discard(k)
            self.failed.add(k)

    def drain(self) -> None:
        """Take in every message waiting, without blocking."""
        while True:
            try:
                self._handle(self.messages.get_nowait())
            except queue.Empty:
                return

    def _alive(self) -> bool:
        return any(t.is_alive() for t in self.threads)

    def wait_for(self, k: int):
        """Bucket ``k``'s out from a worker, or None when the parent must score it."""
        while k not in self.done:
            if k in self.failed:
                return None
            try:
                self._handle(self.messages.get(timeout=0.5))
            except queue.Empty:
                if not self._alive():
                    self.drain()
                    if k not in self.done:
                        return None
        return self.done.pop(k)

    def close(self) -> None:
        """Stop the workers and wait briefly for them; terminate any that linger."""
        if self._stop.is_set():
            return
        self._stop.set()
        self._planned.set()
        self._go.set()
        with self._lock:
            self._next = 1 << 30
        self.listener.close()
        # a worker still starting up has nothing to finish: end it now
        deadline = time.monotonic() + (10 if self.connected else 0)
        for proc in self.procs:
            try:
                proc.wait(timeout=max(0.05, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.terminate()
                proc.wait(timeout=5)
        for t in self.threads:
            t.join(timeout=1)

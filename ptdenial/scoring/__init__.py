"""The nightly scoring job: validated, explained scores, a worklist, no lost row.

Three layers, each usable on its own:

* :func:`score_batch` -- a **pure** pandas-in, pandas-out function: raw claim
  lines in; scored lines (the output contract of SCHEMA.md), quarantined
  rows and rule hits out. No file I/O, no global state; deterministic given
  ``as_of`` and ``scored_at``. This is what a Spark ``mapInPandas`` runs,
  partitioned by patient.
* :func:`score_claims` -- an in-memory frame: one batch, then the worklist
  lines' reasons recomputed with exact contributions.
* :func:`score_file` -- the streaming job behind ``ptdenial score``.

How :func:`score_file` streams with bounded memory and never splits a visit
(the input is not assumed sorted):

1. a first pass reads only ``patient_id``, ``claim_id`` and ``line_number``
   (or the whole input, kept in memory, when it is at most 512 MiB as Arrow
   data). Each row gets a *slot*, a hash of its patient modulo 65,536, so all lines of
   a patient (hence of each visit) share a slot. Patients holding a
   duplicated ``(claim_id, line_number)`` go to one extra slot, so every
   copy of the key meets in the same batch and validation quarantines them
   all;
2. consecutive slots are grouped into buckets of about ``batch_rows`` rows;
3. unless the input was kept, a second pass streams the file and spills
   each row to its bucket's temporary Arrow IPC file (LZ4), in a temporary
   folder beside the output;
4. bucket by bucket: rows are ordered by (slot, input row), scored with
   :func:`score_batch`, and the scored part is spilled again; the worklist
   keeps its best candidates so far (bounded by its capacity);
   the lines a batch offers to the worklist carry their patients' lines and
   claim edits, and the final worklist's fixes are applied to a copy of
   those lines and re-scored once with the same ``as_of`` (as
   :func:`rescore_fixes`), so the worklist shows ``p_after_fix`` and
   ``dollars_saved`` and can rank by dollars a fix saves;
5. the worklist's lines get exact TreeSHAP reasons, the parts are written
   to one Parquet (or CSV) file under a temporary name, patched with those
   reasons, and renamed into place atomically; so are the quarantine, the
   worklist and the run manifest.

Output order is by slot, then input row: the same for any ``batch_rows``, so
re-running the same input with the same ``as_of`` writes the same file.
History features come from the snapshot stored in the model, capped at
``as_of``; a line's scores never depend on which other patients share its
batch.

Every valid line appears in the scored output: ``denial_probability`` is
empty and ``risk_band`` is ``not_scored`` on lines that are not 97112, and
rules run on every line. Rows in = rows scored + rows quarantined, always.

Layout: ``_batch`` (the pure batch function and its steps), ``_worklist``
(pool, ranking, formatting, HTML, writer), ``_fixes`` (what a claim-edit
fix is worth), ``_stream`` (key pass, slots and
buckets, spill, reading back), ``_output`` (atomic table writers,
quarantine), ``_manifest``, ``_job`` (:func:`score_file`), ``_in_memory``
(:func:`score_claims`) and ``_timing`` (the one stage timer behind the
manifest's ``timings_s``).
"""

from ptdenial.scoring._batch import (
    BatchResult,
    make_explainer,
    score_batch,
    scored_arrow_schema,
)
from ptdenial.scoring._fixes import CLAIM_EDIT_RULES, FIX_COLUMNS, rescore_fixes
from ptdenial.scoring._in_memory import score_claims
from ptdenial.scoring._job import ScoreRun, score_file
from ptdenial.scoring._stream import N_SLOTS
from ptdenial.scoring._worklist import (
    WORKLIST_COLUMNS,
    build_worklist,
    worklist_html,
    write_worklist,
)
from ptdenial.scoring._worklist import worklist_paths as worklist_paths

__all__ = [
    "BatchResult",
    "make_explainer",
    "ScoreRun",
    "score_batch",
    "score_claims",
    "score_file",
    "build_worklist",
    "worklist_html",
    "write_worklist",
    "scored_arrow_schema",
    "N_SLOTS",
    "WORKLIST_COLUMNS",
    "rescore_fixes",
    "CLAIM_EDIT_RULES",
    "FIX_COLUMNS",
]

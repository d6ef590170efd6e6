"""Score claims on Spark when one machine is not enough (optional extra).

``pip install "ptdenial[spark]"`` adds PySpark. Nothing here imports pyspark
at module level: ``import ptdenial`` and ``import ptdenial.spark`` work
without it, and every function that needs it says how to install it.

How :func:`score_spark` distributes the nightly job:

1. **One group per patient.** Each row gets a group key, a 64-bit hash of
   its trimmed ``patient_id``, so all lines of a patient, hence of each
   visit, share a key. Patients holding a ``(claim_id, line_number)`` that
   appears more than once go to one extra group (key ``-1``), so every copy
   meets in one batch and validation quarantines them all, as
   :func:`ptdenial.scoring.score_file` does.
2. **Repartition by that key**, then sort each partition by key and input
   position. Arrow batches are streamed through ``mapInArrow`` and cut into
   scoring batches of about ``config.batch_rows`` rows (a partition of up to
   twice that is one batch), **only where the key changes**: a patient is
   never split between two batches.
3. **The same batch function as the CLI.** Each batch is turned into the
   same pandas frame ``score_file`` builds (list columns joined with ``|``
   in Arrow, then ``to_pandas``) and given to
   :func:`ptdenial.scoring.score_batch`. The Arrow table it returns is
   handed back to Spark as is; no row goes through pyspark's own pandas
   conversion.
4. **The model reaches each executor once; per-model work runs once per
   Python worker.** The driver loads the model (untrusted files are refused
   there, before any task runs), records its SHA-256 and ships the file
   with ``SparkContext.addFile`` (or, with ``ship_model=False``, reads it
   from a path every node can read). Each Python worker, on its first
   batch, checks the hash, loads the model with its history snapshot and
   builds the explainer, and keeps them in a module-level cache keyed by
   the SHA-256; every later batch and task of that worker reuses them. The
   model is never part of a task closure.
5. **Bad rows go to the quarantine DataFrame.** One pass produces both
   outputs (the internal rows are persisted, so writing the scored lines and
   the quarantine does not score twice).
6. **The worklist.** The best ``config.worklist_top`` candidates by dollars
   at risk are found in Spark; the rows of their patients (a few thousand
   lines) are scored again on the driver with exact TreeSHAP reasons, which
   replace the path-attribution reasons of those lines in the scored output,
   and their claim-edit fixes are re-scored there with the same ``as_of``
   (``dollars_saved``, ``p_after_fix``, ``fix_kind``, and the order of
   ``config.worklist_rank``): the same lines, reasons and fix values as
   ``ptdenial score``.

``mapInArrow`` rather than ``mapInPandas``: it is the same mechanism (Arrow
batches to a Python function, partition by partition), but the function
receives Arrow record batches. The batch function then sees exactly the
pandas frame the one-machine job builds, and pyspark's pandas conversion,
which PySpark 4 does not fully support with pandas 3, is never used.

Layout (private submodules; import from ``ptdenial.spark``):

* ``_base``: errors, the lazy PySpark import, output schemas, internal names;
* ``_session``: local session, reading claims, the patient group key;
* ``_worker``: executor side, the per-process model cache and the function
  ``mapInArrow`` runs;
* ``_driver``: :func:`score_spark`, model shipping, the worklist;
* ``_job``: :func:`score_to_parquet` (the CLI job), outputs and manifest;
* ``_history``: :func:`history_snapshot`, the as-of history snapshot and the
  training lines' history features in Spark SQL (equal to the pandas encoder);
* ``_train``: :func:`train_spark` (``ptdenial train --engine spark``).
"""

from ptdenial.spark._base import (
    DUPLICATE_GROUP,
    PARTITION_COLUMN,
    SparkJobError,
    SparkUnavailableError,
    quarantine_ddl,
    scored_ddl,
    spark_quarantine_schema,
    spark_scored_schema,
)
from ptdenial.spark._driver import SparkScoreResult, score_spark
from ptdenial.spark._history import HistorySnapshot, history_snapshot
from ptdenial.spark._job import score_to_parquet
from ptdenial.spark._session import local_session, read_claims_spark
from ptdenial.spark._train import SparkTrainResult, train_spark

__all__ = [
    "SparkScoreResult",
    "SparkUnavailableError",
    "SparkJobError",
    "score_spark",
    "history_snapshot",
    "HistorySnapshot",
    "train_spark",
    "SparkTrainResult",
    "score_to_parquet",
    "read_claims_spark",
    "local_session",
    "spark_scored_schema",
    "spark_quarantine_schema",
    "scored_ddl",
    "quarantine_ddl",
    "PARTITION_COLUMN",
    "DUPLICATE_GROUP",
]

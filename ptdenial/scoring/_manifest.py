"""The run manifest: inputs, outputs, counts, model, settings, timings, versions."""

from __future__ import annotations

from ptdenial._utils import library_versions
from ptdenial.io import file_sha256


def _versions() -> dict:
    return library_versions(
        "ptdenial", "python", "pandas", "numpy", "pyarrow", "scikit-learn", "lightgbm"
    )


def _outputs(out, q_path, wl_paths) -> dict:
    """Paths the run wrote (the manifest's own path is added by the job)."""
    outputs = {"scored": str(out)}
    if q_path is not None:
        outputs["quarantine"] = str(q_path)
    if wl_paths is not None:
        outputs["worklist_csv"], outputs["worklist_html"] = map(str, wl_paths)
    return outputs


def _model_info(model, model_path) -> dict:
    card = getattr(model, "card_", {}) or {}
    info = {
        "model_id": str(model.model_id),
        "training_window": card.get("training_window"),
        "schema_version": card.get("schema_version"),
        "versions": card.get("versions"),
    }
    if model_path is not None:
        info["path"] = str(model_path)
        info["sha256"] = file_sha256(model_path)
    return info


def _run_summary(*, rows_in, counts, bands, explained, rule_counts, worklist,
                 n_dup=None) -> dict:  # fmt: skip
    """A run's ``counts``, ``risk_bands``, ``explanations`` and ``rule_lines``.

    One block for the local job and the Spark job. ``counts`` holds the
    ``valid``, ``quarantined``, ``scored_97112`` and ``rule_hits`` lines;
    ``n_dup`` (rows sharing a duplicated line key) is known to the local job
    only.
    """
    block = {
        "rows_in": rows_in,
        "valid": counts["valid"],
        "quarantined": counts["quarantined"],
        "scored": counts["valid"],
        "scored_97112": counts["scored_97112"],
        "not_scored": bands.get("not_scored", 0),
        "rule_hits": counts["rule_hits"],
    }
    if n_dup is not None:
        block["rows_sharing_duplicated_keys"] = n_dup
    block["worklist"] = int(worklist)
    return {
        "counts": block,
        "risk_bands": bands,
        "explanations": explained,
        "rule_lines": dict(sorted(rule_counts.items())),
    }


def _run_manifest(*, inputs, outputs, summary, model, as_of, stamp, config, timings,
                  versions, **extra) -> dict:  # fmt: skip
    """The manifest of a ``score`` run, local or on Spark (``extra``: engine keys)."""
    return {
        "command": "score",
        "inputs": inputs,
        "outputs": outputs,
        **summary,
        "model": model,
        "as_of": str(as_of.date()),
        "scored_at": stamp.isoformat(),
        "config": config.to_dict(),
        **extra,
        "timings_s": {k: round(v, 4) for k, v in timings.items()},
        "versions": versions,
    }


def _manifest(*, model, model_path, inputs, outputs, tally, plan, config, as_of,
              stamp, timings) -> dict:  # fmt: skip
    """The manifest of one local run.

    ``tally`` holds the run's ``counts``, ``bands``, ``explained`` and
    ``rule_counts``; ``plan`` its ``n_in``, ``n_dup`` and ``n_buckets``.
    """
    summary = _run_summary(
        rows_in=plan.n_in, counts=tally.counts, bands=tally.bands,
        explained=tally.explained, rule_counts=tally.rule_counts,
        worklist=tally.counts["worklist"], n_dup=plan.n_dup,
    )  # fmt: skip
    return _run_manifest(
        inputs=inputs, outputs=outputs, summary=summary,
        model=_model_info(model, model_path), as_of=as_of, stamp=stamp,
        config=config, timings=timings, versions=_versions(),
        batches=plan.n_buckets,
    )  # fmt: skip

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


def _manifest(*, model, model_path, inputs, outputs, tally, plan, config, as_of,
              stamp, timings) -> dict:  # fmt: skip
    """The manifest of one run.

    ``tally`` holds the run's ``counts``, ``bands``, ``explained`` and
    ``rule_counts``; ``plan`` its ``n_in``, ``n_dup`` and ``n_buckets``.
    """
    counts, bands = tally.counts, tally.bands
    return {
        "command": "score",
        "inputs": inputs,
        "outputs": outputs,
        "counts": {
            "rows_in": plan.n_in,
            "valid": counts["valid"],
            "quarantined": counts["quarantined"],
            "scored": counts["valid"],
            "scored_97112": counts["scored_97112"],
            "not_scored": bands.get("not_scored", 0),
            "rule_hits": counts["rule_hits"],
            "rows_sharing_duplicated_keys": plan.n_dup,
            "worklist": int(counts["worklist"]),
        },
        "risk_bands": bands,
        "explanations": tally.explained,
        "rule_lines": dict(sorted(tally.rule_counts.items())),
        "model": _model_info(model, model_path),
        "as_of": str(as_of.date()),
        "scored_at": stamp.isoformat(),
        "config": config.to_dict(),
        "batches": plan.n_buckets,
        "timings_s": {k: round(v, 4) for k, v in timings.items()},
        "versions": _versions(),
    }

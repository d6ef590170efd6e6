"""The worklist with what each claim-edit fix is worth (``score --fix-value``, demo)."""

from __future__ import annotations

from pathlib import Path


def write_fix_value(score_run, model, claims_path, worklist_path) -> tuple:
    """Re-score the night's claim-edit fixes; write ``<worklist>_fix_value``.

    Reads the claims whole (the re-score needs every line of each visit), with
    the same as-of as the scoring run. The nightly worklist files are left as
    the job wrote them; the ranked copy goes beside them.

    Returns
    -------
    (Path, str)
        The CSV written and a one-line summary.
    """
    from ptdenial.io import read_claims
    from ptdenial.recovery import add_fix_value, rescore_fixes, write_recovery

    as_of = score_run.manifest["as_of"]
    fixes = rescore_fixes(model, read_claims(claims_path), as_of=as_of)
    worklist = add_fix_value(score_run.worklist, fixes)
    edits = fixes[fixes["fix_kind"] == "claim_edit"]
    summary = (
        f"{len(edits)} lines with a claim-edit fix save "
        f"${edits['dollars_saved'].clip(lower=0).sum():,.2f} in expected payment; "
        f"{int((fixes['fix_kind'] == 'documentation').sum())} fixes need "
        "documentation and are not re-scored"
    )
    base = Path(worklist_path)
    stem = base.name.split(".")[0]
    path = base.with_name(f"{stem}_fix_value.csv")
    paths = write_recovery(
        worklist,
        path,
        title="Worklist ranked by dollars a fix saves",
        summary=summary,
        notes=(
            "p_after_fix: the line re-scored with its claim edits applied, same "
            "as-of; dollars_saved: expected payment x (1 - p) after minus before "
            "(fewer units are paid less, so it can be negative).",
        ),
    )
    return paths[0], summary

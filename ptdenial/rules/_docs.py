"""The rules reference page (``docs/rules.md``), generated from the catalogue.

:func:`rules_markdown` writes the page from :func:`rule_catalogue` and the
reference tables, so it never drifts from the code: a test compares the
committed page with a fresh one. Regenerate it with
``ptdenial reference rules-page`` after changing a rule or a table.
"""

from __future__ import annotations

import io
from importlib import resources

import numpy as np
import pandas as pd

from ptdenial.reference import Reference, load_reference
from ptdenial.reference._icd10 import dx_validity
from ptdenial.reference._payers import POLICY_FIELDS
from ptdenial.rules._catalogue import EXTRA_COLUMNS, KINDS, rule_catalogue

_EXTRA_DOC = {
    "visits_ytd": "visits this calendar year with the payer before this date of "
    "service (BENEFIT_LIMIT; without it the visits in the input are counted)",
    "expected_allowed": "the line's expected allowed amount, USD (KX_MISSING on "
    "the visit that crosses the threshold; without it fee_schedule.csv)",
    "ytd_ot_allowed": "Medicare OT allowed amount this calendar year before the "
    "date of service (KX_MISSING on OT lines; PT and SLP use ytd_therapy_allowed)",
    "pta_minutes": "minutes of the line's service a PTA furnished without the PT, "
    "from a documentation export (CQ_RULE's de minimis test; without it the "
    "rendering credential is a proxy)",
}


def _cell(value) -> str:
    if value is None or value is pd.NA or value is pd.NaT:
        return ""
    if isinstance(value, float) and np.isnan(value):
        return ""
    if isinstance(value, float) and np.isinf(value):
        return "none"
    if isinstance(value, bool | np.bool_):
        return "yes" if value else "no"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, pd.Timestamp):
        return str(value.date())
    if isinstance(value, list | tuple):
        value = ", ".join(str(v) for v in value)
    text = str(value).replace("|", "\\|").replace("\n", " ")
    return text.replace("[", "\\[").replace("]", "\\]")


def _table(frame: pd.DataFrame, columns: list[str], header=None) -> str:
    header = header or columns
    out = io.StringIO()
    out.write("| " + " | ".join(header) + " |\n")
    out.write("|" + "---|" * len(columns) + "\n")
    for row in frame[columns].itertuples(index=False):
        out.write("| " + " | ".join(_cell(v) for v in row) + " |\n")
    return out.getvalue()


def _sources() -> pd.DataFrame:
    with resources.files("ptdenial.reference").joinpath("sources.csv").open() as fh:
        return pd.read_csv(fh, dtype=str, keep_default_na=False)


def _rules_section() -> list[str]:
    cat = rule_catalogue()
    cat["carc"] = [
        f"{c}" + (f" ({r})" if r else "") if c else (r or "")
        for c, r in zip(cat["carc"], cat["rarc"], strict=True)
    ]
    cat["what it checks"] = cat["title"]
    cat["id"] = "`" + cat["rule_id"] + "`"
    lines = [
        "## Rules",
        "",
        "Kinds: **hard** = a near-certain prepayment denial or rejection; "
        "**soft** = review or audit risk (a model feature, not an automatic "
        "denial); **payment** = a payment adjustment, not a denial; "
        "**negative** = a guarantee that something is *not* flagged. A hard "
        "rule's hit that rests on an unverified value (a payer-class default, a "
        "table row from secondary sources) is reported with kind *soft*, and its "
        "text says which value and why.",
        "",
        "`verified` here: the rule's logic rests on a primary source (CMS, a "
        "MAC, the payer's own page) or on the December 2026 compliance review "
        "(Errata of the domain reference). The values it reads carry their own "
        "flags in the tables below. `CARC` is the code the rule prevents "
        "(empty: no prepayment code, or not confirmed).",
        "",
        _table(
            cat,
            [
                "ref",
                "id",
                "what it checks",
                "kind",
                "carc",
                "scope",
                "source",
                "verified",
            ],  # fmt: skip
            [
                "ref",
                "rule",
                "what it checks",
                "kind",
                "CARC (RARC)",
                "scope",
                "source",
                "verified",
            ],  # fmt: skip
        ),
        "### What each rule needs and how it decides",
        "",
    ]
    for r in cat.itertuples(index=False):
        needs = ", ".join(f"`{n}`" for n in r.needs) or "the required columns"
        lines.append(f"* **`{r.rule_id}`** ({r.ref}, {r.kind}). Reads {needs}.")
        if not r.evaluable:
            lines.append(
                "  Not evaluable from the schema: it would need "
                + ", ".join(f"`{n}`" for n in r.would_need)
                + "."
            )
        if r.note:
            lines.append(f"  {r.note}.")
        lines.append(f'  Fix text: "{r.fix}".')
    lines.append("")
    return lines


def _extra_section() -> list[str]:
    rows = pd.DataFrame(
        {
            "column": [f"`{c}`" for c in EXTRA_COLUMNS],
            "meaning": [_EXTRA_DOC[c] for c in EXTRA_COLUMNS],
        }  # fmt: skip
    )
    return [
        "## Optional extra columns",
        "",
        "Not in the claim-line contract (SCHEMA.md): a table without them is "
        "valid, and the rules that would use them fall back as described. They "
        "pass through validation like any extra column.",
        "",
        _table(rows, ["column", "meaning"]),
    ]


def _payer_section(ref: Reference) -> list[str]:
    pol = ref.payer_policies.copy()
    pol["payer"] = np.where(
        pol["payer_id"].astype(str).str.strip() == "",
        "*" + pol["payer_class"].astype(str) + " default*",
        pol["payer_id"].astype(str),
    )
    fields = [f for f in POLICY_FIELDS if f in pol.columns]
    dates = []
    for lo, hi in zip(
        pol.get("effective_from", pd.Series(pd.NaT, index=pol.index)),
        pol.get("effective_to", pd.Series(pd.NaT, index=pol.index)),
        strict=True,
    ):
        a = "" if pd.isna(lo) else str(pd.Timestamp(lo).date())
        b = "" if pd.isna(hi) else str(pd.Timestamp(hi).date())
        dates.append(f"{a}..{b}" if (a or b) else "")
    pol["in force"] = dates
    return [
        "## Payer policy matrix (`payer_policies.csv`)",
        "",
        "One row per payer over its class default. A payer row sets only the "
        "fields where the payer differs from its class; every field it leaves "
        "empty comes from the class default (`payer_id` empty). `payer_match` "
        "lets a row recognise the ids practices give a payer. Hits say whether a "
        "value is the payer's own or the class default, and a hard rule's hit on "
        "an unverified value is soft. A practice overrides its payers in one "
        "file: `ptdenial reference payers --claims FILE --template --out "
        "my_ref/payer_policies.csv`, fill in, then `--reference my_ref`. Empty "
        "number = none known; `none` = explicitly no limit.",
        "",
        _table(
            pol,
            [
                "payer_class",
                "payer",
                "payer_name",
                *fields,
                "in force",
                "verified",
                "verified_fields",
            ],  # fmt: skip
        ),
        "Sources of the rows:",
        "",
        *[
            f"* {p} ({c}): {s}"
            for p, c, s in zip(
                pol["payer"], pol["payer_class"], pol["source"], strict=True
            )  # fmt: skip
        ],
        "",
    ]


def _reference_section(ref: Reference) -> list[str]:
    lines = ["## Reference tables", ""]
    ncci = ref.ncci_ptp.copy()
    lines += [
        "### NCCI procedure-to-procedure pairs (`ncci_ptp.csv`)",
        "",
        "Built-in defaults; `ptdenial reference import-ncci` replaces them with "
        "the therapy pairs of CMS's quarterly practitioner file. Pairs apply "
        "among the patient's services of the date of service across clinicians "
        "and disciplines. Modifier indicator 0: no bypass; 1: 59/X on the "
        "column-2 code.",
        "",
        _table(
            ncci,
            [
                "column1",
                "column2",
                "modifier_indicator",
                "effective_from",
                "effective_to",
                "verified",
                "source",
            ],  # fmt: skip
        ),
    ]
    return lines + _figures_section(ref) + _codes_section(ref) + _icd_section(ref)


def _figures_section(ref: Reference) -> list[str]:
    return [
        "### MUE (`mue.csv`)",
        "",
        "`ptdenial reference import-mue` loads CMS's practitioner table. MAI 1: "
        "per line; 2 and 3: per date of service; empty: treated as a date-of-"
        "service edit.",
        "",
        _table(ref.mue, ["cpt_code", "mue_units", "mai", "verified", "source"]),
        "### KX and targeted-review thresholds (`kx_thresholds.csv`)",
        "",
        _table(
            ref.kx_thresholds,
            ["year", "kx_threshold", "tmr_threshold", "verified", "source"],
        ),
        "### Expected allowed amounts for the KX crossing (`fee_schedule.csv`)",
        "",
        _table(
            ref.fee_schedule,
            [
                "cpt_code",
                "year",
                "allowed_per_unit",
                "mppr_reduction_per_unit",
                "verified",
                "source",
            ],  # fmt: skip
        ),
    ]


def _codes_section(ref: Reference) -> list[str]:
    return [
        "### Therapy codes (`therapy_codes.csv`)",
        "",
        "Timed codes count toward the 8-minute totals; therapy codes ('always', "
        "and 'sometimes' unless an MD/DC rendered them) get the GP/GO/GN, KX, "
        "CQ, MPPR, plan-of-care and authorization checks.",
        "",
        _table(
            ref.therapy_codes,
            [
                "code",
                "description",
                "timed",
                "therapy_list",
                "discipline",
                "not_paid_by",
                "use_instead",
                "verified",
            ],  # fmt: skip
        ),
        "### Diagnoses that support 97112 (`dx_support.csv`)",
        "",
        "Every code the line points to is tested; the longest matching prefix "
        "wins. Codes marked 'deficit' support 97112 only with a documented "
        "balance or proprioception deficit.",
        "",
        _table(
            ref.dx_support.rename(columns={"requires_documented_deficit": "deficit"}),
            [
                "code_prefix",
                "group",
                "description",
                "supports_97112",
                "deficit",
                "verified",
                "source",
            ],  # fmt: skip
        ),
    ]


def _icd_section(ref: Reference) -> list[str]:
    v = dx_validity(ref.icd10cm_changes)
    span = (
        f"{np.datetime64(int(v.known_from), 'D')} to "
        f"{np.datetime64(int(v.known_to), 'D')}"
        if np.isfinite(v.known_from)
        else "none (simple-icd-10-cm is not installed)"
    )
    changes = ref.icd10cm_changes
    counts = (
        ", ".join(
            f"{n} {k}" for k, n in changes["change"].value_counts().sort_index().items()
        )
        if "change" in changes.columns
        else f"{len(changes)} rows"
    )
    lines = [
        "### ICD-10-CM validity (`icd10cm_changes.csv`)",
        "",
        f"Code set: {v.note}. Validity is known from {span}; other dates of "
        "service are not evaluated for validity. The changes table lists the "
        f"codes whose billable status changed ({counts}); rebuild it each "
        "October with `ptdenial reference icd10-changes`.",
        "",
    ]
    params = ref.parameters
    lines += [
        "### Parameters (`parameters.csv`)",
        "",
        _table(params, ["name", "value", "unit", "verified", "source"]),
    ]
    return lines


# table attribute, file, how a row is named on the page
_UNVERIFIED_KEYS = (
    ("payer_policies", "payer_policies.csv", ("payer_class", "payer_id")),
    ("ncci_ptp", "ncci_ptp.csv", ("column1", "column2")),
    ("mue", "mue.csv", ("cpt_code",)),
    ("kx_thresholds", "kx_thresholds.csv", ("year",)),
    ("fee_schedule", "fee_schedule.csv", ("cpt_code", "year")),
    ("unit_table", "eight_minute_units.csv", ("units",)),
    ("therapy_codes", "therapy_codes.csv", ("code",)),
    ("dx_support", "dx_support.csv", ("code_prefix",)),
    ("parameters", "parameters.csv", ("name",)),
)


def _unverified_section(ref: Reference) -> list[str]:
    """One line per table: how many rows are not verified, and which."""
    lines = [
        "## What is not verified",
        "",
        "Rows with `verified = false`, table by table (their sources are in the "
        "tables below). A hard rule's hit that rests on one of them is reported "
        "*soft*; replace a row with your payer's or CMS's own value (verified "
        "true) to make its hits hard. A payer row can be verified for some "
        "fields only (`verified_fields`).",
        "",
    ]
    for attr, file, keys in _UNVERIFIED_KEYS:
        frame = getattr(ref, attr)
        if "verified" not in frame:
            continue
        off = frame[~frame["verified"].fillna(False).astype(bool)]
        names = [
            "/".join(_cell(v) or "default" for v in row)
            for row in off[list(keys)].itertuples(index=False)
        ]
        shown = ", ".join(f"`{n}`" for n in dict.fromkeys(names))
        lines.append(
            f"* `{file}`: {len(off)} of {len(frame)} rows"
            + (f": {shown}" if shown else "")
        )
    return [*lines, ""]


def rules_markdown(reference: Reference | None = None) -> str:
    """The rules reference page: every rule, the payer matrix, the tables.

    Parameters
    ----------
    reference : ptdenial.reference.Reference, optional
        Tables to document; default the shipped ones (what docs/rules.md shows).

    Returns
    -------
    str
        Markdown.

    Examples
    --------
    >>> from ptdenial.rules import rules_markdown
    >>> page = rules_markdown()
    >>> page.splitlines()[0]
    '# Billing rules reference'
    >>> "`KX_MISSING`" in page and "## Payer policy matrix" in page
    True
    """
    ref = load_reference() if reference is None else reference
    src = _sources()
    lines = [
        "# Billing rules reference",
        "",
        "<!-- Generated by `ptdenial reference rules-page` from "
        "ptdenial.rules.rule_catalogue() and ptdenial/reference/*.csv. Do not "
        "edit by hand: tests/test_rules_reference.py checks it is current. -->",
        "",
        f"The claim scrubber of ptdenial: {len(rule_catalogue())} rules "
        f"({', '.join(KINDS)}), evaluated on every claim line by "
        "`ptdenial.rules.apply_rules` and the `ptdenial rules` command, with "
        "the reference tables below (each row with its source and a `verified` "
        "flag). `verified` means: from a primary source (CMS, a MAC, the "
        "payer's own page) or a correction the December 2026 billing-compliance "
        "review made with named sources (the domain reference's Errata). "
        "Override any table with `--reference DIR` (files named like the "
        "shipped ones).",
        "",
        *_rules_section(),
        *_extra_section(),
        *_unverified_section(ref),
        *_payer_section(ref),
        *_reference_section(ref),
        "## Sources",
        "",
        _table(src, ["tag", "title", "url", "year", "primary"]),
    ]
    return "\n".join(lines).rstrip() + "\n"

"""Next action per denial reason, recovery likelihoods and deadlines, as data."""

from __future__ import annotations

import pandas as pd

from ptdenial.exceptions import ConfigError

__all__ = [
    "ACTIONS",
    "CORRECTED_CLAIM",
    "APPEAL",
    "PATIENT_RESPONSIBILITY",
    "WRITE_OFF",
    "NO_ACTION",
    "carc_actions",
    "recovery_likelihoods",
    "appeal_limits",
]

CORRECTED_CLAIM = "corrected_claim"
APPEAL = "appeal"
PATIENT_RESPONSIBILITY = "patient_responsibility"
WRITE_OFF = "write_off"
NO_ACTION = "no_action"
#: The five next actions, from most to least work.
ACTIONS = (CORRECTED_CLAIM, APPEAL, PATIENT_RESPONSIBILITY, WRITE_OFF, NO_ACTION)

# CARC (group "*" = any group) -> default action, what to do, documents to attach.
# A hard rule hit on the line whose fix addresses the same denial turns an
# appeal or write-off into a corrected claim with that fix (see _queue).
# Sources: CARC texts and typical PT triggers, domain reference s6.1-6.2 and
# rules R01-R31 (s9.1); the action is this library's reading of them.
_CARC_ACTIONS = (
    # code, group, action, what to do / fix, documentation to attach
    ("1", "PR", PATIENT_RESPONSIBILITY, "bill the patient: deductible", ""),
    ("2", "PR", PATIENT_RESPONSIBILITY, "bill the patient: coinsurance", ""),
    ("3", "PR", PATIENT_RESPONSIBILITY, "bill the patient: co-payment", ""),
    ("45", "*", NO_ACTION, "contractual adjustment: write down, do not bill", ""),
    ("253", "*", NO_ACTION, "sequestration: contractual, do not bill", ""),
    ("24", "*", NO_ACTION, "capitation: contractual", ""),
    ("23", "*", NO_ACTION, "prior payer's adjudication: bill the next payer", ""),
    ("4", "*", CORRECTED_CLAIM, "correct the modifiers (GP/GO/GN, CQ, 59/X)", ""),
    (
        "16",
        "*",
        CORRECTED_CLAIM,
        "supply the missing information the remark names (diagnosis, NPI ...)",
        "",
    ),
    ("15", "*", CORRECTED_CLAIM, "add the valid authorization number", ""),
    ("109", "*", CORRECTED_CLAIM, "send the claim to the correct payer", ""),
    (
        "22",
        "*",
        CORRECTED_CLAIM,
        "bill the primary payer first, then this one with its remittance",
        "",
    ),
    ("18", "*", NO_ACTION, "duplicate: check that the original line was paid", ""),
    (
        "11",
        "*",
        APPEAL,
        "appeal: show that the diagnosis supports 97112",
        "plan of care and evaluation linking the diagnosis to the neuromotor deficit",
    ),
    (
        "50",
        "*",
        APPEAL,
        "appeal medical necessity",
        "plan of care with goals, daily notes with skilled technique and minutes, "
        "objective measures, progress report",
    ),
    (
        "B12",
        "*",
        APPEAL,
        "appeal: send the documentation of the service",
        "signed daily note with minutes and the plan of care",
    ),
    (
        "151",
        "*",
        APPEAL,
        "appeal the units with the documented minutes",
        "daily note with start/stop times or timed minutes per code",
    ),
    (
        "97",
        "*",
        APPEAL,
        "appeal the bundling: services in distinct time blocks",
        "daily note showing separate 15-minute blocks",
    ),
    (
        "236",
        "*",
        APPEAL,
        "appeal the NCCI edit: distinct service",
        "daily note showing separate 15-minute blocks",
    ),
    (
        "119",
        "PR",
        PATIENT_RESPONSIBILITY,
        "benefit maximum met, patient liable: bill the patient",
        "ABN or plan notice",
    ),
    (
        "119",
        "*",
        APPEAL,
        "benefit maximum met: appeal medical necessity above it",
        "plan of care and progress report justifying continued skilled care",
    ),
    ("29", "*", WRITE_OFF, "timely filing expired: write off", ""),
    (
        "197",
        "*",
        WRITE_OFF,
        "no authorization: write off unless the payer grants a retro-authorization",
        "",
    ),
    (
        "198",
        "*",
        WRITE_OFF,
        "authorization exceeded: request more visits; write off if refused",
        "",
    ),
    ("B7", "*", WRITE_OFF, "provider not eligible on the date: fix enrollment", ""),
    ("96", "PR", PATIENT_RESPONSIBILITY, "non-covered, patient liable: bill", ""),
    ("96", "*", WRITE_OFF, "non-covered service: write off", ""),
    ("204", "PR", PATIENT_RESPONSIBILITY, "not a plan benefit: bill the patient", ""),
    ("204", "*", WRITE_OFF, "not a plan benefit: write off", ""),
    (
        "27",
        "PR",
        PATIENT_RESPONSIBILITY,
        "coverage ended: verify eligibility, bill other coverage or the patient",
        "",
    ),
    (
        "27",
        "*",
        CORRECTED_CLAIM,
        "coverage ended: verify eligibility and bill the payer on file for the date",
        "",
    ),
)

# CARCs outside the domain reference's table (s6.2), seen on therapy
# remittances; their texts are from general knowledge of the X12 list, not
# confirmed from a source, like the reference's own rows marked so.
_CARC_ACTIONS_UNCONFIRMED = (
    ("181", "*", CORRECTED_CLAIM, "bill a procedure code valid on the date", ""),
    ("182", "*", CORRECTED_CLAIM, "bill a modifier valid on the date", ""),
    ("146", "*", CORRECTED_CLAIM, "bill a diagnosis valid on the date", ""),
    ("31", "*", CORRECTED_CLAIM, "correct the member id / patient identity", ""),
    (
        "185",
        "*",
        CORRECTED_CLAIM,
        "bill under an eligible rendering provider (e.g. the supervising PT)",
        "",
    ),
    (
        "167",
        "*",
        APPEAL,
        "appeal: the diagnosis is covered for this service",
        "plan of care linking the diagnosis to the treated deficit",
    ),
    (
        "252",
        "*",
        APPEAL,
        "send the additional documentation requested",
        "the documents the remark names",
    ),
    (
        "226",
        "*",
        APPEAL,
        "send the information requested",
        "the documents the remark names",
    ),
)
_UNCONFIRMED_IN_REFERENCE = frozenset({"27", "151", "204", "236"})

# RARCs that change the default action or add the documentation to attach.
_RARC_NOTES = {
    "N115": (APPEAL, "the LCD the decision cites and the notes meeting it"),
    "M76": (CORRECTED_CLAIM, "add a valid, specific ICD-10-CM diagnosis"),
    "N280": (CORRECTED_CLAIM, "add the referring/certifying provider's NPI"),
    "N519": (CORRECTED_CLAIM, "fix the modifier combination"),
    "M80": (APPEAL, "notes showing a separate session/time block"),
    "N657": (CORRECTED_CLAIM, "bill the diagnosis/modifier the payer expects"),
    "N640": (APPEAL, "frequency justification in the plan of care"),
    "N130": (PATIENT_RESPONSIBILITY, "benefit excluded: check the plan documents"),
}


def carc_actions() -> pd.DataFrame:
    """The decision table: CARC and group to action, with the fix and documents.

    ``group`` ``"*"`` matches any group; a row with the line's own group wins.
    ``basis`` says where the CARC's meaning comes from: the domain
    reference's CARC table, or general knowledge of the X12 list not
    confirmed from a source (``verified`` false). The action itself is this
    library's reading of the code; a payer's remittance text wins.

    Returns
    -------
    pandas.DataFrame
        ``code, group, action, todo, documents, basis, verified``.

    Examples
    --------
    >>> from ptdenial.recovery import carc_actions
    >>> t = carc_actions().set_index(["code", "group"])
    >>> t.loc[("50", "*"), "action"], t.loc[("2", "PR"), "action"]
    ('appeal', 'patient_responsibility')
    """
    cols = ["code", "group", "action", "todo", "documents"]
    known = pd.DataFrame(list(_CARC_ACTIONS), columns=cols)
    known["verified"] = ~known["code"].isin(_UNCONFIRMED_IN_REFERENCE)
    extra = pd.DataFrame(list(_CARC_ACTIONS_UNCONFIRMED), columns=cols)
    extra["verified"] = False
    table = pd.concat([known, extra], ignore_index=True)
    table["basis"] = table["verified"].map(
        {
            True: "domain reference s6.2 (CARC texts from CMS-hosted lists)",
            False: "X12 CARC list from general knowledge; not confirmed from a source",
        }
    )
    return table[[*cols, "basis", "verified"]]


def rarc_actions() -> dict:
    """RARC -> (action it points to, what it asks for)."""
    return dict(_RARC_NOTES)


# Recovery likelihood of each action: the share of recoverable dollars the
# action is expected to bring back. Only the Medicare redetermination figure
# has a published source; the others are assumptions to replace with the
# practice's own outcomes (recovery_likelihoods(overrides)).
_LIKELIHOODS = (
    (
        CORRECTED_CLAIM,
        "",
        0.80,
        "assumption: a corrected claim that removes the denial reason is usually "
        "paid; no published rate in the domain reference",
        False,
    ),
    (
        APPEAL,
        "medicare",
        0.51,
        "OIG OEI-01-12-00150 (Oct 2013): 51% of Part B redeterminations decided "
        "in favour of appellants in 2012 (65% in 2008); secondary summaries, old",
        False,
    ),
    (
        APPEAL,
        "",
        0.40,
        "assumption: no published first-level appeal success rate for commercial, "
        "Medicaid or MA therapy claims",
        False,
    ),
    (
        PATIENT_RESPONSIBILITY,
        "",
        0.50,
        "assumption: share of patient balances a practice collects; set your own",
        False,
    ),
    (WRITE_OFF, "", 0.0, "nothing is recovered by definition", True),
    (NO_ACTION, "", 0.0, "contractual: nothing to recover by definition", True),
)


def recovery_likelihoods(overrides=None) -> pd.DataFrame:
    """Recovery likelihood per action (and payer class), with its source.

    Parameters
    ----------
    overrides : pandas.DataFrame or path to a CSV, optional
        Rows ``action, payer_class, likelihood, source[, verified]`` that
        replace the shipped rows with the same ``action`` and ``payer_class``
        (empty ``payer_class`` = every class without its own row).

    Returns
    -------
    pandas.DataFrame
        ``action, payer_class, likelihood, source, verified``.

    Examples
    --------
    >>> from ptdenial.recovery import recovery_likelihoods
    >>> t = recovery_likelihoods()
    >>> row = t.query("action == 'appeal' and payer_class == 'medicare'")
    >>> float(row["likelihood"].iloc[0])
    0.51
    """
    cols = ["action", "payer_class", "likelihood", "source", "verified"]
    table = pd.DataFrame(list(_LIKELIHOODS), columns=cols)
    if overrides is None:
        return table
    extra = (
        overrides
        if isinstance(overrides, pd.DataFrame)
        else pd.read_csv(overrides, dtype={"payer_class": str}, keep_default_na=False)
    )
    missing = [
        c
        for c in ("action", "payer_class", "likelihood", "source")
        if c not in extra.columns
    ]
    if missing:
        raise ConfigError(
            f"likelihood overrides lack the columns {missing}; expected "
            "action, payer_class, likelihood, source[, verified]."
        )
    extra = extra.copy()
    extra["payer_class"] = extra["payer_class"].fillna("").astype(str)
    extra["likelihood"] = pd.to_numeric(extra["likelihood"], errors="coerce")
    bad = ~extra["action"].isin(ACTIONS) | ~extra["likelihood"].between(0, 1)
    if bad.any():
        raise ConfigError(
            f"likelihood overrides row {int(bad.idxmax()) + 1}: action must be one "
            f"of {ACTIONS} and likelihood a number in [0, 1]."
        )
    extra["verified"] = (
        extra["verified"].astype(str).str.lower().isin(["true", "1"])
        if "verified" in extra.columns
        else False
    )
    keys = set(zip(extra["action"], extra["payer_class"], strict=True))
    kept = table[
        [k not in keys for k in zip(table["action"], table["payer_class"], strict=True)]
    ]
    return pd.concat([kept, extra[cols]], ignore_index=True)


# First-level appeal windows in days from the initial determination (the
# remittance date). Medicare: 42 CFR 405.942(a), 120 days from receipt of the
# initial determination (receipt presumed 5 days after the notice date; this
# library counts from the remittance date, which is the safe side). The others
# are defaults: set the payer's own value (payer_policies ``appeal_deadline_days``
# when the policy matrix carries it, else ``appeal_days`` of denial_queue).
_APPEAL_LIMITS = (
    ("medicare", 120, "42 CFR 405.942(a): redetermination within 120 days", True),
    (
        "medicare_advantage",
        60,
        "default: MA plans set their own window (often 60 days); check the contract",
        False,
    ),
    ("medicaid", 90, "default: state-specific, not retrieved", False),
    ("commercial", 180, "default: contract-specific (commonly 180 days)", False),
    ("workers_comp", 90, "default: state-specific", False),
    ("auto", 90, "default: no source", False),
    ("tricare", 90, "default: no source", False),
    ("other", 90, "default: no source", False),
)


def appeal_limits() -> pd.DataFrame:
    """First-level appeal window per payer class: days, source, verified.

    Examples
    --------
    >>> from ptdenial.recovery import appeal_limits
    >>> appeal_limits().set_index("payer_class").loc["medicare", "days"]
    np.int64(120)
    """
    return pd.DataFrame(
        list(_APPEAL_LIMITS), columns=["payer_class", "days", "source", "verified"]
    )

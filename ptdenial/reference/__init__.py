"""Billing reference tables shipped as data, with a loader that accepts overrides.

Each table is one CSV file in this folder. Every row carries its ``source`` and,
where the domain reference marks a figure as unconfirmed, ``verified = false``.
A practice replaces or extends any table with its own file: rows of the user's
file replace shipped rows with the same key, other shipped rows are kept
(``mode="upsert"``), or the user's file replaces the table whole
(``mode="replace"``, the natural choice for a quarterly CMS NCCI or MUE file).

Tables
------
========================  ==========================  ===============================
name                      file                        key columns
========================  ==========================  ===============================
``unit_table``            eight_minute_units.csv      units
``kx_thresholds``         kx_thresholds.csv           year
``ncci_ptp``              ncci_ptp.csv                column1, column2, effective_from
``mue``                   mue.csv                     cpt_code
``dx_support``            dx_support.csv              code_prefix
``carc``                  carc_catalogue.csv          kind, code
``payer_policies``        payer_policies.csv          payer_class, payer_id
``parameters``            parameters.csv              name
``therapy_codes``         therapy_codes.csv           code
``fee_schedule``          fee_schedule.csv            cpt_code, year
``icd10cm_changes``       icd10cm_changes.csv         code, effective_from
========================  ==========================  ===============================

``verified`` means: from a primary source (CMS, a MAC, the payer's own page),
or a correction the December 2026 compliance review made with named sources
(the domain reference's Errata). Everything else is ``verified = false``:
rules report a hit that rests on such a value as *soft* and say so.

Examples
--------
>>> from ptdenial.reference import load_reference
>>> ref = load_reference()
>>> int(ref.kx_thresholds.set_index("year").loc[2024, "kx_threshold"])
2330
>>> ref.parameter("recert_interval_days")
90

Layout: ``_tables`` (table specs, reading one table), ``_reference``
(:class:`Reference`, :func:`load_reference`), ``_payers`` (the per-payer
policy matrix and its resolution), ``_icd10`` (ICD-10-CM validity on a date
of service, from ``simple-icd-10-cm``), ``_cms`` (importers of CMS's quarterly
NCCI PTP and MUE files); the data files stay in this folder and ship as
package data.
"""

from ptdenial.reference._cms import (
    import_mue,
    import_ncci,
    read_mue_file,
    read_ptp_file,
)
from ptdenial.reference._icd10 import (
    IcdCodeSet,
    icd10_changes,
    icd10_code_set,
    read_code_list,
)
from ptdenial.reference._payers import POLICY_FIELDS, resolve_policies
from ptdenial.reference._reference import Reference, load_reference
from ptdenial.reference._tables import TABLES, read_reference_table

__all__ = [
    "POLICY_FIELDS",
    "TABLES",
    "IcdCodeSet",
    "Reference",
    "icd10_changes",
    "icd10_code_set",
    "import_mue",
    "import_ncci",
    "load_reference",
    "read_code_list",
    "read_mue_file",
    "read_ptp_file",
    "read_reference_table",
    "resolve_policies",
]

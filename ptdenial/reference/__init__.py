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
========================  ==========================  ===============================

Examples
--------
>>> from ptdenial.reference import load_reference
>>> ref = load_reference()
>>> int(ref.kx_thresholds.set_index("year").loc[2024, "kx_threshold"])
2330
>>> ref.parameter("recert_interval_days")
90

Layout: ``_tables`` (table specs, reading one table), ``_reference``
(:class:`Reference`, :func:`load_reference`); the data files stay in this
folder and ship as package data.
"""

from ptdenial.reference._reference import Reference, load_reference
from ptdenial.reference._tables import TABLES, read_reference_table

__all__ = ["TABLES", "Reference", "load_reference", "read_reference_table"]

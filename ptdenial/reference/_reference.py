"""The set of reference tables (:class:`Reference`) and :func:`load_reference`.

:func:`load_reference` reads every shipped table and applies a practice's
own files or frames on top (``upsert`` by key, or ``replace``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from ptdenial.exceptions import ReferenceDataError
from ptdenial.reference._cms import read_imports
from ptdenial.reference._tables import TABLES, read_reference_table

__all__ = ["Reference", "load_reference"]

#: Tables a Reference built without them (older code, older model files)
#: takes from the shipped files.
_DEFAULTED = ("therapy_codes", "fee_schedule", "icd10cm_changes")


@dataclasses.dataclass(frozen=True, repr=False)
class Reference:
    """The set of reference tables used by validation, rules and the generator.

    Attributes are :class:`pandas.DataFrame` objects named as in :data:`TABLES`.
    Build it with :func:`load_reference`. ``therapy_codes`` (timed and
    "always therapy" codes) defaults to the shipped table when not given.
    """

    unit_table: pd.DataFrame
    kx_thresholds: pd.DataFrame
    ncci_ptp: pd.DataFrame
    mue: pd.DataFrame
    dx_support: pd.DataFrame
    carc: pd.DataFrame
    payer_policies: pd.DataFrame
    parameters: pd.DataFrame
    sources: Mapping[str, str] = dataclasses.field(default_factory=dict)
    therapy_codes: pd.DataFrame | None = None
    fee_schedule: pd.DataFrame | None = None
    icd10cm_changes: pd.DataFrame | None = None
    #: CMS tables imported into the override folder (``imports.json``):
    #: table name -> quarter, version, files.
    imports: Mapping[str, dict] = dataclasses.field(default_factory=dict)

    def __post_init__(self):
        for name in _DEFAULTED:
            if getattr(self, name) is None:
                object.__setattr__(self, name, read_reference_table(name))

    def __repr__(self) -> str:
        sizes = ", ".join(f"{name}={len(getattr(self, name))}" for name in TABLES)
        return f"Reference({sizes} rows)"

    def __getstate__(self):
        # Plain text state, so a model file holding a Reference stays safe to
        # load (skops) and readable: each table as CSV text.
        state = {name: getattr(self, name).to_csv(index=False) for name in TABLES}
        state["sources"] = dict(self.sources)
        state["imports"] = dict(self.imports)
        return state

    def __setstate__(self, state):
        import io

        for name in TABLES:
            # a Reference saved before a table existed gets the shipped one
            table = (
                read_reference_table(name, io.StringIO(state[name]))
                if name in state
                else read_reference_table(name)
            )
            object.__setattr__(self, name, table)
        object.__setattr__(self, "sources", dict(state.get("sources", {})))
        object.__setattr__(self, "imports", dict(state.get("imports", {})))

    def parameter(self, name: str):
        """Return one named parameter, typed (int, float, date or str)."""
        rows = self.parameters[self.parameters["name"] == name]
        if rows.empty:
            raise ReferenceDataError(
                f"Parameter {name!r} is not in the parameters table; known: "
                f"{sorted(self.parameters['name'])}."
            )
        value = str(rows["value"].iloc[-1])
        unit = str(rows["unit"].iloc[-1]) if "unit" in rows else ""
        if unit == "date":
            return pd.Timestamp(value)
        try:
            number = float(value)
        except ValueError:
            return value
        return int(number) if number.is_integer() and "." not in value else number

    def non_denial_carcs(self) -> frozenset[str]:
        """CARCs that never make a line denied (contractual, patient share ...)."""
        carc = self.carc[self.carc["kind"] == "CARC"]
        return frozenset(carc.loc[~carc["is_denial"], "code"])

    def partial_denial_carcs(self) -> frozenset[str]:
        """CARCs that, with a positive payment, mark a line partially denied."""
        carc = self.carc[self.carc["kind"] == "CARC"]
        return frozenset(carc.loc[carc["partial_denial"], "code"])

    def payer_policy(self, payer_class: str, payer_id: str | None = None, date=None):
        """Policy of one payer: its own row's values over its class defaults.

        Parameters
        ----------
        payer_class : str
        payer_id : str, optional
        date : date-like, optional
            The date of service; default: the rows in force from now on.

        A payer row (``payer_id`` set, or a ``payer_match`` pattern that the
        id matches) gives only the fields that differ from its class; every
        field it leaves empty comes from the class default row (``payer_id``
        empty), and fields neither sets from the built-in defaults. Rows whose
        effective dates do not cover ``date`` (default: today) are skipped
        for payer rows.

        Returns
        -------
        dict
            Every policy field, plus ``source`` (the sources used),
            ``verified`` (every value comes from a verified row),
            ``defaults`` (fields that are the class's default, not the
            payer's own) and ``unverified`` (fields whose value is not
            verified).

        Examples
        --------
        >>> from ptdenial.reference import load_reference
        >>> ref = load_reference()
        >>> uhc = ref.payer_policy("commercial", "UHC-COMM")
        >>> uhc["cq_applies"], uhc["visit_limit"], "visit_limit" in uhc["defaults"]
        (True, 26, True)
        """
        from ptdenial.reference._payers import resolve_payer

        return resolve_payer(self.payer_policies, payer_class, payer_id, date)


def load_reference(overrides=None, *, mode: str | Mapping[str, str] = "upsert"):
    """Load every reference table, applying a practice's own files on top.

    Parameters
    ----------
    overrides : dict, str or Path, optional
        Either a mapping ``{table name: CSV path or DataFrame}``, or a folder
        holding files named like the shipped ones (``payer_policies.csv``,
        ``ncci_ptp.csv``, ...). Files that are not present are not overridden.
        Tables the folder's ``imports.json`` lists (written by
        ``ptdenial reference import-ncci`` / ``import-mue``) replace the
        shipped table whole: the CMS file supersedes the hand list.
    mode : {"upsert", "replace"} or dict
        ``"upsert"``: the user's rows replace shipped rows with the same key,
        and other shipped rows are kept. ``"replace"``: the user's table
        replaces the shipped one whole. A dict gives the mode per table.

    Returns
    -------
    Reference

    Examples
    --------
    Give one commercial payer a 60-day filing limit:

    >>> import pandas as pd
    >>> from ptdenial.reference import load_reference
    >>> mine = load_reference().payer_policies.query("payer_class == 'commercial'")
    >>> mine = mine.assign(payer_id="BCBS01", filing_limit_days=60)
    >>> ref = load_reference({"payer_policies": mine})
    >>> ref.payer_policy("commercial", "BCBS01")["filing_limit_days"]
    60
    >>> ref.payer_policy("commercial", "OTHER")["filing_limit_days"]
    90
    """
    imports: dict = {}
    if isinstance(overrides, str | Path):
        folder = Path(overrides)
        if not folder.is_dir():
            raise ReferenceDataError(
                f"Reference override folder {str(folder)!r} does not exist."
            )
        overrides = {
            name: folder / spec.file
            for name, spec in TABLES.items()
            if (folder / spec.file).exists()
        }
        # tables imported from CMS's quarterly files replace the hand lists
        imports = {k: v for k, v in read_imports(folder).items() if k in overrides}
        if imports:
            base = (
                dict(mode) if isinstance(mode, Mapping) else dict.fromkeys(TABLES, mode)
            )
            mode = {**base, **dict.fromkeys(imports, "replace")}
    overrides = dict(overrides or {})
    unknown = sorted(set(overrides) - set(TABLES))
    if unknown:
        raise ReferenceDataError(
            f"Unknown reference tables {unknown}; expected names from {sorted(TABLES)}."
        )
    tables = {}
    sources = {}
    for name, spec in TABLES.items():
        shipped = read_reference_table(name)
        sources[name] = f"ptdenial/reference/{spec.file}"
        if name in overrides:
            user = overrides[name]
            if isinstance(user, pd.DataFrame):
                user_df = _normalize_frame(name, user)
                sources[name] += " + DataFrame"
            else:
                user_df = read_reference_table(name, user)
                sources[name] += f" + {user}"
            how = mode.get(name, "upsert") if isinstance(mode, Mapping) else mode
            if how == "replace":
                shipped = user_df
            elif how == "upsert":
                keys = list(spec.keys)
                user_keys = user_df[keys].astype(str).agg("|".join, axis=1)
                ship_keys = shipped[keys].astype(str).agg("|".join, axis=1)
                shipped = pd.concat(
                    [shipped[~ship_keys.isin(set(user_keys))], user_df],
                    ignore_index=True,
                )
            else:
                raise ReferenceDataError(
                    f"mode for {name!r} must be 'upsert' or 'replace'; got {how!r}."
                )
        tables[name] = shipped.reset_index(drop=True)
    return Reference(**tables, sources=sources, imports=imports)


def _normalize_frame(name: str, df: pd.DataFrame) -> pd.DataFrame:
    """Round-trip a user DataFrame through the CSV reader for identical dtypes."""
    import io

    buf = io.StringIO()
    df.to_csv(buf, index=False)
    buf.seek(0)
    return read_reference_table(name, buf)

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
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Mapping
from importlib import resources
from pathlib import Path

import pandas as pd

from ptdenial.exceptions import ReferenceDataError

__all__ = ["TABLES", "Reference", "load_reference", "read_reference_table"]


@dataclasses.dataclass(frozen=True)
class _TableSpec:
    file: str
    keys: tuple[str, ...]
    required: tuple[str, ...]
    bool_columns: tuple[str, ...] = ()
    date_columns: tuple[str, ...] = ()
    str_columns: tuple[str, ...] = ()


TABLES: dict[str, _TableSpec] = {
    "unit_table": _TableSpec(
        "eight_minute_units.csv",
        ("units",),
        ("units", "min_minutes", "max_minutes", "source", "verified"),
        bool_columns=("verified",),
        date_columns=("effective_from", "effective_to"),
    ),
    "kx_thresholds": _TableSpec(
        "kx_thresholds.csv",
        ("year",),
        ("year", "kx_threshold", "tmr_threshold", "source", "verified"),
        bool_columns=("verified",),
        date_columns=("effective_from", "effective_to"),
    ),
    "ncci_ptp": _TableSpec(
        "ncci_ptp.csv",
        ("column1", "column2", "effective_from"),
        ("column1", "column2", "modifier_indicator", "source", "verified"),
        bool_columns=("verified",),
        date_columns=("effective_from", "effective_to"),
        str_columns=("column1", "column2"),
    ),
    "mue": _TableSpec(
        "mue.csv",
        ("cpt_code",),
        ("cpt_code", "mue_units", "source", "verified"),
        bool_columns=("verified",),
        date_columns=("effective_from", "effective_to"),
        str_columns=("cpt_code", "mai"),
    ),
    "dx_support": _TableSpec(
        "dx_support.csv",
        ("code_prefix",),
        ("code_prefix", "supports_97112", "source", "verified"),
        bool_columns=("supports_97112", "requires_documented_deficit", "verified"),
        str_columns=("code_prefix", "group", "description"),
    ),
    "carc": _TableSpec(
        "carc_catalogue.csv",
        ("kind", "code"),
        ("kind", "code", "text", "is_denial", "source", "verified"),
        bool_columns=("is_denial", "partial_denial", "verified"),
        str_columns=("kind", "code", "default_group", "category"),
    ),
    "payer_policies": _TableSpec(
        "payer_policies.csv",
        ("payer_class", "payer_id"),
        (
            "payer_class",
            "payer_id",
            "time_rule",
            "filing_limit_days",
            "auth_required",
            "visit_limit",
            "accepts_59_bypass",
            "source",
            "verified",
        ),
        bool_columns=(
            "auth_required",
            "accepts_59_bypass",
            "requires_gp",
            "kx_applies",
            "cq_applies",
            "poc_rules_apply",
            "referring_npi_required",
            "mppr_applies",
            "verified",
        ),
        date_columns=("effective_from", "effective_to"),
        str_columns=("payer_class", "payer_id", "time_rule"),
    ),
    "parameters": _TableSpec(
        "parameters.csv",
        ("name",),
        ("name", "value", "source", "verified"),
        bool_columns=("verified",),
        date_columns=("effective_from", "effective_to"),
        str_columns=("name", "value", "unit"),
    ),
    "therapy_codes": _TableSpec(
        "therapy_codes.csv",
        ("code",),
        ("code", "timed", "always_therapy", "source", "verified"),
        bool_columns=("timed", "always_therapy", "verified"),
        str_columns=("code", "evaluation", "interventions", "description"),
    ),
}

_TRUE = {"true", "1", "yes", "y", "t"}
_FALSE = {"false", "0", "no", "n", "f", ""}


def _to_bool(series: pd.Series, *, table: str, column: str, source: str) -> pd.Series:
    text = series.astype("string").str.strip().str.lower().fillna("")
    bad = ~text.isin(_TRUE | _FALSE)
    if bad.any():
        raise ReferenceDataError(
            f"Reference table {table!r} ({source}): column {column!r} must be "
            f"true/false; got {text[bad].iloc[0]!r}. Fix the value in the file."
        )
    return text.isin(_TRUE)


def read_reference_table(name: str, path=None) -> pd.DataFrame:
    """Read one reference table, shipped or from a user's file, with clean dtypes.

    Parameters
    ----------
    name : str
        A key of :data:`TABLES`, e.g. ``"payer_policies"``.
    path : str or Path, optional
        A CSV file that follows the shipped file's columns. Defaults to the
        shipped file.

    Returns
    -------
    pandas.DataFrame

    Examples
    --------
    >>> from ptdenial.reference import read_reference_table
    >>> read_reference_table("mue")[["cpt_code", "mue_units", "verified"]]
      cpt_code  mue_units  verified
    0    97112          4     False
    """
    if path is None and name in TABLES:
        return _read_shipped(name).copy()
    return _read_table(name, path)


@functools.cache
def _read_shipped(name: str) -> pd.DataFrame:
    return _read_table(name, None)


def _read_table(name: str, path=None) -> pd.DataFrame:
    if name not in TABLES:
        raise ReferenceDataError(
            f"Unknown reference table {name!r}; expected one of {sorted(TABLES)}."
        )
    spec = TABLES[name]
    if path is None:
        source = f"ptdenial/reference/{spec.file}"
        with resources.files("ptdenial.reference").joinpath(spec.file).open("rb") as fh:
            df = pd.read_csv(fh, dtype=str, keep_default_na=False)
    else:
        source = str(path)
        try:
            df = pd.read_csv(path, dtype=str, keep_default_na=False)
        except (OSError, pd.errors.ParserError) as exc:
            raise ReferenceDataError(
                f"Cannot read reference table {name!r} from {source}: {exc}"
            ) from exc
    df.columns = [c.strip() for c in df.columns]
    missing = [c for c in spec.required if c not in df.columns]
    if missing:
        raise ReferenceDataError(
            f"Reference table {name!r} ({source}) lacks columns {missing}; "
            f"columns present: {list(df.columns)}. Start from the shipped "
            f"file ptdenial/reference/{spec.file}."
        )
    for col in df.columns:
        if col in spec.bool_columns:
            df[col] = _to_bool(df[col], table=name, column=col, source=source)
        elif col in spec.date_columns:
            df[col] = pd.to_datetime(df[col].replace("", None), errors="raise")
        elif col in spec.str_columns or col in ("source",):
            df[col] = df[col].astype(str).str.strip()
        else:
            converted = pd.to_numeric(df[col].replace("", None), errors="coerce")
            # keep text columns (e.g. free text) as text
            nonempty = df[col].str.strip() != ""
            if converted[nonempty].notna().all() and nonempty.any():
                df[col] = converted
            else:
                df[col] = df[col].astype(str)
    return df


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

    def __post_init__(self):
        if self.therapy_codes is None:
            object.__setattr__(
                self, "therapy_codes", read_reference_table("therapy_codes")
            )

    def __repr__(self) -> str:
        sizes = ", ".join(f"{name}={len(getattr(self, name))}" for name in TABLES)
        return f"Reference({sizes} rows)"

    def __getstate__(self):
        # Plain text state, so a model file holding a Reference stays safe to
        # load (skops) and readable: each table as CSV text.
        state = {name: getattr(self, name).to_csv(index=False) for name in TABLES}
        state["sources"] = dict(self.sources)
        return state

    def __setstate__(self, state):
        import io

        for name in TABLES:
            object.__setattr__(
                self, name, read_reference_table(name, io.StringIO(state[name]))
            )
        object.__setattr__(self, "sources", dict(state.get("sources", {})))

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

    def payer_policy(self, payer_class: str, payer_id: str | None = None) -> dict:
        """Policy of one payer: the payer-specific row if any, else its class row."""
        pol = self.payer_policies
        if payer_id:
            hit = pol[pol["payer_id"] == payer_id]
            if not hit.empty:
                return hit.iloc[-1].to_dict()
        hit = pol[(pol["payer_class"] == payer_class) & (pol["payer_id"] == "")]
        if hit.empty:
            raise ReferenceDataError(
                f"No payer policy for payer_class {payer_class!r}; add a row to "
                "payer_policies.csv."
            )
        return hit.iloc[-1].to_dict()


def load_reference(overrides=None, *, mode: str | Mapping[str, str] = "upsert"):
    """Load every reference table, applying a practice's own files on top.

    Parameters
    ----------
    overrides : dict, str or Path, optional
        Either a mapping ``{table name: CSV path or DataFrame}``, or a folder
        holding files named like the shipped ones (``payer_policies.csv``,
        ``ncci_ptp.csv``, ...). Files that are not present are not overridden.
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
    return Reference(**tables, sources=sources)


def _normalize_frame(name: str, df: pd.DataFrame) -> pd.DataFrame:
    """Round-trip a user DataFrame through the CSV reader for identical dtypes."""
    import io

    buf = io.StringIO()
    df.to_csv(buf, index=False)
    buf.seek(0)
    return read_reference_table(name, buf)

"""Run-level settings of the scoring job, as one frozen dataclass.

:class:`ScoringConfig` holds every knob of the nightly job: risk-band cut
points, batch size, worklist capacity, how reasons are computed. It is built
by :meth:`ScoringConfig.from_sources` from, in this order of precedence:

1. explicit values (command-line arguments, keyword arguments);
2. an optional TOML file (top-level keys, or a ``[scoring]`` table);
3. ``PTDENIAL_<FIELD>`` environment variables (e.g. ``PTDENIAL_HIGH_CUT=0.4``);
4. the defaults below.

Importing this module reads nothing: files and the environment are read
only when :meth:`~ScoringConfig.from_sources` is called.
"""

from __future__ import annotations

import dataclasses
import math
import os
import tomllib
from pathlib import Path

from ptdenial.exceptions import ConfigError

__all__ = [
    "ScoringConfig",
    "ConfigError",
    "EXPLAIN_MODES",
    "BANDS",
    "ENV_PREFIX",
    "WORKLIST_RANKS",
]

#: How exact (TreeSHAP) contributions are used; path attribution elsewhere.
EXPLAIN_MODES = ("worklist", "high", "all", "none")
#: How the worklist's lines are ordered (:attr:`ScoringConfig.worklist_rank`).
WORKLIST_RANKS = ("dollars_saved", "expected_loss")
#: Risk bands from lowest to highest.
BANDS = ("low", "medium", "high")
#: Prefix of the environment variables read by :meth:`ScoringConfig.from_sources`.
ENV_PREFIX = "PTDENIAL_"


@dataclasses.dataclass(frozen=True)
class ScoringConfig:
    """Settings of a scoring run.

    Parameters
    ----------
    medium_cut : float, default=0.15
        Lines with ``denial_probability >= medium_cut`` are ``medium`` risk.
    high_cut : float, default=0.35
        Lines with ``denial_probability >= high_cut`` are ``high`` risk.
    batch_rows : int, default=100_000
        Target rows per scoring batch. A batch never splits a patient's lines
        (so never a visit); one patient's lines always fit in one batch.
    worklist_top : int, default=200
        Capacity of the worklist: lines kept, by dollars at risk.
    worklist_min_band : {"low", "medium", "high"}, default="medium"
        97112 lines below this band enter the worklist only with a hard-rule
        hit.
    worklist_rank : {"dollars_saved", "expected_loss"}, default="dollars_saved"
        Order of the worklist's lines (which lines it holds does not change:
        the ``worklist_top`` with the most dollars at risk). ``dollars_saved``:
        lines whose claim edit (modifier, units) saves dollars come first,
        most saved first, then every other line by dollars at risk;
        ``expected_loss``: by dollars at risk only.
    max_model_reasons : int, default=3
        Model drivers (in plain words) added after the rule hits.
    min_contribution : float, default=0.05
        Smallest contribution (log-odds) of a driver worth a reason.
    explain : {"worklist", "high", "all", "none"}, default="worklist"
        Lines whose model reasons come from exact TreeSHAP contributions:
        the worklist's lines, the high band (and the worklist), every scored
        line, or none. The other scored lines get path attribution (Saabas),
        computed for all lines at about the cost of one more prediction.
    drivers_min_band : {"low", "medium", "high"}, default="medium"
        97112 lines at or above this band get model drivers as reasons (path
        attribution, or exact where ``explain`` says so); lines below get
        their rule hits only: a low risk has no driver worth acting on, and
        skipping them keeps the job fast (see ``bench/results/scoring.md``).
    worklist_patient_id : bool, default=False
        Show the pseudonymous ``patient_id`` in the worklist. Off by default:
        ``claim_id`` and ``line_number`` locate the line in the billing system.
    progress : {"auto", "on", "off"}, default="auto"
        Progress bar: only when stderr is a terminal (``auto``).
    drift_sample_rows : int, default=50_000
        About this many 97112 feature rows are kept for the drift table of
        the report (chosen by a hash of the patient, so deterministic).
    max_snapshot_age_days : int, default=45
        Age (days from the newest outcome the model's history snapshot knows
        to the run date) above which the job warns, on stderr and in the
        report, that the snapshot should be refreshed (``--history`` or
        ``ptdenial refresh``).
    workers : int, default=-1
        Worker processes that score batches next to the job's own process
        when the input has more than one batch: ``-1`` one per CPU core
        beyond the first (at most 3), ``0`` none. Outputs are the same
        either way; each worker adds about one batch's memory.
    keep_input_mib : int, default=512
        An input of at most this many MiB in Arrow (a 1M-line claim table is
        250-360 MiB) is read once and kept in memory; a larger one is read
        for its keys, then spilled to per-batch files in the scratch folder
        and read back batch by batch, so peak memory stays flat however big
        the input. ``0`` always spills.

    Examples
    --------
    >>> from ptdenial.config import ScoringConfig
    >>> cfg = ScoringConfig(high_cut=0.4)
    >>> cfg.band_edges()
    (0.15, 0.4)
    >>> ScoringConfig.from_sources({"worklist_top": 50}, env={}).worklist_top
    50
    >>> ScoringConfig.from_sources(env={"PTDENIAL_HIGH_CUT": "0.5"}).high_cut
    0.5
    """

    medium_cut: float = 0.15
    high_cut: float = 0.35
    batch_rows: int = 100_000
    worklist_top: int = 200
    worklist_min_band: str = "medium"
    worklist_rank: str = "dollars_saved"
    max_model_reasons: int = 3
    min_contribution: float = 0.05
    explain: str = "worklist"
    drivers_min_band: str = "medium"
    worklist_patient_id: bool = False
    progress: str = "auto"
    drift_sample_rows: int = 50_000
    max_snapshot_age_days: int = 45
    workers: int = -1
    keep_input_mib: int = 512

    def __post_init__(self):
        _check(self)

    def wants_model_reasons(self) -> bool:
        """Whether lines get model drivers as reasons (not only rule hits)."""
        return self.explain != "none" and self.max_model_reasons > 0

    def band_edges(self) -> tuple[float, float]:
        """The two cut points ``(medium_cut, high_cut)``."""
        return (self.medium_cut, self.high_cut)

    def to_dict(self) -> dict:
        """Plain dict of the settings (for manifests)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_sources(cls, values=None, *, toml=None, env=None) -> ScoringConfig:
        """Build a config from explicit values, a TOML file and the environment.

        Parameters
        ----------
        values : mapping, optional
            Explicit settings (e.g. parsed command-line arguments); ``None``
            values are ignored, so unset options fall through.
        toml : str or Path, optional
            TOML file: settings as top-level keys or under ``[scoring]``.
        env : mapping, optional
            Environment; defaults to ``os.environ``. Keys ``PTDENIAL_<FIELD>``.

        Returns
        -------
        ScoringConfig

        Raises
        ------
        ConfigError
            Unknown keys in the TOML file, or values of the wrong type.
        """
        fields = {f.name: f for f in dataclasses.fields(cls)}
        merged: dict = {}
        origin: dict = {}
        environ = os.environ if env is None else env
        for name, field in fields.items():
            key = ENV_PREFIX + name.upper()
            if key in environ:
                merged[name] = _convert(environ[key], field, key)
                origin[name] = f"environment variable {key}"
        if toml is not None:
            path = Path(toml)
            try:
                data = tomllib.loads(path.read_text())
            except FileNotFoundError as exc:
                raise ConfigError(f"{path}: config file not found.") from exc
            except tomllib.TOMLDecodeError as exc:
                raise ConfigError(f"{path}: not valid TOML ({exc}).") from exc
            data = data.get("scoring", data)
            unknown = sorted(set(data) - set(fields))
            if unknown:
                raise ConfigError(
                    f"{path}: unknown settings {unknown}; known: {sorted(fields)}."
                )
            for name, value in data.items():
                merged[name] = _convert(value, fields[name], f"{path}:{name}")
                origin[name] = str(path)
        for name, value in dict(values or {}).items():
            if name not in fields:
                raise ConfigError(f"unknown setting {name!r}; known: {sorted(fields)}.")
            if value is None:
                continue
            merged[name] = _convert(value, fields[name], name)
            origin[name] = "argument"
        try:
            return cls(**merged)
        except ConfigError as exc:
            name = getattr(exc, "setting", None)
            where = origin.get(name)
            raise ConfigError(f"{exc} (set by {where})" if where else str(exc)) from exc


def _convert(value, field, where):
    kind = field.type if isinstance(field.type, str) else field.type.__name__
    try:
        if kind == "bool":
            if isinstance(value, bool):
                return value
            text = str(value).strip().lower()
            if text in {"1", "true", "yes", "on"}:
                return True
            if text in {"0", "false", "no", "off"}:
                return False
            raise ValueError(value)
        if kind == "int":
            if isinstance(value, bool):
                raise ValueError(value)
            if isinstance(value, float) and not value.is_integer():
                raise ValueError(value)
            return (
                int(str(value).replace("_", ""))
                if isinstance(value, str)
                else int(value)
            )
        if kind == "float":
            if isinstance(value, bool):
                raise ValueError(value)
            return float(value)
        return str(value)
    except (TypeError, ValueError) as exc:
        err = ConfigError(
            f"setting {field.name!r} from {where}: expected {kind}, got {value!r}."
        )
        err.setting = field.name
        raise err from exc


def _fail(name, message):
    err = ConfigError(f"setting {name!r}: {message}")
    err.setting = name
    raise err


def _check(cfg: ScoringConfig) -> None:
    for name in ("medium_cut", "high_cut", "min_contribution"):
        value = getattr(cfg, name)
        if not isinstance(value, int | float) or not math.isfinite(value):
            _fail(name, f"must be a number; got {value!r}.")
    if not 0.0 < cfg.medium_cut < cfg.high_cut < 1.0:
        _fail(
            "high_cut" if cfg.medium_cut > 0 else "medium_cut",
            "cut points must satisfy 0 < medium_cut < high_cut < 1; got "
            f"medium_cut={cfg.medium_cut}, high_cut={cfg.high_cut}.",
        )
    for name, low in (
        ("batch_rows", 1),
        ("worklist_top", 0),
        ("max_model_reasons", 0),
        ("drift_sample_rows", 0),
        ("max_snapshot_age_days", 0),
        ("workers", -1),
        ("keep_input_mib", 0),
    ):
        value = getattr(cfg, name)
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            _fail(name, f"must be an int >= {low}; got {value!r}.")
    if cfg.min_contribution < 0:
        _fail("min_contribution", f"must be >= 0; got {cfg.min_contribution}.")
    for name in ("worklist_min_band", "drivers_min_band"):
        if getattr(cfg, name) not in BANDS:
            _fail(name, f"must be one of {list(BANDS)}; got {getattr(cfg, name)!r}.")
    if cfg.worklist_rank not in WORKLIST_RANKS:
        _fail(
            "worklist_rank",
            f"must be one of {list(WORKLIST_RANKS)}; got {cfg.worklist_rank!r}.",
        )
    if cfg.explain not in EXPLAIN_MODES:
        _fail("explain", f"must be one of {list(EXPLAIN_MODES)}; got {cfg.explain!r}.")
    if cfg.progress not in ("auto", "on", "off"):
        _fail("progress", f"must be 'auto', 'on' or 'off'; got {cfg.progress!r}.")
    if not isinstance(cfg.worklist_patient_id, bool):
        _fail("worklist_patient_id", "must be true or false.")

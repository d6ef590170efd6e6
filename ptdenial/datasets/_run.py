"""What every stage of one simulation reads: params, world, random stream, dates."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from ptdenial.datasets._params import SyntheticParams
from ptdenial.datasets._vocabulary import _CI
from ptdenial.datasets._world import _build_world, _World


@dataclasses.dataclass(frozen=True)
class _Run:
    """The fixed setting of one simulation, shared by all its stages.

    ``rng`` is the one random stream of the run: the stages draw from it in
    the order :func:`ptdenial.datasets._simulate._simulate` calls them, and
    that order is part of the output (same seed, same claims).
    """

    p: SyntheticParams
    ref: object  # ptdenial.reference.Reference
    world: _World
    rng: np.random.Generator
    kx_table: pd.DataFrame  # KX and targeted-review thresholds, indexed by year
    facts: dict  # the reference parameters the generator reads
    mue: dict  # MUE units per code of the world
    start: np.datetime64  # first date of service kept (datetime64[D])
    end: np.datetime64  # last date of service simulated
    origin: np.datetime64  # first business day simulated (start - warm-up)
    n_bd: int  # business days from origin to end
    first_year: int  # calendar year of origin
    n_years: int  # calendar years from origin to end


def _reference_facts(ref):
    """KX table, the reference parameters and the MUE of the world's codes."""
    kx = ref.kx_thresholds.set_index("year")
    params = {
        name: ref.parameter(name)
        for name in (
            "cq_required_from",
            "cq_payment_factor",
            "initial_cert_days",
            "recert_interval_days",
            "progress_report_treatment_days",
            "referral_cert_exception_from",
            "mppr_pe_reduction",
        )
    }
    mue = {
        str(r.cpt_code): int(r.mue_units)
        for r in ref.mue.itertuples()
        if str(r.cpt_code) in _CI
    }
    return kx, params, mue


def _start_run(p: SyntheticParams, ref, *, seed: int, stream: int, start, end) -> _Run:
    """Build the world and the random stream; check and convert the dates."""
    world = _build_world(p, ref, seed)
    rng = np.random.default_rng([seed, 7919, stream])
    kx_table, facts, mue = _reference_facts(ref)
    start_d = np.datetime64(pd.Timestamp(start).date(), "D")
    end_d = np.datetime64(pd.Timestamp(end).date(), "D")
    if end_d < start_d:
        raise ValueError(f"end ({end}) is before start ({start}).")
    origin = np.busday_offset(
        start_d - np.timedelta64(p.warmup_days, "D"), 0, roll="forward"
    )
    n_bd = int(np.busday_count(origin, end_d + np.timedelta64(1, "D")))
    first_year = int(origin.astype("datetime64[Y]").astype(int)) + 1970
    n_years = int(end_d.astype("datetime64[Y]").astype(int)) + 1970 - first_year + 1
    return _Run(
        p=p,
        ref=ref,
        world=world,
        rng=rng,
        kx_table=kx_table,
        facts=facts,
        mue=mue,
        start=start_d,
        end=end_d,
        origin=origin,
        n_bd=n_bd,
        first_year=first_year,
        n_years=n_years,
    )

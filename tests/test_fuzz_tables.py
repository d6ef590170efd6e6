"""Fuzzed claim tables (issue #15): CSV and Parquet mutants (types, encodings,
headers, dates, sizes) are read or refused with ptdenial's own error naming
the file, every row is valid or quarantined, and validate and score agree.
The long run is bench/bench_fuzz.py."""

from __future__ import annotations

import random

import pytest
from fuzz_tables import (
    CSV_OPS,
    OWNED_FRAME_OPS,
    PARQUET_TYPES,
    _mutate_frame,
    base_table,
    check_table,
    write_csv_mutant,
    write_parquet_mutant,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

FUZZ = settings(
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


@pytest.fixture(scope="module")
def base():
    return base_table()


@pytest.fixture(scope="module")
def tiny_model():
    from ptdenial.datasets import make_claims
    from ptdenial.model import DenialRiskModel

    claims = make_claims(120, random_state=2).claims
    return DenialRiskModel(n_estimators=5, n_jobs=1, linear_base=False).fit(claims)


def _mutant(base, seed, fmt, folder):
    rng = random.Random(seed)
    df = _mutate_frame(base, rng, rng.choice(OWNED_FRAME_OPS))
    if fmt == "csv":
        return write_csv_mutant(df, folder / "m.csv", rng, rng.choice(CSV_OPS))
    return write_parquet_mutant(
        df, folder / "m.parquet", rng, rng.choice(PARQUET_TYPES)
    )


@settings(FUZZ, max_examples=40)
@given(seed=st.integers(0, 2**32 - 1), fmt=st.sampled_from(["csv", "parquet"]))
def test_validate_reads_or_refuses_every_table_mutant(
    base, seed, fmt, tmp_path_factory
):
    check_table(_mutant(base, seed, fmt, tmp_path_factory.mktemp("t")))


@settings(FUZZ, max_examples=10)
@given(seed=st.integers(0, 2**32 - 1), fmt=st.sampled_from(["csv", "parquet"]))
def test_score_agrees_with_validate_on_table_mutants(
    base, tiny_model, seed, fmt, tmp_path_factory
):
    folder = tmp_path_factory.mktemp("s")
    check_table(_mutant(base, seed, fmt, folder), tiny_model, folder)


@pytest.mark.parametrize("op", CSV_OPS)
def test_each_csv_damage_once(base, tiny_model, op, tmp_path):
    path = write_csv_mutant(base, tmp_path / "m.csv", random.Random(1), op)
    check_table(path, tiny_model, tmp_path)


@pytest.mark.parametrize("kind", PARQUET_TYPES)
def test_each_parquet_type_once(base, tiny_model, kind, tmp_path):
    path = write_parquet_mutant(base, tmp_path / "m.parquet", random.Random(1), kind)
    check_table(path, tiny_model, tmp_path)


@pytest.mark.parametrize(
    "dates",
    [
        ["2025-01-01T00:00:00+05:00", "2025-01-01T00:00:00Z"],
        ["2262-04-12", "2025-01-02"],
    ],
    ids=["mixed_time_zones", "out_of_range"],
)
def test_date_damage(base, dates, tmp_path):
    """Dates outside datetime64[ns] and mixed time zones in one column are
    read or quarantined, never a crash (issue #15 items 5 and 12)."""
    df = base.head(2).copy()
    df["date_of_service"] = dates
    path = write_csv_mutant(df, tmp_path / "m.csv", random.Random(0), "plain")
    check_table(path)


def test_folder_whose_files_disagree_on_types_agrees(base, tiny_model, tmp_path):
    """units int64 in one file and text in another: validate and score read the
    folder alike (the column is read as text) instead of score refusing it."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from ptdenial.io import read_claims
    from ptdenial.schema import validate_claims
    from ptdenial.scoring import score_file

    folder = tmp_path / "night"
    folder.mkdir()
    pq.write_table(pa.Table.from_pandas(base.head(8)), folder / "a.parquet")
    typed = base.iloc[8:].copy()
    typed["units"] = typed["units"].astype(int)
    pq.write_table(pa.Table.from_pandas(typed), folder / "b.parquet")
    valid, quarantine = validate_claims(read_claims(folder), run_date="2026-01-01")
    run = score_file(tiny_model, folder, tmp_path / "s.parquet", as_of="2026-01-01")
    counts = run.manifest["counts"]
    assert counts["rows_in"] == len(base) == len(valid) + len(quarantine)
    assert (counts["scored"], counts["quarantined"]) == (len(valid), len(quarantine))


def test_huge_uint64_line_numbers_are_quarantined_by_score(base, tiny_model, tmp_path):
    """Found by bench_fuzz: ``line_number`` as uint64 beyond int64 crashed the
    key pass of ``score``; the rows are now quarantined like ``validate`` does."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(base.head(6), preserve_index=False)
    i = table.schema.get_field_index("line_number")
    huge = np.arange(6, dtype=np.uint64) + np.uint64(2**63)
    table = table.set_column(i, "line_number", pa.array(huge))
    path = tmp_path / "m.parquet"
    pq.write_table(table, path)
    out = check_table(path, tiny_model, tmp_path)
    assert out["score"] == out["validate"]

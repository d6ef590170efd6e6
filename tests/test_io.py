import gzip

import pandas as pd
import pytest

from ptdenial import schema as S
from ptdenial.exceptions import InputFileError
from ptdenial.io import (
    claim_files,
    file_sha256,
    iter_claim_batches,
    read_claims,
    table_format,
    write_json,
    write_table,
)
from ptdenial.schema import validate_claims

RUN = "2025-06-30"


@pytest.fixture
def valid(tiny_claims):
    return validate_claims(tiny_claims, run_date=RUN).valid


@pytest.mark.parametrize("name", ["t.parquet", "t.csv", "t.csv.gz"])
def test_round_trip_through_files(tmp_path, valid, name):
    path = write_table(valid, tmp_path / name)
    assert path == tmp_path / name
    again, quarantine = validate_claims(read_claims(path), run_date=RUN)
    assert len(quarantine) == 0
    pd.testing.assert_frame_equal(
        again.reset_index(drop=True), valid.reset_index(drop=True)
    )


def test_gzip_csv_is_really_gzipped(tmp_path, valid):
    path = write_table(valid, tmp_path / "t.csv.gz")
    with gzip.open(path, "rt") as fh:
        assert fh.readline().startswith("claim_id")


def test_csv_reads_everything_as_text(tmp_path, tiny_claims):
    path = tmp_path / "raw.csv"
    tiny_claims.to_csv(path, index=False)
    raw = read_claims(path)
    assert raw["units"].tolist() == ["2", "1", "1", "3", "1"]
    assert raw["modifiers"].isna().sum() == 2


def test_parquet_folder_and_batches(tmp_path, valid):
    folder = tmp_path / "claims"
    write_table(valid.iloc[:3], folder / "part-0.parquet")
    write_table(valid.iloc[3:], folder / "part-1.parquet")
    assert len(claim_files(folder)) == 2
    assert len(read_claims(folder)) == 5
    batches = list(iter_claim_batches(folder, batch_rows=2))
    assert [len(b) for b in batches] == [2, 1, 2]
    assert [list(b.index) for b in batches] == [[0, 1], [2], [3, 4]]


def test_csv_batches_are_bounded_and_contiguous(tmp_path, tiny_claims):
    big = pd.concat([tiny_claims] * 40, ignore_index=True)
    path = tmp_path / "big.csv"
    big.to_csv(path, index=False)
    batches = list(iter_claim_batches(path, batch_rows=7))
    assert max(len(b) for b in batches) <= 7
    assert sum(len(b) for b in batches) == 200
    joined = pd.concat(batches)
    assert list(joined.index) == list(range(200))
    assert joined["claim_id"].tolist() == big["claim_id"].tolist()


def test_column_subset(tmp_path, valid):
    path = write_table(valid, tmp_path / "t.parquet")
    assert list(read_claims(path, columns=[S.CLAIM_ID, "nope"]).columns) == [S.CLAIM_ID]


def test_atomic_write_leaves_no_partial_file(tmp_path, valid, monkeypatch):
    target = tmp_path / "out.parquet"
    import pyarrow.parquet as pq

    def boom(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(pq, "write_table", boom)
    with pytest.raises(RuntimeError):
        write_table(valid, target)
    assert list(tmp_path.iterdir()) == []


def test_atomic_write_replaces_existing(tmp_path, valid):
    target = tmp_path / "out.csv"
    target.write_text("old")
    write_table(valid, target)
    assert target.read_text().startswith("claim_id")
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"]


def test_bad_paths_give_clear_errors(tmp_path):
    with pytest.raises(InputFileError, match="no such file"):
        read_claims(tmp_path / "missing.parquet")
    (tmp_path / "x.txt").write_text("a")
    with pytest.raises(InputFileError, match="suffix"):
        read_claims(tmp_path / "x.txt")
    (tmp_path / "bad.parquet").write_text("not parquet")
    with pytest.raises(InputFileError, match="bad.parquet"):
        read_claims(tmp_path / "bad.parquet")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(InputFileError, match="no .parquet files"):
        read_claims(empty)
    with pytest.raises(InputFileError):
        write_table(pd.DataFrame({"a": [1]}), tmp_path / "x.xlsx")


def test_table_format_and_hash(tmp_path):
    assert table_format("a.PARQUET") == "parquet"
    p = write_json({"b": 1, "a": [1, 2]}, tmp_path / "m.json")
    assert p.read_text().startswith('{\n  "a"')
    assert len(file_sha256(p)) == 64


def test_atomic_path_replaces_the_target_in_one_step(tmp_path):
    from ptdenial.io import atomic_path

    target = tmp_path / "sub" / "out.csv"
    with atomic_path(target) as tmp:
        assert tmp.parent == target.parent and tmp != target
        assert not tmp.name.endswith(".csv") and tmp.name.startswith(".out.csv.")
        tmp.write_text("new")
    assert target.read_text() == "new"
    assert sorted(p.name for p in target.parent.iterdir()) == ["out.csv"]


def test_atomic_path_keeps_the_old_file_and_removes_the_temp_on_error(tmp_path):
    from ptdenial.io import atomic_path

    target = tmp_path / "out.json"
    target.write_text("old")
    with pytest.raises(RuntimeError, match="writer failed"):
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("writer failed")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.json"]


def test_atomic_path_gives_each_writer_its_own_temp(tmp_path):
    from ptdenial.io import atomic_path

    target = tmp_path / "model.skops"
    with atomic_path(target) as first, atomic_path(target) as second:
        assert first != second
        first.write_text("a")
        second.write_text("b")
    assert target.read_text() == "a"  # the outer block ends last
    assert [p.name for p in tmp_path.iterdir()] == ["model.skops"]

"""What happens at the limit: training refuses a history it cannot hold (issue 19)."""

from __future__ import annotations

import pytest

from ptdenial.cli import main
from ptdenial.exceptions import MemoryLimitError, PtdenialError
from ptdenial.model import check_training_memory, parse_size
from ptdenial.model._memory import TRAIN_BASE_BYTES, TRAIN_BYTES_PER_LINE

SAMPLE = "data/sample/history.parquet"


def test_estimate_is_lines_times_the_measured_cost():
    need = check_training_memory(1_000_000, limit="64GiB")
    assert need == TRAIN_BASE_BYTES + 1_000_000 * TRAIN_BYTES_PER_LINE
    # the 1M-line measurement it comes from: 7,461 MiB peak, plus the base
    assert 7.4 * 2**30 < need < 8.0 * 2**30


def test_over_the_limit_names_it_and_the_ways_out():
    with pytest.raises(MemoryLimitError) as info:
        check_training_memory(15_000_000, limit="24GiB", source="h.parquet")
    msg = str(info.value)
    assert msg.startswith("h.parquet: 15,000,000 lines")
    assert "24.0 GiB" in msg and "--engine spark" in msg and "shorter window" in msg
    assert isinstance(info.value, PtdenialError) and isinstance(info.value, MemoryError)


@pytest.mark.parametrize(
    ("text", "value"), [("2GiB", 2**31), ("512M", 2**29), ("1.5g", 3 * 2**29)]
)
def test_parse_size(text, value):
    assert parse_size(text) == value


def test_parse_size_says_how_to_write_it():
    with pytest.raises(ValueError, match="16GiB"):
        parse_size("lots")


def test_cli_train_refuses_before_reading_with_exit_4(tmp_path, capsys):
    out = tmp_path / "model.skops"
    code = main(["train", SAMPLE, "--out", str(out), "--memory-limit", "100MiB"])
    assert code == 4
    err = capsys.readouterr().err
    assert "46,711 lines" in err and "--engine spark" in err and "0.1 GiB" in err
    assert not out.exists()


"""Fuzzed X12 (issue #15): mutants of generated and public 837P/835 files are
read or refused with ptdenial's own error naming the file, lose no line and
leak no patient name or member id. The long run is bench/bench_fuzz.py."""

from __future__ import annotations

import random

import pytest
from fuzz_x12 import check_mutant, generated_files, mutate, phi_tokens, public_files
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

FUZZ = settings(
    max_examples=15,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


@pytest.fixture(scope="module")
def bases(tmp_path_factory):
    folder = tmp_path_factory.mktemp("x12-bases")
    gen = generated_files(folder)
    out = {"generated": [], "public": []}
    for path in gen:
        text = path.read_text(encoding="latin-1")
        out["generated"].append((path.suffix[1:], text, phi_tokens(text)))
    for path in public_files():
        text = path.read_text(encoding="latin-1")
        kind = "835" if "*835*" in text[:2000] or "|835|" in text[:2000] else "837"
        out["public"].append((kind, text, phi_tokens(text)))
    return out


def _run(bases, which, seed, n_ops, tmp_path):
    if not bases[which]:
        pytest.skip("public X12 files are absent (../shared/data/x12-public)")
    rng = random.Random(seed)
    kind, text, phi = rng.choice(bases[which])
    mutant, _ops = mutate(text, rng, n_ops)
    path = tmp_path / f"mutant-{seed}.{kind}"
    path.write_bytes(mutant.encode("latin-1", errors="replace"))
    check_mutant(path, kind, phi)


@FUZZ
@given(seed=st.integers(0, 2**32 - 1), n_ops=st.integers(1, 3))
def test_generated_x12_mutants(bases, seed, n_ops, tmp_path_factory):
    _run(bases, "generated", seed, n_ops, tmp_path_factory.mktemp("m"))


@FUZZ
@given(seed=st.integers(0, 2**32 - 1), n_ops=st.integers(1, 3))
def test_public_x12_mutants(bases, seed, n_ops, tmp_path_factory):
    _run(bases, "public", seed, n_ops, tmp_path_factory.mktemp("m"))


def test_unmutated_files_keep_every_line(bases, tmp_path):
    """The oracle agrees with the reader on intact files (a quarter of the
    public ones here; bench/bench_fuzz.py reads them all)."""
    for which in ("generated", "public"):
        step = 1 if which == "generated" else 4
        for i, (kind, text, phi) in enumerate(bases[which][::step]):
            path = tmp_path / f"{which}-{i}.{kind}"
            path.write_text(text, encoding="latin-1")
            check_mutant(path, kind, phi)

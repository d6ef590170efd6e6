"""A model file proves itself (issue #15 item 7, 13, 14): edits inside the archive
are refused with or without the card, cards are checked, keys sign models."""

from __future__ import annotations

import hashlib
import json
import zipfile

import pytest

from ptdenial.cli import main
from ptdenial.datasets import make_claims
from ptdenial.exceptions import ModelVersionError
from ptdenial.model import DenialRiskModel, load_model, save_model
from ptdenial.model._persistence import INTEGRITY_MEMBER


@pytest.fixture(scope="module")
def small_model():
    claims = make_claims(150, random_state=3).claims
    return DenialRiskModel(n_estimators=8, n_jobs=1, linear_base=False).fit(claims)


@pytest.fixture
def saved(small_model, tmp_path, monkeypatch):
    monkeypatch.delenv("PTDENIAL_MODEL_KEY", raising=False)
    monkeypatch.delenv("PTDENIAL_MODEL_KEY_FILE", raising=False)
    return save_model(small_model, tmp_path / "m.skops")


def _card(path):
    return path.with_name(path.name + ".card.json")


def _edit_member(path, *, keep_record=True):
    """Change one number inside the archive: the last byte of its largest array
    (a real edit: the archive stays a valid skops file that loads)."""
    with zipfile.ZipFile(path) as z:
        files = {n: z.read(n) for n in z.namelist()}
    name = max((n for n in files if n.endswith(".npy")), key=lambda n: len(files[n]))
    data = bytearray(files[name])
    data[-1] ^= 0x01
    files[name] = bytes(data)
    with zipfile.ZipFile(path, "w") as z:
        for n, b in files.items():
            if n != INTEGRITY_MEMBER or keep_record:
                z.writestr(n, b)
    return name


def _recompute_card(path):
    card = json.loads(_card(path).read_text())
    card["file_sha256"] = hashlib.sha256(path.read_bytes()).hexdigest()
    _card(path).write_text(json.dumps(card))


def test_saved_model_loads_and_says_what_was_verified(saved):
    model = load_model(saved)
    assert model.integrity_["verified"] == "integrity record and card"
    with zipfile.ZipFile(saved) as z:
        assert INTEGRITY_MEMBER in z.namelist()


@pytest.mark.parametrize("card", ["kept", "deleted", "recomputed"])
def test_model_edited_inside_its_archive_is_refused(saved, card):
    _edit_member(saved)
    if card == "deleted":
        _card(saved).unlink()
    elif card == "recomputed":
        _recompute_card(saved)
    with pytest.raises(ModelVersionError, match="refused"):
        load_model(saved)
    # trusting an unverified file never accepts a proven edit
    if card != "kept":
        with pytest.raises(ModelVersionError, match="edited after it was saved"):
            load_model(saved, trust_unverified=True)


def test_record_removed_and_card_recomputed_is_refused(saved):
    _edit_member(saved, keep_record=False)
    _recompute_card(saved)
    with pytest.raises(ModelVersionError, match="no integrity record"):
        load_model(saved)


def test_missing_card_refused_unless_trusted(saved):
    _card(saved).unlink()
    with pytest.raises(ModelVersionError, match="card m.skops.card.json is missing"):
        load_model(saved)
    assert load_model(saved, trust_unverified=True).model_id


@pytest.mark.parametrize(
    "content, what",
    [
        (b"{not json", "not valid JSON"),
        (b"[1, 2, 3]", "JSON list"),
        (b"\x89PNG\r\n\x1a\n\xff\xfe\x00", "not text"),
        (b'"just a string"', "JSON str"),
    ],
)
def test_bad_card_is_refused_clearly(saved, content, what):
    _card(saved).write_bytes(content)
    with pytest.raises(ModelVersionError, match=what):
        load_model(saved)


def test_hash_mismatch_prints_full_distinct_hashes(saved):
    card = json.loads(_card(saved).read_text())
    real = card["file_sha256"]
    card["file_sha256"] = real[:16] + ("0" if real[16] != "0" else "1") + real[17:]
    _card(saved).write_text(json.dumps(card))
    with pytest.raises(ModelVersionError) as info:
        load_model(saved)
    msg = str(info.value)
    assert real in msg and card["file_sha256"] in msg


def test_signed_model_needs_the_same_key(small_model, tmp_path, monkeypatch):
    monkeypatch.setenv("PTDENIAL_MODEL_KEY", "practice-secret")
    path = save_model(small_model, tmp_path / "s.skops")
    assert load_model(path).integrity_["verified"] == "signature"
    monkeypatch.setenv("PTDENIAL_MODEL_KEY", "another-secret")
    with pytest.raises(ModelVersionError, match="signature does not match"):
        load_model(path)
    # a key file works like the variable
    monkeypatch.delenv("PTDENIAL_MODEL_KEY")
    key_file = tmp_path / "model.key"
    key_file.write_text("practice-secret\n")
    monkeypatch.setenv("PTDENIAL_MODEL_KEY_FILE", str(key_file))
    assert load_model(path).integrity_["signed"]


def test_signed_record_rewritten_without_key_is_refused(
    small_model, tmp_path, monkeypatch
):
    """An attacker who edits a member and rewrites the record and the card
    consistently, but has no key, is caught by the signature."""
    monkeypatch.setenv("PTDENIAL_MODEL_KEY", "practice-secret")
    path = save_model(small_model, tmp_path / "s.skops")
    with zipfile.ZipFile(path) as z:
        files = {n: z.read(n) for n in z.namelist()}
    record = json.loads(files[INTEGRITY_MEMBER])
    name = _edit_member(path)
    with zipfile.ZipFile(path) as z:
        record["members"][name] = hashlib.sha256(z.read(name)).hexdigest()
        files = {n: z.read(n) for n in z.namelist()}
    files[INTEGRITY_MEMBER] = json.dumps(record).encode()
    with zipfile.ZipFile(path, "w") as z:
        for n, b in files.items():
            z.writestr(n, b)
    _recompute_card(path)
    with pytest.raises(ModelVersionError, match="signature does not match"):
        load_model(path)


def test_unsigned_model_refused_when_a_key_is_configured(saved, monkeypatch):
    monkeypatch.setenv("PTDENIAL_MODEL_KEY", "practice-secret")
    with pytest.raises(ModelVersionError, match="not signed"):
        load_model(saved)


def test_cli_model_checks(saved, tmp_path, capsys):
    from ptdenial.io import write_table

    claims = write_table(make_claims(40, random_state=5).claims, tmp_path / "c.csv")
    out = tmp_path / "s.parquet"
    # --model naming a folder
    code = main(["score", str(claims), "--model", str(tmp_path), "--out", str(out)])
    assert code == 2 and "is a folder" in capsys.readouterr().err
    # a missing card: refused, then accepted with --trust-unverified-model
    _card(saved).unlink()
    code = main(["evaluate", str(claims), "--model", str(saved)])
    err = capsys.readouterr().err
    assert code == 2 and "--trust-unverified-model" in err
    code = main(
        ["evaluate", str(claims), "--model", str(saved), "--trust-unverified-model"]
    )
    err = capsys.readouterr().err
    assert code in (0, 3) and "loaded without full verification" in err

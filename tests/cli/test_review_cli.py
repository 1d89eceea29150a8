"""Adversarial review (session 4): config files the parser chokes on, passwords in messages."""

from __future__ import annotations

import os
from collections.abc import Callable

import pytest

from onetoone.cli import ExitCode
from onetoone.cli import _pipeline as pipeline


@pytest.mark.parametrize(
    "content",
    [
        b'version = 1\ntitle = "caf\xe9"\n',  # Latin-1, not UTF-8
        b"\xff\xfe\x00\x00binary",
        ("a = " + "[" * 5000 + "]" * 5000 + "\n").encode(),
        ("a = " + "{b = " * 3000 + "1" + "}" * 3000 + "\n").encode(),
    ],
    ids=["latin1", "binary", "deep-arrays", "deep-tables"],
)
def test_unparseable_config_is_bad_input_not_a_bug(
    tmp_path: os.PathLike[str], cli: Callable[..., tuple[int, str, str]], content: bytes
) -> None:
    path = os.path.join(tmp_path, "campaign.toml")
    with open(path, "wb") as f:
        f.write(content)
    code, _, err = cli("validate", "--config", path)
    assert code == ExitCode.BAD_INPUT, err
    assert "is not valid TOML" in err and "internal error" not in err


@pytest.mark.parametrize(
    ("dsn", "secret"),
    [
        ("postgresql://shop:p%40ss%20w@db/erp", "p@ss w"),  # the driver may show it decoded
        ("host=db user=shop password='it\\'s s3cret' dbname=erp", "it's s3cret"),
        ("postgresql://shop:pa/ss@db/erp", "pa/ss"),
    ],
)
def test_every_spelling_of_a_password_is_scrubbed(dsn: str, secret: str) -> None:
    pipeline.SECRETS.clear()
    try:
        pipeline._remember_password(dsn)
        assert secret not in pipeline.scrub(f"FATAL: password {secret!r} rejected for {dsn}")
        assert secret not in pipeline.redact_dsn(dsn)
        assert "s3cret" not in pipeline.redact_dsn(dsn)  # nor a tail after an escaped quote
    finally:
        pipeline.SECRETS.clear()


def test_an_empty_password_does_not_garble_messages() -> None:
    pipeline.SECRETS.clear()
    try:
        pipeline._remember_password("host=db user=shop password='' dbname=erp")
        pipeline._remember_password("postgresql://shop:@db/erp")
        assert pipeline.scrub("cannot connect to db") == "cannot connect to db"
    finally:
        pipeline.SECRETS.clear()

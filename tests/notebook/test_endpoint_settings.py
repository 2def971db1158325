"""What `batchmagic setup --endpoint-url URL` writes is enough for a notebook: with no AWS
credentials anywhere the magic reaches that emulator as the setup command did."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from batchmagic.aws.clients import AwsClients
from batchmagic.cli import main
from batchmagic.settings import settings_file


def _no_credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
                 "AWS_PROFILE", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
                 "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_WEB_IDENTITY_TOKEN_FILE"):
        monkeypatch.delenv(name, raising=False)


def test_a_notebook_runs_on_the_endpoint_setup_configured_without_credentials(
        ip: Any, local_clients: AwsClients, monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    _no_credentials(monkeypatch, tmp_path)
    monkeypatch.setenv("BATCHMAGIC_CONFIG", str(tmp_path / "settings.json"))
    url = local_clients.target.endpoint_url
    assert url
    assert main(["setup", "--name", "endpointnb", "--endpoint-url", url]) == 0
    assert settings_file().exists()
    capsys.readouterr()
    run = ip.run_cell_magic("aws_batch", "", "print('on the endpoint')")
    assert run.status == "SUCCEEDED" and run.logs == ["on the endpoint"]
    assert run.record.endpoint_url == url and run.record.emulator

"""Sessions share what botocore reads from disk; each still has its own credentials."""

from __future__ import annotations

from pathlib import Path

import pytest

from batchmagic.aws.clients import AwsClients, AwsTarget, load_models


def loader(clients: AwsClients) -> object:
    return clients.session._session.get_component("data_loader")


def test_sessions_share_one_loader_and_its_models(emulator_url: str) -> None:
    load_models(("sts",))
    first = AwsClients(AwsTarget(endpoint_url=emulator_url, emulator=True))
    second = AwsClients(AwsTarget(endpoint_url="http://127.0.0.1:9", emulator=True))
    assert loader(first) is loader(second)
    assert first.sts.get_caller_identity()["Account"]  # the shared models work over HTTP
    assert first.sts is not second.sts


def test_a_data_path_gets_its_own_loader(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                         emulator_url: str) -> None:
    default = AwsClients(AwsTarget(endpoint_url=emulator_url, emulator=True))
    monkeypatch.setenv("AWS_DATA_PATH", str(tmp_path))
    custom = AwsClients(AwsTarget(endpoint_url=emulator_url, emulator=True))
    assert loader(custom) is not loader(default)
    assert str(tmp_path) in loader(custom).search_paths  # type: ignore[attr-defined]

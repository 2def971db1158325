"""A real IPython shell with batchmagic loaded; cells run in a fresh working directory."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from IPython.core.interactiveshell import InteractiveShell

from batchmagic.aws.clients import AwsClients
from batchmagic.run.target import local_target


@pytest.fixture(scope="session")
def shell() -> InteractiveShell:
    ip = InteractiveShell.instance()
    ip.run_line_magic("load_ext", "batchmagic")
    return ip


@pytest.fixture()
def ip(shell: InteractiveShell, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.chdir(tmp_path)
    magics = shell.magics_manager.registry["AwsBatchMagics"]
    magics.layers.session.clear()
    yield shell
    magics.layers.session.clear()


@pytest.fixture()
def local_clients() -> AwsClients:
    """Clients for the background emulator that --local runs use."""
    return AwsClients(local_target())

"""What a bootstrap run left: its exit code, output, and the result and pulled values it wrote
(shared by the subprocess and in-process bootstrap tests)."""

from __future__ import annotations

import json
import pickle
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass
class Finished:
    code: int
    stdout: str
    stderr: str
    workdir: Path

    @property
    def result(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads((self.workdir / ".batchmagic/result.json").read_text())
        return data

    @property
    def pulled(self) -> dict[str, Any]:
        with open(self.workdir / ".batchmagic/pull.pkl", "rb") as handle:
            data: dict[str, Any] = pickle.load(handle)
        return data

"""A stand-in for the ``kestra`` Python package, shipped next to the cell by batchmagic.

``from kestra import Kestra; Kestra.outputs({...})`` works in a cell even when the image lacks
the real package. The bootstrap puts this directory at the *end* of ``sys.path``, so a real
``kestra`` installed in the image wins. Lines are printed exactly like the real library
(kestra-io/libs, python/src/kestra.py): ``"::" + json.dumps(message) + "::"`` on stdout.

Standard library only; runs on Python 3.8+.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from collections.abc import Callable
from typing import Any

# Every output sent, merged in order: the bootstrap copies this into result.json.
_collected: dict[str, Any] = {}
# Every metric sent, in order.
_metrics_sent: list[dict[str, Any]] = []

BATCHMAGIC_STANDIN = True


class Kestra:
    """Outputs and metrics through stdout lines, as Kestra's script tasks expect them."""

    _logger: logging.Logger | None = None

    @staticmethod
    def format(message: dict[str, Any]) -> str:
        """The Kestra line format: ``::<JSON>::``."""
        return "::" + json.dumps(message, default=str) + "::"

    @staticmethod
    def _send(message: dict[str, Any]) -> None:
        print(Kestra.format(message), flush=True)

    @staticmethod
    def outputs(map_: dict[str, Any]) -> None:
        """Send key-value outputs; they come back with the run's result."""
        _collected.update(map_)
        Kestra._send({"outputs": map_})

    @staticmethod
    def _metrics(name: str, type_: str, value: Any, tags: dict[str, Any] | None) -> None:
        metric = {"name": name, "type": type_, "value": value, "tags": tags or {}}
        _metrics_sent.append(metric)
        Kestra._send({"metrics": [metric]})

    @staticmethod
    def counter(name: str, value: float, tags: dict[str, Any] | None = None) -> None:
        """Send a counter metric."""
        Kestra._metrics(name, "counter", value, tags)

    @staticmethod
    def timer(
        name: str,
        duration: float | Callable[[], Any],
        tags: dict[str, Any] | None = None,
    ) -> None:
        """Send a timer metric in seconds; a callable is called and timed."""
        if callable(duration):
            start = time.perf_counter()
            duration()
            duration = time.perf_counter() - start
        Kestra._metrics(name, "timer", duration, tags)

    @staticmethod
    def logger() -> logging.Logger:
        """A logger writing INFO and below to stdout, WARNING and above to stderr."""
        if Kestra._logger is not None:
            return Kestra._logger
        logger = logging.getLogger("Kestra")
        logger.setLevel(logging.DEBUG)
        formatter = logging.Formatter("%(levelname)s %(message)s")
        out = logging.StreamHandler(sys.stdout)
        out.setLevel(logging.DEBUG)
        out.addFilter(lambda record: record.levelno <= logging.INFO)
        out.setFormatter(formatter)
        err = logging.StreamHandler(sys.stderr)
        err.setLevel(logging.WARNING)
        err.setFormatter(formatter)
        logger.addHandler(out)
        logger.addHandler(err)
        Kestra._logger = logger
        return logger

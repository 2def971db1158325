"""Where each effective setting comes from.

Precedence, highest first: the cell's options > session defaults (``%aws_batch_config``) >
``BATCHMAGIC_*`` environment variables > IPython configuration (``ipython_config.py``,
``%config AwsBatchMagics.bucket = ...``) > the settings file written by ``batchmagic setup`` >
built-in defaults.
"""

from __future__ import annotations

import dataclasses
import os
import types
import typing
from collections.abc import Mapping
from typing import Any

from batchmagic.errors import ConfigurationError
from batchmagic.settings import SETTING_NAMES, Settings, read_settings_file

ENV_PREFIX = "BATCHMAGIC_"
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}
_FIELD_TYPES = typing.get_type_hints(Settings)

LAYER_NAMES = ("cell", "session", "environment", "config", "setup file")
# Settings that point at AWS: when no layer sets any of them, cells run on the local emulator.
AWS_MARKERS = ("bucket", "queue", "compute_environment", "endpoint_url")


def _base_type(name: str) -> type:
    hint = _FIELD_TYPES[name]
    if isinstance(hint, types.UnionType):
        hint = next(t for t in typing.get_args(hint) if t is not type(None))
    return typing.cast(type, hint)


def coerce(name: str, value: Any, origin: str) -> Any:
    """Convert a raw value (often a string) to the setting's type, or explain why it can't be."""
    if name not in SETTING_NAMES:
        raise ConfigurationError(f"{origin}: unknown setting {name!r}")
    if value is None:
        return None
    kind = _base_type(name)
    try:
        if kind is bool:
            if isinstance(value, bool):
                return value
            text = str(value).strip().lower()
            if text in _TRUE:
                return True
            if text in _FALSE:
                return False
            raise ValueError("expected true/false")
        if kind is int:
            return int(value)
        if kind is float:
            return float(value)
        return str(value)
    except ValueError as error:
        raise ConfigurationError(
            f"{origin}: {name} = {value!r} is not a valid {kind.__name__} ({error})"
        ) from None


def environment_values(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Settings given as ``BATCHMAGIC_<NAME>`` environment variables (e.g. BATCHMAGIC_BUCKET)."""
    environ = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    for name in SETTING_NAMES:
        raw = environ.get(ENV_PREFIX + name.upper())
        if raw not in (None, ""):
            values[name] = coerce(name, raw, f"environment variable {ENV_PREFIX}{name.upper()}")
    return values


@dataclasses.dataclass
class ConfigLayers:
    """The layers below the cell; ``resolve`` adds the cell's own options on top."""

    session: dict[str, Any] = dataclasses.field(default_factory=dict)
    config: dict[str, Any] = dataclasses.field(default_factory=dict)
    environ: Mapping[str, str] | None = None

    def layers(self, cell: Mapping[str, Any]) -> list[tuple[str, Mapping[str, Any]]]:
        return [
            ("cell", cell),
            ("session", self.session),
            ("environment", environment_values(self.environ)),
            ("config", self.config),
            ("setup file", read_settings_file()),
        ]

    def resolve(self, cell: Mapping[str, Any] | None = None) -> tuple[Settings, dict[str, str]]:
        """Effective settings and, for each, the layer it came from ('built-in' if none)."""
        values: dict[str, Any] = {}
        sources: dict[str, str] = {}
        for layer_name, layer in reversed(self.layers(cell or {})):
            for name, value in layer.items():
                if value is not None and name in SETTING_NAMES:
                    values[name] = coerce(name, value, layer_name)
                    sources[name] = layer_name
        for name in SETTING_NAMES:
            sources.setdefault(name, "built-in")
        return Settings().with_values(**values), sources


def local_when_unset(settings: Settings, sources: dict[str, str],
                     ) -> tuple[Settings, dict[str, str]]:
    """``settings`` with ``local`` on when no layer sets any AWS setting (``AWS_MARKERS``)."""
    if not settings.local and all(sources[m] == "built-in" for m in AWS_MARKERS):
        settings = settings.with_values(local=True)
        sources["local"] = "default (no AWS settings configured)"
    return settings, sources

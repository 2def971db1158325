"""``%aws_batch_envs``: the environments cached in the bucket, as a table."""

from __future__ import annotations

import html
from collections.abc import Sequence

from batchmagic.aws.clients import AwsClients, AwsTarget
from batchmagic.run.envcache import CachedEnvironment, cache_prefix, list_environments
from batchmagic.settings import Settings

COLUMNS = ("key", "size", "age", "python", "packages")


def _age(seconds: float) -> str:
    for unit, length in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= length:
            return f"{seconds / length:.0f} {unit}"
    return f"{seconds:.0f} s"


def _row(env: CachedEnvironment) -> dict[str, str]:
    return {"key": env.key[:16], "size": f"{env.size / 1e6:.1f} MB", "age": _age(env.age_s),
            "python": env.python, "packages": " ".join(env.requirements)}


class EnvironmentsTable:
    """Text in a terminal, HTML in Jupyter; iterating gives the environments."""

    def __init__(self, environments: Sequence[CachedEnvironment], where: str) -> None:
        self.environments = list(environments)
        self.where = where

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self.environments)

    def __len__(self) -> int:
        return len(self.environments)

    def __repr__(self) -> str:
        if not self.environments:
            return f"no cached environments under {self.where}"
        rows = [_row(env) for env in self.environments]
        widths = {c: max(len(c), *(len(r[c]) for r in rows)) for c in COLUMNS}
        lines = ["  ".join(c.ljust(widths[c]) for c in COLUMNS)]
        lines += ["  ".join(r[c].ljust(widths[c]) for c in COLUMNS) for r in rows]
        return "\n".join([f"cached environments under {self.where}", *lines])

    def _repr_html_(self) -> str:
        if not self.environments:
            return f"<p>no cached environments under <code>{html.escape(self.where)}</code></p>"
        head = "".join(f"<th>{html.escape(c)}</th>" for c in COLUMNS)
        body = "".join("<tr>" + "".join(f"<td>{html.escape(r[c])}</td>" for c in COLUMNS)
                       + "</tr>" for r in map(_row, self.environments))
        return (f"<p>cached environments under <code>{html.escape(self.where)}</code></p>"
                f"<table><tr>{head}</tr>{body}</table>")


def cached_environments(target: AwsTarget, settings: Settings) -> EnvironmentsTable:
    """The table of the environments cached under the settings' bucket and prefix."""
    bucket = settings.bucket or ""
    return EnvironmentsTable(list_environments(AwsClients.shared(target), bucket, settings.prefix),
                             f"s3://{bucket}/{cache_prefix(settings.prefix)}")

"""The only place that creates boto3 sessions and clients (their errors: ``aws/errors.py``).

AWS and the embedded emulator differ only in the endpoint URL and the credentials: nothing else
in batchmagic branches on the backend.
"""

from __future__ import annotations

import functools
import threading
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError
from botocore.loaders import Loader, create_loader

from batchmagic.aws.errors import aws_errors
from batchmagic.aws.timestamps import use_fast_timestamps

# The emulator accepts any credentials; these fixed ones keep a user's real keys off the wire
# when the target is the local emulator.
EMULATOR_CREDENTIALS = {"aws_access_key_id": "batchmagic", "aws_secret_access_key": "batchmagic"}


# Service models and endpoint rules, read once per process: every session made here shares one
# botocore loader per data path, so the clients of a new session cost milliseconds, not a tenth
# of a second each (the loader only reads files; nothing changes what it returns).
_loaders: dict[str, Loader] = {}
_loaders_lock = threading.Lock()
# Held while ``load_models`` reads the models: a client wanted meanwhile waits for them instead
# of reading them a second time (other clients are made side by side, as before).
_loading_models = threading.Lock()


def _share_loader(session: boto3.Session) -> None:
    try:
        data_path = str(session._session.get_config_variable("data_path") or "")
    except BotoCoreError:  # e.g. a profile that does not exist: the first call says so
        return
    with _loaders_lock:
        if data_path not in _loaders:
            _loaders[data_path] = create_loader(data_path or None)
        loader = _loaders[data_path]
    session._session.register_component("data_loader", loader)


@dataclass(frozen=True)
class AwsTarget:
    """Where AWS calls go: a region, and optionally a profile or an endpoint URL (the emulator)."""

    region: str = "us-east-1"
    profile: str | None = None
    endpoint_url: str | None = None
    emulator: bool = False

    def describe(self) -> str:
        where = f"emulator at {self.endpoint_url}" if self.emulator else "AWS"
        profile = f", profile {self.profile}" if self.profile else ""
        return f"{where} ({self.region}{profile})"


class AwsClients:
    """boto3 clients for one target, created lazily and shared (boto3 clients are thread-safe)."""

    _shared: dict[AwsTarget, AwsClients] = {}  # noqa: RUF012 - a process-wide cache
    _shared_lock = threading.Lock()

    @classmethod
    def shared(cls, target: AwsTarget) -> AwsClients:
        """One set of clients per target for the life of the kernel: building a session and
        loading service models costs a tenth of a second or more per run."""
        with cls._shared_lock:
            if target not in cls._shared:
                cls._shared[target] = cls(target)
            return cls._shared[target]

    def __init__(self, target: AwsTarget, *, max_pool_connections: int = 32) -> None:
        self.target = target
        credentials: dict[str, str] = EMULATOR_CREDENTIALS if target.emulator else {}
        self.session = boto3.Session(
            profile_name=None if target.emulator else target.profile,
            region_name=target.region,
            **credentials,
        )
        _share_loader(self.session)
        use_fast_timestamps(self.session)  # same datetimes, a fraction of the CPU
        # Every call retries itself: throttling, 5xx and broken connections, with client-side
        # rate limiting (adaptive mode). What still fails after 8 attempts reaches aws/errors.py.
        self._config = Config(
            retries={"max_attempts": 8, "mode": "adaptive"},
            max_pool_connections=max_pool_connections,
            connect_timeout=10,
            read_timeout=60,
        )
        self._lock = threading.Lock()

    @functools.cached_property
    def batch(self) -> Any:
        return self.client("batch")

    @functools.cached_property
    def s3(self) -> Any:
        return self.client("s3")

    @functools.cached_property
    def logs(self) -> Any:
        return self.client("logs")

    @functools.cached_property
    def iam(self) -> Any:
        return self.client("iam")

    @functools.cached_property
    def ec2(self) -> Any:
        return self.client("ec2")

    @functools.cached_property
    def sts(self) -> Any:
        return self.client("sts")

    @functools.cached_property
    def identity(self) -> dict[str, Any]:
        """GetCallerIdentity, once per target and kernel."""
        with aws_errors("GetCallerIdentity"):
            return dict(self.sts.get_caller_identity())

    @property
    def account_id(self) -> str:
        return str(self.identity["Account"])

    @property
    def partition(self) -> str:
        """``aws``, ``aws-cn``, ``aws-us-gov``...: the caller's ARN says which (never assume)."""
        return partition_of(str(self.identity.get("Arn", "")))

    @functools.cached_property
    def logs_streaming(self) -> Any:
        """A Logs client for StartLiveTail.

        - Host prefix: botocore sends StartLiveTail to its ``hostPrefix`` host (``stream-logs.
          REGION.amazonaws.com``; the model's ``endpoint.hostPrefix``): AWS needs it. Only a
          custom endpoint (the emulator, 127.0.0.1) turns it off, since ``stream-127.0.0.1``
          does not resolve.
        - Timeouts: AWS sends a session update every second (StartLiveTail reference), so 10 s
          of silence is a dead session; a 1 s connect timeout and no retries make a refused or
          unreachable live tail fall back to polling at once.
        """
        return self.client("logs", Config(
            inject_host_prefix=self.target.endpoint_url is None,
            connect_timeout=1, read_timeout=10,
            retries={"total_max_attempts": 1, "mode": "standard"}))

    @functools.cached_property
    def batch_submit(self) -> Any:
        """A Batch client without automatic retries, for SubmitJob: it has no idempotency
        token, so a retry after a lost answer would start the cell a second time
        (batchmagic.aws.submit looks the job up instead)."""
        return self.client("batch", Config(retries={"total_max_attempts": 1, "mode": "standard"}))

    def client(self, service: str, config: Config | None = None) -> Any:
        # boto3.Session.client is not thread-safe; clients themselves are.
        with _loading_models:
            pass
        with self._lock:
            return self._make_client(service, config)

    def _make_client(self, service: str, config: Config | None = None) -> Any:
        return self.session.client(
            service,
            endpoint_url=self.target.endpoint_url,
            config=self._config.merge(config) if config else self._config,
        )


def load_models(services: tuple[str, ...] = ("sts", "logs", "s3", "iam", "ec2", "batch"),
                ) -> None:
    """Read what clients of ``services`` need (models, endpoint rules) into the shared loader,
    before the endpoint is known: the clients made afterwards are made at once."""
    clients = AwsClients(AwsTarget(endpoint_url="http://127.0.0.1:9", emulator=True))
    with _loading_models:
        for service in services:
            clients._make_client(service)


def partition_of(arn: str) -> str:
    """The partition of an ARN (``arn:PARTITION:service:...``); ``aws`` if it is not one."""
    parts = arn.split(":")
    return parts[1] if len(parts) > 2 and parts[0] == "arn" and parts[1] else "aws"


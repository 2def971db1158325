"""What a run costs (an estimate at list price) and what it used of its size.

Prices: AWS Fargate pricing page (Linux, per second with a one-minute minimum; vCPU-hours and
GB-hours; ephemeral storage above the free 20 GB per GB-hour; Fargate Spot "up to 70 % off"),
read on PRICE_DATE. EC2 jobs run on instances the compute environment chooses; their estimate
is the job's share of a general-purpose on-demand instance (m6i: 4 GiB per vCPU), memory
included. ``refresh_prices`` replaces the built-in row with the Price List API's when the
credentials allow (``pricing:GetProducts``). Estimates, not bills: taxes, data transfer, NAT and
CloudWatch are not included.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from batchmagic.aws.clients import AwsTarget
from batchmagic.aws.job import JobSnapshot
from batchmagic.jobdef.layout import MAIN
from batchmagic.jobdef.sizes import FARGATE_MEMORY

PRICE_DATE = "2025-06"
# region -> (x86 vCPU-hour, x86 GB-hour, arm64 vCPU-hour, arm64 GB-hour), USD, Fargate Linux.
_US = (0.04048, 0.004445, 0.03238, 0.00356)
_HIGHER = (0.04656, 0.00511, 0.03725, 0.00409)
_ASIA = (0.05056, 0.00553, 0.04045, 0.00442)
FARGATE_PRICES: dict[str, tuple[float, float, float, float]] = {
    "us-east-1": _US, "us-east-2": _US, "us-west-2": _US, "eu-west-1": _US,
    "us-west-1": _HIGHER, "eu-central-1": _HIGHER, "eu-west-2": _HIGHER, "eu-west-3": _HIGHER,
    "eu-north-1": _US, "ca-central-1": _US,
    "ap-southeast-1": _ASIA, "ap-northeast-1": _ASIA, "ap-southeast-2": _ASIA,
    "ap-south-1": _US, "sa-east-1": _ASIA,
}
DEFAULT_REGION = "us-east-1"
EPHEMERAL_GB_HOUR = 0.000111
FREE_EPHEMERAL_GIB = 20
SPOT_DISCOUNT = 0.70
EC2_VCPU_HOUR = 0.048  # m6i.large on-demand, us-east-1: $0.096 an hour for 2 vCPU / 8 GiB
MINIMUM_SECONDS = 60


@dataclass(frozen=True)
class CostEstimate:
    """``usd`` at list price, and how it was reached (shown next to the figure)."""

    usd: float
    basis: str

    def __str__(self) -> str:
        return f"≈ ${self.usd:.4f} ({self.basis})"


def _prices(region: str, arch: str) -> tuple[float, float]:
    row = FARGATE_PRICES.get(region) or FARGATE_PRICES[DEFAULT_REGION]
    return (row[2], row[3]) if arch == "arm64" else (row[0], row[1])


def estimate(*, platform: str, cpu: float, memory_mib: int, seconds: float, region: str,
             arch: str = "x86_64", spot: bool = False, ephemeral_gib: int | None = None,
             gpus: int = 0) -> CostEstimate:
    """The run's cost at list price (Fargate's one-minute minimum included)."""
    hours = max(seconds, MINIMUM_SECONDS) / 3600
    if platform == "ec2":
        usd = cpu * EC2_VCPU_HOUR * hours
        basis = f"{cpu:g} vCPU share of on-demand EC2 for {_duration(seconds)}"
        if gpus:
            basis += f", {gpus} GPU not priced"
    else:
        vcpu_hour, gb_hour = _prices(region, arch)
        usd = cpu * vcpu_hour * hours + memory_mib / 1024 * gb_hour * hours
        extra = max(0, (ephemeral_gib or 0) - FREE_EPHEMERAL_GIB)
        usd += extra * EPHEMERAL_GB_HOUR * hours
        basis = (f"Fargate {arch} {cpu:g} vCPU, {memory_mib / 1024:g} GB for "
                 f"{_duration(seconds)}" + ("" if region in FARGATE_PRICES else
                                            f", {DEFAULT_REGION} prices"))
    if spot:
        usd *= 1 - SPOT_DISCOUNT
        basis += ", Spot"
    return CostEstimate(usd, f"{basis}; list prices of {PRICE_DATE}")


def _duration(seconds: float) -> str:
    if seconds < MINIMUM_SECONDS:
        return f"{seconds:.0f} s (billed 1 min)"
    return f"{seconds / 60:.1f} min"


def smallest_fargate(cpu_needed: float, memory_needed_mib: int) -> tuple[float, int] | None:
    """The smallest valid Fargate pair with at least this much vCPU and memory."""
    for cpu, memories in sorted(FARGATE_MEMORY.items()):
        if cpu < cpu_needed:
            continue
        for memory in memories:
            if memory >= memory_needed_mib:
                return cpu, memory
    return None


@dataclass(frozen=True)
class Usage:
    """What the cell used, measured by the bootstrap in the main container."""

    max_rss_mib: float
    cpu_seconds: float
    wall_seconds: float

    @classmethod
    def parse(cls, raw: Any) -> Usage | None:
        if not isinstance(raw, dict):
            return None
        try:
            return cls(float(raw["max_rss_mib"]), float(raw["cpu_seconds"]),
                       float(raw["wall_seconds"]))
        except (KeyError, TypeError, ValueError):
            return None

    @property
    def cpu_used(self) -> float:
        """Average vCPUs busy over the cell's run."""
        return self.cpu_seconds / self.wall_seconds if self.wall_seconds > 0 else 0.0


def right_size(usage: Usage, *, platform: str, cpu: float, memory_mib: int,
               main_memory_mib: int) -> str | None:
    """One line suggesting a better size when the run used far less, or hit its memory limit."""
    if usage.max_rss_mib >= 0.9 * main_memory_mib:
        bigger = min((m for ms in FARGATE_MEMORY.values() for m in ms if m >= 2 * memory_mib),
                     default=2 * memory_mib)
        return (f"main peaked at {usage.max_rss_mib:.0f} MiB of its {main_memory_mib} MiB: "
                f"near the limit; try --memory {bigger}")
    if platform != "fargate" or usage.wall_seconds < 5:
        return None
    # Headroom: 1.5x the peak memory and the average CPU, plus the sidecars' slices.
    fit = smallest_fargate(usage.cpu_used * 1.5, int(usage.max_rss_mib * 1.5) + 256)
    if fit is None or (fit[0] >= cpu and fit[1] >= memory_mib):
        return None
    if usage.max_rss_mib > 0.25 * main_memory_mib and usage.cpu_used > 0.25 * cpu:
        return None
    return (f"used {usage.max_rss_mib:.0f} MiB and {usage.cpu_used:.2f} of {cpu:g} vCPU: "
            f"--cpu {fit[0]:g} --memory {fit[1]} would do")


PRICE_KEYS = ("Fargate-vCPU-Hours:perCPU", "Fargate-GB-Hours", "Fargate-ARM-vCPU-Hours:perCPU",
              "Fargate-ARM-GB-Hours")


def parse_price_list(products: list[str]) -> tuple[float, float, float, float] | None:
    """The Fargate row (x86 vCPU-hour, GB-hour, arm64 vCPU-hour, GB-hour) of a Price List API
    ``GetProducts`` answer (each product a JSON string), or None when one is missing."""
    found: dict[str, float] = {}
    for text in products:
        product = json.loads(text)
        usage = product.get("product", {}).get("attributes", {}).get("usagetype", "")
        key = next((k for k in PRICE_KEYS if usage.endswith("-" + k)), None)
        if key is None:
            continue
        for term in product.get("terms", {}).get("OnDemand", {}).values():
            for dimension in term.get("priceDimensions", {}).values():
                price = float(dimension.get("pricePerUnit", {}).get("USD", 0) or 0)
                if price > 0:
                    found[key] = price
    if not all(k in found for k in PRICE_KEYS):
        return None
    return (found[PRICE_KEYS[0]], found[PRICE_KEYS[1]], found[PRICE_KEYS[2]], found[PRICE_KEYS[3]])


def refresh_prices(clients: Any, region: str) -> bool:
    """Replace ``region``'s built-in Fargate prices with the Price List API's (best effort:
    False when the API is not reachable or not allowed)."""
    try:
        pricing = clients.session.client("pricing", region_name="us-east-1")
        products = pricing.get_products(
            ServiceCode="AmazonECS",
            Filters=[{"Type": "TERM_MATCH", "Field": "regionCode", "Value": region},
                     {"Type": "TERM_MATCH", "Field": "operatingSystem", "Value": "Linux"}],
            MaxResults=100)["PriceList"]
    except Exception:  # no permission, no endpoint (the emulator), no network: keep the table
        return False
    row = parse_price_list(products)
    if row is None:
        return False
    FARGATE_PRICES[region] = row
    return True


@dataclass(frozen=True)
class JobSize:
    """A job's size as DescribeJobs reports it (the containers' sum is the task's size)."""

    platform: str
    cpu: float
    memory_mib: int
    main_memory_mib: int
    ephemeral_gib: int | None
    arch: str
    gpus: int

    @classmethod
    def from_description(cls, desc: dict[str, Any]) -> JobSize | None:
        tasks = (desc.get("ecsProperties") or {}).get("taskProperties") or []
        if not tasks:
            return None
        cpu, memory, main_memory, gpus = 0.0, 0, 0, 0
        for container in tasks[0].get("containers") or []:
            for requirement in container.get("resourceRequirements") or []:
                kind, value = requirement.get("type"), requirement.get("value", "0")
                if kind == "VCPU":
                    cpu += float(value)
                elif kind == "MEMORY":
                    memory += int(value)
                    if container.get("name") == MAIN:
                        main_memory = int(value)
                elif kind == "GPU":
                    gpus += int(value)
        platforms = desc.get("platformCapabilities") or ["FARGATE"]
        storage = (tasks[0].get("ephemeralStorage") or {}).get("sizeInGiB")
        arch = ((tasks[0].get("runtimePlatform") or {}).get("cpuArchitecture") or "X86_64")
        return cls("ec2" if "EC2" in platforms else "fargate", cpu, memory, main_memory,
                   storage, "arm64" if arch.upper() == "ARM64" else "x86_64", gpus)


def snapshot_cost(snapshot: JobSnapshot | None, target: AwsTarget, *,
                  spot: bool = False) -> CostEstimate | None:
    """A job's estimated cost so far at list price (on the emulator: what it would cost on
    Fargate); None before it started."""
    if snapshot is None or snapshot.started_at is None:
        return None
    end = snapshot.stopped_at or datetime.now(timezone.utc)
    seconds = (end - snapshot.started_at).total_seconds()
    return job_cost(snapshot.raw, seconds, target.region, spot=spot, emulated=target.emulator)


def job_cost(desc: dict[str, Any], seconds: float, region: str, *, spot: bool = False,
             emulated: bool = False) -> CostEstimate | None:
    """What a described job cost (on the emulator: what it would have cost on Fargate)."""
    size = JobSize.from_description(desc)
    if size is None or size.cpu <= 0:
        return None
    platform = "fargate" if emulated else size.platform
    cost = estimate(platform=platform, cpu=size.cpu, memory_mib=size.memory_mib,
                    seconds=seconds, region=region, arch=size.arch, spot=spot,
                    ephemeral_gib=size.ephemeral_gib, gpus=size.gpus)
    if emulated:
        return CostEstimate(cost.usd, f"on Fargate; {cost.basis}")
    return cost


_refreshing: set[str] = set()


def refresh_prices_in_background(clients: Any, region: str) -> None:
    """Once per kernel and region, on AWS: the Price List API's figures replace the table's."""
    if clients.target.emulator or region in _refreshing:
        return
    _refreshing.add(region)
    threading.Thread(target=refresh_prices, args=(clients, region), daemon=True,
                     name="batchmagic-prices").start()

"""Cost estimates at list price and right-sizing suggestions (pure functions)."""

from __future__ import annotations

import json

import pytest

from batchmagic.run.cost import (
    EC2_VCPU_HOUR,
    FARGATE_PRICES,
    JobSize,
    Usage,
    estimate,
    right_size,
    smallest_fargate,
)

VCPU_H, GB_H, ARM_VCPU_H, ARM_GB_H = FARGATE_PRICES["us-east-1"]


def test_fargate_is_vcpu_and_gb_hours_with_a_one_minute_minimum() -> None:
    hour = estimate(platform="fargate", cpu=1, memory_mib=2048, seconds=3600,
                    region="us-east-1")
    assert hour.usd == pytest.approx(VCPU_H + 2 * GB_H)
    short = estimate(platform="fargate", cpu=1, memory_mib=2048, seconds=5, region="us-east-1")
    assert short.usd == pytest.approx((VCPU_H + 2 * GB_H) / 60)
    assert "billed 1 min" in short.basis


def test_spot_arm_and_ephemeral_storage_change_the_price() -> None:
    base = dict(platform="fargate", cpu=2, memory_mib=4096, seconds=3600, region="us-east-1")
    on_demand = estimate(**base).usd  # type: ignore[arg-type]
    assert estimate(**base, spot=True).usd == pytest.approx(on_demand * 0.3)  # type: ignore[arg-type]
    assert estimate(**base, arch="arm64").usd == pytest.approx(  # type: ignore[arg-type]
        2 * ARM_VCPU_H + 4 * ARM_GB_H)
    assert estimate(**base, ephemeral_gib=50).usd == pytest.approx(  # type: ignore[arg-type]
        on_demand + 30 * 0.000111)


def test_ec2_is_a_vcpu_share_of_an_instance() -> None:
    cost = estimate(platform="ec2", cpu=4, memory_mib=8192, seconds=1800, region="eu-west-1")
    assert cost.usd == pytest.approx(4 * EC2_VCPU_HOUR / 2)
    assert "EC2" in cost.basis


def test_an_unknown_region_uses_us_east_1_and_says_so() -> None:
    cost = estimate(platform="fargate", cpu=1, memory_mib=2048, seconds=60, region="xx-mars-1")
    assert "us-east-1 prices" in cost.basis


def test_right_size_suggests_the_smallest_fitting_pair_or_more_memory() -> None:
    idle = Usage(max_rss_mib=200, cpu_seconds=6, wall_seconds=60)
    assert right_size(idle, platform="fargate", cpu=4, memory_mib=16384,
                      main_memory_mib=15360) == (
        "used 200 MiB and 0.10 of 4 vCPU: --cpu 0.25 --memory 1024 would do")
    full = Usage(max_rss_mib=1900, cpu_seconds=50, wall_seconds=60)
    assert "try --memory 4096" in (right_size(full, platform="fargate", cpu=1, memory_mib=2048,
                                              main_memory_mib=2048 - 256) or "")
    busy = Usage(max_rss_mib=1500, cpu_seconds=55, wall_seconds=60)
    assert right_size(busy, platform="fargate", cpu=1, memory_mib=2048,
                      main_memory_mib=1792) is None
    assert smallest_fargate(3, 100) == (4.0, 8192)


def test_job_size_reads_describe_jobs() -> None:
    desc = {"platformCapabilities": ["FARGATE"], "ecsProperties": {"taskProperties": [{
        "containers": [
            {"name": "stage-in", "resourceRequirements": [
                {"type": "VCPU", "value": "0.125"}, {"type": "MEMORY", "value": "128"}]},
            {"name": "main", "resourceRequirements": [
                {"type": "VCPU", "value": "0.75"}, {"type": "MEMORY", "value": "1792"}]},
            {"name": "stage-out", "resourceRequirements": [
                {"type": "VCPU", "value": "0.125"}, {"type": "MEMORY", "value": "128"}]}],
        "runtimePlatform": {"cpuArchitecture": "ARM64"},
        "ephemeralStorage": {"sizeInGiB": 30}}]}}
    assert JobSize.from_description(desc) == JobSize("fargate", 1.0, 2048, 1792, 30, "arm64", 0)


def test_the_price_table_stays_when_the_price_list_api_is_not_reachable(clients: object) -> None:
    from batchmagic.run.cost import refresh_prices

    before = dict(FARGATE_PRICES)
    assert refresh_prices(clients, "us-east-1") is False  # the emulator has no Price List API
    assert before == FARGATE_PRICES


def _product(usage: str, usd: str) -> str:
    """One product as the Price List API's GetProducts returns it (a JSON string)."""
    return json.dumps({
        "product": {"attributes": {"usagetype": usage, "regionCode": "eu-west-3"}},
        "terms": {"OnDemand": {"T1": {"priceDimensions": {"D1": {
            "unit": "hours", "pricePerUnit": {"USD": usd}}}}}}})


def test_a_price_list_answer_gives_the_regions_fargate_row() -> None:
    from batchmagic.run.cost import parse_price_list

    products = [_product("EUW3-Fargate-vCPU-Hours:perCPU", "0.0472"),
                _product("EUW3-Fargate-GB-Hours", "0.0052"),
                _product("EUW3-Fargate-ARM-vCPU-Hours:perCPU", "0.0378"),
                _product("EUW3-Fargate-ARM-GB-Hours", "0.0041"),
                _product("EUW3-Fargate-EphemeralStorage-GB-Hours", "0.0001"),
                _product("EUW3-Fargate-Windows-OS-Hours:perCPU", "0.05")]
    assert parse_price_list(products) == (0.0472, 0.0052, 0.0378, 0.0041)
    assert parse_price_list(products[:3]) is None  # one figure missing: keep the table
    assert parse_price_list([_product("EUW3-Fargate-GB-Hours", "0"), *products[:1]]) is None

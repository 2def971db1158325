"""Cost estimates at list price and right-sizing suggestions (pure functions)."""

from __future__ import annotations

import json
import time

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


# --- what the run's summary shows ------------------------------------------------------------


def test_the_basis_says_how_the_figure_was_reached() -> None:
    fargate = estimate(platform="fargate", cpu=0.5, memory_mib=1536, seconds=90,
                       region="eu-west-3")
    assert str(fargate) == (f"≈ ${fargate.usd:.4f} (Fargate x86_64 0.5 vCPU, 1.5 GB for 1.5 min; "
                            "list prices of 2025-06)")
    assert fargate.usd == pytest.approx(
        (0.5 * FARGATE_PRICES["eu-west-3"][0] + 1.5 * FARGATE_PRICES["eu-west-3"][1]) * 90 / 3600)
    short = estimate(platform="fargate", cpu=1, memory_mib=2048, seconds=59.6, region="mars",
                     spot=True)
    assert short.basis == ("Fargate x86_64 1 vCPU, 2 GB for 60 s (billed 1 min), us-east-1 "
                           "prices, Spot; list prices of 2025-06")
    assert estimate(platform="fargate", cpu=1, memory_mib=2048, seconds=60,
                    region="us-east-1").basis.startswith("Fargate x86_64 1 vCPU, 2 GB for 1.0 min;")
    ec2 = estimate(platform="ec2", cpu=3, memory_mib=4096, seconds=30, region="us-east-1",
                   gpus=1, spot=True)
    assert ec2.basis == ("3 vCPU share of on-demand EC2 for 30 s (billed 1 min), 1 GPU not "
                         "priced, Spot; list prices of 2025-06")
    assert ec2.usd == pytest.approx(3 * EC2_VCPU_HOUR / 60 * 0.3)


def test_ephemeral_storage_costs_only_above_the_free_20_gib() -> None:
    base = dict(platform="fargate", cpu=1, memory_mib=2048, seconds=7200, region="us-east-1")
    free = estimate(**base).usd  # type: ignore[arg-type]
    assert estimate(**base, ephemeral_gib=20).usd == pytest.approx(free)  # type: ignore[arg-type]
    assert estimate(**base, ephemeral_gib=21).usd == pytest.approx(  # type: ignore[arg-type]
        free + 2 * 0.000111)
    ec2 = estimate(platform="ec2", cpu=3, memory_mib=4096, seconds=120, region="us-east-1")
    assert ec2.basis == "3 vCPU share of on-demand EC2 for 2.0 min; list prices of 2025-06"


def test_the_smallest_fargate_pair_is_the_first_that_holds_both() -> None:
    assert smallest_fargate(0.25, 512) == (0.25, 512)
    assert smallest_fargate(0.25, 513) == (0.25, 1024)
    assert smallest_fargate(0.26, 512) == (0.5, 1024)
    assert smallest_fargate(0.25, 2049) == (0.5, 3072)
    assert smallest_fargate(16, 122880) == (16.0, 122880)
    assert smallest_fargate(16.5, 1) is None
    assert smallest_fargate(1, 200_000) is None


@pytest.mark.parametrize(("raw", "expected"), [
    ({"max_rss_mib": 12.5, "cpu_seconds": 3, "wall_seconds": "6"}, Usage(12.5, 3.0, 6.0)),
    ({"max_rss_mib": 12.5, "cpu_seconds": 3}, None),
    ({"max_rss_mib": None, "cpu_seconds": 3, "wall_seconds": 6}, None),
    ({"max_rss_mib": "lots", "cpu_seconds": 3, "wall_seconds": 6}, None),
    ({}, None),
    (None, None),
    ([1, 2, 3], None),
])
def test_usage_is_read_from_the_result_or_left_out(raw: object, expected: Usage | None) -> None:
    assert Usage.parse(raw) == expected


def test_cpu_used_is_the_average_number_of_busy_vcpus() -> None:
    assert Usage(100, cpu_seconds=30, wall_seconds=60).cpu_used == 0.5
    assert Usage(100, cpu_seconds=30, wall_seconds=0).cpu_used == 0.0


FARGATE_4_VCPU = dict(platform="fargate", cpu=4.0, memory_mib=16384, main_memory_mib=15360)


def test_the_suggestion_leaves_half_again_the_peak_and_256_mib_for_the_sidecars() -> None:
    # 1.5 x 512 MiB + 256 MiB is exactly 1,024 MiB: the smallest Fargate pair that holds it.
    peak = Usage(max_rss_mib=512, cpu_seconds=6, wall_seconds=60)
    assert (right_size(peak, **FARGATE_4_VCPU) or "").endswith(  # type: ignore[arg-type]
        "--cpu 0.25 --memory 1024 would do")
    # The smallest fit is the size the run already has: no suggestion.
    tiny = Usage(max_rss_mib=100, cpu_seconds=0.6, wall_seconds=60)
    assert right_size(tiny, platform="fargate", cpu=0.25, memory_mib=512,
                      main_memory_mib=256) is None


def test_near_the_memory_limit_more_memory_is_suggested_on_any_platform() -> None:
    near = Usage(max_rss_mib=0.9 * 1792, cpu_seconds=1, wall_seconds=1)
    assert right_size(near, platform="ec2", cpu=3, memory_mib=2048, main_memory_mib=1792) == (
        "main peaked at 1613 MiB of its 1792 MiB: near the limit; try --memory 4096")
    below = Usage(max_rss_mib=0.9 * 1792 - 1, cpu_seconds=1, wall_seconds=1)
    assert right_size(below, platform="ec2", cpu=3, memory_mib=2048, main_memory_mib=1792) is None
    # Past Fargate's largest size, twice the memory is still the suggestion.
    huge = Usage(max_rss_mib=100_000, cpu_seconds=1, wall_seconds=1)
    assert (right_size(huge, platform="ec2", cpu=16, memory_mib=102_400,
                       main_memory_mib=102_000) or "").endswith("try --memory 204800")


def test_a_smaller_size_is_suggested_only_after_five_seconds_on_fargate() -> None:
    idle = Usage(max_rss_mib=200, cpu_seconds=0.5, wall_seconds=5)
    assert right_size(idle, **FARGATE_4_VCPU) == (  # type: ignore[arg-type]
        "used 200 MiB and 0.10 of 4 vCPU: --cpu 0.25 --memory 1024 would do")
    brief = Usage(max_rss_mib=200, cpu_seconds=0.4, wall_seconds=4.9)
    assert right_size(brief, **FARGATE_4_VCPU) is None  # type: ignore[arg-type]
    on_ec2 = {**FARGATE_4_VCPU, "platform": "ec2"}
    assert right_size(idle, **on_ec2) is None  # type: ignore[arg-type]


def test_no_suggestion_when_the_size_already_fits_or_is_well_used() -> None:
    # The smallest fit is the size the run had: nothing to suggest.
    fits = Usage(max_rss_mib=300, cpu_seconds=6, wall_seconds=60)
    assert smallest_fargate(0.15, 706) == (0.25, 1024)
    assert right_size(fits, platform="fargate", cpu=0.25, memory_mib=1024,
                      main_memory_mib=768) is None
    # Memory well used (over a quarter) and CPU well used: no smaller size is suggested...
    both = Usage(max_rss_mib=4000, cpu_seconds=70, wall_seconds=60)
    assert right_size(both, **FARGATE_4_VCPU) is None  # type: ignore[arg-type]
    # ...but one of them alone over a quarter still leaves room to shrink.
    quarter = Usage(max_rss_mib=0.25 * 15360, cpu_seconds=70, wall_seconds=60)
    assert right_size(quarter, **FARGATE_4_VCPU) is not None  # a quarter is not over a quarter
    quarter_cpu = Usage(max_rss_mib=4000, cpu_seconds=60, wall_seconds=60)
    assert right_size(quarter_cpu, **FARGATE_4_VCPU) is not None
    memory_only = Usage(max_rss_mib=4000, cpu_seconds=6, wall_seconds=60)
    assert right_size(memory_only, **FARGATE_4_VCPU) == (  # type: ignore[arg-type]
        "used 4000 MiB and 0.10 of 4 vCPU: --cpu 1 --memory 7168 would do")
    cpu_only = Usage(max_rss_mib=300, cpu_seconds=70, wall_seconds=60)
    assert right_size(cpu_only, **FARGATE_4_VCPU) == (  # type: ignore[arg-type]
        "used 300 MiB and 1.17 of 4 vCPU: --cpu 2 --memory 4096 would do")


def _described(platform: str = "FARGATE", **task: object) -> dict[str, object]:
    return {"platformCapabilities": [platform], "ecsProperties": {"taskProperties": [{
        "containers": [
            {"name": "stage-in", "resourceRequirements": [
                {"type": "VCPU", "value": "1"}, {"type": "MEMORY", "value": "256"}]},
            {"name": "main", "resourceRequirements": [
                {"type": "VCPU", "value": "2"}, {"type": "MEMORY", "value": "3584"},
                {"type": "GPU", "value": "1"}]},
            {"name": "stage-out", "resourceRequirements": [
                {"type": "VCPU", "value": "1"}, {"type": "MEMORY", "value": "256"}]}],
        **task}]}}


def test_job_size_of_an_ec2_job_with_a_gpu() -> None:
    assert JobSize.from_description(_described("EC2")) == JobSize(
        "ec2", 4.0, 4096, 3584, None, "x86_64", 1)
    assert JobSize.from_description(_described(
        runtimePlatform={"cpuArchitecture": "arm64"})).arch == "arm64"
    assert JobSize.from_description({"jobId": "j"}) is None
    assert JobSize.from_description({"ecsProperties": {"taskProperties": []}}) is None
    # A requirement without a value counts as zero; a description without platforms is Fargate.
    bare = {"ecsProperties": {"taskProperties": [{"containers": [
        {"name": "main", "resourceRequirements": [{"type": "VCPU"}, {"type": "MEMORY"}]}]}]}}
    assert JobSize.from_description(bare) == JobSize("fargate", 0.0, 0, 0, None, "x86_64", 0)
    # The task's size is the sum of its containers', GPUs included; main's memory is its own.
    two_gpus = _described("EC2")
    two_gpus["ecsProperties"]["taskProperties"][0]["containers"][0][  # type: ignore[index]
        "resourceRequirements"].append({"type": "GPU", "value": "1"})
    assert JobSize.from_description(two_gpus).gpus == 2  # type: ignore[union-attr]
    no_main = {"ecsProperties": {"taskProperties": [{"containers": [
        {"name": "other", "resourceRequirements": [{"type": "MEMORY", "value": "512"}]}]}]}}
    assert JobSize.from_description(no_main).main_memory_mib == 0  # type: ignore[union-attr]


def test_a_described_job_is_priced_by_its_size_and_platform() -> None:
    from batchmagic.run.cost import job_cost

    ec2 = job_cost(_described("EC2"), 3600, "us-east-1")
    assert ec2 is not None and ec2.usd == pytest.approx(4 * EC2_VCPU_HOUR)
    assert ec2.basis.startswith("4 vCPU share of on-demand EC2 for 60.0 min, 1 GPU not priced")
    spot = job_cost(_described(), 3600, "us-east-1", spot=True)
    assert spot is not None and spot.basis.endswith(", Spot; list prices of 2025-06")
    # On the emulator: what the same job would cost on Fargate.
    emulated = job_cost(_described("EC2"), 3600, "us-east-1", emulated=True)
    assert emulated is not None
    assert emulated.basis == ("on Fargate; Fargate x86_64 4 vCPU, 4 GB for 60.0 min; list "
                              "prices of 2025-06")
    assert emulated.usd == pytest.approx(4 * VCPU_H + 4 * GB_H)
    assert job_cost({"jobId": "j"}, 60, "us-east-1") is None
    small = job_cost(_described(), 60, "us-east-1")
    assert small is not None and small.usd > 0
    quarter = {"ecsProperties": {"taskProperties": [{"containers": [{"name": "main",
               "resourceRequirements": [{"type": "VCPU", "value": "0.25"},
                                        {"type": "MEMORY", "value": "512"}]}]}]}}
    assert job_cost(quarter, 3600, "us-east-1") == estimate(
        platform="fargate", cpu=0.25, memory_mib=512, seconds=3600, region="us-east-1")
    arm_disk = _described(runtimePlatform={"cpuArchitecture": "ARM64"},
                          ephemeralStorage={"sizeInGiB": 50})
    priced = job_cost(arm_disk, 3600, "us-east-1")
    assert priced is not None
    assert priced.usd == pytest.approx(4 * ARM_VCPU_H + 4 * ARM_GB_H + 30 * 0.000111)
    assert priced.basis.startswith("Fargate arm64 4 vCPU")
    no_cpu = {"ecsProperties": {"taskProperties": [{"containers": [{"name": "main"}]}]}}
    assert job_cost(no_cpu, 60, "us-east-1") is None


def test_a_jobs_cost_so_far_runs_from_its_start_to_its_stop() -> None:
    from batchmagic.aws.clients import AwsTarget
    from batchmagic.aws.job import JobSnapshot
    from batchmagic.run.cost import snapshot_cost

    aws = AwsTarget(region="eu-west-3")
    desc = {**_described(), "jobId": "j", "jobName": "cell", "status": "SUCCEEDED",
            "startedAt": 1_700_000_000_000, "stoppedAt": 1_700_000_000_000 + 1_800_000}
    cost = snapshot_cost(JobSnapshot.from_description(desc), aws)
    assert cost is not None
    assert cost.usd == pytest.approx(
        (4 * FARGATE_PRICES["eu-west-3"][0] + 4 * FARGATE_PRICES["eu-west-3"][1]) / 2)
    spot = snapshot_cost(JobSnapshot.from_description(desc), aws, spot=True)
    assert spot is not None and spot.usd == pytest.approx(cost.usd * 0.3)
    emulated = snapshot_cost(JobSnapshot.from_description(desc),
                             AwsTarget(region="eu-west-3", emulator=True))
    assert emulated is not None and emulated.basis.startswith("on Fargate; ")
    running = {**desc, "status": "RUNNING", "stoppedAt": None,
               "startedAt": int(time.time() * 1000) - 120_000}
    so_far = snapshot_cost(JobSnapshot.from_description(running), aws)
    assert so_far is not None and "for 2.0 min" in so_far.basis
    assert snapshot_cost(JobSnapshot.from_description({**desc, "startedAt": None}), aws) is None
    assert snapshot_cost(None, aws) is None


def test_only_priced_usage_types_with_a_positive_price_count() -> None:
    from batchmagic.run.cost import parse_price_list

    products = [_product("EUW3-Fargate-vCPU-Hours:perCPU", "0.0472"),
                _product("EUW3-Fargate-GB-Hours", "0.0052"),
                _product("EUW3-Fargate-ARM-vCPU-Hours:perCPU", "0.0378"),
                _product("EUW3-Fargate-ARM-GB-Hours", "0.0041")]
    # A usage type that merely ends like a key ("...ARM-GB-Hours" ends with "GB-Hours") is
    # matched against the whole key after a dash.
    assert parse_price_list(list(reversed(products))) == (0.0472, 0.0052, 0.0378, 0.0041)
    free_tier = _product("EUW3-Fargate-GB-Hours", "0.0")
    assert parse_price_list([*products, free_tier]) == (0.0472, 0.0052, 0.0378, 0.0041)
    no_terms = json.dumps({"product": {"attributes": {"usagetype": "EUW3-Fargate-GB-Hours"}}})
    assert parse_price_list([no_terms, *products[::2]]) is None
    no_dimensions = json.dumps({"product": {"attributes": {"usagetype": "EUW3-Fargate-GB-Hours"}},
                                "terms": {"OnDemand": {"T": {}}}})
    assert parse_price_list([no_dimensions, *products]) == (0.0472, 0.0052, 0.0378, 0.0041)
    no_price = json.dumps({"product": {"attributes": {"usagetype": "EUW3-Fargate-GB-Hours"}},
                           "terms": {"OnDemand": {"T": {"priceDimensions": {"D": {}}}}}})
    assert parse_price_list([no_price, products[0], *products[2:]]) is None
    assert parse_price_list([json.dumps({}), *products]) == (0.0472, 0.0052, 0.0378, 0.0041)
    unrelated = _product("EUW3-Fargate-Windows-GB-Hours", "9")
    assert parse_price_list([*products, unrelated])[1] == 0.0052  # type: ignore[index]


def test_prices_are_refreshed_once_per_region_and_never_on_the_emulator(
        emulator_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from batchmagic.aws.clients import AwsClients, AwsTarget
    from batchmagic.run import cost

    monkeypatch.setattr(cost, "_refreshing", set())
    asked: list[dict[str, object]] = []

    def stop(params: dict[str, object], **_: object) -> None:
        asked.append(params)
        raise ConnectionError("not sent: the test only counts the requests")

    def watch(clients: AwsClients) -> AwsClients:
        clients.session.events.register("before-call.pricing.GetProducts", stop)
        return clients

    emulated = watch(AwsClients(AwsTarget(region="eu-west-3", endpoint_url=emulator_url,
                                          emulator=True)))
    cost.refresh_prices_in_background(emulated, "eu-west-3")
    # On an account the Price List API is asked once per region (the request is stopped before
    # it leaves: the table stays, as when the API is not reachable).
    account = watch(AwsClients(AwsTarget(region="eu-west-3", endpoint_url=emulator_url)))
    for _ in range(3):
        cost.refresh_prices_in_background(account, "eu-west-3")
    deadline = time.monotonic() + 30
    while not asked and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.2)
    assert len(asked) == 1
    # Fargate's Linux prices in the region, from the Price List API's endpoint in us-east-1.
    assert asked[0]["url"] == "https://api.pricing.us-east-1.amazonaws.com/"
    assert json.loads(asked[0]["body"]) == {  # type: ignore[arg-type]
        "ServiceCode": "AmazonECS", "MaxResults": 100,
        "Filters": [{"Type": "TERM_MATCH", "Field": "regionCode", "Value": "eu-west-3"},
                    {"Type": "TERM_MATCH", "Field": "operatingSystem", "Value": "Linux"}]}
    assert cost._refreshing == {"eu-west-3"}

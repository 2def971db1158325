"""The emulator's EC2 instance type offerings, read per region on demand, answer as moto's."""

from __future__ import annotations

import gzip
import json
from importlib import resources
from typing import Any

from batchmagic.emulator.motoload import _OfferingsOnDemand
from tests.helpers import client


def moto_file(location_type: str, region: str) -> list[dict[str, Any]]:
    region = region.removesuffix(".json")
    path = (resources.files("moto") / "ec2" / "resources" / "instance_type_offerings"
            / location_type / f"{region}.json.gz")
    data: list[dict[str, Any]] = json.loads(gzip.decompress(path.read_bytes()))
    return data


def test_offerings_are_read_when_a_region_is_first_asked() -> None:
    loaded: list[str] = []

    def load(path: str) -> Any:
        loaded.append(path)
        return moto_file(*path.split("/")[-2:]) if path.endswith(".json") else None

    offerings = _OfferingsOnDemand("availability-zone", load)
    assert loaded == []
    first = offerings["eu-west-1"]
    assert offerings.get("eu-west-1") is first and len(loaded) == 1
    expected = moto_file("availability-zone", "eu-west-1")
    assert first == [{**o, "LocationType": "availability-zone"} for o in expected]
    assert offerings.get("no-such-region", []) == []


def test_describe_instance_type_offerings(emulator_url: str) -> None:
    ec2 = client(emulator_url, "ec2")
    found = ec2.describe_instance_type_offerings(
        LocationType="availability-zone",
        Filters=[{"Name": "instance-type", "Values": ["m5.large"]}])["InstanceTypeOfferings"]
    zones = {o["Location"] for o in found}
    expected = {o["Location"] for o in moto_file("availability-zone", "us-east-1")
                if o["InstanceType"] == "m5.large"}
    assert zones == expected and zones


def test_service_names_listed_once_are_moto_s() -> None:
    from batchmagic.emulator.motoload import (
        _service_name_from_moto_package_name,
        list_service_names_once,
        moto_lookup,
    )

    list_service_names_once()
    moto_own = moto_lookup[0]
    for package in ("iam", "s3", "logs", "ec2", "sts", "batch", "cognitoidp",
                    "resourcegroupstaggingapi", "notaservice"):
        assert _service_name_from_moto_package_name(package) == moto_own(package)
    assert _service_name_from_moto_package_name("cognitoidp") == "cognito-idp"

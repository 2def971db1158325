"""moto's default AMIs: every one exists, as in a real account, made when a region's images,
snapshots or volumes are first read - not for the default VPC, subnets and security groups."""

from __future__ import annotations

import contextlib
import threading
from typing import Any

import boto3

from batchmagic.emulator import defaultamis, motoload
from tests.helpers import unique


def default_image_ids(region: str) -> set[str]:
    """What moto's own ``_load_amis`` makes for a region (its resource files)."""
    from moto.ec2.models.amis import AMIS
    from moto.utilities.utils import load_resource

    found = {ami["ami_id"] for ami in AMIS}
    for path in ("latest_amis", "ecs/optimized_amis"):
        with contextlib.suppress(FileNotFoundError):  # a region without such a file
            found |= {ami["ami_id"]
                      for ami in load_resource(f"ec2/resources/{path}/{region}.json")}
    return found


def fresh_backend(region: str = "eu-north-1") -> Any:
    motoload.import_ec2_models()
    from moto.ec2.models import EC2Backend

    return EC2Backend(region, "111122223333")


def test_the_setup_calls_make_no_image_and_a_read_makes_all() -> None:
    backend = fresh_backend()
    assert defaultamis.pending(backend)
    vpc = backend.default_vpc
    assert backend.describe_subnets(filters={"vpc-id": [vpc.id]})
    group = backend.create_security_group(unique("g"), "d", vpc.id, tags={"k": "v"})
    backend.describe_security_groups(group_ids=[group.id])
    assert defaultamis.pending(backend)

    images = backend.describe_images(owners=["amazon"])
    assert not defaultamis.pending(backend)
    assert {image.id for image in images} == default_image_ids("eu-north-1")
    assert {s.from_ami for s in backend.snapshots.values()} == {i.id for i in images}
    assert not backend.volumes  # moto deletes the volume behind each snapshot


def test_snapshots_and_volumes_read_first_make_them_too() -> None:
    for read in ("snapshots", "volumes"):
        backend = fresh_backend()
        getattr(backend, read)
        assert not defaultamis.pending(backend)
        assert len(backend.amis) == len(default_image_ids("eu-north-1"))


def test_readers_in_other_threads_wait_for_every_image() -> None:
    backend = fresh_backend()
    counts: list[int] = []
    threads = [threading.Thread(target=lambda: counts.append(len(backend.amis)))
               for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert counts == [len(default_image_ids("eu-north-1"))] * 4


def test_through_the_endpoint_images_snapshots_and_tags_are_moto_s(emulator_url: str) -> None:
    region = "eu-west-3"  # a region whose first EC2 request is this test's
    ec2 = boto3.client("ec2", endpoint_url=emulator_url, region_name=region,
                       aws_access_key_id="test", aws_secret_access_key="test")
    vpcs = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"]
    assert vpcs
    images = ec2.describe_images(Owners=["amazon"])["Images"]
    assert {image["ImageId"] for image in images} == default_image_ids(region)
    image = images[0]
    snapshot_id = image["BlockDeviceMappings"][0]["Ebs"]["SnapshotId"]
    snapshots = ec2.describe_snapshots(SnapshotIds=[snapshot_id])["Snapshots"]
    assert snapshots[0]["SnapshotId"] == snapshot_id
    ec2.create_tags(Resources=[image["ImageId"]], Tags=[{"Key": "team", "Value": "x"}])
    tags = ec2.describe_tags(Filters=[{"Name": "resource-id", "Values": [image["ImageId"]]}])
    assert [(t["Key"], t["Value"]) for t in tags["Tags"]] == [("team", "x")]

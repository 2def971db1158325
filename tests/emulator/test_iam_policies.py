"""AWS managed IAM policies: all of them exist, as in a real account, each made when first used;
answers and errors are moto's."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from batchmagic.emulator.iampolicies import (
    LazyManagedPolicies,
    catalog_index,
    defer_aws_managed_policies,
    index_catalog,
)
from tests.helpers import client, unique

EXECUTION_POLICY = "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"
TRUST = json.dumps({"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"},
    "Action": "sts:AssumeRole"}]})


def moto_catalog() -> dict[str, Any]:
    from moto.iam.aws_managed_policies import aws_managed_policies_data

    data: dict[str, Any] = json.loads(aws_managed_policies_data)
    return data


def fresh_backend(monkeypatch: pytest.MonkeyPatch) -> Any:
    from moto.iam.models import IAMBackend

    monkeypatch.setenv("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
    defer_aws_managed_policies()
    return IAMBackend("aws", "123456789012")


def made(backend: Any) -> int:
    """How many policies the backend's table holds now (without making any)."""
    return dict.__len__(backend.managed_policies)


def test_the_index_finds_every_entry_where_json_would() -> None:
    text = '\n {"A": {"Path": "/x/", "Document": {"s": "}{,\\""}},\t"B":{}, "C" : {"Path":null}}'
    index = index_catalog(text)
    assert {name: path for name, (path, _) in index.items()} == {"A": "/x/", "B": "/", "C": "/"}
    decoder = json.JSONDecoder()
    assert [decoder.raw_decode(text, start)[0] for _, start in index.values()] == list(
        json.loads(text).values())
    assert index_catalog(" {} ") == {}
    with pytest.raises(ValueError):
        index_catalog('{"A": {} "B": {}}')


def test_the_index_covers_moto_catalog_in_order() -> None:
    catalog = moto_catalog()
    assert list(catalog_index()) == list(catalog)
    assert all(path == (catalog[name].get("Path") or "/")
               for name, (path, _) in catalog_index().items())


def test_a_new_backend_makes_no_policy_and_a_lookup_makes_one(
        monkeypatch: pytest.MonkeyPatch) -> None:
    backend = fresh_backend(monkeypatch)
    assert isinstance(backend.managed_policies, LazyManagedPolicies)
    assert made(backend) == 0
    assert EXECUTION_POLICY in backend.managed_policies and made(backend) == 0
    policy = backend.get_policy(EXECUTION_POLICY)
    assert made(backend) == 1 and policy.arn == EXECUTION_POLICY
    assert backend.get_policy(EXECUTION_POLICY) is policy
    role = backend.create_role(unique("r"), TRUST, "/", None, "", [], None)
    backend.attach_role_policy(EXECUTION_POLICY, role.name)
    assert made(backend) == 1 and role.managed_policies[EXECUTION_POLICY] is policy
    backend.detach_role_policy(EXECUTION_POLICY, role.name)
    assert made(backend) == 1 and not role.managed_policies


def test_policies_made_on_demand_are_those_moto_makes(monkeypatch: pytest.MonkeyPatch) -> None:
    from moto.iam.models import AWSManagedPolicy

    backend = fresh_backend(monkeypatch)
    catalog = moto_catalog()
    for name in ("AmazonECSTaskExecutionRolePolicy", "AdministratorAccess",
                 next(reversed(catalog))):
        arn = f"arn:aws:iam::aws:policy{catalog[name].get('Path') or '/'}{name}"
        ours = backend.managed_policies[arn]
        theirs = AWSManagedPolicy.from_data(name, "123456789012", "aws", catalog[name])
        assert (ours.arn, ours.path, ours.default_version_id, ours.create_date,
                ours.update_date, ours.versions[0].document) == (
            theirs.arn, theirs.path, theirs.default_version_id, theirs.create_date,
            theirs.update_date, theirs.versions[0].document)


def test_walking_the_table_makes_all_in_moto_order(monkeypatch: pytest.MonkeyPatch) -> None:
    backend = fresh_backend(monkeypatch)
    catalog = moto_catalog()
    own = backend.create_policy("mine", "/", json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}),
        unique("p"), [])
    backend.get_policy(EXECUTION_POLICY)  # one made early
    arns = list(backend.managed_policies)
    expected = [f"arn:aws:iam::aws:policy{entry.get('Path') or '/'}{name}"
                for name, entry in catalog.items()]
    assert arns == [*expected, own.arn]
    assert [p.arn for p in backend.aws_managed_policies] == expected
    assert backend.aws_managed_policies[0] is backend.managed_policies[expected[0]]


def test_setup_attach_and_detach_over_http(emulator_url: str) -> None:
    iam = client(emulator_url, "iam")
    role = unique("role")
    iam.create_role(RoleName=role, AssumeRolePolicyDocument=TRUST)
    iam.attach_role_policy(RoleName=role, PolicyArn=EXECUTION_POLICY)
    attached = iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"]
    assert attached == [{"PolicyName": "AmazonECSTaskExecutionRolePolicy",
                         "PolicyArn": EXECUTION_POLICY}]
    assert iam.get_policy(PolicyArn=EXECUTION_POLICY)["Policy"]["AttachmentCount"] >= 1
    iam.detach_role_policy(RoleName=role, PolicyArn=EXECUTION_POLICY)
    assert iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"] == []


def test_refusals_are_moto_s(emulator_url: str) -> None:
    iam = client(emulator_url, "iam")
    role = unique("role")
    iam.create_role(RoleName=role, AssumeRolePolicyDocument=TRUST)
    missing = "arn:aws:iam::aws:policy/NoSuchPolicyAnywhere"
    with pytest.raises(ClientError) as attach:
        iam.attach_role_policy(RoleName=role, PolicyArn=missing)
    assert attach.value.response["Error"]["Code"] == "NoSuchEntity"
    assert attach.value.response["Error"]["Message"] == (
        f"Policy {missing} does not exist or is not attachable.")
    with pytest.raises(ClientError) as detach:
        iam.detach_role_policy(RoleName=role, PolicyArn=EXECUTION_POLICY)  # not attached
    assert detach.value.response["Error"]["Message"] == f"Policy {EXECUTION_POLICY} was not found."
    with pytest.raises(ClientError) as no_role:
        iam.attach_role_policy(RoleName=unique("nobody"), PolicyArn=EXECUTION_POLICY)
    assert no_role.value.response["Error"]["Code"] == "NoSuchEntity"


def test_list_policies_shows_every_aws_managed_policy(emulator_url: str) -> None:
    iam = client(emulator_url, "iam")
    pages = iam.get_paginator("list_policies").paginate(Scope="AWS")
    arns = [p["Arn"] for page in pages for p in page["Policies"]]
    assert len(arns) == len(moto_catalog()) and EXECUTION_POLICY in arns

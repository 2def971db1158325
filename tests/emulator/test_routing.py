"""moto's choice of service app, made once per host instead of on every request."""

from __future__ import annotations

from typing import Any

import pytest
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

from batchmagic.emulator.routing import CachedDispatcherApplication
from tests.helpers import client, unique

HOSTS = ["s3.us-east-1.amazonaws.com", "logs.eu-west-1.amazonaws.com", "iam.amazonaws.com",
         "sts.us-east-1.amazonaws.com", "ec2.us-west-2.amazonaws.com", "s3", "moto_api",
         "nothing.example.com"]


@pytest.mark.parametrize("host", HOSTS)
def test_the_backend_of_a_host_is_moto_s_own_choice(host: str) -> None:
    ours = CachedDispatcherApplication(create_backend_app)
    moto = DomainDispatcherApplication(create_backend_app)
    expected = moto.get_backend_for_host(host)
    assert ours.get_backend_for_host(host) == expected
    assert ours.get_backend_for_host(host) == expected  # the remembered answer
    assert ours.get_backend_for_host(None) is None


def test_requests_do_not_list_moto_s_package_each_time(
        emulator_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import moto.backends

    s3 = client(emulator_url, "s3")
    bucket = unique("routing")
    s3.create_bucket(Bucket=bucket)  # the host is known from here on
    calls: list[Any] = []
    listing = moto.backends.list_of_moto_modules

    def counted() -> Any:
        calls.append(1)
        return listing()

    monkeypatch.setattr(moto.backends, "list_of_moto_modules", counted)
    for number in range(5):
        s3.put_object(Bucket=bucket, Key=f"k{number}", Body=b"x")
        assert s3.get_object(Bucket=bucket, Key=f"k{number}")["Body"].read() == b"x"
    assert calls == []


def test_no_cors_headers_without_a_bucket_cors_configuration(emulator_url: str) -> None:
    # S3 adds CORS headers only when the bucket's CORS configuration matches the request.
    import urllib.request

    s3 = client(emulator_url, "s3")
    bucket = unique("nocors")
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="k", Body=b"x", ACL="public-read")
    request = urllib.request.Request(f"{emulator_url}/{bucket}/k",
                                     headers={"Origin": "https://example.com"})
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.read() == b"x"
        assert response.headers.get("Access-Control-Allow-Origin") is None

"""The settings a run is checked for before anything else besides where it goes: image names
and counts, each mistake one line naming the option."""

from __future__ import annotations

import pytest

from batchmagic.errors import ConfigurationError
from batchmagic.run.preflight import check_settings
from batchmagic.settings import Settings


@pytest.mark.parametrize("image", [
    "python:3.11-slim", "public.ecr.aws/docker/library/python:3.11-slim",
    "123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/img:v1_2#x",
    "repo/img@sha256:" + "a" * 64, "a" * 255, "Upper.Case/Image:TAG"])
def test_image_names_aws_batch_accepts_pass(image: str) -> None:
    check_settings(Settings(image=image, sidecar_image=image))


@pytest.mark.parametrize("image", ["a" * 256, "python 3.11", "python:3.11\n", "img:ä",
                                   "img:tag!", "img;rm -rf"])
@pytest.mark.parametrize("field", ["image", "sidecar_image"])
def test_an_image_name_aws_batch_refuses_is_one_line_naming_the_option(image: str,
                                                                     field: str) -> None:
    flag = "--image" if field == "image" else "sidecar_image"
    with pytest.raises(ConfigurationError) as caught:
        check_settings(Settings(**{field: image}))
    assert str(caught.value) == (
        f"{flag} {image!r}: not an image name AWS Batch accepts (up to 255 letters, digits and "
        "- _ : . / # @; e.g. python:3.11-slim or public.ecr.aws/docker/library/python:3.11-slim)")


@pytest.mark.parametrize(("field", "flag", "least"), [
    ("runnable_timeout", "--runnable-timeout", 1), ("diagnose_after", "--diagnose-after", 0),
    ("log_tail", "--log-tail", 0)])
def test_counts_below_their_least_are_refused_and_the_least_passes(field: str, flag: str,
                                                                   least: int) -> None:
    check_settings(Settings(**{field: least}))
    with pytest.raises(ConfigurationError) as caught:
        check_settings(Settings(**{field: least - 1}))
    assert str(caught.value) == (
        f"{flag} {least - 1}: use a whole number of at least {least}")


def test_an_unset_runnable_timeout_and_where_the_run_goes_are_checked_too() -> None:
    check_settings(Settings(runnable_timeout=None))
    with pytest.raises(ConfigurationError, match=r"^--bucket Bad_Bucket: "):
        check_settings(Settings(bucket="Bad_Bucket"))

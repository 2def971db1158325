"""The values a run is checked for before anything else, each mistake one line naming the option
before any AWS call, upload or submit: where the run goes (endpoint URL, region, bucket name:
:mod:`batchmagic.aws.where`), image names and negative counts. Image names: the Batch API
reference, TaskContainerProperties.image ("Up to 255 letters (uppercase and lowercase), numbers,
hyphens, underscores, colons, periods, forward slashes, and number signs are allowed", and
``repository-url/image@digest``).
"""

from __future__ import annotations

import re

from batchmagic.aws.where import check_where
from batchmagic.errors import ConfigurationError
from batchmagic.settings import Settings

# Used with fullmatch: "$" would let a final "\n" through.
_IMAGE = re.compile(r"[A-Za-z0-9_.:/#@-]{1,255}")


def check_settings(settings: Settings) -> None:
    """Every check of this module: where the run goes, image names and counts."""
    check_where(settings)
    for flag, image in (("--image", settings.image), ("sidecar_image", settings.sidecar_image)):
        if image and not _IMAGE.fullmatch(image):
            raise ConfigurationError(
                f"{flag} {image!r}: not an image name AWS Batch accepts (up to 255 letters, "
                "digits and - _ : . / # @; e.g. python:3.11-slim or "
                "public.ecr.aws/docker/library/python:3.11-slim)")
    for flag, value, least in (("--runnable-timeout", settings.runnable_timeout, 1),
                               ("--diagnose-after", settings.diagnose_after, 0),
                               ("--log-tail", settings.log_tail, 0)):
        if value is not None and value < least:
            raise ConfigurationError(f"{flag} {value}: use a whole number of at least {least}")

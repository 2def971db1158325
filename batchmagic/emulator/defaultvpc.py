"""The default VPC as AWS makes it: an internet gateway attached and, in the main route table,
``0.0.0.0/0`` to it (Amazon VPC user guide, "Default VPCs": "an internet gateway ... a route
in the main route table that points all traffic (0.0.0.0/0) to the internet gateway").

moto's default VPC has only the local route, so every subnet would look isolated to a check of
its routes (doctor, the RUNNABLE diagnosis). This completes it once per region, through moto's
own EC2 backend, before the region's first EC2 request is answered.
"""

from __future__ import annotations

import re
import threading
from typing import Any

from batchmagic.emulator.logsink import ACCOUNT_ID

_done: set[str] = set()
_lock = threading.Lock()
_REGION = re.compile(r"Credential=[^/]+/\d+/([a-z0-9-]+)/ec2/")


def ec2_region(environ: dict[str, Any]) -> str | None:
    """The region of an EC2 request (from its SigV4 Authorization header), else None."""
    match = _REGION.search(environ.get("HTTP_AUTHORIZATION", ""))
    return match.group(1) if match else None


def complete_default_vpc(region: str) -> None:
    with _lock:
        if region in _done:
            return
        _done.add(region)
        from batchmagic.emulator.motoload import import_ec2_models

        import_ec2_models()
        from moto.ec2.models import ec2_backends

        backend = ec2_backends[ACCOUNT_ID][region]
        default = next((v for v in backend.vpcs.values() if v.is_default), None)
        if default is None:
            return
        gateway = backend.create_internet_gateway()
        backend.attach_internet_gateway(gateway.id, default.id)
        main = next(t for t in backend.route_tables.values()
                    if t.vpc_id == default.id and t.main_association_id)
        backend.create_route(main.id, "0.0.0.0/0", gateway_id=gateway.id)

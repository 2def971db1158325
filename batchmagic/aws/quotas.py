"""The account's Fargate vCPU quota (Service Quotas ``L-3032A538``, "Fargate On-Demand vCPU
resource count"), when the caller may read it."""

from __future__ import annotations

from batchmagic.aws.clients import AwsClients

FARGATE_VCPU_QUOTA = ("fargate", "L-3032A538")


def fargate_vcpu_quota(clients: AwsClients) -> float | None:
    """The quota's value, or None when it is not readable (no servicequotas:GetServiceQuota,
    or an endpoint without Service Quotas, such as the emulator)."""
    try:
        quotas = clients.session.client("service-quotas", region_name=clients.target.region,
                                        endpoint_url=clients.target.endpoint_url)
        return float(quotas.get_service_quota(ServiceCode=FARGATE_VCPU_QUOTA[0],
                                              QuotaCode=FARGATE_VCPU_QUOTA[1])["Quota"]["Value"])
    except Exception:  # any failure to read means "not readable": the check is skipped
        return None

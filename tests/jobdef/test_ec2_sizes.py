"""EC2 jobs: every container gets whole vCPUs (at least one), so AWS accepts the split."""

from __future__ import annotations

import pytest

from batchmagic.errors import ConfigurationError
from batchmagic.jobdef.layout import MAIN, STAGE_IN, STAGE_OUT
from batchmagic.jobdef.sizes import EC2_MIN_VCPU, container_sizes, validate_size


@pytest.mark.parametrize("cpu", [3, 4, 5, 8, 16, 64])
@pytest.mark.parametrize("memory", [512, 2048, 16384])
def test_every_container_gets_whole_vcpus_that_add_up(cpu: int, memory: int) -> None:
    sizes = container_sizes("ec2", cpu, memory)
    for vcpu, mib in sizes.values():
        assert vcpu.isdigit() and int(vcpu) >= 1, f"{vcpu!r} is not a whole vCPU"
        assert int(mib) >= 4  # Batch's floor per container
    assert sum(int(v) for v, _ in sizes.values()) == cpu
    assert sum(int(m) for _, m in sizes.values()) == memory
    assert sizes[STAGE_IN][0] == sizes[STAGE_OUT][0] == "1"
    assert sizes[MAIN][0] == str(cpu - 2)


def test_the_smallest_ec2_job_is_three_vcpus() -> None:
    assert EC2_MIN_VCPU == 3
    assert container_sizes("ec2", 3, 512) == {STAGE_IN: ("1", "128"), MAIN: ("1", "256"),
                                              STAGE_OUT: ("1", "128")}
    for cpu in (1, 2):
        with pytest.raises(ConfigurationError, match="--cpu 3 or more"):
            validate_size("ec2", cpu, 2048)
    with pytest.raises(ConfigurationError, match="whole vCPUs"):
        validate_size("ec2", 3.5, 2048)

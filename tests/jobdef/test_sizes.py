"""Job sizes: the Fargate table, EC2 rules, and the split between the three containers."""

from __future__ import annotations

import pytest

from batchmagic.errors import ConfigurationError
from batchmagic.jobdef.sizes import FARGATE_MEMORY, container_sizes, validate_size
from batchmagic.jobdef.spec import MAIN, STAGE_IN, STAGE_OUT

ALL_FARGATE_PAIRS = [
    (cpu, memory) for cpu, memories in FARGATE_MEMORY.items() for memory in memories
]


@pytest.mark.parametrize(
    ("cpu", "memory"),
    [(0.25, 512), (0.25, 2048), (0.5, 3072), (1, 8192), (2, 4096), (4, 30720), (8, 20480),
     (16, 122880)],
)
def test_valid_fargate_sizes(cpu: float, memory: int) -> None:
    validate_size("fargate", cpu, memory)


def test_fargate_table_matches_documented_counts() -> None:
    assert FARGATE_MEMORY[0.5] == (1024, 2048, 3072, 4096)
    assert len(FARGATE_MEMORY[4.0]) == 23
    assert FARGATE_MEMORY[8.0][-1] == 61440
    assert FARGATE_MEMORY[8.0][1] - FARGATE_MEMORY[8.0][0] == 4096
    assert FARGATE_MEMORY[16.0][0] == 32768 and FARGATE_MEMORY[16.0][-1] == 122880


def test_wrong_memory_lists_valid_values() -> None:
    with pytest.raises(ConfigurationError) as info:
        validate_size("fargate", 1, 1024)
    message = str(info.value)
    assert "1024 MiB" in message and "--cpu 1" in message
    assert "2048-8192 in steps of 1024" in message


def test_small_cpu_lists_each_value() -> None:
    with pytest.raises(ConfigurationError, match="512, 1024, 2048"):
        validate_size("fargate", 0.25, 4096)


def test_unsupported_fargate_cpu() -> None:
    with pytest.raises(ConfigurationError) as info:
        validate_size("fargate", 3, 8192)
    assert "0.25, 0.5, 1, 2, 4, 8, 16" in str(info.value)
    assert "ec2" in str(info.value)


def test_ec2_needs_whole_vcpus() -> None:
    validate_size("ec2", 3, 6000)
    with pytest.raises(ConfigurationError, match="whole vCPUs"):
        validate_size("ec2", 0.5, 2048)
    with pytest.raises(ConfigurationError, match="at least"):
        validate_size("ec2", 3, 100)


def test_unknown_platform() -> None:
    with pytest.raises(ConfigurationError, match="fargate or ec2"):
        validate_size("lambda", 1, 2048)


@pytest.mark.parametrize(("cpu", "memory"), ALL_FARGATE_PAIRS)
def test_containers_add_up_to_the_task(cpu: float, memory: int) -> None:
    sizes = container_sizes("fargate", cpu, memory)
    assert set(sizes) == {STAGE_IN, MAIN, STAGE_OUT}
    assert sum(float(v) for v, _ in sizes.values()) == pytest.approx(cpu)
    assert sum(int(m) for _, m in sizes.values()) == memory
    for vcpu, mem in sizes.values():
        assert float(vcpu) > 0 and int(mem) >= 128
        # Whole ECS CPU units (1 vCPU = 1024): no rounding on AWS's side.
        assert (float(vcpu) * 1024).is_integer()
        assert vcpu == vcpu.strip() and not vcpu.endswith(".0")
    main_vcpu, main_memory = sizes[MAIN]
    assert int(main_memory) >= memory * 7 // 8 - 1 or memory <= 1024
    assert float(main_vcpu) >= cpu / 2


def test_default_split() -> None:
    assert container_sizes("fargate", 1, 2048) == {
        STAGE_IN: ("0.125", "128"),
        MAIN: ("0.75", "1792"),
        STAGE_OUT: ("0.125", "128"),
    }
    assert container_sizes("fargate", 0.25, 512)[MAIN] == ("0.125", "256")
    assert container_sizes("ec2", 4, 16384)[STAGE_IN] == ("1", "512")


def test_container_sizes_validates() -> None:
    with pytest.raises(ConfigurationError):
        container_sizes("fargate", 1, 1000)

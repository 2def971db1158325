"""AWS managed IAM policies, each made when it is first used.

As in a real account, AWS managed policies (``AmazonECSTaskExecutionRolePolicy``, ...) exist and
can be attached (``MOTO_IAM_LOAD_MANAGED_POLICIES``). moto makes all of them, about 1,600, with
every IAM backend: it parses its 4.7 MB catalog and builds a policy object per entry (about
30 MB and a tenth of a second, on the first IAM or STS request), and AttachRolePolicy builds an
``{arn: policy}`` table of every policy on each call - while batchmagic attaches one.

``defer_aws_managed_policies()`` makes a backend's ``managed_policies`` lazy: it knows the ARN of
every AWS managed policy (from an index of the catalog: each entry's name, path and where its JSON
starts) and makes a policy the first time it is looked up, from that entry alone. Whatever walks
all of them (ListPolicies, GetAccountAuthorizationDetails, the account summary, the group and
user attach calls) makes all, in moto's order, and the table is moto's plain table from then on.
AttachRolePolicy and DetachRolePolicy look the policy up by ARN; whenever the policy or the
attachment is missing they run moto's own code, so every answer and error is moto's.
"""

from __future__ import annotations

import functools
import json
import re
import threading
from collections.abc import Callable
from json.decoder import scanstring  # type: ignore[attr-defined]
from typing import Any

_WHITESPACE = re.compile(r"[ \t\n\r]*")


@functools.cache
def catalog_index() -> dict[str, tuple[str, int]]:
    """``{name: (path, offset of its JSON)}`` of moto's AWS managed policy catalog, in order."""
    from moto.iam.aws_managed_policies import aws_managed_policies_data

    return index_catalog(aws_managed_policies_data)


def index_catalog(data: str) -> dict[str, tuple[str, int]]:
    """Walk the top-level JSON object ``{name: {..., "Path": ...}, ...}``: each entry is parsed
    once and dropped, so only the index stays (never the whole parsed catalog at once)."""
    decoder = json.JSONDecoder()
    found: dict[str, tuple[str, int]] = {}

    def skip(pos: int) -> int:
        match = _WHITESPACE.match(data, pos)
        return match.end() if match else pos

    pos = skip(0)
    if data[pos:pos + 1] != "{":
        raise ValueError("the AWS managed policy catalog is not a JSON object")
    pos = skip(pos + 1)
    if data[pos:pos + 1] == "}":
        return found
    while True:
        if data[pos:pos + 1] != '"':
            raise ValueError(f"the AWS managed policy catalog: a name expected at {pos}")
        name, pos = scanstring(data, pos + 1)
        pos = skip(pos)
        if data[pos:pos + 1] != ":":
            raise ValueError(f"the AWS managed policy catalog: ':' expected at {pos}")
        start = skip(pos + 1)
        entry, pos = decoder.raw_decode(data, start)
        found[name] = (str(entry.get("Path") or "/"), start)
        pos = skip(pos)
        if data[pos:pos + 1] == "}":
            return found
        if data[pos:pos + 1] != ",":
            raise ValueError(f"the AWS managed policy catalog: ',' expected at {pos}")
        pos = skip(pos + 1)


def _read_entry(start: int) -> dict[str, Any]:
    from moto.iam.aws_managed_policies import aws_managed_policies_data

    entry, _ = json.JSONDecoder().raw_decode(aws_managed_policies_data, start)
    return dict(entry)


class LazyManagedPolicies(dict[str, Any]):
    """One IAM backend's ``managed_policies`` (ARN -> policy), AWS managed ones made on demand.

    Lookups by ARN (``in``, ``[]``, ``get``) make at most that one policy; anything else makes
    all of them first, then behaves as the plain dict moto would have.
    """

    def __init__(self, account_id: str, region_name: str) -> None:
        super().__init__()
        self._account_id = account_id
        self._region_name = region_name
        self._lock = threading.RLock()
        self._pending: dict[str, str] | None = None  # ARN -> name, not made yet
        self._complete = False
        self.aws_made: dict[str, Any] = {}  # every AWS managed policy made, deleted or not

    # --- the catalog --------------------------------------------------------------------------

    def _aws_arn(self, name: str, path: str) -> str:
        from moto.utilities.utils import get_partition

        return f"arn:{get_partition(self._region_name)}:iam::aws:policy{path}{name}"

    def _waiting(self) -> dict[str, str]:
        with self._lock:
            if self._pending is None:
                self._pending = {self._aws_arn(name, path): name
                                 for name, (path, _) in catalog_index().items()}
            return self._pending

    def _make(self, arn: str, name: str) -> Any:
        from moto.iam.models import AWSManagedPolicy

        policy = AWSManagedPolicy.from_data(name, self._account_id, self._region_name,
                                            _read_entry(catalog_index()[name][1]))
        self.aws_made[arn] = policy
        return policy

    def _make_one(self, arn: str) -> bool:
        with self._lock:
            name = self._waiting().pop(arn, None)
            if name is None:
                return False
            super().__setitem__(arn, self._make(arn, name))
            return True

    def make_all(self) -> None:
        """Make every AWS managed policy not made yet; order the table as moto does (the
        catalog's order, then the account's own policies in the order they were created)."""
        with self._lock:
            if self._complete:
                return
            waiting = self._waiting()
            ordered: list[tuple[str, Any]] = []
            for name, (path, _) in catalog_index().items():
                arn = self._aws_arn(name, path)
                if arn in waiting:
                    ordered.append((arn, self._make(arn, waiting.pop(arn))))
                elif dict.__contains__(self, arn):
                    ordered.append((arn, dict.__getitem__(self, arn)))
            aws = {arn for arn, _ in ordered}
            ordered += [(arn, policy) for arn, policy in dict.items(self) if arn not in aws]
            dict.clear(self)
            dict.update(self, ordered)
            self._complete = True

    def aws_policies(self) -> list[Any]:
        """moto's ``aws_managed_policies``: every AWS managed policy, in the catalog's order."""
        self.make_all()
        return [self.aws_made[self._aws_arn(name, path)]
                for name, (path, _) in catalog_index().items()]

    # --- lookups by ARN -----------------------------------------------------------------------

    def __contains__(self, arn: object) -> bool:
        if dict.__contains__(self, arn) or self._complete:
            return dict.__contains__(self, arn)
        return isinstance(arn, str) and arn in self._waiting()

    def __missing__(self, arn: str) -> Any:
        if not self._complete and self._make_one(arn):
            return dict.__getitem__(self, arn)
        raise KeyError(arn)

    def get(self, arn: str, default: Any = None) -> Any:
        try:
            return self[arn]
        except KeyError:
            return default

    def __setitem__(self, arn: str, policy: Any) -> None:
        with self._lock:
            if not self._complete:
                self._waiting().pop(arn, None)
            super().__setitem__(arn, policy)

    def __delitem__(self, arn: str) -> None:
        # An AWS managed policy not made yet is made, then deleted: it is gone for good.
        if not dict.__contains__(self, arn) and (self._complete or not self._make_one(arn)):
            raise KeyError(arn)
        super().__delitem__(arn)


def _whole(method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def whole(self: LazyManagedPolicies, *args: Any, **kwargs: Any) -> Any:
        self.make_all()
        return method(self, *args, **kwargs)

    return whole


# Everything that sees the whole table makes every policy first.
for _name in ("__iter__", "__len__", "__repr__", "__eq__", "__ne__", "__or__", "__ior__",
              "__reversed__", "keys", "values", "items", "copy", "pop", "popitem", "setdefault",
              "update", "clear"):
    setattr(LazyManagedPolicies, _name, _whole(getattr(dict, _name)))


def defer_aws_managed_policies() -> None:
    """Make every moto IAM backend made from now on load AWS managed policies on demand."""
    import moto.iam.models as iam
    from moto.settings import load_iam_aws_managed_policies

    backend = iam.IAMBackend
    if getattr(backend, "batchmagic_lazy_policies", False):
        return
    original_attach = backend.attach_role_policy
    original_detach = backend.detach_role_policy

    def init_aws_policies(self: Any) -> list[Any]:
        return []  # the list is read through the property below

    def init_managed_policies(self: Any) -> dict[str, Any]:
        if not load_iam_aws_managed_policies():
            return {}
        return LazyManagedPolicies(self.account_id, self.region_name)

    def aws_managed_policies(self: Any) -> list[Any]:
        policies = self.__dict__.get("managed_policies")
        if isinstance(policies, LazyManagedPolicies):
            return policies.aws_policies()
        found: list[Any] = self.__dict__.get("aws_managed_policies", [])
        return found

    def set_aws_managed_policies(self: Any, value: list[Any]) -> None:
        self.__dict__["aws_managed_policies"] = value  # what backends made earlier hold

    def attach_role_policy(self: Any, policy_arn: str, role_name: str) -> None:
        policies = self.managed_policies
        if isinstance(policies, LazyManagedPolicies) and policy_arn in policies:
            policies[policy_arn].attach_to(self.get_role(role_name))
            return
        original_attach(self, policy_arn, role_name)

    def detach_role_policy(self: Any, policy_arn: str, role_name: str) -> None:
        policies = self.managed_policies
        if isinstance(policies, LazyManagedPolicies) and policy_arn in policies:
            role = self.get_role(role_name)
            if policy_arn in role.managed_policies:
                policies[policy_arn].detach_from(role)
                return
        original_detach(self, policy_arn, role_name)

    patches: dict[str, Any] = {
        "_init_aws_policies": init_aws_policies,
        "_init_managed_policies": init_managed_policies,
        "aws_managed_policies": property(aws_managed_policies, set_aws_managed_policies),
        "attach_role_policy": attach_role_policy,
        "detach_role_policy": detach_role_policy,
        "batchmagic_lazy_policies": True,
    }
    for name, value in patches.items():
        setattr(backend, name, value)

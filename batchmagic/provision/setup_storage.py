"""Setup steps for the log group and the bucket (private, encrypted, expiring runs)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from batchmagic.errors import AwsError
from batchmagic.provision import resources as res
from batchmagic.provision.calls import call
from batchmagic.provision.report import CREATED, REUSED, UPDATED
from batchmagic.provision.setup_base import SetupContext
from batchmagic.settings import LOG_GROUP


class StorageSteps:
    """The log group ``/aws/batch/job`` and the runs bucket."""

    def __init__(self, setup: SetupContext) -> None:
        self.setup = setup

    def log_group(self) -> None:
        logs = self.setup.clients.logs
        groups = call("logs:DescribeLogGroups", logs.describe_log_groups,
                      logGroupNamePrefix=LOG_GROUP)["logGroups"]
        if any(g["logGroupName"] == LOG_GROUP for g in groups):
            self.setup.emit("log group", LOG_GROUP, REUSED)
            return
        if not self.setup.dry_run:
            call("logs:CreateLogGroup", logs.create_log_group, logGroupName=LOG_GROUP,
                 tags=res.tags(self.setup.names.name))
            # Retention only on a group we create: an existing one keeps its owner's choice.
            call("logs:PutRetentionPolicy", logs.put_retention_policy,
                 logGroupName=LOG_GROUP, retentionInDays=res.LOG_RETENTION_DAYS)
        self.setup.emit("log group", LOG_GROUP, self.setup.new(CREATED),
                        detail=f"retention {res.LOG_RETENTION_DAYS} days")

    def bucket(self, bucket: str, prefix: str) -> None:
        s3 = self.setup.clients.s3
        try:
            call("s3:HeadBucket", s3.head_bucket, Bucket=bucket)
        except AwsError as error:
            if error.code == "403":
                raise AwsError(
                    f"s3:HeadBucket failed: bucket {bucket} exists but these credentials cannot "
                    "use it (403) - fix: choose another name with --bucket",
                    code="403", operation="s3:HeadBucket") from error
            if error.code not in ("404", "NoSuchBucket"):
                raise
        else:
            self.reuse_bucket(bucket, prefix)
            return
        if not self.setup.dry_run:
            create: dict[str, Any] = {"Bucket": bucket}
            # us-east-1 is the one region that rejects an explicit LocationConstraint.
            if self.setup.region != "us-east-1":
                create["CreateBucketConfiguration"] = {"LocationConstraint": self.setup.region}
            call("s3:CreateBucket", s3.create_bucket, **create)
            call("s3:PutBucketTagging", s3.put_bucket_tagging, Bucket=bucket,
                 Tagging={"TagSet": res.tag_list(self.setup.names.name)})
            for part in _BUCKET_PARTS:
                part.put(s3, bucket, prefix)
        self.setup.emit("bucket", bucket, self.setup.new(CREATED),
                        detail=f"private, AES256, runs expire after {res.RUN_EXPIRY_DAYS} days")

    def reuse_bucket(self, bucket: str, prefix: str) -> None:
        s3 = self.setup.clients.s3
        try:
            tag_set = call("s3:GetBucketTagging", s3.get_bucket_tagging, Bucket=bucket)["TagSet"]
        except AwsError as error:
            if error.code != "NoSuchTagSet":
                raise
            tag_set = []
        if not self.setup.ours(tag_set):
            # Someone else's bucket: its lifecycle rules would be replaced by ours, so no changes.
            self.setup.emit("bucket", bucket, REUSED, detail=self.setup.foreign(tag_set))
            return
        # A setup interrupted after CreateBucket left parts unconfigured: complete them.
        missing = [part for part in _BUCKET_PARTS if not part.present(s3, bucket)]
        if not missing:
            self.setup.emit("bucket", bucket, REUSED)
            return
        if not self.setup.dry_run:
            for part in missing:
                part.put(s3, bucket, prefix)
        self.setup.emit("bucket", bucket, self.setup.new(UPDATED),
                        detail="added " + ", ".join(part.label for part in missing))


@dataclass(frozen=True)
class _BucketPart:
    """One bucket setting: how to tell it is there, how to put it."""

    label: str
    get: str
    put_call: str
    missing_code: str

    def present(self, s3: Any, bucket: str) -> bool:
        try:
            call(f"s3:{self.get}", getattr(s3, _snake(self.get)), Bucket=bucket)
        except AwsError as error:
            if error.code == self.missing_code:
                return False
            raise
        return True

    def put(self, s3: Any, bucket: str, prefix: str) -> None:
        choices: dict[str, dict[str, Any]] = {
            "PutPublicAccessBlock": {"PublicAccessBlockConfiguration": res.PUBLIC_ACCESS_BLOCK},
            "PutBucketEncryption": {"ServerSideEncryptionConfiguration": res.ENCRYPTION},
            "PutBucketLifecycleConfiguration": {"LifecycleConfiguration": res.lifecycle(prefix)},
        }
        call(f"s3:{self.put_call}", getattr(s3, _snake(self.put_call)), Bucket=bucket,
             **choices[self.put_call])


def _snake(operation: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in operation).lstrip("_")


_BUCKET_PARTS = (
    _BucketPart("public access block", "GetPublicAccessBlock", "PutPublicAccessBlock",
                "NoSuchPublicAccessBlockConfiguration"),
    _BucketPart("default encryption", "GetBucketEncryption", "PutBucketEncryption",
                "ServerSideEncryptionConfigurationNotFoundError"),
    _BucketPart("lifecycle rule", "GetBucketLifecycleConfiguration",
                "PutBucketLifecycleConfiguration", "NoSuchLifecycleConfiguration"),
)

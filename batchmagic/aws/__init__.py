"""The AWS protocol layer: boto3 clients per target, AWS errors classified where they enter
(``errors``), one backoff for polling (``backoff``), the Batch job and its snapshots, following a
job (``follow``: live tails, log polling), S3 staging, and queue/job-definition resolution.

May import ``jobdef``, ``settings`` and ``errors``; knows nothing about runs, cells or displays.
"""

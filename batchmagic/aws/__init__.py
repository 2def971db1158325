"""The AWS protocol layer: boto3 clients per target, the Batch job and its snapshots, log polling
and live tails, S3 staging, and queue/job-definition resolution.

May import ``jobdef``, ``settings`` and ``errors``; knows nothing about runs, cells or displays.
"""

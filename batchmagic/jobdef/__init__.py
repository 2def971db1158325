"""Pure payload building: the job's fixed layout (``layout``), the Fargate/EC2 sizes
(``sizes``) and the three-container RegisterJobDefinition/SubmitJob payloads (``spec``).

No I/O and no AWS calls. May import only ``settings`` and ``errors``.
"""

"""Pure payload building: the job's fixed layout (``layout``), the Fargate/EC2 sizes
(``sizes``), job names and environment checks (``names``) and the three-container
RegisterJobDefinition/SubmitJob payloads (``spec``, described for people in ``describe``).

No I/O and no AWS calls. May import only ``settings`` and ``errors``.
"""

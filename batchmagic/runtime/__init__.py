"""Files shipped into the job's main container: the bootstrap, the ``--map`` child runner, the
setup phase (``envsetup``), pickle version manifests (``versions``) and the ``kestra`` stand-in.

They are standard-library-only scripts for any Python >= 3.8; nothing here imports batchmagic.
"""

from __future__ import annotations

from importlib import resources

RUNTIME_FILES = ("bootstrap.py", "kestra.py", "mapchild.py", "batchmagic_links.py",
                 "progress_lines.py", "envsetup.py", "versions.py", "pypi_names.py")


def runtime_files() -> dict[str, bytes]:
    """File name -> content of every runtime file, to upload into ``<run>/in/.batchmagic/``."""
    package = resources.files(__name__)
    return {name: package.joinpath(name).read_bytes() for name in RUNTIME_FILES}

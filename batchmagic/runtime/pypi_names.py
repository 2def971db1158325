"""The package to install for an import whose name is not its package's name on PyPI.

``import sklearn`` needs ``scikit-learn`` (the ``sklearn`` package on PyPI only refuses to
install), ``import cv2`` needs ``opencv-python``: when the job lacks such a module, the hint
names the package that provides it. Standard-library only; shipped into the job with the
bootstrap and read by the kernel's ``--deps auto`` warnings too.
"""

from __future__ import annotations

PYPI_NAMES = {
    "sklearn": "scikit-learn", "skimage": "scikit-image", "cv2": "opencv-python",
    "PIL": "pillow", "yaml": "pyyaml", "bs4": "beautifulsoup4", "dateutil": "python-dateutil",
    "dotenv": "python-dotenv", "jwt": "pyjwt", "Crypto": "pycryptodome", "serial": "pyserial",
    "docx": "python-docx", "pptx": "python-pptx", "fitz": "pymupdf", "OpenSSL": "pyopenssl",
    "zmq": "pyzmq", "Bio": "biopython", "osgeo": "gdal", "attr": "attrs",
    "mpl_toolkits": "matplotlib", "magic": "python-magic",
}


def pip_name(module: str) -> str:
    """The PyPI package that provides ``module`` (a top-level import name), as far as known."""
    return PYPI_NAMES.get(module, module)

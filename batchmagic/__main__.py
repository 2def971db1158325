import sys

from batchmagic.cli import main

sys.exit(main())

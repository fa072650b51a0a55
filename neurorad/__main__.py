import sys

from neurorad.cli import main

sys.exit(main())

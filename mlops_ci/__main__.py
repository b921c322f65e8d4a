import sys

from mlops_ci.cli import main

sys.exit(main())

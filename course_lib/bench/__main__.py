"""``python -m course_lib.bench``: the training benchmark (see :mod:`course_lib.bench.training`)."""
import sys

from .training import main

sys.exit(main())

"""``python -m onetoone``: the ``onetoone`` command line (see :mod:`onetoone.cli`)."""

import sys

from onetoone.cli import main

if __name__ == "__main__":
    sys.exit(main())

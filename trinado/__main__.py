"""``python -m trinado module:app``: serve an application (``--help`` lists the options)."""

from __future__ import annotations

import sys

from ._cli import main

if __name__ == "__main__":
    sys.exit(main())

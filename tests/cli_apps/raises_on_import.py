"""A module that fails while being imported."""

raise RuntimeError("failure at import time")

"""Imports a module that does not exist: an error inside the app, not a missing app."""

import trinado_no_such_dependency  # noqa: F401

"""The loggers trinado writes to, named as Tornado's are.

* ``trinado.access``: one line per finished request (status, method, URI, remote IP, time).
* ``trinado.application``: errors from application code, such as uncaught handler exceptions.
* ``trinado.general``: everything else the framework has to say (bad requests, timeouts,
  connection trouble).

Nothing is configured here: attach handlers with :mod:`logging` as usual.
"""

from __future__ import annotations

import logging

__all__ = ["access_log", "app_log", "gen_log"]

access_log = logging.getLogger("trinado.access")
app_log = logging.getLogger("trinado.application")
gen_log = logging.getLogger("trinado.general")

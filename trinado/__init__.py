"""trinado: Tornado's web framework API on Trio, h11 and wsproto.

The API lives in the modules, named after Tornado's: `trinado.web` (applications and
request handlers), `trinado.websocket`, `trinado.template`, `trinado.httpclient` and the
others listed in the reference.
"""

from ._version import __version__ as __version__

__all__ = ["__version__", "version"]

version = __version__
"""The version of trinado, as a string (Tornado's name for ``__version__``)."""

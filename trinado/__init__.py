"""trinado: Tornado's web framework API on Trio, h11 and wsproto."""

from ._version import __version__ as __version__

version = __version__

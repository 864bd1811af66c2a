"""The trinado chat demo: rooms, sign-in, long polling and WebSockets.

Start it from a clone of the repository with ``python -m examples.chat`` (see
``docs/chat.md``).
"""

from __future__ import annotations

from .app import Chat, make_app
from .store import ChatStore, MemoryStore

__all__ = ["Chat", "ChatStore", "MemoryStore", "make_app"]

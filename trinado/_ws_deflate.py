"""permessage-deflate (RFC 7692) for WebSockets, with the inflater bounded by the message size.

Options are Tornado's ``get_compression_options()`` dict: ``compression_level`` and
``mem_level`` (as for `zlib.compressobj`), plus ``server_max_window_bits``,
``client_max_window_bits``, ``server_no_context_takeover`` and
``client_no_context_takeover`` (RFC 7692's parameters; a server asks for them in its
answer, a client in its offer).
"""

from __future__ import annotations

import zlib
from typing import Any

from wsproto.extensions import PerMessageDeflate
from wsproto.frame_protocol import CloseReason, FrameDecoder, FrameProtocol, Opcode, RsvBits

__all__ = ["BoundedDeflate", "check_compression_options"]

_COMPRESSION_KEYS = frozenset(
    {
        "compression_level",
        "mem_level",
        "server_max_window_bits",
        "client_max_window_bits",
        "server_no_context_takeover",
        "client_no_context_takeover",
    }
)


def check_compression_options(options: dict[str, Any]) -> None:
    """Validate compression options (``get_compression_options`` / ``compression_options``).

    Raises:
        ValueError: an unknown key or a value out of range.
    """
    unknown = set(options) - _COMPRESSION_KEYS
    if unknown:
        raise ValueError(f"Unknown compression options: {', '.join(sorted(unknown))}")
    level = options.get("compression_level", zlib.Z_DEFAULT_COMPRESSION)
    if not -1 <= level <= 9:
        raise ValueError(f"compression_level must be between -1 and 9, not {level!r}")
    mem_level = options.get("mem_level", 8)
    if not 1 <= mem_level <= 9:
        raise ValueError(f"mem_level must be between 1 and 9, not {mem_level!r}")
    for key in ("server_max_window_bits", "client_max_window_bits"):
        bits = options.get(key)
        if bits is not None and not 9 <= bits <= 15:
            raise ValueError(f"{key} must be between 9 and 15, not {bits!r}")


class BoundedDeflate(PerMessageDeflate):
    """permessage-deflate whose inflater stops at the message size limit.

    wsproto's extension inflates each frame without a bound; this one gives zlib the room
    left in the current message and fails the connection with 1009 past it. It also applies
    Tornado's ``compression_level`` and ``mem_level`` options to the deflater, and window
    bits and no-context-takeover from the options.

    Args:
        max_message_size: the bound on a decompressed message.
        options: validated compression options.
    """

    def __init__(self, max_message_size: int, options: dict[str, Any]) -> None:
        super().__init__(
            client_no_context_takeover=bool(options.get("client_no_context_takeover")),
            server_no_context_takeover=bool(options.get("server_no_context_takeover")),
        )
        self._max_size = max_message_size
        self._level: int = options.get("compression_level", zlib.Z_DEFAULT_COMPRESSION)
        self._mem_level: int = options.get("mem_level", 8)
        self._want_server_bits: int | None = options.get("server_max_window_bits")
        self._want_client_bits: int | None = options.get("client_max_window_bits")
        self._inflated = 0

    def client_offer(self) -> str:
        """The Sec-WebSocket-Extensions value a client offers."""
        parts = ["permessage-deflate"]
        bits = self._want_client_bits
        parts.append(f"client_max_window_bits={bits}" if bits else "client_max_window_bits")
        if self._want_server_bits:
            parts.append(f"server_max_window_bits={self._want_server_bits}")
        if self.client_no_context_takeover:
            parts.append("client_no_context_takeover")
        if self.server_no_context_takeover:
            parts.append("server_no_context_takeover")
        return "; ".join(parts)

    def accept(self, offer: str) -> str | None:
        """Accept a client's offer (server side); None declines it.

        Returns:
            The parameters of the response (may be empty), or None.
        """
        try:
            client_bits, server_bits = self._parse_params(offer)
            params = []
            if self.client_no_context_takeover:
                params.append("client_no_context_takeover")
            if self.server_no_context_takeover:
                params.append("server_no_context_takeover")
            want = self._want_server_bits
            if want is not None:
                server_bits = want if server_bits is None else min(server_bits, want)
            if server_bits is not None:
                self.server_max_window_bits = server_bits
                params.append(f"server_max_window_bits={server_bits}")
            if client_bits is not None:  # the client can take a limit on its window
                want = self._want_client_bits
                if want is not None:
                    client_bits = min(client_bits, want)
                self.client_max_window_bits = client_bits
                if client_bits != self.DEFAULT_CLIENT_MAX_WINDOW_BITS or "=" in offer:
                    params.append(f"client_max_window_bits={client_bits}")
        except ValueError:
            return None
        self._enabled = True
        return "; ".join(params)

    def frame_inbound_payload_data(
        self, proto: FrameDecoder | FrameProtocol, data: bytes
    ) -> bytes | CloseReason:
        """Inflate a piece of a compressed message, within the message size bound."""
        if not self._inbound_compressed or not self._inbound_is_compressible:
            return data
        return self._inflate(data)

    def frame_inbound_complete(
        self, proto: FrameDecoder | FrameProtocol, fin: bool
    ) -> bytes | CloseReason | None:
        """End a frame; at the end of a compressed message, flush the inflater."""
        if not fin:
            return None
        compressed = self._inbound_compressed and self._inbound_is_compressible
        self._inbound_compressed = None
        if not compressed:
            return None
        result = self._inflate(b"\x00\x00\xff\xff")
        self._inflated = 0
        no_takeover = (
            self.server_no_context_takeover if proto.client else self.client_no_context_takeover
        )
        if no_takeover:
            self._decompressor = None
        return result

    def _inflate(self, data: bytes) -> bytes | CloseReason:
        decompressor = self._decompressor
        if decompressor is None:  # (created by frame_inbound_header for compressed frames)
            return CloseReason.PROTOCOL_ERROR
        room = self._max_size - self._inflated
        try:
            out = decompressor.decompress(data, room + 1)
        except zlib.error:
            return CloseReason.INVALID_FRAME_PAYLOAD_DATA
        self._inflated += len(out)
        if self._inflated > self._max_size or decompressor.unconsumed_tail:
            return CloseReason.MESSAGE_TOO_BIG
        return out

    def frame_outbound(
        self,
        proto: FrameDecoder | FrameProtocol,
        opcode: Opcode,
        rsv: RsvBits,
        data: bytes,
        fin: bool,
    ) -> tuple[RsvBits, bytes]:
        """Deflate an outgoing frame, with the configured level and memory level."""
        if self._compressor is None and opcode in (Opcode.TEXT, Opcode.BINARY):
            bits = self.client_max_window_bits if proto.client else self.server_max_window_bits
            self._compressor = zlib.compressobj(self._level, zlib.DEFLATED, -bits, self._mem_level)
        return super().frame_outbound(proto, opcode, rsv, data, fin)

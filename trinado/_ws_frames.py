"""The server's fast path for the commonest frames; wsproto handles everything else.

Almost every frame a server sees is one whole masked text or binary message, with no
extension; almost every frame it sends is one whole unmasked message. Building and parsing
those here costs a fraction of a general frame parser. Anything else (control frames,
fragments, large or incomplete frames, compression, anything malformed) is left to wsproto,
which then also reports the protocol errors.
"""

from __future__ import annotations

import struct
from collections import deque

__all__ = ["parse_simple_client_frames", "server_frame"]

_TEXT = 0x81  # FIN + text opcode, no reserved bits
_BINARY = 0x82  # FIN + binary opcode
_HEAD_16 = struct.Struct("!BBH")
_HEAD_64 = struct.Struct("!BBQ")


def server_frame(payload: str | bytes) -> bytes:
    """One unmasked, unfragmented frame: text for str, binary for bytes."""
    if isinstance(payload, str):
        first = _TEXT
        data = payload.encode("utf-8")
    else:
        first = _BINARY
        data = bytes(payload)
    size = len(data)
    if size < 126:
        return bytes((first, size)) + data
    if size < 65536:
        return _HEAD_16.pack(first, 126, size) + data
    return _HEAD_64.pack(first, 127, size) + data


def _unmask(key: bytes, data: bytes) -> bytes:
    size = len(data)
    if not size:
        return b""
    mask = (key * (size // 4 + 1))[:size]
    value = int.from_bytes(data, "little") ^ int.from_bytes(mask, "little")
    return value.to_bytes(size, "little")


def parse_simple_client_frames(data: bytes, limit: int, out: deque[str | bytes]) -> int:
    """Parse the whole masked text and binary frames at the start of ``data``.

    Args:
        data: bytes received from a client, starting at a frame boundary.
        limit: frames with a larger payload are left for the general path.
        out: receives the messages (str for text, bytes for binary).

    Returns:
        How many bytes of ``data`` were consumed; the rest starts with a frame that needs
        the general parser (or is incomplete).
    """
    pos = 0
    end_of_data = len(data)
    while pos + 6 <= end_of_data:
        first = data[pos]
        if first != _TEXT and first != _BINARY:
            break
        second = data[pos + 1]
        if not second & 0x80:  # unmasked: a protocol error for wsproto to report
            break
        size = second & 0x7F
        head = 6
        if size == 126:
            if pos + 8 > end_of_data:
                break
            size = (data[pos + 2] << 8) | data[pos + 3]
            if size < 126:  # (a non-minimal length is an error too)
                break
            head = 8
        elif size == 127:
            break
        end = pos + head + size
        if end > end_of_data or size > limit:
            break
        payload = _unmask(data[pos + head - 4 : pos + head], data[pos + head : end])
        if first == _TEXT:
            try:
                out.append(payload.decode("utf-8"))
            except UnicodeDecodeError:
                break
        else:
            out.append(payload)
        pos = end
    return pos

"""Signed values and XSRF tokens, in Tornado's wire formats.

A *signed value* carries a name, a timestamp and a value under an HMAC, so that a cookie
(or anything else handed to a client) comes back unchanged or not at all. Two formats exist,
both Tornado's, byte for byte:

* version 2 (written by default):

  .. code-block:: text

      2|1:0|10:1300000000|3:key|8:dmFsdWU=|<HMAC-SHA256 hex of everything before it>

  the format version, then length-prefixed fields (key version, timestamp, name, base64
  value), then the signature. The key version lets ``cookie_secret`` be a
  ``{version: key}`` dict, so keys can be rotated without logging everybody out.
* version 1 (read, and written only on request): ``<base64 value>|<timestamp>|<HMAC-SHA1
  hex>``, whose signature does not cover the name nor separate the fields.

Signatures are compared in constant time. A value that is malformed, signed with another key,
made for another name, or older than its maximum age decodes to ``None``.

XSRF tokens are 16 random bytes. The version 2 form sent to clients is
``2|<mask hex>|<token XOR mask, hex>|<timestamp>`` with a fresh 4-byte mask each time, so a
page that echoes it looks different on every request (which defeats compression oracles such
as BREACH); version 1 is the bare token in hex.

`trinado.web` re-exports the signed-value functions and constants, as ``tornado.web`` has
them; handlers use them through ``set_signed_cookie``, ``get_signed_cookie`` and
``xsrf_token``.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import os
import re
import time
from collections.abc import Callable, Mapping

from .log import gen_log

__all__ = [
    "DEFAULT_SIGNED_VALUE_MIN_VERSION",
    "DEFAULT_SIGNED_VALUE_VERSION",
    "MAX_SUPPORTED_SIGNED_VALUE_VERSION",
    "MIN_SUPPORTED_SIGNED_VALUE_VERSION",
    "CookieSecret",
    "create_signed_value",
    "decode_signed_value",
    "decode_xsrf_token",
    "encode_xsrf_token",
    "get_signature_key_version",
]

CookieSecret = str | bytes | Mapping[int, str] | Mapping[int, bytes]
"""What ``cookie_secret`` may be: one key, or keys by version (with ``key_version``)."""

MIN_SUPPORTED_SIGNED_VALUE_VERSION = 1
"""The oldest signed value format that can be decoded."""

MAX_SUPPORTED_SIGNED_VALUE_VERSION = 2
"""The newest signed value format that can be decoded."""

DEFAULT_SIGNED_VALUE_VERSION = 2
"""The format `create_signed_value` writes unless told otherwise."""

DEFAULT_SIGNED_VALUE_MIN_VERSION = 1
"""The oldest format `decode_signed_value` accepts unless told otherwise."""

_SECONDS_PER_DAY = 86400
# A version 1 timestamp this far in the future is refused (see _decode_v1).
_V1_MAX_FUTURE_SECONDS = 31 * _SECONDS_PER_DAY

# A format version: decimal, no leading zero, followed by a pipe. Values of version 1 have
# no version field and start with base64, which may look like one (see _version_of).
_VERSION_PREFIX_RE = re.compile(rb"([1-9][0-9]*)\|")
# The length prefix of a version 2 field: a few decimal digits and a colon.
_FIELD_LENGTH_RE = re.compile(rb"([0-9]{1,9}):")
_XSRF_MASK_SIZE = 4


def _current_time() -> float:
    """The clock used when none is given (tests replace it to move time)."""
    return time.time()


def _as_bytes(value: str | bytes) -> bytes:
    return value if isinstance(value, bytes) else value.encode("utf-8")


def _hex_hmac(secret: str | bytes, digest: str, *parts: bytes) -> bytes:
    mac = hmac.new(_as_bytes(secret), digestmod=digest)
    for part in parts:
        mac.update(part)
    return mac.hexdigest().encode("ascii")


def _field(data: bytes) -> bytes:
    return b"%d:%s" % (len(data), data)


# --------------------------------------------------------------------------------------
# Signed values


def create_signed_value(
    secret: CookieSecret,
    name: str,
    value: str | bytes,
    version: int | None = None,
    clock: Callable[[], float] | None = None,
    key_version: int | None = None,
) -> bytes:
    """Signs and timestamps a value so that it cannot be forged.

    Args:
        secret: The key, or a ``{version: key}`` mapping (then ``key_version`` chooses).
        name: What the value is for (the cookie's name); it is signed too, so the value
            cannot be reused under another name.
        value: The value; any bytes (str is encoded as UTF-8).
        version: The format, 1 or 2 (default `DEFAULT_SIGNED_VALUE_VERSION`).
        clock: Returns the current POSIX time (default `time.time`).
        key_version: The version of the key; recorded in the value (format 2).

    Returns:
        The signed value, ASCII bytes safe for a cookie.

    Raises:
        ValueError: For an unknown ``version``, a mapping ``secret`` without
            ``key_version``, or a mapping ``secret`` with format 1.
        KeyError: If ``key_version`` is not a key of the mapping.
    """
    if version is None:
        version = DEFAULT_SIGNED_VALUE_VERSION
    now = (clock or _current_time)()
    timestamp = str(int(now)).encode("ascii")
    encoded = base64.b64encode(_as_bytes(value))
    if version == 1:
        if isinstance(secret, Mapping):
            raise ValueError("signed value version 1 does not support key versions")
        signature = _hex_hmac(secret, "sha1", name.encode("utf-8"), encoded, timestamp)
        return b"|".join((encoded, timestamp, signature))
    if version != 2:
        raise ValueError(f"Unsupported version {version}")
    if isinstance(secret, Mapping):
        if key_version is None:
            raise ValueError("key_version must be given when the secret is a dict of keys")
        key = secret[key_version]
    else:
        key = secret
    signed_part = b"|".join(
        (
            b"2",
            _field(str(key_version or 0).encode("ascii")),
            _field(timestamp),
            # Tornado counts characters here; bytes are what the reader counts, so a
            # non-ASCII name works both ways (ASCII names give identical output).
            _field(name.encode("utf-8")),
            _field(encoded),
            b"",
        )
    )
    return signed_part + _hex_hmac(key, "sha256", signed_part)


def _version_of(value: bytes) -> int:
    """The format of a signed value: its version field, or 1 when there is none.

    A version 1 value is base64 and may start with digits and a pipe. Base64 text comes in
    groups of four characters, so only numbers of four digits or more can be base64;
    those are read as version 1.
    """
    match = _VERSION_PREFIX_RE.match(value)
    if match is None or len(match.group(1)) > 3:
        return 1
    return int(match.group(1))


def decode_signed_value(
    secret: CookieSecret,
    name: str,
    value: str | bytes | None,
    max_age_days: float = 31,
    clock: Callable[[], float] | None = None,
    min_version: int | None = None,
) -> bytes | None:
    """Checks a value made by `create_signed_value` and returns what was signed.

    Args:
        secret: The key, or a ``{version: key}`` mapping (the value says which key).
        name: The name the value must have been signed for.
        value: The signed value (``None`` or empty gives ``None``).
        max_age_days: How old the signature may be, in days.
        clock: Returns the current POSIX time (default `time.time`).
        min_version: The oldest format accepted (default
            `DEFAULT_SIGNED_VALUE_MIN_VERSION`); 2 refuses version 1 values.

    Returns:
        The signed bytes, or ``None`` if the value is malformed, forged, made for another
        name or with an unknown key, expired, or of a refused format.

    Raises:
        ValueError: If ``min_version`` is greater than 2.
    """
    if min_version is None:
        min_version = DEFAULT_SIGNED_VALUE_MIN_VERSION
    if min_version > MAX_SUPPORTED_SIGNED_VALUE_VERSION:
        raise ValueError(f"Unsupported min_version {min_version}")
    if not value:
        return None
    try:
        raw = _as_bytes(value)
    except UnicodeEncodeError:  # lone surrogates: not something we signed
        return None
    version = _version_of(raw)
    if version < min_version:
        return None
    now = (clock or _current_time)()
    if version == 1:
        if isinstance(secret, Mapping):
            # Version 1 has no key version, so no key to pick.
            return None
        return _decode_v1(secret, name, raw, max_age_days, now)
    if version == 2:
        return _decode_v2(secret, name, raw, max_age_days, now)
    return None


def _decode_v1(
    secret: str | bytes, name: str, value: bytes, max_age_days: float, now: float
) -> bytes | None:
    parts = value.split(b"|")
    if len(parts) != 3:
        return None
    encoded, timestamp_bytes, signature = parts
    expected = _hex_hmac(secret, "sha1", name.encode("utf-8"), encoded, timestamp_bytes)
    if not hmac.compare_digest(signature, expected):
        gen_log.warning("Invalid cookie signature %r", value)
        return None
    try:
        timestamp = int(timestamp_bytes)
    except ValueError:
        return None
    if timestamp < now - max_age_days * _SECONDS_PER_DAY:
        gen_log.warning("Expired cookie %r", value)
        return None
    # The version 1 signature runs the value and the timestamp together, so trailing
    # digits of the value can move into the timestamp without changing the signature:
    # refuse timestamps far in the future or with a leading zero.
    if timestamp > now + _V1_MAX_FUTURE_SECONDS:
        gen_log.warning("Cookie timestamp in future; possible tampering %r", value)
        return None
    if timestamp_bytes.startswith(b"0"):
        gen_log.warning("Tampered cookie %r", value)
        return None
    try:
        return base64.b64decode(encoded)
    except (binascii.Error, ValueError):
        return None


def _split_v2(value: bytes) -> tuple[int, bytes, bytes, bytes, bytes]:
    """Splits a version 2 value into key version, timestamp, name, value and signature.

    Raises:
        ValueError: If the fields are malformed.
    """
    position = value.index(b"|") + 1
    fields: list[bytes] = []
    for _ in range(4):
        match = _FIELD_LENGTH_RE.match(value, position)
        if match is None:
            raise ValueError("malformed length in a signed value")
        start = match.end()
        end = start + int(match.group(1))
        if value[end : end + 1] != b"|":
            raise ValueError("field of a signed value does not end where its length says")
        fields.append(value[start:end])
        position = end + 1
    key_version, timestamp, name, encoded = fields
    return int(key_version), timestamp, name, encoded, value[position:]


def _decode_v2(
    secret: CookieSecret, name: str, value: bytes, max_age_days: float, now: float
) -> bytes | None:
    try:
        key_version, timestamp_bytes, name_field, encoded, signature = _split_v2(value)
    except ValueError:
        return None
    if isinstance(secret, Mapping):
        key = secret.get(key_version)
        if key is None:
            return None
    else:
        key = secret
    signed_part = value[: len(value) - len(signature)]
    if not hmac.compare_digest(signature, _hex_hmac(key, "sha256", signed_part)):
        return None
    if name_field != name.encode("utf-8"):
        return None
    try:
        timestamp = int(timestamp_bytes)
    except ValueError:
        return None
    if timestamp < now - max_age_days * _SECONDS_PER_DAY:
        return None
    try:
        return base64.b64decode(encoded)
    except (binascii.Error, ValueError):
        return None


def get_signature_key_version(value: str | bytes) -> int | None:
    """Returns the key version recorded in a signed value, without checking the signature.

    Args:
        value: A signed value.

    Returns:
        The key version, or ``None`` for a value that is not a well-formed version 2 value.
    """
    try:
        raw = _as_bytes(value)
        if _version_of(raw) != 2:
            return None
        key_version, _, _, _, _ = _split_v2(raw)
    except ValueError:  # including UnicodeEncodeError
        return None
    return key_version


# --------------------------------------------------------------------------------------
# XSRF tokens


def _xor_mask(mask: bytes, data: bytes) -> bytes:
    """XORs ``data`` with ``mask`` repeated (the WebSocket masking of RFC 6455)."""
    if len(mask) != _XSRF_MASK_SIZE:
        raise ValueError("mask must be 4 bytes")
    repeated = (mask * (len(data) // _XSRF_MASK_SIZE + 1))[: len(data)]
    return bytes(a ^ b for a, b in zip(data, repeated, strict=True))


def encode_xsrf_token(token: bytes, timestamp: float, version: int = 2) -> bytes:
    """Encodes a raw XSRF token as sent to clients (cookie, form field, header).

    Args:
        token: The raw token (random bytes).
        timestamp: When the token was made (POSIX time); format 2 records it.
        version: 2 (masked with a fresh random mask, so each call gives a different
            string) or 1 (the token in hex).

    Returns:
        The encoded token, ASCII bytes.

    Raises:
        ValueError: For an unknown version.
    """
    if version == 1:
        return binascii.hexlify(token)
    if version != 2:
        raise ValueError(f"unknown xsrf cookie version {version}")
    mask = os.urandom(_XSRF_MASK_SIZE)
    return b"|".join(
        (
            b"2",
            binascii.hexlify(mask),
            binascii.hexlify(_xor_mask(mask, token)),
            str(int(timestamp)).encode("ascii"),
        )
    )


def decode_xsrf_token(
    value: str, clock: Callable[[], float] | None = None
) -> tuple[int | None, bytes | None, int | None]:
    """Decodes an XSRF token as encoded by `encode_xsrf_token` (or by Tornado).

    A string without a version field is read as version 1: hex if it is hex, else its
    UTF-8 bytes taken as the token itself.

    Args:
        value: The encoded token (from the cookie, a form field or a header).
        clock: Returns the current POSIX time, used as the timestamp of version 1 tokens
            (which have none); default `time.time`.

    Returns:
        ``(version, raw token, timestamp)``, or ``(None, None, None)`` when the value is
        malformed or of an unknown version.
    """
    try:
        raw = value.encode("utf-8")
        match = _VERSION_PREFIX_RE.match(raw)
        if match is None:
            try:
                token = binascii.unhexlify(raw)
            except (binascii.Error, ValueError):
                token = raw
            return 1, token, int((clock or _current_time)())
        if match.group(1) != b"2":
            raise ValueError("unknown xsrf token version")
        _, mask_hex, masked_hex, timestamp_text = value.split("|")
        mask = binascii.unhexlify(mask_hex.encode("ascii"))
        token = _xor_mask(mask, binascii.unhexlify(masked_hex.encode("ascii")))
        return 2, token, int(timestamp_text)
    except (ValueError, binascii.Error, UnicodeError):
        gen_log.debug("Could not decode XSRF token %r", value, exc_info=True)
        return None, None, None

"""trinado.security: signed values and XSRF token encoding, checked against Tornado itself.

Plain synchronous tests. The known values are Tornado's own test vectors; the differential
tests run the same inputs (including every single-byte corruption of a valid value) through
``tornado.web`` and trinado and require the same answers.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from typing import Any

import pytest
import tornado.web

from trinado import security, web
from trinado.security import (
    create_signed_value,
    decode_signed_value,
    decode_xsrf_token,
    encode_xsrf_token,
    get_signature_key_version,
)

SECRET = "It's a secret to everybody"
SECRET_DICT = {0: "asdfbasdf", 1: "12312312", 2: "2342342"}
PRESENT = 1300000000
KNOWN_V1 = b"dmFsdWU=|1300000000|31c934969f53e48164c50768b40cbd7e2daaaa4f"
KNOWN_V2 = (
    b"2|1:0|10:1300000000|3:key|8:dmFsdWU=|"
    b"3d4e60b996ff9c5d5788e333a0cba6f238a22c6c0f94788870e1a9ecd482e152"
)
KNOWN_V2_PREFIX = "2|1:0|10:1300000000|3:key|8:dmFsdWU=|"
KNOWN_V2_SIGNATURE = "3d4e60b996ff9c5d5788e333a0cba6f238a22c6c0f94788870e1a9ecd482e152"


def present() -> float:
    return PRESENT


def past() -> float:
    return PRESENT - 32 * 86400


def decode(value: str | bytes | None, name: str = "key", **kwargs: Any) -> bytes | None:
    return decode_signed_value(SECRET, name, value, clock=present, **kwargs)


# --------------------------------------------------------------------------- known values


def test_known_v1_value() -> None:
    assert create_signed_value(SECRET, "key", "value", version=1, clock=present) == KNOWN_V1
    assert decode(KNOWN_V1, min_version=1) == b"value"


def test_known_v2_value_byte_for_byte() -> None:
    assert create_signed_value(SECRET, "key", "value", version=2, clock=present) == KNOWN_V2
    assert decode(KNOWN_V2, min_version=2) == b"value"


def test_version_2_is_the_default() -> None:
    assert create_signed_value(SECRET, "key", "value", clock=present) == KNOWN_V2
    assert security.DEFAULT_SIGNED_VALUE_VERSION == 2
    assert security.DEFAULT_SIGNED_VALUE_MIN_VERSION == 1


def test_web_reexports_the_signed_value_api() -> None:
    for name in (
        "create_signed_value",
        "decode_signed_value",
        "get_signature_key_version",
        "DEFAULT_SIGNED_VALUE_VERSION",
        "DEFAULT_SIGNED_VALUE_MIN_VERSION",
        "MIN_SUPPORTED_SIGNED_VALUE_VERSION",
        "MAX_SUPPORTED_SIGNED_VALUE_VERSION",
    ):
        ours = getattr(web, name)
        assert ours is getattr(security, name)
        assert name in web.__all__
        if not callable(ours):
            assert ours == getattr(tornado.web, name)


def test_v2_signature_is_hmac_sha256_of_the_prefix() -> None:
    expected = hmac.new(SECRET.encode(), KNOWN_V2_PREFIX.encode(), hashlib.sha256).hexdigest()
    assert expected == KNOWN_V2_SIGNATURE


def test_secret_may_be_bytes() -> None:
    signed = create_signed_value(SECRET.encode(), "key", "value", clock=present)
    assert signed == KNOWN_V2
    assert decode_signed_value(SECRET.encode(), "key", signed, clock=present) == b"value"


def test_value_may_be_any_bytes_and_str_is_utf8() -> None:
    for value in (b"\xe9", b"\x00\xff|:;,\r\n", b"", "caf\u00e9"):
        signed = create_signed_value(SECRET, "key", value, clock=present)
        assert re.fullmatch(rb"[\x21-\x7e]+", signed), signed
        expected = value if isinstance(value, bytes) else value.encode()
        if expected:
            assert decode(signed) == expected
        else:
            assert decode(signed) == b""


# --------------------------------------------------------------------------- what is refused


def test_min_version_2_refuses_version_1() -> None:
    assert decode(KNOWN_V1, min_version=2) is None
    assert decode(KNOWN_V2, min_version=2) == b"value"


def test_min_version_above_2_is_an_error() -> None:
    with pytest.raises(ValueError, match="min_version"):
        decode(KNOWN_V2, min_version=3)


def test_empty_or_none_is_none() -> None:
    assert decode(None) is None
    assert decode("") is None
    assert decode(b"") is None


def test_name_swap_is_refused() -> None:
    signed1 = create_signed_value(SECRET, "key1", "value", clock=present)
    signed2 = create_signed_value(SECRET, "key2", "value", clock=present)
    assert decode(signed1, name="key2") is None
    assert decode(signed2, name="key1") is None
    assert decode(signed1, name="key1") == b"value"


def test_v1_name_swap_is_refused() -> None:
    signed = create_signed_value(SECRET, "key1", "value", version=1, clock=present)
    assert decode(signed, name="key2") is None


@pytest.mark.parametrize("version", [1, 2])
def test_expired_value_is_refused(version: int) -> None:
    signed = create_signed_value(SECRET, "key", "value", version=version, clock=past)
    assert decode_signed_value(SECRET, "key", signed, clock=past) == b"value"
    assert decode_signed_value(SECRET, "key", signed, clock=present) is None
    # max_age_days moves the limit.
    assert decode_signed_value(SECRET, "key", signed, clock=present, max_age_days=33) == b"value"


def test_expiry_boundary() -> None:
    signed = create_signed_value(SECRET, "key", "value", clock=present)

    def at(seconds: float) -> bytes | None:
        return decode_signed_value(
            SECRET, "key", signed, max_age_days=1, clock=lambda: PRESENT + seconds
        )

    assert at(86400) == b"value"
    assert at(86401) is None


def test_payload_tampering_is_refused() -> None:
    def validate(prefix: str) -> bool:
        return decode(prefix + KNOWN_V2_SIGNATURE) == b"value"

    assert validate(KNOWN_V2_PREFIX)
    assert not validate("2|1:1|10:1300000000|3:key|8:dmFsdWU=|")  # key version
    assert not validate("2|1:0|10:130000000|3:key|8:dmFsdWU=|")  # field too short
    assert not validate("2|1:0|10:1300000000|3:keey|8:dmFsdWU=|")  # field too long
    assert not validate("2|1:0|10:1300000001|3:key|8:dmFsdWU=|")  # timestamp
    assert not validate("2|1:0|10:1300000000|3:key|8:dmFsdWX=|")  # value


def test_signature_tampering_is_refused() -> None:
    def validate(signature: str) -> bool:
        return decode(KNOWN_V2_PREFIX + signature) == b"value"

    assert validate(KNOWN_V2_SIGNATURE)
    assert not validate("0" * 64)
    assert not validate("0" * 32)
    assert not validate("4" + KNOWN_V2_SIGNATURE[1:])
    assert not validate(KNOWN_V2_SIGNATURE[:-1] + "3")
    assert not validate(KNOWN_V2_SIGNATURE[:-1])
    assert not validate(KNOWN_V2_SIGNATURE + "8")
    assert not validate(KNOWN_V2_SIGNATURE.upper())
    assert not validate("")


def test_another_secret_is_refused() -> None:
    assert decode_signed_value("another secret", "key", KNOWN_V2, clock=present) is None
    assert decode_signed_value("another secret", "key", KNOWN_V1, clock=present) is None


def test_v1_timestamp_tampering_is_refused(caplog: pytest.LogCaptureFixture) -> None:
    # Version 1 signs value and timestamp run together: digits can move between them.
    payload = binascii.a2b_hex(b"d76df8e7aefc")  # base64-encodes to "12345678"
    signed = create_signed_value(SECRET, "foo", payload, version=1, clock=present)
    encoded, timestamp, signature = signed.split(b"|")
    assert encoded == b"12345678"
    moved = b"|".join((b"1234", b"5678" + timestamp, signature))
    assert decode_signed_value(SECRET, "foo", moved, clock=present) is None
    assert "Cookie timestamp in future" in caplog.text


def test_v1_leading_zero_timestamp_is_refused(caplog: pytest.LogCaptureFixture) -> None:
    encoded, timestamp = b"dmFsdWU=", b"01300000000"
    signature = hmac.new(SECRET.encode(), b"key" + encoded + timestamp, "sha1").hexdigest()
    forged = b"|".join((encoded, timestamp, signature.encode()))
    assert decode(forged) is None
    assert "Tampered cookie" in caplog.text


def test_malformed_timestamp_with_a_valid_signature_is_none() -> None:
    secret, name, encoded = b"s", "a", b"dg=="
    sig_v1 = hmac.new(secret, b"a" + encoded + b"not-a-number", "sha1").hexdigest()
    v1 = b"|".join((encoded, b"not-a-number", sig_v1.encode()))
    assert decode_signed_value(secret, name, v1, clock=present) is None
    prefix = b"2|1:0|1:a|1:a|4:dg==|"
    v2 = prefix + hmac.new(secret, prefix, hashlib.sha256).hexdigest().encode()
    assert decode_signed_value(secret, name, v2, clock=present) is None


def test_malformed_base64_with_a_valid_signature_is_none() -> None:
    prefix = b"2|1:0|10:1300000000|3:key|3:abc|"  # "abc" is not valid base64 (padding)
    signed = prefix + hmac.new(SECRET.encode(), prefix, hashlib.sha256).hexdigest().encode()
    assert decode(signed) is None


HOSTILE_VALUES = [
    "2|",
    "2",
    "2|1:0",
    "2|1:0|",
    "2|x:0|10:1300000000|3:key|8:dmFsdWU=|" + KNOWN_V2_SIGNATURE,
    "2|-1:0|10:1300000000|3:key|8:dmFsdWU=|" + KNOWN_V2_SIGNATURE,
    "2|+1:0|10:1300000000|3:key|8:dmFsdWU=|" + KNOWN_V2_SIGNATURE,
    "2| 1:0|10:1300000000|3:key|8:dmFsdWU=|" + KNOWN_V2_SIGNATURE,
    "2|99999999999999999999:0|",
    "2|" + "9" * 5000 + ":0|",
    "2|1:0|10:1300000000|3:key|800:dmFsdWU=|" + KNOWN_V2_SIGNATURE,
    "2|1:a|10:1300000000|3:key|8:dmFsdWU=|" + KNOWN_V2_SIGNATURE,
    "3|1:0|10:1300000000|3:key|8:dmFsdWU=|" + KNOWN_V2_SIGNATURE,
    "02|1:0|10:1300000000|3:key|8:dmFsdWU=|" + KNOWN_V2_SIGNATURE,
    "999|x",
    "1000|x",
    "|||",
    "||",
    "a|b|c",
    "dmFsdWU=|1300000000|",
    "dmFsdWU=||31c934969f53e48164c50768b40cbd7e2daaaa4f",
    "\x00",
    "\udc80\udcff",
    "caf\u00e9|\u2028|\U0001f600",
    "2|1:0|10:1300000000|3:key|8:dmFsdWU=|" + KNOWN_V2_SIGNATURE + "\n",
    "x" * 100_000,
]


@pytest.mark.parametrize("value", HOSTILE_VALUES)
def test_hostile_values_decode_to_none(value: str) -> None:
    assert decode(value) is None
    assert decode_signed_value(SECRET_DICT, "key", value, clock=present) is None


@pytest.mark.parametrize("value", HOSTILE_VALUES)
def test_hostile_values_have_no_key_version(value: str) -> None:
    if value.startswith("2|1:0|10:"):
        return  # well-formed enough to carry a key version
    assert get_signature_key_version(value) is None


def corruptions(value: bytes) -> list[bytes]:
    """Every truncation, and every single-byte change (to each of a few bytes) of ``value``."""
    out = [value[:i] for i in range(len(value))]
    for i in range(len(value)):
        for replacement in (b"0", b"1", b"|", b":", b"a", b"=", b"\xff"):
            if value[i : i + 1] != replacement:
                out.append(value[:i] + replacement + value[i + 1 :])
    return out


def test_every_corruption_of_a_v2_value_is_refused() -> None:
    for corrupted in corruptions(KNOWN_V2):
        assert decode(corrupted) is None, corrupted


def test_every_corruption_of_a_key_versioned_value_is_refused() -> None:
    signed = create_signed_value(SECRET_DICT, "key", b"v", key_version=1, clock=present)
    for corrupted in corruptions(signed):
        assert decode_signed_value(SECRET_DICT, "key", corrupted, clock=present) is None


# --------------------------------------------------------------------------- key versions


def test_key_versioned_round_trips() -> None:
    for key_version in (0, 1, 2):
        signed = create_signed_value(
            SECRET_DICT, "key", b"\xe9", clock=present, key_version=key_version
        )
        assert signed.startswith(b"2|1:%d|" % key_version)
        assert get_signature_key_version(signed) == key_version
        assert decode_signed_value(SECRET_DICT, "key", signed, clock=present) == b"\xe9"


def test_removed_key_is_refused() -> None:
    signed = create_signed_value(SECRET_DICT, "key", b"v", clock=present, key_version=0)
    newer = {k: v for k, v in SECRET_DICT.items() if k != 0}
    assert decode_signed_value(newer, "key", signed, clock=present) is None


def test_key_version_cannot_be_changed_to_pick_another_key() -> None:
    signed = create_signed_value(SECRET_DICT, "key", b"v", clock=present, key_version=0)
    relabelled = signed.replace(b"2|1:0|", b"2|1:1|", 1)
    assert decode_signed_value(SECRET_DICT, "key", relabelled, clock=present) is None


def test_single_secret_ignores_the_key_version_field() -> None:
    signed = create_signed_value(SECRET, "key", b"v", clock=present, key_version=7)
    assert signed.startswith(b"2|1:7|")
    assert decode(signed) == b"v"


def test_v1_value_with_a_dict_secret_is_none_not_an_error() -> None:
    # Tornado asserts here (a 500 for any client sending an old-style cookie).
    assert decode_signed_value(SECRET_DICT, "key", KNOWN_V1, clock=present) is None


def test_creating_with_a_dict_needs_a_known_key_version() -> None:
    with pytest.raises(ValueError, match="key_version"):
        create_signed_value(SECRET_DICT, "key", "v")
    with pytest.raises(KeyError):
        create_signed_value(SECRET_DICT, "key", "v", key_version=9)
    with pytest.raises(ValueError, match="version 1"):
        create_signed_value(SECRET_DICT, "key", "v", version=1, key_version=0)


def test_unsupported_version_is_an_error() -> None:
    with pytest.raises(ValueError, match="Unsupported version 3"):
        create_signed_value(SECRET, "key", "v", version=3)


def test_key_version_of_v1_is_none() -> None:
    assert get_signature_key_version(KNOWN_V1) is None
    assert get_signature_key_version(KNOWN_V2) == 0
    assert get_signature_key_version(KNOWN_V2.decode()) == 0


def test_version_1_values_that_look_like_versions() -> None:
    # base64 of these bytes starts with four digits and a pipe is impossible, but a v1 value
    # starting with "1234|" (four digits) must still be read as version 1.
    value = base64.b64decode(b"1234")
    signed = create_signed_value(SECRET, "key", value, version=1, clock=present)
    assert signed.startswith(b"1234|")
    assert decode(signed) == value


def test_non_ascii_name_round_trips_and_tornado_reads_it() -> None:
    signed = create_signed_value(SECRET, "caf\u00e9", b"v", clock=present)
    assert b"|5:caf\xc3\xa9|" in signed
    assert decode(signed, name="caf\u00e9") == b"v"
    assert tornado.web.decode_signed_value(SECRET, "caf\u00e9", signed, clock=present) == b"v"


# --------------------------------------------------------------------------- against Tornado

VALUES: list[str | bytes] = ["value", b"\xe9\x00\xff", "", "a" * 300, "caf\u00e9"]
NAMES = ["key", "user", "__Host-session", "a|b:c"]


@pytest.mark.parametrize("version", [1, 2])
@pytest.mark.parametrize("secret", [SECRET, SECRET.encode(), "k"])
def test_same_bytes_as_tornado(version: int, secret: str | bytes) -> None:
    for name in NAMES:
        for value in VALUES:
            ours = create_signed_value(secret, name, value, version=version, clock=present)
            theirs = tornado.web.create_signed_value(
                secret, name, value, version=version, clock=present
            )
            assert ours == theirs


@pytest.mark.parametrize("version", [1, 2])
def test_tornado_reads_ours_and_we_read_tornados(version: int) -> None:
    for name in NAMES:
        for value in VALUES:
            expected = value if isinstance(value, bytes) else value.encode()
            ours = create_signed_value(SECRET, name, value, version=version, clock=present)
            theirs = tornado.web.create_signed_value(
                SECRET, name, value, version=version, clock=present
            )
            assert tornado.web.decode_signed_value(SECRET, name, ours, clock=present) == expected
            assert decode_signed_value(SECRET, name, theirs, clock=present) == expected


def test_key_versioned_values_both_ways() -> None:
    for key_version in SECRET_DICT:
        ours = create_signed_value(SECRET_DICT, "k", "v", clock=present, key_version=key_version)
        theirs = tornado.web.create_signed_value(
            SECRET_DICT, "k", "v", clock=present, key_version=key_version
        )
        assert ours == theirs
        assert tornado.web.decode_signed_value(SECRET_DICT, "k", ours, clock=present) == b"v"
        assert decode_signed_value(SECRET_DICT, "k", theirs, clock=present) == b"v"
        assert tornado.web.get_signature_key_version(ours) == key_version
        assert get_signature_key_version(theirs) == key_version


def test_same_answers_as_tornado_for_corrupted_and_hostile_values() -> None:
    candidates = [*corruptions(KNOWN_V2), *corruptions(KNOWN_V1)]
    candidates += [v.encode("utf-8", "surrogatepass") for v in HOSTILE_VALUES if len(v) < 1000]
    for candidate in candidates:
        ours = decode_signed_value(SECRET, "key", candidate, clock=present)
        try:
            theirs = tornado.web.decode_signed_value(SECRET, "key", candidate, clock=present)
        except ValueError:
            theirs = None  # Tornado lets int() errors of huge length fields escape
        assert ours == theirs, candidate


def test_same_expiry_as_tornado() -> None:
    for version in (1, 2):
        signed = create_signed_value(SECRET, "key", "v", version=version, clock=past)
        for max_age in (1, 31, 32, 33):
            ours = decode_signed_value(SECRET, "key", signed, max_age, clock=present)
            theirs = tornado.web.decode_signed_value(SECRET, "key", signed, max_age, present)
            assert ours == theirs


# --------------------------------------------------------------------------- XSRF tokens

TOKEN = bytes(range(16))


def test_v2_token_format_and_round_trip() -> None:
    encoded = encode_xsrf_token(TOKEN, 1300000000.7)
    match = re.fullmatch(rb"2\|([0-9a-f]{8})\|([0-9a-f]{32})\|1300000000", encoded)
    assert match is not None
    mask = binascii.unhexlify(match.group(1))
    masked = binascii.unhexlify(match.group(2))
    assert bytes(b ^ mask[i % 4] for i, b in enumerate(masked)) == TOKEN
    assert decode_xsrf_token(encoded.decode()) == (2, TOKEN, 1300000000)


def test_v2_tokens_get_a_fresh_mask_each_time() -> None:
    encoded = {encode_xsrf_token(TOKEN, 0) for _ in range(20)}
    assert len(encoded) == 20
    assert {decode_xsrf_token(e.decode())[1] for e in encoded} == {TOKEN}


def test_v1_token_is_hex() -> None:
    assert encode_xsrf_token(TOKEN, 0, version=1) == binascii.hexlify(TOKEN)
    assert decode_xsrf_token(TOKEN.hex(), clock=lambda: 42.5) == (1, TOKEN, 42)


def test_unknown_token_version_is_an_error() -> None:
    with pytest.raises(ValueError, match="unknown xsrf cookie version 3"):
        encode_xsrf_token(TOKEN, 0, version=3)


def test_v1_token_that_is_not_hex_is_taken_as_is() -> None:
    assert decode_xsrf_token("xoxo", clock=present) == (1, b"xoxo", PRESENT)
    assert decode_xsrf_token("deadbeef", clock=present) == (1, b"\xde\xad\xbe\xef", PRESENT)
    assert decode_xsrf_token("caf\u00e9", clock=present) == (1, "caf\u00e9".encode(), PRESENT)


@pytest.mark.parametrize(
    "value",
    [
        "3|",
        "2|",
        "2|00000000|00",
        "2|00000000|00|1|extra",
        "2|0000|0011|1",  # mask of 2 bytes
        "2|0000000000|0011|1",  # mask of 5 bytes
        "2|zzzzzzzz|0011|1",
        "2|00000000|0g|1",
        "2|00000000|00|x",
        "2|\u00e9\u00e9|00|1",
        "10|00000000|00|1",
        "2|00000000|00|1\udc80",
    ],
)
def test_malformed_tokens_decode_to_nothing(value: str) -> None:
    assert decode_xsrf_token(value) == (None, None, None)


def test_tokens_decode_as_tornado_decodes_them() -> None:
    handler_cls = tornado.web.RequestHandler
    values = [
        encode_xsrf_token(TOKEN, PRESENT).decode(),
        TOKEN.hex(),
        "deadbeef",
        "xoxo",
        "3|",
        "2|0000|0011|1",
        "2|00000000|0011|1",
        "2|00000000||1",
    ]
    for value in values:
        ours = decode_xsrf_token(value, clock=present)
        theirs = handler_cls._decode_xsrf_token(None, value)  # type: ignore[arg-type]
        if ours[0] == 1:
            # Tornado stamps version 1 tokens with its own clock.
            assert (ours[0], ours[1]) == (theirs[0], theirs[1])
        else:
            assert ours == theirs, value

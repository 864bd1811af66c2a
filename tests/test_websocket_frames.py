"""The server's fast frame path agrees with wsproto, whatever the frames and however split."""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
import trio
import trio.lowlevel
from wsproto import ConnectionType, WSConnection
from wsproto.connection import Connection
from wsproto.events import (
    AcceptConnection,
    BytesMessage,
    CloseConnection,
    Event,
    Message,
    Ping,
    Pong,
    Request,
    TextMessage,
)
from wsproto.frame_protocol import FrameProtocol

from trinado import _ws_protocol, web
from trinado._ws_frames import parse_simple_client_frames, server_frame
from trinado.websocket import WebSocketHandler

from .conftest import MemoryServer

Start = Callable[..., Awaitable[MemoryServer]]


def client_frames(*events: Event) -> bytes:
    ws = Connection(ConnectionType.CLIENT)
    return b"".join(ws.send(event) for event in events)


@pytest.mark.parametrize("size", [0, 1, 125, 126, 127, 65535, 65536, 100_000])
@pytest.mark.parametrize("kind", [str, bytes])
def test_server_frame_matches_wsproto(size: int, kind: type) -> None:
    payload: str | bytes = "é" * (size // 2) if kind is str else bytes(size)
    expected = FrameProtocol(client=False, extensions=[]).send_data(payload, fin=True)
    assert server_frame(payload) == bytes(expected)


def test_simple_frames_are_parsed_and_the_rest_left() -> None:
    data = client_frames(
        TextMessage(data="héllo"),
        BytesMessage(data=b"\x00" * 300),
        TextMessage(data=""),
        Ping(payload=b"p"),
        TextMessage(data="after the ping"),
    )
    out: deque[str | bytes] = deque()
    used = parse_simple_client_frames(data, 1 << 20, out)
    assert list(out) == ["héllo", b"\x00" * 300, ""]
    rest = client_frames(Ping(payload=b"p"), TextMessage(data="after the ping"))
    assert data[used:][:2] == b"\x89\x81"  # the ping is where the fast path stopped
    assert len(data) - used == len(rest)


@pytest.mark.parametrize(
    "frame",
    [
        client_frames(TextMessage(data="part", message_finished=False)),  # fragment
        client_frames(BytesMessage(data=b"x" * 70_000)),  # 64-bit length
        b"\x81\x05hello",  # unmasked
        b"\x81\x82\x00\x00\x00\x00\xff\xfe",  # invalid UTF-8
        b"\x81\xfe\x00\x05\x00\x00\x00\x00hello",  # non-minimal 16-bit length
        b"\xc1\x80\x00\x00\x00\x00",  # a reserved bit
        client_frames(TextMessage(data="x" * 200))[:-1],  # incomplete
    ],
)
def test_frames_for_the_general_parser_are_not_touched(frame: bytes) -> None:
    out: deque[str | bytes] = deque()
    assert parse_simple_client_frames(frame, 1 << 20, out) == 0
    assert not out


def test_frames_over_the_limit_are_left_to_the_general_path() -> None:
    out: deque[str | bytes] = deque()
    assert parse_simple_client_frames(client_frames(TextMessage(data="x" * 11)), 10, out) == 0


class Recorder(WebSocketHandler):
    def initialize(self, log: list[Any]) -> None:
        self.log = log

    def on_message(self, message: str | bytes) -> None:
        self.log.append(message)

    def on_ping(self, data: bytes) -> None:
        self.log.append(("ping", data))


def random_events(rng: random.Random) -> tuple[list[Event], list[Any]]:
    """Client events and what the server should record for them."""
    events: list[Event] = []
    expected: list[Any] = []
    for _ in range(300):
        choice = rng.random()
        size = (
            rng.choice([0, 1, 5, 125, 126, 200, 65535, 70_000])
            if rng.random() < 0.1
            else (rng.randrange(0, 300))
        )
        if choice < 0.4:
            text = "".join(rng.choice("aé✓😀 ") for _ in range(size // 3))
            events.append(TextMessage(data=text))
            expected.append(text)
        elif choice < 0.7:
            data = rng.randbytes(size)
            events.append(BytesMessage(data=data))
            expected.append(data)
        elif choice < 0.85:
            pieces = [rng.randbytes(rng.randrange(0, 50)) for _ in range(rng.randrange(1, 4))]
            for i, piece in enumerate(pieces):
                events.append(BytesMessage(data=piece, message_finished=i == len(pieces) - 1))
            expected.append(b"".join(pieces))
        elif choice < 0.95:
            payload = rng.randbytes(rng.randrange(0, 20))
            events.append(Ping(payload=payload))
            expected.append(("ping", payload))
        else:
            events.append(Pong(payload=b"unsolicited"))
    return events, expected


@pytest.mark.parametrize("seed", range(8))
async def test_any_split_of_any_frames_gives_the_same_messages(
    memory_server: Start, seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    fast_bytes = [0]

    def counting(data: bytes, limit: int, out: deque[str | bytes]) -> int:
        used = parse_simple_client_frames(data, limit, out)
        fast_bytes[0] += used
        return used

    monkeypatch.setattr(_ws_protocol, "parse_simple_client_frames", counting)
    rng = random.Random(seed)
    log: list[Any] = []
    ms = await memory_server(web.Application([(r"/ws", Recorder, {"log": log})]))
    stream = ms.connect()
    ws = WSConnection(ConnectionType.CLIENT)
    await stream.send_all(ws.send(Request(host="example.com", target="/ws")))
    while True:
        ws.receive_data(bytes(await stream.receive_some(65536)))
        if any(isinstance(event, AcceptConnection) for event in ws.events()):
            break
    events, expected = random_events(rng)
    frames = [ws.send(event) for event in events] + [ws.send(CloseConnection(code=1000))]
    data = b"".join(frames)
    # Whole frames, frames cut at random points, and runs of both glued together: reads
    # then end sometimes on a frame boundary (fast path) and sometimes inside one (wsproto).
    pieces: list[bytes] = []
    for frame in frames:
        if rng.random() < 0.5 or len(frame) < 2:
            pieces.append(frame)
        else:
            cut = rng.randrange(1, len(frame))
            pieces += [frame[:cut], frame[cut:]]
    while pieces:
        count = rng.choice([1, 1, 2, 5])
        await stream.send_all(b"".join(pieces[:count]))
        del pieces[:count]
        if rng.random() < 0.5:
            await trio.lowlevel.checkpoint()  # let the server read what is there
    pongs: list[bytes] = []
    with trio.fail_after(10):
        while True:
            chunk = await stream.receive_some(65536)
            ws.receive_data(bytes(chunk) if chunk else None)
            done = False
            for event in ws.events():
                if isinstance(event, Pong):
                    pongs.append(bytes(event.payload))
                elif isinstance(event, CloseConnection):
                    done = True
                elif isinstance(event, Message):
                    raise AssertionError(f"unexpected message {event!r}")
            if done:
                break
    assert log == expected
    assert 0 < fast_bytes[0] < len(data)  # both paths were taken
    assert pongs == [entry[1] for entry in expected if isinstance(entry, tuple)]

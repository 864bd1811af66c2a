"""How StaticFileHandler reads files: page cache first, worker threads otherwise, paced by
the client; and what happens when a file changes under a response."""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
import trio
import trio.testing

from trinado import _file_reader
from trinado._file_reader import FileRangeReader, SendPacer
from trinado.static import StaticFileHandler
from trinado.testing import open_test_client as client_for
from trinado.web import Application

DATA = os.urandom(300_000)


@pytest.fixture(autouse=True)
def _fresh_versions() -> Iterator[None]:
    StaticFileHandler.reset()
    yield
    StaticFileHandler.reset()


@pytest.fixture
def root(tmp_path: Path) -> Path:
    (tmp_path / "data.bin").write_bytes(DATA)
    return tmp_path


def _app(root: Path, handler: type[StaticFileHandler] = StaticFileHandler) -> Application:
    return Application([(r"/(.*)", handler, {"path": str(root)})])


async def test_cached_reads_stay_on_the_event_loop(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if _file_reader._RWF_NOWAIT is None:
        pytest.skip("no RWF_NOWAIT here")
    threads: list[int] = []
    real_pread = _file_reader._pread

    def spy(fd: int, size: int, offset: int) -> bytes:
        threads.append(threading.get_ident())
        return real_pread(fd, size, offset)

    monkeypatch.setattr(_file_reader, "_pread", spy)
    async with client_for(_app(root)) as client:
        await client.get("/data.bin")  # the first read may find the cache cold
        threads.clear()
        response = await client.get("/data.bin")
    assert response.content == DATA
    assert threads == []  # the file is cached now: no thread round trips


@pytest.mark.parametrize("how", ["no RWF_NOWAIT", "not cached", "unsupported"])
async def test_reads_the_cache_cannot_serve_go_to_worker_threads(
    root: Path, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    threads: set[int] = set()
    real_pread = _file_reader._pread

    def spy(fd: int, size: int, offset: int) -> bytes:
        threads.add(threading.get_ident())
        return real_pread(fd, size, offset)

    def refuse(error: OSError) -> Any:
        def preadv(*args: Any) -> int:
            raise error

        return preadv

    monkeypatch.setattr(_file_reader, "_pread", spy)
    if how == "no RWF_NOWAIT":
        monkeypatch.setattr(_file_reader, "_RWF_NOWAIT", None)
    else:
        monkeypatch.setattr(_file_reader, "_RWF_NOWAIT", 8)
        error = BlockingIOError() if how == "not cached" else OSError(95, "unsupported")
        monkeypatch.setattr(os, "preadv", refuse(error))
    async with client_for(_app(root)) as client:
        whole = await client.get("/data.bin")
        ranged = await client.get("/data.bin", headers={"Range": "bytes=70000-200000"})
    assert whole.content == DATA
    assert ranged.content == DATA[70000:200001]
    assert threads
    assert threading.get_ident() not in threads
    if how == "unsupported":
        assert _file_reader._RWF_NOWAIT is None  # not tried again


async def test_partial_cached_reads_are_completed(root: Path) -> None:
    reader = FileRangeReader.open(str(root / "data.bin"), 10, 250_000, 65536)
    with reader:
        pieces = []
        while piece := await reader.read():
            assert len(piece) <= 65536
            pieces.append(piece)
        assert reader.remaining == 0
        assert await reader.read() == b""
    assert b"".join(pieces) == DATA[10:250_000]
    assert reader.bytes_read == 250_000 - 10


async def test_a_truncated_file_is_an_error(root: Path) -> None:
    path = root / "data.bin"
    reader = FileRangeReader.open(str(path), 0, len(DATA) + 10, 1 << 20)
    with reader:
        assert await reader.read() == DATA
        with pytest.raises(EOFError):
            await reader.read()


def test_only_regular_files_are_opened(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "fifo")
    for name in ("fifo", "."):
        with pytest.raises(IsADirectoryError):
            FileRangeReader.open(str(tmp_path / name), 0, 1, 1)
    with pytest.raises(FileNotFoundError):
        FileRangeReader.open(str(tmp_path / "missing"), 0, 1, 1)


async def test_file_shrinking_under_a_response_closes_the_connection(root: Path) -> None:
    class Shrunk(StaticFileHandler):
        def get_content_size(self) -> int:
            return len(DATA) + 100_000  # as if the file was cut after the stat

        def compute_etag(self) -> str | None:
            return None

    async with client_for(_app(root, Shrunk)) as client:
        with pytest.raises(httpx.RemoteProtocolError):
            await client.get("/data.bin")
        # The server goes on serving.
        assert (await client.get("/data.bin", headers={"Range": "bytes=0-9"})).content == DATA[:10]


# --------------------------------------------------------------------------- pacing


async def test_pacer_sets_the_low_water_mark_on_tcp_sockets(root: Path) -> None:
    if not hasattr(socket, "TCP_NOTSENT_LOWAT"):
        pytest.skip("no TCP_NOTSENT_LOWAT here")
    seen: list[int] = []

    class Spy(StaticFileHandler):
        def on_finish(self) -> None:
            sock = self.request.connection.stream.socket
            seen.append(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NOTSENT_LOWAT))

    async with client_for(_app(root, Spy)) as client:
        assert (await client.get("/data.bin")).content == DATA
    assert seen == [2 * StaticFileHandler.CHUNK_SIZE]


async def test_pacer_without_poll_slows_down_after_a_waiting_flush() -> None:
    stream = trio.testing.MemorySendStream()
    connection = SimpleNamespace(stream=stream, params=SimpleNamespace(write_timeout=5.0))
    pacer = SendPacer(connection, 65536, 16384)
    assert await pacer.next_chunk_size(flush_waited=False) == 65536
    assert await pacer.next_chunk_size(flush_waited=True) == 16384
    assert await pacer.next_chunk_size(flush_waited=False) == 16384  # stays slow


def _full_socket_pair() -> tuple[socket.socket, socket.socket]:
    """A connected pair whose first socket cannot take one more byte."""
    a, b = socket.socketpair()
    a.setblocking(False)
    b.setblocking(False)
    try:
        while True:
            a.send(b"x" * 65536)
    except BlockingIOError:
        pass
    return a, b


def _connection(sock: socket.socket, write_timeout: float) -> Any:
    stream = trio.SocketStream(trio.socket.from_stdlib_socket(sock))
    return SimpleNamespace(stream=stream, params=SimpleNamespace(write_timeout=write_timeout))


async def test_pacer_waits_for_room_on_a_full_socket() -> None:
    a, b = _full_socket_pair()
    with a, b:
        pacer = SendPacer(_connection(a, 5.0), 4096, 1024)
        drained = False

        async def drain() -> None:
            nonlocal drained
            await trio.sleep(0.2)
            drained = True
            while True:
                try:
                    b.recv(1 << 20)
                except BlockingIOError:
                    return

        async with trio.open_nursery() as nursery:
            nursery.start_soon(drain)
            with trio.fail_after(5):
                size = await pacer.next_chunk_size(flush_waited=False)
        assert drained  # it did wait for the other side
        assert size == 1024  # a Unix socket has no low-water mark: full means slow


async def test_pacer_wait_is_bounded_by_write_timeout() -> None:
    a, b = _full_socket_pair()
    with a, b:
        pacer = SendPacer(_connection(a, 0.2), 4096, 1024)
        started = trio.current_time()
        with trio.fail_after(5):
            await pacer.next_chunk_size(flush_waited=False)
        assert 0.15 < trio.current_time() - started < 2  # gave up after write_timeout

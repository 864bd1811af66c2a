"""Reading files for responses without blocking the event loop.

A read goes to the page cache first, from the event loop itself, with
``preadv(..., RWF_NOWAIT)`` (Linux): the kernel copies what it has cached and answers
``EAGAIN`` instead of waiting for the disk. Only reads the cache cannot serve, and systems
without ``RWF_NOWAIT``, go to a worker thread (`trio.to_thread.run_sync` under one
`trio.CapacityLimiter` per run). A file served again and again therefore costs no thread
round trip (about 50 microseconds each), while a cold disk or a network file system never
stalls the other connections.

Opening and ``fstat`` stay on the event loop, like the ``stat`` and ``realpath`` calls of
path validation: they are answered from the kernel's inode and directory caches.

`SendPacer` paces the reads by the client: the next chunk is read only once the socket can
take it, so a connection waiting for a slow client holds no chunk at all (its data waits in
the kernel's socket buffer, which the client drains).
"""

from __future__ import annotations

import errno
import os
import select
import socket
import stat
import threading
from collections.abc import Callable
from typing import Any, TypeVar

import trio

__all__ = ["FileRangeReader", "SendPacer", "run_in_file_thread"]

T = TypeVar("T")

#: Worker threads used for file reads at a time, per `trio.run`.
FILE_THREADS = 8

_limiter_var: trio.lowlevel.RunVar[trio.CapacityLimiter] = trio.lowlevel.RunVar(
    "trinado_file_threads"
)

_OPEN_FLAGS = (
    os.O_RDONLY
    | getattr(os, "O_CLOEXEC", 0)
    | getattr(os, "O_BINARY", 0)
    # Opening a FIFO blocks until it has a writer; with O_NONBLOCK it does not, and the
    # fstat below then refuses it. Regular files ignore the flag.
    | getattr(os, "O_NONBLOCK", 0)
)
_RWF_NOWAIT: int | None = getattr(os, "RWF_NOWAIT", None) if hasattr(os, "preadv") else None
# Errors meaning "this file system (or kernel) cannot do RWF_NOWAIT": use threads.
_NOWAIT_UNSUPPORTED = {errno.EOPNOTSUPP, errno.EINVAL, getattr(errno, "ENOSYS", -1)}


def file_thread_limiter() -> trio.CapacityLimiter:
    """Returns the limiter of file-reading threads of the current run (made on first use)."""
    try:
        return _limiter_var.get()
    except LookupError:
        limiter = trio.CapacityLimiter(FILE_THREADS)
        _limiter_var.set(limiter)
        return limiter


async def run_in_file_thread(fn: Callable[..., T], *args: object) -> T:
    """Runs a blocking file operation in a worker thread, under the file thread limiter.

    Args:
        fn: The function.
        *args: Its arguments.

    Returns:
        What ``fn`` returned.
    """
    return await trio.to_thread.run_sync(fn, *args, limiter=file_thread_limiter())


def _pread(fd: int, size: int, offset: int) -> bytes:
    if hasattr(os, "pread"):
        return os.pread(fd, size, offset)
    os.lseek(fd, offset, os.SEEK_SET)  # pragma: no cover - Windows
    return os.read(fd, size)  # pragma: no cover - Windows


# One scratch buffer per thread for reads from the cache: the read and the copy out of it
# happen with no checkpoint in between, so every task of a run can share it.
_scratch = threading.local()


def _pread_cached(fd: int, size: int, offset: int) -> bytes | None:
    """Reads from the page cache only; None when that would wait for the disk."""
    global _RWF_NOWAIT
    flags = _RWF_NOWAIT
    if flags is None:
        return None
    buffer: bytearray | None = getattr(_scratch, "buffer", None)
    if buffer is None or len(buffer) < size:
        buffer = _scratch.buffer = bytearray(size)
    view = memoryview(buffer)[:size]
    try:
        count = os.preadv(fd, (view,), offset, flags)
    except BlockingIOError:
        return None
    except OSError as exc:
        if exc.errno in _NOWAIT_UNSUPPORTED:
            _RWF_NOWAIT = None
            return None
        raise
    if count <= 0:
        return None  # end of file, or nothing cached: let a blocking read tell which
    return view[:count].tobytes()


class FileRangeReader:
    """Reads bytes ``[start, end)`` of a regular file, a chunk at a time.

    Open it with `open`; `read` returns the next chunk, ``b""`` at the end. Close it with
    `close` (or use it as a context manager).

    Args:
        fd: A file descriptor open for reading.
        start: The first byte.
        end: One past the last byte.
        chunk_size: The largest chunk `read` returns.
    """

    def __init__(self, fd: int, start: int, end: int, chunk_size: int) -> None:
        self._fd = fd
        self._offset = start
        self._end = end
        self._chunk_size = chunk_size
        self.bytes_read = 0

    @classmethod
    def open(cls, path: str, start: int, end: int, chunk_size: int) -> FileRangeReader:
        """Opens a regular file for reading a range of it.

        Args:
            path: The file's path.
            start: The first byte.
            end: One past the last byte.
            chunk_size: The largest chunk `read` returns.

        Returns:
            The reader.

        Raises:
            OSError: If the file cannot be opened; `IsADirectoryError` (with ``EISDIR``) if
                it is not a regular file.
        """
        fd = os.open(path, _OPEN_FLAGS)
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise IsADirectoryError(errno.EISDIR, "not a regular file", path)
        except BaseException:
            os.close(fd)
            raise
        return cls(fd, start, end, chunk_size)

    @property
    def remaining(self) -> int:
        """Bytes of the range not read yet."""
        return self._end - self._offset

    async def read(self, chunk_size: int | None = None) -> bytes:
        """Reads the next chunk of the range.

        Args:
            chunk_size: The most to read this time; by default the reader's chunk size.

        Returns:
            Up to ``chunk_size`` bytes; ``b""`` once the range has been read.

        Raises:
            EOFError: If the file ended before the range did (it was truncated).
            OSError: If reading fails.
        """
        size = min(chunk_size or self._chunk_size, self._end - self._offset)
        if size <= 0:
            await trio.lowlevel.checkpoint()
            return b""
        data = _pread_cached(self._fd, size, self._offset)
        if data is None:
            data = await run_in_file_thread(_pread, self._fd, size, self._offset)
            if not data:
                raise EOFError(f"file ended {self._end - self._offset} bytes early")
        else:
            # Served from the cache without waiting: only a cancellation point. The write
            # that follows a read yields to other tasks now and then (as the connection's
            # writes do when the socket never makes them wait), so no yield is needed here.
            await trio.lowlevel.checkpoint_if_cancelled()
        self._offset += len(data)
        self.bytes_read += len(data)
        return data

    def close(self) -> None:
        """Closes the file (again is fine)."""
        if self._fd >= 0:
            fd, self._fd = self._fd, -1
            os.close(fd)

    def __enter__(self) -> FileRangeReader:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class SendPacer:
    """Decides when the next chunk of a response may be read, and how big it may be.

    A chunk is read only once the client's socket can take it, so a connection waiting for
    a slow client holds no chunk: its data waits in the kernel's socket buffer. On a TCP
    socket this uses ``TCP_NOTSENT_LOWAT`` (Linux, macOS) set to twice the chunk size: the
    socket then reports itself writable only when a whole chunk fits, and a zero-timeout
    ``poll`` (a microsecond or two) tells whether it does. Only when it does not does the
    task wait (the stream's ``wait_send_all_might_not_block``).

    Without ``TCP_NOTSENT_LOWAT`` (TLS, Unix sockets, other systems) a write can still find
    the socket full and wait holding its chunk; once that happened (the caller reports it)
    or the socket was seen full, the client is slow and chunks shrink to ``slow_chunk_size``.

    Each wait is bounded by the connection's ``write_timeout``; past it the next write
    fails on its own deadline.

    Args:
        connection: The request's connection (its ``stream`` and ``params`` are used when
            present; without a stream the pacer never waits).
        chunk_size: The chunk size for a client that keeps up.
        slow_chunk_size: The chunk size for a slow client, without ``TCP_NOTSENT_LOWAT``.
    """

    def __init__(self, connection: Any, chunk_size: int, slow_chunk_size: int) -> None:
        stream = getattr(connection, "stream", None)
        self._stream: trio.abc.SendStream | None = (
            stream if isinstance(stream, trio.abc.SendStream) else None
        )
        params = getattr(connection, "params", None)
        timeout = getattr(params, "write_timeout", None)
        self._timeout = float("inf") if timeout is None else float(timeout)
        self._chunk_size = chunk_size
        self._slow_chunk_size = slow_chunk_size
        self._poll: Any = None
        self._low_water = False
        self._slow = False
        if isinstance(stream, trio.SocketStream) and hasattr(select, "poll"):
            sock = stream.socket
            self._poll = select.poll()
            self._poll.register(sock.fileno(), select.POLLOUT)
            self._low_water = _set_notsent_lowat(sock, 2 * chunk_size)

    @property
    def watches_flushes(self) -> bool:
        """Whether `next_chunk_size` wants to know if flushes waited (else pass False)."""
        return not self._low_water and not self._slow

    async def next_chunk_size(self, flush_waited: bool) -> int:
        """Waits until the socket can take the next chunk; returns the size to read.

        Args:
            flush_waited: Whether sending the previous chunk had to wait for the client.

        Returns:
            How many bytes to read next.

        Raises:
            StreamClosedError: If the client is gone.
        """
        if flush_waited and not self._low_water:
            self._slow = True
        if self._stream is not None:
            # poll: room, or an error the next write will report.
            room = bool(self._poll.poll(0)) if self._poll is not None else not self._slow
            if not room:
                if not self._low_water:
                    self._slow = True
                await self._wait()
        return self._slow_chunk_size if self._slow else self._chunk_size

    async def _wait(self) -> None:
        from .iostream import StreamClosedError

        stream = self._stream
        if stream is None:
            return
        with trio.move_on_after(self._timeout):
            try:
                await stream.wait_send_all_might_not_block()
            except (trio.BrokenResourceError, trio.ClosedResourceError, OSError) as exc:
                raise StreamClosedError(exc) from exc


def _set_notsent_lowat(sock: trio.socket.SocketType, value: int) -> bool:
    """Sets TCP_NOTSENT_LOWAT on a TCP socket; False where that is not possible."""
    option = getattr(socket, "TCP_NOTSENT_LOWAT", None)
    if option is None or sock.family not in (socket.AF_INET, socket.AF_INET6):
        return False
    try:
        sock.setsockopt(socket.IPPROTO_TCP, option, value)
    except OSError:
        return False
    return True

"""Serving files from a directory: `~trinado.static.StaticFileHandler`.

`~trinado.web.Application` routes ``static_url_prefix`` (``/static/``), ``/favicon.ico``
and ``/robots.txt`` to it when the ``static_path`` setting is given; routes of your own can
use it, or a subclass, for other directories (from ``examples/static_site.py``)::

    class DownloadHandler(web.StaticFileHandler):
        ...  # files as attachments (Content-Disposition), cacheable for an hour


    def make_app(root: Path = HERE) -> web.Application:
        return web.Application(
            [
                (r"/", PageHandler),
                (r"/downloads/(.*)", DownloadHandler, {"path": str(root / "downloads")}),
            ],
            ...  # static_path and other settings
        )

It answers GET and HEAD with Tornado's behaviour: ``Accept-Ranges``, single byte ranges
(206, 416), ETags and Last-Modified with 304 answers, ten-year caching of versioned URLs
(``?v=``, see `~trinado.web.RequestHandler.static_url`), and a 403 for any path that
leads out of the directory, symlinks included. File contents are read in chunks without
blocking the event loop, each one only when the client's socket can take it, so a slow
client costs at most one chunk of memory however large the file.
"""

from __future__ import annotations

import datetime
import email.utils
import hashlib
import mimetypes
import os
import re
import stat
import threading
from collections.abc import AsyncIterable, Awaitable, Iterable, Iterator
from typing import Any, ClassVar

import trio

from ._decorators import _is_protocol_relative
from ._errors import HTTPError
from ._file_reader import FileRangeReader, SendPacer, run_in_file_thread
from ._request_handler import RequestHandler
from .httputil import _get_content_range, _parse_request_range
from .log import gen_log

__all__ = ["StaticFileHandler"]

_UTC = datetime.timezone.utc
_END = object()  # what next() returns at the end of a get_content iterator
# A flush taking longer than this waited for the client (one that does not wait takes
# tens of microseconds: it copies a chunk into the socket buffer and returns).
_FLUSH_WAITED = 0.001


def _defining_class(cls: type, name: str) -> type | None:
    """The class in ``cls``'s MRO whose body defines ``name``."""
    for klass in cls.__mro__:
        if name in vars(klass):
            return klass
    return None


class StaticFileHandler(RequestHandler):
    """Serves the files of a directory, as Tornado's ``StaticFileHandler`` does.

    The route's first group is the file's path under ``path``. With the ``static_path``
    setting the application adds the routes itself; set ``static_handler_args`` (for
    example ``{"default_filename": "index.html"}``) and ``static_handler_class`` to
    configure them.

    Requests that lead outside ``path`` are answered 403: ``..`` segments, whatever way
    they were encoded (the route's group is percent-decoded once), absolute paths, and
    symlinks whose target is outside ``path`` (or outside ``allowed_symlink_directory``).
    A path with a NUL byte is a 400; a missing file a 404; a directory a 403, unless
    ``default_filename`` is set: then a directory URL without a trailing slash is
    redirected (301) to the same URL with one, and with one the default file is served.

    **Subclassing.** As in Tornado, URL building goes through class methods
    (`make_static_url`, `get_version`, `get_absolute_path`, `get_content`,
    `get_content_version`) because `~trinado.web.RequestHandler.static_url` runs without a
    handler; serving through instance methods (`parse_url_path`, `validate_absolute_path`,
    `get_content_size`, `get_modified_time`, `get_content_type`, `get_cache_time`,
    `set_extra_headers`), which may use ``self.path``, ``self.absolute_path`` and ``self.modified``.

    **Reading.** Unless `get_content` is overridden, the file is read 64 KiB at a time
    (`CHUNK_SIZE`) from the page cache on the event loop when the data is cached, in a
    worker thread otherwise; each chunk is flushed to the client before the next is read,
    and the next is read only when the client's socket has room for it. An overridden
    `get_content` may return bytes, a synchronous iterable of bytes (as in Tornado; each
    ``next()`` then runs in a worker thread) or an async iterable of bytes (iterated on the
    event loop). The ETag hash of a file (its SHA-512) is computed in a worker thread on
    the first request for it.

    Args:
        path: The directory to serve.
        default_filename: The file served for a directory (``"index.html"``).
        allowed_symlink_directory: A directory, or a list of them, that symlinks may point
            into; by default only ``path`` itself.

    Attributes:
        CACHE_MAX_AGE: Seconds a versioned URL may be cached (ten years).
        MAX_VERSION_CONTENT_SIZE: Files larger than this get no version (and no ETag).
        MAX_CACHED_VERSIONS: How many file versions the class keeps (least recently used
            go first).
        CHUNK_SIZE: Bytes read and sent at a time.
        SLOW_CHUNK_SIZE: Bytes read and sent at a time to a client slower than the disk.
        root: The served directory.
        default_filename: As given.
        path: The requested file, relative to ``root`` (after `parse_url_path`).
        absolute_path: The resolved file (after `validate_absolute_path`).
        modified: Its modification time (from `get_modified_time`).
    """

    CACHE_MAX_AGE: ClassVar[int] = 86400 * 365 * 10
    MAX_VERSION_CONTENT_SIZE: ClassVar[int] = 64 * 1024 * 1024
    MAX_CACHED_VERSIONS: ClassVar[int] = 10000
    CHUNK_SIZE: ClassVar[int] = 64 * 1024
    SLOW_CHUNK_SIZE: ClassVar[int] = 16 * 1024

    # File versions by absolute path, least recently used first.
    _static_hashes: ClassVar[dict[str, str | None]] = {}
    _lock: ClassVar[threading.Lock] = threading.Lock()

    # On the class so that subclasses whose initialize() does not call this one still
    # get the safe default (only the served directory).
    allowed_symlink_directory: str | list[str] | None = None
    _stat_result: os.stat_result | None = None
    _reader: FileRangeReader | None = None
    absolute_path: str | None = None
    modified: datetime.datetime | None = None

    root: str
    default_filename: str | None
    path: str

    def initialize(
        self,
        path: str,
        default_filename: str | None = None,
        allowed_symlink_directory: str | list[str] | None = None,
    ) -> None:
        """Receives the route's arguments.

        Args:
            path: The directory to serve.
            default_filename: The file served for a directory.
            allowed_symlink_directory: Where symlinks may point, besides ``path``.
        """
        self.root = path
        self.default_filename = default_filename
        self.allowed_symlink_directory = allowed_symlink_directory

    @classmethod
    def reset(cls) -> None:
        """Forgets the cached file versions.

        With the ``static_hash_cache`` setting off, this happens whenever a static file is
        requested or `~trinado.web.RequestHandler.static_url` is called.
        """
        with cls._lock:
            cls._static_hashes = {}

    def head(self, path: str) -> Awaitable[None]:
        """Answers HEAD: the headers GET would send, without the body.

        Args:
            path: The requested path.

        Returns:
            The awaitable of `get`.
        """
        return self.get(path, include_body=False)

    async def get(self, path: str, include_body: bool = True) -> None:
        """Serves the file (or the requested range of it).

        Args:
            path: The route's group: the file's path under ``root``, percent-decoded.
            include_body: False for HEAD.

        Raises:
            HTTPError: 400 for a NUL byte, 403 outside the root or for a non-file, 404 for
                a missing file.
        """
        if "\x00" in path:
            raise HTTPError(400, "NUL byte in static file path")
        if not self.settings.get("static_hash_cache", True):
            type(self).reset()
        self.path = self.parse_url_path(path)
        del path  # self.path from here on
        absolute_path = self.get_absolute_path(self.root, self.path)
        self.absolute_path = self.validate_absolute_path(self.root, absolute_path)
        if self.absolute_path is None:
            return
        await self._load_version(self.absolute_path)
        self.modified = self.get_modified_time()
        self.set_headers()
        if self.should_return_304():
            self.set_status(304)
            return

        size = self.get_content_size()
        start: int | None = None
        end: int | None = None
        range_header = self.request.headers.get("Range")
        # A malformed Range header counts as absent (RFC 9110, 14.2).
        request_range = _parse_request_range(range_header) if range_header else None
        if request_range:
            start, end = request_range
            if start is not None and start < 0:
                start = max(start + size, 0)
            if (
                start is not None and (start >= size or (end is not None and start >= end))
            ) or end == 0:
                # Nothing of the file is in the range (or a zero-length suffix).
                self.set_status(416)
                self.set_header("Content-Type", "text/plain")
                self.set_header("Content-Range", f"bytes */{size}")
                return
            if end is not None and end > size:
                end = size  # clients ask for large ranges to cap a download
            # A range covering the whole file is answered 200 (some players need that).
            if size != (end or size) - (start or 0):
                self.set_status(206)
                self.set_header("Content-Range", _get_content_range(start, end, size))
        first = start or 0
        content_length = (size if end is None else end) - first
        self.set_header("Content-Length", content_length)
        if include_body and content_length > 0:
            if _defining_class(type(self), "get_content") is StaticFileHandler:
                await self._send_file(self.absolute_path, first, first + content_length)
            else:
                await self._send_content(self.get_content(self.absolute_path, start, end))

    async def _load_version(self, absolute_path: str) -> None:
        """Computes the file's version (its ETag) in a worker thread if it is not cached."""
        cls = type(self)
        if absolute_path in cls._static_hashes:
            return
        if _defining_class(cls, "compute_etag") is not StaticFileHandler:
            return  # a compute_etag of its own may not need the version
        await run_in_file_thread(cls._get_cached_version, absolute_path)

    async def _send_file(self, absolute_path: str, start: int, end: int) -> None:
        """Sends bytes ``[start, end)`` of a file a chunk at a time, each flushed in turn.

        The last chunk stays buffered and goes out with the end of the response, so a
        file of one chunk is sent in one write. The next chunk is read only when the
        client's socket can take it (`SendPacer`), so waiting for a slow client holds no
        chunk in memory. Where that cannot be known in advance, a client found slow gets
        `SLOW_CHUNK_SIZE` chunks, which hold less while a write waits.
        """
        try:
            reader = FileRangeReader.open(absolute_path, start, end, self.CHUNK_SIZE)
        except FileNotFoundError as exc:
            raise HTTPError(404) from exc
        except OSError as exc:
            raise HTTPError(403, "%s is not readable", self.path) from exc
        self._reader = reader  # tests look at reader.bytes_read
        size = self.CHUNK_SIZE
        pacer: SendPacer | None = None
        with reader:
            while chunk := await reader.read(size):
                self.write(chunk)
                del chunk  # held by the write buffer until sent, and no longer
                if not reader.remaining:
                    break  # the last chunk goes out with the end of the response
                if pacer is None:
                    pacer = SendPacer(self.request.connection, size, self.SLOW_CHUNK_SIZE)
                if pacer.watches_flushes:
                    started = trio.current_time()
                    await self.flush()
                    waited = trio.current_time() - started > _FLUSH_WAITED
                else:
                    await self.flush()
                    waited = False
                size = await pacer.next_chunk_size(waited)

    async def _send_content(self, content: object) -> None:
        """Sends what an overridden `get_content` returned, flushing each piece."""
        if isinstance(content, bytes):
            self.write(content)
        elif isinstance(content, str):
            raise TypeError("get_content must return bytes, not str")
        elif isinstance(content, AsyncIterable):
            try:
                async for chunk in content:
                    self.write(chunk)
                    await self.flush()
            finally:
                aclose = getattr(content, "aclose", None)
                if aclose is not None:
                    await aclose()
        elif isinstance(content, Iterable):
            iterator = iter(content)
            try:
                while True:
                    chunk = await run_in_file_thread(next, iterator, _END)
                    if chunk is _END:
                        break
                    self.write(chunk)
                    await self.flush()
            finally:
                close = getattr(iterator, "close", None)
                if close is not None:
                    close()
        else:
            raise TypeError(f"get_content returned {type(content).__name__}, not bytes")

    def compute_etag(self) -> str | None:
        """Returns the file's version, quoted: the same ETag for the file and its ranges.

        Returns:
            The ETag, or None when the file has no version.
        """
        if self.absolute_path is None:
            return None
        version = self._get_cached_version(self.absolute_path)
        return f'"{version}"' if version else None

    def set_headers(self) -> None:
        """Sets Accept-Ranges, Etag, Last-Modified, Content-Type and the cache headers."""
        self.set_header("Accept-Ranges", "bytes")
        self.set_etag_header()
        if self.modified is not None:
            self.set_header("Last-Modified", self.modified)
        content_type = self.get_content_type()
        if content_type:
            self.set_header("Content-Type", content_type)
        cache_time = self.get_cache_time(self.path, self.modified, content_type)
        if cache_time > 0:
            expires = datetime.datetime.now(_UTC) + datetime.timedelta(seconds=cache_time)
            self.set_header("Expires", expires)
            self.set_header("Cache-Control", f"max-age={cache_time}")
        self.set_extra_headers(self.path)

    def should_return_304(self) -> bool:
        """Whether the client's cached copy is current.

        ``If-None-Match``, when present, decides alone; otherwise ``If-Modified-Since`` is
        compared with the modification time.

        Returns:
            True to answer 304.
        """
        headers = self.request.headers
        if headers.get("If-None-Match"):
            return self.check_etag_header()
        since_value = headers.get("If-Modified-Since")
        if since_value is None or self.modified is None:
            return False
        try:
            since = email.utils.parsedate_to_datetime(since_value)
        except (TypeError, ValueError, IndexError):
            return False
        if since.tzinfo is None:
            since = since.replace(tzinfo=_UTC)
        modified = self.modified
        if modified.tzinfo is None:
            modified = modified.replace(tzinfo=_UTC)
        return since >= modified

    @classmethod
    def get_absolute_path(cls, root: str, path: str) -> str:
        """Joins ``path`` to ``root`` (as written: symlinks are checked later).

        Args:
            root: The served directory.
            path: The path under it.

        Returns:
            The absolute path.

        Raises:
            HTTPError: 403 if ``path`` leads outside ``root``; 400 for a NUL byte.
        """
        absolute_path = os.path.abspath(os.path.join(root, path))
        cls._check_in_root(root, absolute_path, path)
        return absolute_path

    def validate_absolute_path(self, root: str, absolute_path: str) -> str | None:
        """Checks the path, resolves symlinks and handles directories.

        May redirect (then returns None) and raises the 403 and 404 errors.

        Args:
            root: The served directory.
            absolute_path: What `get_absolute_path` returned.

        Returns:
            The path of the file to serve, or None when the response is already decided.

        Raises:
            HTTPError: 403 outside the root (symlinks included), for a non-file, or for a
                directory redirect to a path starting with ``//``; 404 for a missing file.
        """
        root = self._check_in_root(root, absolute_path, self.path)
        allowed = self.allowed_symlink_directory or root
        allowed_directories = [allowed] if isinstance(allowed, str) else list(allowed)
        # The check above is on the path as written; resolve symlinks only now, so that
        # a wider allowed_symlink_directory can never let a "../" through.
        absolute_path = self._resolve_symlink_target(absolute_path, allowed_directories, self.path)
        if self.default_filename is not None and os.path.isdir(absolute_path):
            request_path = self.request.path
            if not request_path.endswith("/"):
                if _is_protocol_relative(request_path):
                    # "//host/dir" + "/" would send the browser to another host.
                    raise HTTPError(403, "cannot redirect path with two initial slashes")
                self.redirect(request_path + "/", permanent=True)
                return None
            absolute_path = self._resolve_symlink_target(
                os.path.join(absolute_path, self.default_filename), allowed_directories, self.path
            )
        self._stat_result = self._stat_regular_file(absolute_path, self.path)
        return absolute_path

    @staticmethod
    def _stat_regular_file(absolute_path: str, path_message: str) -> os.stat_result:
        """Stats a path: 404 if it cannot be, 403 unless it is a regular file."""
        try:
            result = os.stat(absolute_path)
        except (OSError, ValueError):
            raise HTTPError(404) from None
        if not stat.S_ISREG(result.st_mode):
            # Directories, devices, FIFOs and sockets are never read.
            raise HTTPError(403, "%s is not a file", path_message)
        return result

    @staticmethod
    def _check_in_root(root: str, absolute_path: str, path_message: str) -> str:
        """Checks that ``absolute_path`` is under ``root``; returns root with a separator."""
        if "\x00" in absolute_path:
            raise HTTPError(400, "NUL byte in static file path")
        root = os.path.abspath(root)
        if not root.endswith(os.path.sep):
            root += os.path.sep  # so that "/srv/www2" is not inside "/srv/www"
        if not (absolute_path + os.path.sep).startswith(root):
            raise HTTPError(403, "%s is not in root static directory", path_message)
        if os.name == "nt" and ":" in absolute_path[len(root) :]:  # pragma: no cover
            raise HTTPError(403, "%s is not a file", path_message)  # NTFS data streams
        return root

    @staticmethod
    def _resolve_symlink_target(
        absolute_path: str, allowed_directories: list[str], path_message: str
    ) -> str:
        """Resolves symlinks; 403 unless the result is inside an allowed directory."""
        resolved = os.path.realpath(absolute_path)
        for directory in allowed_directories:
            allowed = os.path.realpath(directory)
            if not allowed.endswith(os.path.sep):
                allowed += os.path.sep
            if (resolved + os.path.sep).startswith(allowed):
                return resolved
        # The same message as for "../": a client cannot tell a symlink from a traversal.
        raise HTTPError(403, "%s is not in root static directory", path_message)

    @classmethod
    def get_content(
        cls, abspath: str, start: int | None = None, end: int | None = None
    ) -> Iterator[bytes]:
        """Yields the content of a file (or of ``[start, end)``), `CHUNK_SIZE` at a time.

        This is Tornado's synchronous generator, used by `get_content_version` (in a
        worker thread) and by overrides that call it. Serving does not call this default
        implementation; it reads the file without blocking the event loop instead. An
        override is called when serving: see the class description for what it may return.

        Args:
            abspath: The file (from `validate_absolute_path`).
            start: The first byte, or None for the beginning.
            end: One past the last byte, or None for the end.

        Yields:
            Chunks of the file.

        Raises:
            HTTPError: 404 if the file is missing, 403 if it is not a regular file.
        """
        cls._stat_regular_file(abspath, abspath)
        with open(abspath, "rb") as file:
            if start is not None:
                file.seek(start)
            remaining = None if end is None else end - (start or 0)
            while remaining is None or remaining > 0:
                size = cls.CHUNK_SIZE if remaining is None else min(cls.CHUNK_SIZE, remaining)
                chunk = file.read(size)
                if not chunk:
                    return
                if remaining is not None:
                    remaining -= len(chunk)
                yield chunk

    @classmethod
    def get_content_version(cls, abspath: str) -> str:
        """Returns the version of a file: the SHA-512 of its content, in hex.

        Args:
            abspath: The file.

        Returns:
            The version.

        Raises:
            ValueError: If the content is larger than `MAX_VERSION_CONTENT_SIZE`.
            OSError: If the file cannot be read.
        """
        too_large = ValueError(
            f"content is larger than MAX_VERSION_CONTENT_SIZE ({cls.MAX_VERSION_CONTENT_SIZE})"
        )
        # Reading the file ourselves, we can know its size before reading anything.
        own_content = _defining_class(cls, "get_content") is StaticFileHandler
        if own_content and os.stat(abspath).st_size > cls.MAX_VERSION_CONTENT_SIZE:
            raise too_large
        content: Any = cls.get_content(abspath)
        chunks: Iterable[bytes] = [content] if isinstance(content, bytes) else content
        hasher = hashlib.sha512()
        size = 0
        try:
            for chunk in chunks:
                size += len(chunk)
                if size > cls.MAX_VERSION_CONTENT_SIZE:
                    raise too_large
                hasher.update(chunk)
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                close()
        return hasher.hexdigest()

    def _stat(self) -> os.stat_result:
        if self._stat_result is None:
            if self.absolute_path is None:
                raise RuntimeError("no file to stat")
            self._stat_result = os.stat(self.absolute_path)
        return self._stat_result

    def get_content_size(self) -> int:
        """Returns the size of the file being served.

        Returns:
            Its size in bytes.
        """
        return self._stat().st_size

    def get_modified_time(self) -> datetime.datetime | None:
        """Returns the modification time of the file being served, to the second.

        Returns:
            An aware UTC datetime (overrides may return a naive one, taken as UTC, or None).
        """
        return datetime.datetime.fromtimestamp(int(self._stat().st_mtime), _UTC)

    def get_content_type(self) -> str:
        """Returns the Content-Type of the file, from its name (`mimetypes`).

        Compressed files are ``application/gzip`` (``.gz``) or
        ``application/octet-stream`` (other encodings); unknown types are
        ``application/octet-stream``.

        Returns:
            The media type.
        """
        if self.absolute_path is None:
            return "application/octet-stream"
        mime_type, encoding = mimetypes.guess_type(self.absolute_path)
        if encoding == "gzip":
            return "application/gzip"  # RFC 6713
        if encoding is not None or mime_type is None:
            return "application/octet-stream"
        return mime_type

    def set_extra_headers(self, path: str) -> None:
        """Override to add headers to every file response.

        Args:
            path: The requested path (``self.path``).
        """

    def get_cache_time(self, path: str, modified: datetime.datetime | None, mime_type: str) -> int:
        """Returns how long the client may cache the file; override to change it.

        Args:
            path: The requested path.
            modified: The file's modification time.
            mime_type: Its Content-Type.

        Returns:
            Seconds (`CACHE_MAX_AGE` for a versioned URL, with a ``v`` argument), or 0 for
            no Expires and Cache-Control headers.
        """
        return self.CACHE_MAX_AGE if "v" in self.request.arguments else 0

    @classmethod
    def make_static_url(
        cls, settings: dict[str, Any], path: str, include_version: bool = True
    ) -> str:
        """Builds the URL of a static file, without the host.

        This is what `~trinado.web.RequestHandler.static_url` returns.

        Args:
            settings: The application's settings.
            path: The file's path under ``static_path``.
            include_version: Whether to add ``?v=<version>``.

        Returns:
            The URL path (and query).
        """
        url = str(settings.get("static_url_prefix", "/static/")) + path
        if not include_version:
            return url
        version = cls.get_version(settings, path)
        return f"{url}?v={version}" if version else url

    def parse_url_path(self, url_path: str) -> str:
        """Turns the route's group into a path under ``root`` (the inverse of `make_static_url`).

        Args:
            url_path: The group, percent-decoded, with ``/`` separators.

        Returns:
            The path, with the platform's separators.
        """
        if os.path.sep != "/":  # pragma: no cover - Windows
            url_path = url_path.replace("/", os.path.sep)
        return url_path

    @classmethod
    def get_version(cls, settings: dict[str, Any], path: str) -> str | None:
        """Returns the version of a static file for its URL, cached.

        Args:
            settings: The application's settings (``static_path`` is used).
            path: The file's path under ``static_path``.

        Returns:
            The version, or None if the file has none (missing, unreadable, too large).

        Raises:
            HTTPError: 403 if ``path`` leads outside ``static_path``.
        """
        return cls._get_cached_version(cls.get_absolute_path(settings["static_path"], path))

    @classmethod
    def _get_cached_version(cls, abs_path: str) -> str | None:
        with cls._lock:
            hashes = cls._static_hashes
            if abs_path in hashes:
                version = hashes[abs_path] = hashes.pop(abs_path)  # now most recently used
                return version or None
        # Hash outside the lock: another thread asking for a cached version never waits
        # for a file being read.
        try:
            version = cls.get_content_version(abs_path)
        except Exception as exc:
            gen_log.error("Could not open static file %r: %s", abs_path, exc)
            version = None
        with cls._lock:
            hashes = cls._static_hashes
            while hashes and len(hashes) >= cls.MAX_CACHED_VERSIONS:
                del hashes[next(iter(hashes))]
            hashes[abs_path] = version
        return version or None


def _static_routes(settings: dict[str, Any]) -> list[tuple[str, type, dict[str, Any]]]:
    """The routes the ``static_path`` setting adds in front of the application's own.

    ``static_url_prefix + "(.*)"``, ``/favicon.ico`` and ``/robots.txt`` go to the
    ``static_handler_class`` with the ``static_handler_args`` plus ``path``.
    """
    handler_class = settings.get("static_handler_class", StaticFileHandler)
    handler_args = dict(settings.get("static_handler_args") or {})
    handler_args["path"] = settings["static_path"]
    prefix = settings.get("static_url_prefix", "/static/")
    patterns = [re.escape(prefix) + r"(.*)", r"/(favicon\.ico)", r"/(robots\.txt)"]
    return [(pattern, handler_class, handler_args) for pattern in patterns]

"""``RequestHandler.static_url``: versioned URLs of the application's static files.

It lives apart from `trinado.static` because the handler class that builds the URLs (the
``static_handler_class`` setting, `~trinado.static.StaticFileHandler` by default) is itself
a `RequestHandler`; it is imported when first needed.
"""

from __future__ import annotations

from typing import Any

from ._handler_base import HandlerBase

__all__: list[str] = []


class _StaticURLMixin(HandlerBase):
    """Gives request handlers `static_url`."""

    def static_url(self, path: str, include_host: bool | None = None, **kwargs: Any) -> str:
        """Returns the URL of a file under the ``static_path`` setting, with its version.

        The URL is ``static_url_prefix`` (``/static/`` by default) plus ``path`` plus
        ``?v=<hash>``, the hash being the file's SHA-512 (computed once and cached, see
        `~trinado.static.StaticFileHandler.get_version`). Served through
        `~trinado.static.StaticFileHandler`, a versioned URL is cached by browsers for ten
        years, so a changed file must get a new URL, which the hash guarantees. Templates
        can call it too (``{{ static_url("site.css") }}``).

        The first call for a file reads it to hash it, on the event loop (as in Tornado;
        files larger than ``MAX_VERSION_CONTENT_SIZE`` get no version). ``path`` should
        name a known file, never come from the request: each distinct path costs a read
        and a cache entry. With the ``static_hash_cache`` setting off (the default under
        ``debug``) the hash is computed again on every call.

        Args:
            path: The file's path relative to ``static_path``, with ``/`` separators.
            include_host: True for an absolute URL (``protocol://host/static/...``); by
                default the handler's ``include_host`` attribute if it has one, else False.
            **kwargs: Passed to the handler class's ``make_static_url``;
                ``include_version=False`` leaves the version out.

        Returns:
            The URL.

        Raises:
            Exception: If the ``static_path`` setting is not set.
            HTTPError: 403 if ``path`` leads outside ``static_path``.
        """
        self.require_setting("static_path", "static_url")
        settings = self.settings
        handler_class = settings.get("static_handler_class")
        if handler_class is None:
            from .static import StaticFileHandler

            handler_class = StaticFileHandler
        if not settings.get("static_hash_cache", True):
            handler_class.reset()
        if include_host is None:
            include_host = getattr(self, "include_host", False)
        url: str = handler_class.make_static_url(settings, path, **kwargs)
        if include_host:
            return f"{self.request.protocol}://{self.request.host}{url}"
        return url

"""Routing: path arguments, named routes and reverse_url, host rules, a mounted application.

Run it with ``python examples/routes.py`` and try::

    curl localhost:8888/articles/2024/hello-world
    curl localhost:8888/tags/ localhost:8888/tags/trio
    curl -i localhost:8888/old/2024/hello-world
    curl -H 'Host: api.example.com' localhost:8888/status
    curl localhost:8888/admin/stats

docs/routing.md explains each route.
"""

from __future__ import annotations

import trio

from trinado import web


class ArticleHandler(web.RequestHandler):
    def get(self, year: str, slug: str) -> None:  # named groups arrive as keywords
        url = self.reverse_url("article", year, slug)
        self.write({"year": int(year), "slug": slug, "url": url})


class TagHandler(web.RequestHandler):
    def get(self, tag: str | None) -> None:  # an optional group that did not match is None
        self.write({"tag": tag})


class StatusHandler(web.RequestHandler):
    def get(self) -> None:
        self.write({"api": "ok"})


class StatsHandler(web.RequestHandler):
    def get(self) -> None:
        self.write({"admin": True})


class NotFoundHandler(web.RequestHandler):
    def prepare(self) -> None:
        self.set_status(404)
        self.finish(f"Nothing at {self.request.path}\n")


def make_app() -> web.Application:
    admin = web.Application([(r"/admin/stats", StatsHandler)])
    app = web.Application(
        [
            web.url(
                r"/articles/(?P<year>[0-9]{4})/(?P<slug>[a-z0-9-]+)", ArticleHandler, name="article"
            ),
            (r"/tags/([a-z]+)?", TagHandler),
            (r"/old/(.*)", web.RedirectHandler, {"url": "/articles/{0}"}),
            (r"/gone", web.ErrorHandler, {"status_code": 410}),
            (r"/admin/.*", admin),  # another application answers these
        ],
        default_handler_class=NotFoundHandler,
    )
    app.add_handlers(r"api\.example\.com", [(r"/status", StatusHandler)])
    return app


def main() -> None:
    trio.run(make_app().serve)


if __name__ == "__main__":
    main()

"""Hello, world: the smallest trinado application.

Run it with ``python examples/helloworld.py`` and open http://127.0.0.1:8888/.
"""

from __future__ import annotations

import trio

from trinado import web


class MainHandler(web.RequestHandler):
    async def get(self) -> None:
        self.write("Hello, world")


def make_app() -> web.Application:
    return web.Application([(r"/", MainHandler)])


def main() -> None:
    app = make_app()
    trio.run(app.serve)  # port 8888 on every interface; Ctrl-C stops it gracefully


if __name__ == "__main__":
    main()

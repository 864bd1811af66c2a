"""A small JSON API: routing, path and query arguments, a JSON body, errors as JSON.

Run it with ``python examples/json_api.py`` and try::

    curl -i localhost:8888/items -d '{"name": "tea", "price": 3.5}'
    curl -i localhost:8888/items/1
    curl -i 'localhost:8888/items?limit=10'
    curl -i -X DELETE localhost:8888/items/1

The tutorial (docs/tutorial.md) walks through this file.
"""

from __future__ import annotations

import json
from typing import Any

import trio

from trinado import web
from trinado.httputil import responses


class APIError(web.HTTPError):
    """An error whose message the client sees (an HTTPError's log_message is for the log)."""

    def __init__(self, status_code: int, message: str) -> None:
        super().__init__(status_code, message)
        self.message = message


class ItemStore:
    """Items kept in memory, by id; a real application would use a database here."""

    def __init__(self) -> None:
        self.items: dict[int, dict[str, Any]] = {}
        self.next_id = 1

    def add(self, name: str, price: float) -> dict[str, Any]:
        item = {"id": self.next_id, "name": name, "price": price}
        self.items[self.next_id] = item
        self.next_id += 1
        return item


class JSONHandler(web.RequestHandler):
    """What every handler of this API shares: the store, JSON bodies and JSON errors."""

    def initialize(self, store: ItemStore) -> None:
        self.store = store

    def json_body(self) -> dict[str, Any]:
        try:
            body = json.loads(self.request.body)
        except ValueError:
            raise APIError(400, "The body is not JSON") from None
        if not isinstance(body, dict):
            raise APIError(400, "The body must be a JSON object")
        return body

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        # Called for raised HTTPErrors, send_error() and uncaught exceptions (500) alike.
        exc_info = kwargs.get("exc_info")
        error = exc_info[1] if exc_info else None
        if isinstance(error, APIError):
            message = error.message
        else:
            message = responses.get(status_code, "Unknown")
        self.finish({"error": {"code": status_code, "message": message}})


class NotFoundHandler(JSONHandler):
    """Answers requests that no route matches (the default_handler_class setting)."""

    def prepare(self) -> None:
        raise APIError(404, f"Nothing at {self.request.path}")


class ItemsHandler(JSONHandler):
    async def get(self) -> None:
        try:
            limit = int(self.get_argument("limit", "100"))
        except ValueError:
            raise APIError(400, "limit must be an integer") from None
        items = list(self.store.items.values())[:limit]
        self.write({"items": items})  # a dict is sent as JSON

    async def post(self) -> None:
        body = self.json_body()
        name = body.get("name")
        price = body.get("price")
        if not isinstance(name, str) or not isinstance(price, (int, float)):
            raise APIError(422, "An item needs a name (a string) and a price (a number)")
        item = self.store.add(name, price)
        self.set_status(201)
        self.set_header("Location", self.reverse_url("item", item["id"]))
        self.write(item)


class ItemHandler(JSONHandler):
    def find(self, item_id: str) -> dict[str, Any]:
        item = self.store.items.get(int(item_id))
        if item is None:
            raise APIError(404, f"No item {item_id}")
        return item

    async def get(self, item_id: str) -> None:
        self.write(self.find(item_id))

    async def put(self, item_id: str) -> None:
        item = self.find(item_id)
        body = self.json_body()
        price = body.get("price")
        if not isinstance(price, (int, float)):
            raise APIError(422, "Give the new price (a number)")
        item["price"] = price
        self.write(item)

    async def delete(self, item_id: str) -> None:
        self.find(item_id)
        del self.store.items[int(item_id)]
        self.set_status(204)


class RootHandler(web.RequestHandler):
    async def get(self) -> None:
        self.redirect(self.reverse_url("items"))


def make_app(store: ItemStore | None = None) -> web.Application:
    store = store if store is not None else ItemStore()
    args = {"store": store}
    return web.Application(
        [
            web.url(r"/", RootHandler),
            web.url(r"/items", ItemsHandler, args, name="items"),
            web.url(r"/items/([0-9]+)", ItemHandler, args, name="item"),
        ],
        default_handler_class=NotFoundHandler,
        default_handler_args=args,
    )


def main() -> None:
    trio.run(make_app().serve)


if __name__ == "__main__":
    main()

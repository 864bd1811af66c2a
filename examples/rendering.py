"""Pages from templates: inheritance, a UI module with its own CSS, a UI method, translations.

Run it with ``python examples/rendering.py`` and open http://127.0.0.1:8888/ (send
``Accept-Language: es-ES`` for the Spanish page). It runs with ``debug=True``: edit a file
under ``examples/templates/`` and reload the page to see the change.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import trio

from trinado import locale, web

HERE = os.path.dirname(os.path.abspath(__file__))


@dataclass
class Note:
    slug: str
    title: str
    text: str


NOTES = [
    Note("trio", "Why Trio", "Structured concurrency: see https://trio.readthedocs.io/ <3"),
    Note("tornado", "Coming from Tornado", "Templates and UI modules port unchanged."),
]


class NoteModule(web.UIModule):
    """One note in a list, written ``{% module Note(note) %}`` in a template."""

    def render(self, note: Note) -> bytes:
        return self.render_string("modules/note.html", note=note)

    def embedded_css(self) -> str:
        # Inserted once in the page's <head>, however many notes there are.
        return ".note { margin: 1em 0 }"


def excerpt(handler: web.RequestHandler, text: str, length: int = 20) -> str:
    """A UI method: templates call ``excerpt(text)``; the handler is passed first."""
    return text if len(text) <= length else text[: length - 1] + "…"


class HomeHandler(web.RequestHandler):
    def get(self) -> None:
        self.render("home.html", notes=NOTES)


class NoteHandler(web.RequestHandler):
    def get(self, slug: str) -> None:
        for note in NOTES:
            if note.slug == slug:
                self.render("note.html", note=note)
                return
        raise web.HTTPError(404)


def make_app(debug: bool = False) -> web.Application:
    return web.Application(
        [
            web.url(r"/", HomeHandler, name="home"),
            web.url(r"/notes/([a-z]+)", NoteHandler, name="note"),
        ],
        template_path=os.path.join(HERE, "templates"),
        ui_modules={"Note": NoteModule},
        ui_methods={"excerpt": excerpt},
        debug=debug,  # True: templates are reloaded when they change
    )


def load_translations() -> None:
    locale.load_translations(os.path.join(HERE, "translations"))


def main() -> None:
    load_translations()
    trio.run(make_app(debug=True).serve)


if __name__ == "__main__":
    main()

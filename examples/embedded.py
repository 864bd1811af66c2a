"""Serving inside a larger Trio program: the web server is one task among others.

The program owns two nurseries: one for background jobs that handlers start (instead of
Tornado's ``IOLoop.spawn_callback``), one for the server. Run it with
``python examples/embedded.py`` and try::

    curl -i -X POST 'localhost:8888/jobs?seconds=3'      # 202, with the job's URL
    curl 'localhost:8888/jobs/1?wait=1'                  # waits until the job is done
    curl -X POST localhost:8888/shutdown                 # graceful stop (so does Ctrl-C)

On shutdown the server stops accepting, lets requests in flight finish, then the program
cancels the jobs still running and returns.
"""

from __future__ import annotations

import functools

import trio

from trinado import web
from trinado.httpserver import HTTPServer


class Jobs:
    """Background jobs, run in a nursery that the program owns: none is spawned and forgotten."""

    def __init__(self, nursery: trio.Nursery) -> None:
        self.nursery = nursery
        self.done: dict[int, trio.Event] = {}

    def start(self, seconds: float) -> int:
        job_id = len(self.done) + 1
        self.done[job_id] = trio.Event()
        self.nursery.start_soon(self.run, job_id, seconds)
        return job_id

    async def run(self, job_id: int, seconds: float) -> None:
        await trio.sleep(seconds)  # stands for real work: a query, a call to another service
        self.done[job_id].set()


class JobsHandler(web.RequestHandler):
    def initialize(self, jobs: Jobs) -> None:
        self.jobs = jobs

    def post(self) -> None:
        job_id = self.jobs.start(float(self.get_argument("seconds", "1")))
        self.set_status(202)  # accepted: the work goes on after this response
        self.write({"id": job_id, "url": self.reverse_url("job", job_id)})


class JobHandler(web.RequestHandler):
    def initialize(self, jobs: Jobs) -> None:
        self.jobs = jobs

    async def get(self, job_id: str) -> None:
        done = self.jobs.done.get(int(job_id))
        if done is None:
            raise web.HTTPError(404)
        if self.get_argument("wait", None):
            with trio.move_on_after(30):
                await done.wait()
        self.write({"id": int(job_id), "done": done.is_set()})


class ShutdownHandler(web.RequestHandler):
    def initialize(self, stop: trio.Event) -> None:
        self.stop = stop

    def post(self) -> None:
        self.stop.set()
        self.write("stopping\n")


def make_app(jobs: Jobs, stop: trio.Event) -> web.Application:
    return web.Application(
        [
            web.url(r"/jobs", JobsHandler, {"jobs": jobs}),
            web.url(r"/jobs/([0-9]+)", JobHandler, {"jobs": jobs}, name="job"),
            web.url(r"/shutdown", ShutdownHandler, {"stop": stop}),
        ]
    )


async def run(
    port: int = 8888,
    host: str = "127.0.0.1",
    *,
    handle_signals: bool = False,
    task_status: trio.TaskStatus[HTTPServer] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serves until POST /shutdown, ``server.shutdown()`` or (with handle_signals) Ctrl-C."""
    stop = trio.Event()
    async with trio.open_nursery() as background:
        jobs = Jobs(background)
        app = make_app(jobs, stop)
        serve = functools.partial(app.serve, port, host, handle_signals=handle_signals)
        async with trio.open_nursery() as nursery:
            server: HTTPServer = await nursery.start(serve)
            background.start_soon(shutdown_when_set, stop, server)
            print(f"listening on http://{host}:{server.port}/")
            task_status.started(server)
        # app.serve has returned: the server is shut down. Cancel the jobs still running.
        background.cancel_scope.cancel()


async def shutdown_when_set(stop: trio.Event, server: HTTPServer) -> None:
    await stop.wait()
    server.shutdown()  # graceful: in-flight requests finish, idle connections close


def main() -> None:
    trio.run(functools.partial(run, handle_signals=True))


if __name__ == "__main__":
    main()

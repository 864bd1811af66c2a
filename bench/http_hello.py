"""HTTP hello world: trinado against Tornado and a minimal trio + h11 loop, side by side.

Each server runs as its own process pinned to one core; ``wrk`` runs pinned to another.
Rounds alternate the servers, the throughput ratio to Tornado is taken per round and the
median of those ratios is reported. Absolute numbers on a shared machine swing a lot between
runs; the ratios from one run are what to read. See ``bench/README.md``.

With ``--workers N`` each server runs N processes on one port (trinado through
``trinado.process.run_workers``, Tornado through ``fork_processes``), nothing is pinned and
wrk runs two threads; server CPU is summed over the worker processes.

Run: ``python bench/http_hello.py [--quick] [--rounds N] [--duration S] [--connections C]
[--servers trinado,tornado,h11min] [--workers N]``
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import importlib.metadata
import json
import os
import platform
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PEERS = HERE / "peers"
RESULTS = HERE / "results"

#: Server name -> script under ``bench/peers/``; every script accepts ``--port`` and ``--host``.
SERVERS: dict[str, str] = {
    "trinado": "trinado_hello.py",
    "tornado": "tornado_hello.py",
    "h11min": "h11_minimal.py",
}
#: The servers whose scripts take ``--workers N``.
MULTIPROCESS = ("trinado", "tornado")
BASELINE = "tornado"
HOST = "127.0.0.1"
EXPECTED_BODY = b"Hello, world"
STARTUP_TIMEOUT = 20.0
#: A server using less of its core than this during a run was competing for the CPU.
STARVED_CPU = 0.9

_TIME_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3, "h": 3600e3}
_LATENCY_RE = re.compile(r"^\s*(50|75|90|99)(?:\.0+)?%\s+([\d.]+)(us|ms|s|m|h)\s*$", re.M)
_RPS_RE = re.compile(r"^Requests/sec:\s+([\d.]+)", re.M)
_TOTAL_RE = re.compile(r"^\s*(\d+) requests in ([\d.]+)(us|ms|s|m|h)", re.M)
_SOCKET_ERRORS_RE = re.compile(
    r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)"
)
_NON_2XX_RE = re.compile(r"Non-2xx or 3xx responses: (\d+)")


class BenchError(Exception):
    """A problem that stops the benchmark (or one server) with a message for the user."""


@dataclass
class WrkResult:
    """What one ``wrk`` run measured.

    Attributes:
        rps: Requests per second as wrk reports it.
        p50_ms: Median latency in milliseconds.
        p99_ms: 99th percentile latency in milliseconds.
        requests: Completed requests.
        errors: Socket errors (connect, read, write, timeout) plus non-2xx/3xx responses.
        raw: wrk's full standard output.
    """

    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int
    raw: str


@dataclass
class Sample:
    """One server's measurement in one round, with the CPU each side used.

    Attributes:
        server: Server name.
        round: Round number, from 1.
        result: The wrk measurement.
        server_cpu: Server process CPU time over wall time during the run (1.0 is one core).
        client_cpu: wrk's CPU time over wall time.
        loadavg: The 1-minute load average just before the run.
    """

    server: str
    round: int
    result: WrkResult
    server_cpu: float
    client_cpu: float
    loadavg: float


@dataclass
class Server:
    """A running server process.

    Attributes:
        name: Server name.
        port: Port it listens on.
        process: The process (``taskset`` execs Python, so its PID is the server's).
        log: File collecting its standard output and error.
        warnings: Things the response check found odd but not fatal.
    """

    name: str
    port: int
    process: subprocess.Popen[bytes]
    log: IO[bytes]
    warnings: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        """The URL wrk loads."""
        return f"http://{HOST}:{self.port}/"

    def log_tail(self, lines: int = 20) -> str:
        """Return the last lines the server wrote, for error messages.

        Args:
            lines: How many lines to keep.

        Returns:
            The tail of the server's output, indented.
        """
        self.log.flush()
        self.log.seek(0)
        text = self.log.read().decode(errors="replace").rstrip()
        tail = text.splitlines()[-lines:]
        return "\n".join("    " + line for line in tail) or "    (no output)"


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Parse the command line.

    Args:
        argv: Arguments without the program name; ``None`` reads ``sys.argv``.

    Returns:
        The parsed options, with ``servers`` as a list of names.
    """
    parser = argparse.ArgumentParser(
        description="HTTP hello world: trinado against Tornado and a minimal trio + h11 loop."
    )
    parser.add_argument("--rounds", type=int, default=None, help="rounds (default 5)")
    parser.add_argument(
        "--duration", type=int, default=None, help="seconds per wrk run (default 10)"
    )
    parser.add_argument("--connections", type=int, default=50, help="wrk connections (50)")
    parser.add_argument(
        "--servers",
        default=",".join(SERVERS),
        help=f"comma-separated, in round order (default {','.join(SERVERS)})",
    )
    parser.add_argument("--quick", action="store_true", help="3 rounds of 3 s")
    parser.add_argument(
        "--warmup", type=int, default=None, help="seconds of wrk warm-up per server (2)"
    )
    parser.add_argument("--no-pin", action="store_true", help="do not pin with taskset")
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        help=f"processes per server ({', '.join(MULTIPROCESS)} only; turns pinning off)",
    )
    args = parser.parse_args(argv)
    if args.rounds is None:
        args.rounds = 3 if args.quick else 5
    if args.duration is None:
        args.duration = 3 if args.quick else 10
    if args.warmup is None:
        args.warmup = 1 if args.quick else 2
    names = [name.strip() for name in args.servers.split(",") if name.strip()]
    unknown = [name for name in names if name not in SERVERS]
    if unknown or not names:
        parser.error(f"--servers takes names from {', '.join(SERVERS)}; got {args.servers!r}")
    if len(set(names)) != len(names):
        parser.error("--servers lists a server twice")
    if args.workers < 1:
        parser.error("--workers must be >= 1")
    if args.workers > 1:
        single = [name for name in names if name not in MULTIPROCESS]
        if single:
            parser.error(f"--workers > 1 needs servers from {', '.join(MULTIPROCESS)}")
        args.no_pin = True
    if args.rounds < 1 or args.duration < 1 or args.connections < 1 or args.warmup < 0:
        parser.error("--rounds, --duration and --connections must be >= 1, --warmup >= 0")
    args.servers = names
    return args


def pinning(disabled: bool) -> tuple[list[str], list[str]]:
    """Choose the ``taskset`` prefixes for the load generator and the servers.

    Args:
        disabled: True when the user asked for no pinning.

    Returns:
        The command prefix for wrk and the one for servers; both empty when pinning is off,
        ``taskset`` is missing or fewer than two cores are available.
    """
    cpus = sorted(os.sched_getaffinity(0))
    if disabled or shutil.which("taskset") is None or len(cpus) < 2:
        return [], []
    return ["taskset", "-c", str(cpus[0])], ["taskset", "-c", str(cpus[1])]


def free_port() -> int:
    """Ask the kernel for a free TCP port on the loopback address.

    Returns:
        A port that was free a moment ago.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def start_server(
    name: str,
    prefix: list[str],
    servers: Mapping[str, str] | None = None,
    extra_args: Sequence[str] = (),
) -> Server:
    """Start one server process on a free port.

    Args:
        name: A key of ``servers``.
        prefix: Command prefix (``taskset -c N``) or empty.
        servers: Server names to their scripts under ``bench/peers``; :data:`SERVERS`
            (the hello-world servers) by default.
        extra_args: More arguments for the server script (``--workers 2``).

    Returns:
        The started server; it may not be listening yet.
    """
    port = free_port()
    script = (servers if servers is not None else SERVERS)[name]
    command = [*prefix, sys.executable, str(PEERS / script), "--port", str(port), *extra_args]
    log = tempfile.TemporaryFile()  # noqa: SIM115 -- lives as long as the server; stop_server closes it
    try:
        # A session of its own, so that stop_server reaches worker processes too.
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
            start_new_session=True,
        )
    except BaseException:
        log.close()
        raise
    return Server(name=name, port=port, process=process, log=log)


def check_response(server: Server) -> None:
    """Wait until the server answers, then check two requests on one connection.

    Args:
        server: The server to check; warnings about it are appended to ``server.warnings``.

    Raises:
        BenchError: If the server exits, does not answer in time, or answers something other
            than status 200 with body ``Hello, world``.
    """
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while True:
        if server.process.poll() is not None:
            raise BenchError(
                f"{server.name} exited with status {server.process.returncode} before "
                f"answering:\n{server.log_tail()}"
            )
        try:
            with socket.create_connection((HOST, server.port), timeout=1.0):
                break
        except OSError:
            if time.monotonic() > deadline:
                raise BenchError(
                    f"{server.name} did not listen on port {server.port} within "
                    f"{STARTUP_TIMEOUT:.0f} s:\n{server.log_tail()}"
                ) from None
            time.sleep(0.05)

    conn = http.client.HTTPConnection(HOST, server.port, timeout=5.0)
    try:
        for attempt in (1, 2):
            conn.request("GET", "/")
            response = conn.getresponse()
            body = response.read()
            if response.status != 200 or body != EXPECTED_BODY:
                raise BenchError(
                    f"{server.name} answered {response.status} {response.reason!r} with body "
                    f"{body[:200]!r}; expected 200 and {EXPECTED_BODY!r}\n{server.log_tail()}"
                )
            if attempt == 1:
                if response.reason != "OK":
                    server.warnings.append(f"reason phrase {response.reason!r}, not 'OK'")
                if response.will_close:
                    server.warnings.append("closes the connection after each response")
    except (OSError, http.client.HTTPException) as exc:
        raise BenchError(f"{server.name} failed a request: {exc!r}\n{server.log_tail()}") from exc
    finally:
        conn.close()


def stop_server(server: Server) -> None:
    """Stop a server process and close its log.

    Args:
        server: The server to stop.
    """
    group = server.process.pid
    with contextlib.suppress(ProcessLookupError):
        os.killpg(group, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        server.process.wait(timeout=10)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(group, signal.SIGKILL)
    server.process.wait()
    server.log.close()


def _ms(value: str, unit: str) -> float:
    return float(value) * _TIME_UNITS[unit]


def parse_wrk(output: str) -> WrkResult:
    """Extract throughput, latency percentiles and errors from ``wrk --latency`` output.

    Args:
        output: wrk's standard output.

    Returns:
        The parsed measurement.

    Raises:
        BenchError: If the output lacks requests/s or the latency distribution.
    """
    rps = _RPS_RE.search(output)
    latencies = {int(m[1]): _ms(m[2], m[3]) for m in _LATENCY_RE.finditer(output)}
    total = _TOTAL_RE.search(output)
    if rps is None or 50 not in latencies or 99 not in latencies or total is None:
        raise BenchError(f"could not parse wrk output:\n{output}")
    errors = 0
    socket_errors = _SOCKET_ERRORS_RE.search(output)
    if socket_errors is not None:
        errors += sum(int(n) for n in socket_errors.groups())
    non_2xx = _NON_2XX_RE.search(output)
    if non_2xx is not None:
        errors += int(non_2xx[1])
    return WrkResult(
        rps=float(rps[1]),
        p50_ms=latencies[50],
        p99_ms=latencies[99],
        requests=int(total[1]),
        errors=errors,
        raw=output,
    )


def _process_cpu_seconds(pid: int) -> float:
    """User plus system CPU seconds a live process and its live children have used.

    Read from ``/proc``; the children count so that worker processes are included.
    """
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return float("nan")
    fields = stat[stat.rindex(")") + 2 :].split()
    total = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        children = []
    for child in children:
        child_seconds = _process_cpu_seconds(int(child))
        if child_seconds == child_seconds:  # not NaN: the child may have just exited
            total += child_seconds
    return total


def _children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_wrk(
    server: Server, prefix: list[str], duration: int, connections: int, threads: int = 1
) -> tuple[WrkResult, float, float]:
    """Load one server with wrk and measure the CPU both sides used.

    Args:
        server: The server to load.
        prefix: Command prefix pinning wrk, or empty.
        duration: Seconds to run.
        connections: Concurrent keep-alive connections.
        threads: wrk threads.

    Returns:
        The measurement, the server's CPU use and wrk's CPU use (1.0 is one full core).

    Raises:
        BenchError: If wrk fails, its output cannot be parsed, or the server died.
    """
    command = [
        *prefix,
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{duration}s",
        "--latency",
        server.url,
    ]
    server_before = _process_cpu_seconds(server.process.pid)
    client_before = _children_cpu_seconds()
    start = time.monotonic()
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=duration + 60, check=False
        )
    except subprocess.TimeoutExpired as exc:
        raise BenchError(f"wrk against {server.name} did not finish") from exc
    wall = time.monotonic() - start
    server_cpu = (_process_cpu_seconds(server.process.pid) - server_before) / wall
    client_cpu = (_children_cpu_seconds() - client_before) / wall
    if server.process.poll() is not None:
        raise BenchError(
            f"{server.name} exited with status {server.process.returncode} under load:\n"
            f"{server.log_tail()}"
        )
    if done.returncode != 0:
        raise BenchError(f"wrk failed ({done.returncode}): {done.stderr.strip()}")
    return parse_wrk(done.stdout), server_cpu, client_cpu


def ratios(samples: list[Sample], server: str, baseline: str, per_cpu: bool = False) -> list[float]:
    """Per-round throughput ratios of one server to the baseline.

    Args:
        samples: Every measurement of the run.
        server: The server in the numerator.
        baseline: The server in the denominator.
        per_cpu: Compare requests per second of server CPU time instead of per wall-clock
            second, which discounts time the server's core spent on other processes.

    Returns:
        One ratio per round in which both were measured, in round order.
    """
    by_round: dict[int, dict[str, float]] = {}
    for sample in samples:
        value = sample.result.rps
        if per_cpu:
            value = value / sample.server_cpu if sample.server_cpu > 0 else 0.0
        by_round.setdefault(sample.round, {})[sample.server] = value
    return [
        rounds[server] / rounds[baseline]
        for _, rounds in sorted(by_round.items())
        if server in rounds and baseline in rounds and rounds[baseline] > 0
    ]


def _ratio_lines(
    samples: list[Sample], pairs: list[tuple[str, str]], per_cpu: bool
) -> dict[str, Any]:
    """Print one block of ratios and return them keyed ``"server/baseline"``."""
    found: dict[str, Any] = {}
    for name, base in pairs:
        per_round = ratios(samples, name, base, per_cpu)
        if not per_round:
            continue
        median = statistics.median(per_round)
        key = f"{name}/{base}"
        found[key] = {"per_round": per_round, "median": median}
        rounds_text = " ".join(f"{r:.2f}" for r in per_round)
        print(f"  {key:<16} {median:.2f}   (rounds: {rounds_text})")
    return found


def report(samples: list[Sample], servers: list[str], baseline: str | None) -> dict[str, Any]:
    """Print the table and the ratios, and return the summary for the JSON file.

    Args:
        samples: Every measurement of the run.
        servers: Servers in display order.
        baseline: The server ratios are taken against, or ``None`` for no ratios.

    Returns:
        Per-server medians and, when there is a baseline, the ratios.
    """
    summary: dict[str, Any] = {"servers": {}, "ratios": {}, "ratios_per_cpu_second": {}}
    header = (
        f"{'server':<9} {'req/s med':>10} {'min':>9} {'max':>9} {'p50 ms':>7} {'p99 ms':>7} "
        f"{'srv cpu':>7} {'wrk cpu':>7} {'errors':>6}"
    )
    print()
    print(header)
    print("-" * len(header))
    for name in servers:
        mine = [s for s in samples if s.server == name]
        if not mine:
            continue
        rps = [s.result.rps for s in mine]
        row = {
            "rps_median": statistics.median(rps),
            "rps_min": min(rps),
            "rps_max": max(rps),
            "p50_ms_median": statistics.median(s.result.p50_ms for s in mine),
            "p99_ms_median": statistics.median(s.result.p99_ms for s in mine),
            "server_cpu_median": statistics.median(s.server_cpu for s in mine),
            "client_cpu_median": statistics.median(s.client_cpu for s in mine),
            "errors": sum(s.result.errors for s in mine),
        }
        summary["servers"][name] = row
        print(
            f"{name:<9} {row['rps_median']:>10.0f} {row['rps_min']:>9.0f} "
            f"{row['rps_max']:>9.0f} {row['p50_ms_median']:>7.2f} {row['p99_ms_median']:>7.2f} "
            f"{row['server_cpu_median']:>6.0%} {row['client_cpu_median']:>7.0%} "
            f"{row['errors']:>6}"
        )
    if baseline is None:
        print("\n(no ratios: the baseline server was not measured)")
        return summary
    measured = [name for name in servers if name in summary["servers"]]
    pairs = [(name, baseline) for name in measured if name != baseline]
    if "trinado" in measured and "h11min" in measured:
        pairs.append(("trinado", "h11min"))  # the framework's cost over the bare loop
    if not pairs:
        return summary
    print("\nthroughput ratios (per round, then the median over rounds):")
    summary["ratios"] = _ratio_lines(samples, pairs, per_cpu=False)
    print("requests per server CPU-second (discounts time other processes took the core):")
    summary["ratios_per_cpu_second"] = _ratio_lines(samples, pairs, per_cpu=True)
    starved = [s for s in samples if s.server_cpu < STARVED_CPU]
    if starved:
        print(
            f"\nwarning: in {len(starved)} of {len(samples)} runs the server got less than "
            f"{STARVED_CPU:.0%} of its core.\nThe machine was busy, so the throughput ratios "
            "are noisy: trust the per-CPU-second ratios more, or run again when it is quiet."
        )
    return summary


def _versions() -> dict[str, str]:
    found = {}
    for package in ("trio", "h11", "tornado", "wsproto"):
        try:
            found[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            found[package] = "missing"
    try:
        found["wrk"] = (
            subprocess.run(["wrk", "-v"], capture_output=True, text=True, check=False)
            .stdout.split("[")[0]
            .strip()
        )
    except OSError:
        found["wrk"] = "missing"
    return found


def write_results(data: dict[str, Any], kind: str = "http_hello") -> Path:
    """Write the raw results as JSON under ``bench/results/``.

    Args:
        data: Everything to record.
        kind: The benchmark's name, which starts the file name.

    Returns:
        The file written.
    """
    RESULTS.mkdir(exist_ok=True)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    path = RESULTS / f"{kind}-{stamp}.json"
    path.write_text(json.dumps(data, indent=2) + "\n")
    return path


@contextlib.contextmanager
def running(
    names: list[str], prefix: list[str], extra_args: Sequence[str] = ()
) -> Iterator[list[Server]]:
    """Start the servers and stop them all on the way out, whatever happens.

    Args:
        names: Servers to start.
        prefix: Command prefix pinning them, or empty.

    Yields:
        The started servers, in the order given.
    """
    servers: list[Server] = []
    try:
        for name in names:
            servers.append(start_server(name, prefix, extra_args=extra_args))
        yield servers
    finally:
        for server in servers:
            stop_server(server)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark.

    Args:
        argv: Arguments without the program name; ``None`` reads ``sys.argv``.

    Returns:
        The exit status: 0 when every server was measured, 1 when some failed, 2 when the
        benchmark could not run at all.
    """
    args = parse_args(argv)
    if shutil.which("wrk") is None:
        print(
            "error: wrk is not installed; install it with `apt-get install wrk`",
            file=sys.stderr,
        )
        return 2
    client_prefix, server_prefix = pinning(args.no_pin)
    if client_prefix:
        print(
            f"pinning: wrk on `{' '.join(client_prefix)}`, servers on `{' '.join(server_prefix)}`"
        )
    else:
        print("pinning: off (taskset missing, fewer than 2 cores, or --no-pin)")
    print(
        f"{args.rounds} rounds x {args.duration} s, {args.connections} connections, "
        f"servers: {', '.join(args.servers)}"
    )

    failed: dict[str, str] = {}
    samples: list[Sample] = []
    warnings: dict[str, list[str]] = {}
    started = datetime.now(timezone.utc).isoformat(timespec="seconds")
    worker_args = ["--workers", str(args.workers)] if args.workers > 1 else []
    threads = min(args.workers, 2)
    with running(args.servers, server_prefix, worker_args) as servers:
        live: list[Server] = []
        for server in servers:
            try:
                check_response(server)
                if args.warmup:
                    run_wrk(server, client_prefix, args.warmup, args.connections, threads)
            except BenchError as exc:
                failed[server.name] = str(exc)
                print(f"\nSKIPPING {server.name}: {exc}", file=sys.stderr)
                continue
            live.append(server)
            for warning in server.warnings:
                print(f"warning: {server.name}: {warning}", file=sys.stderr)
            warnings[server.name] = server.warnings
        for round_number in range(1, args.rounds + 1):
            for server in list(live):
                load = os.getloadavg()[0]
                try:
                    result, server_cpu, client_cpu = run_wrk(
                        server, client_prefix, args.duration, args.connections, threads
                    )
                except BenchError as exc:
                    failed[server.name] = str(exc)
                    print(f"\nDROPPING {server.name}: {exc}", file=sys.stderr)
                    live.remove(server)
                    continue
                samples.append(
                    Sample(server.name, round_number, result, server_cpu, client_cpu, load)
                )
                flag = f"  ERRORS: {result.errors}" if result.errors else ""
                print(
                    f"round {round_number}/{args.rounds} {server.name:<8} "
                    f"{result.rps:>9.0f} req/s  p50 {result.p50_ms:.2f} ms  "
                    f"p99 {result.p99_ms:.2f} ms  server cpu {server_cpu:.0%}  "
                    f"wrk cpu {client_cpu:.0%}  load {load:.2f}{flag}",
                    flush=True,
                )

    measured = {s.server for s in samples}
    baseline = BASELINE if BASELINE in measured else None
    summary = report(samples, args.servers, baseline)
    path = write_results(
        {
            "benchmark": "http_hello",
            "started": started,
            "argv": sys.argv[1:] if argv is None else list(argv),
            "settings": {
                "rounds": args.rounds,
                "duration_s": args.duration,
                "connections": args.connections,
                "warmup_s": args.warmup,
                "servers": args.servers,
                "workers": args.workers,
                "client_pin": client_prefix,
                "server_pin": server_prefix,
            },
            "machine": {
                "python": sys.version,
                "platform": platform.platform(),
                "cpus": os.cpu_count(),
                "versions": _versions(),
            },
            "summary": summary,
            "warnings": warnings,
            "failed": failed,
            "samples": [asdict(sample) for sample in samples],
        }
    )
    print(f"\nraw results: {path.relative_to(ROOT)}")
    if failed:
        print(f"FAILED: {', '.join(sorted(failed))} (see messages above)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

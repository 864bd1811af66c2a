"""Static files: trinado's StaticFileHandler against Tornado's, side by side.

Two measurements, each server in its own process pinned to one core (as in
``http_hello.py``, whose helpers this script imports):

1. **Throughput**: ``wrk`` fetching a 1 MiB file from ``/static/``, rounds alternating the
   servers; the ratio to Tornado is taken per round, then the median over rounds.
2. **Memory under slow clients**: a fresh server process per round; 50 clients (trio
   sockets in this process, on loopback) each start downloading a 100 MiB file and read it
   slowly (16 KiB every 100 ms) for a bounded time. The server's peak resident memory
   (``VmHWM`` from ``/proc``) is compared with its resident memory just before the clients
   came (``VmRSS``); the growth is what the slow downloads cost in user space (the kernel's
   socket buffers are not counted by either).

Run: ``python bench/static_files.py [--quick] [--rounds N] [--duration S] [--connections C]
[--clients N] [--slow-seconds S] [--servers trinado,tornado]``
"""

from __future__ import annotations

import argparse
import http.client
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import trio
from http_hello import (
    HOST,
    PEERS,
    ROOT,
    STARTUP_TIMEOUT,
    BenchError,
    Sample,
    Server,
    _versions,
    free_port,
    pinning,
    report,
    run_wrk,
    stop_server,
    write_results,
)

#: Server name -> script under ``bench/peers/``; each takes ``--port``, ``--host``, ``--root``.
SERVERS: dict[str, str] = {
    "trinado": "trinado_static.py",
    "tornado": "tornado_static.py",
}
BASELINE = "tornado"
SMALL_NAME = "file-1m.bin"
SMALL_SIZE = 1024 * 1024
BIG_NAME = "file-100m.bin"
BIG_SIZE = 100 * 1024 * 1024
#: How a slow client reads: this many bytes, then a pause of SLOW_INTERVAL seconds.
SLOW_READ = 16 * 1024
SLOW_INTERVAL = 0.1
MIB = 1024 * 1024


@dataclass
class StaticServer(Server):
    """A running static file server; wrk loads ``path``.

    Attributes:
        path: The URL path wrk requests.
    """

    path: str = f"/static/{SMALL_NAME}"

    @property
    def url(self) -> str:
        """The URL wrk loads."""
        return f"http://{HOST}:{self.port}{self.path}"


@dataclass
class MemorySample:
    """One server's memory under slow clients in one round.

    Attributes:
        server: Server name.
        round: Round number, from 1.
        baseline_kib: Resident memory just before the clients connected (VmRSS).
        peak_kib: Peak resident memory of the process (VmHWM) after the clients left.
        sampled_peak_kib: The largest VmRSS seen while the clients were downloading.
        clients_ok: Clients that got a 200 and some of the body.
        delivered_bytes: Body bytes the clients read, all together.
    """

    server: str
    round: int
    baseline_kib: int
    peak_kib: int
    sampled_peak_kib: int
    clients_ok: int
    delivered_bytes: int

    @property
    def growth_kib(self) -> int:
        """How much the peak exceeds the baseline."""
        return self.peak_kib - self.baseline_kib


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Parse the command line.

    Args:
        argv: Arguments without the program name; ``None`` reads ``sys.argv``.

    Returns:
        The parsed options, with ``servers`` as a list of names.
    """
    parser = argparse.ArgumentParser(description="Static files: trinado against Tornado.")
    parser.add_argument("--rounds", type=int, default=None, help="rounds (default 5)")
    parser.add_argument("--duration", type=int, default=None, help="seconds per wrk run (10)")
    parser.add_argument("--connections", type=int, default=50, help="wrk connections (50)")
    parser.add_argument("--clients", type=int, default=50, help="slow clients (50)")
    parser.add_argument(
        "--slow-seconds", type=float, default=None, help="seconds of slow downloading (10)"
    )
    parser.add_argument(
        "--servers", default=",".join(SERVERS), help="comma-separated, in round order"
    )
    parser.add_argument("--quick", action="store_true", help="3 rounds of 3 s, 5 s slow")
    parser.add_argument("--warmup", type=int, default=None, help="seconds of wrk warm-up (2)")
    parser.add_argument("--no-pin", action="store_true", help="do not pin with taskset")
    parser.add_argument(
        "--only", choices=("throughput", "memory"), help="run one of the two measurements"
    )
    args = parser.parse_args(argv)
    if args.rounds is None:
        args.rounds = 3 if args.quick else 5
    if args.duration is None:
        args.duration = 3 if args.quick else 10
    if args.warmup is None:
        args.warmup = 1 if args.quick else 2
    if args.slow_seconds is None:
        args.slow_seconds = 5.0 if args.quick else 10.0
    names = [name.strip() for name in args.servers.split(",") if name.strip()]
    if not names or any(name not in SERVERS for name in names) or len(set(names)) != len(names):
        parser.error(f"--servers takes distinct names from {', '.join(SERVERS)}")
    if min(args.rounds, args.duration, args.connections, args.clients) < 1:
        parser.error("--rounds, --duration, --connections and --clients must be >= 1")
    args.servers = names
    return args


def make_files(directory: Path) -> bytes:
    """Write the 1 MiB and 100 MiB files (random bytes) into ``directory``.

    Args:
        directory: Where to write them.

    Returns:
        The content of the 1 MiB file, to check responses against.
    """
    small = os.urandom(SMALL_SIZE)
    (directory / SMALL_NAME).write_bytes(small)
    block = os.urandom(MIB)
    with open(directory / BIG_NAME, "wb") as file:
        for _ in range(BIG_SIZE // MIB):
            file.write(block)
    return small


def start(name: str, prefix: list[str], root: Path) -> StaticServer:
    """Start one server process on a free port, serving ``root``.

    Args:
        name: A key of :data:`SERVERS`.
        prefix: Command prefix (``taskset -c N``) or empty.
        root: The directory to serve.

    Returns:
        The started server; it may not be listening yet.
    """
    port = free_port()
    script = PEERS / SERVERS[name]
    command = [*prefix, sys.executable, str(script), "--port", str(port), "--root", str(root)]
    log = tempfile.TemporaryFile()  # noqa: SIM115 -- stop_server closes it
    try:
        process = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT
        )
    except BaseException:
        log.close()
        raise
    return StaticServer(name=name, port=port, process=process, log=log)


def check_file(server: StaticServer, expected: bytes) -> None:
    """Wait until the server answers, then check that it serves the 1 MiB file intact.

    Args:
        server: The server.
        expected: The file's content.

    Raises:
        BenchError: If the server exits, does not answer in time or answers wrongly.
    """
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while True:
        if server.process.poll() is not None:
            raise BenchError(f"{server.name} exited early:\n{server.log_tail()}")
        conn = http.client.HTTPConnection(HOST, server.port, timeout=5.0)
        try:
            conn.request("GET", server.path)
            response = conn.getresponse()
            body = response.read()
            break
        except OSError:
            if time.monotonic() > deadline:
                raise BenchError(f"{server.name} did not answer:\n{server.log_tail()}") from None
            time.sleep(0.05)
        finally:
            conn.close()
    if response.status != 200 or body != expected:
        raise BenchError(
            f"{server.name} answered {response.status} with {len(body)} bytes; expected 200 "
            f"and the {len(expected)}-byte file\n{server.log_tail()}"
        )


def proc_status_kib(pid: int, field: str) -> int:
    """Read a ``kB`` field (``VmRSS``, ``VmHWM``) of ``/proc/<pid>/status``.

    Args:
        pid: The process.
        field: The field's name.

    Returns:
        Its value in KiB.

    Raises:
        BenchError: If the field is missing (not Linux, or the process is gone).
    """
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError as exc:
        raise BenchError(f"cannot read /proc/{pid}/status: {exc}") from exc
    for line in text.splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise BenchError(f"no {field} in /proc/{pid}/status")


async def _slow_client(
    port: int, path: str, results: list[int], ok: list[bool], index: int
) -> None:
    """Download ``path``, reading SLOW_READ bytes every SLOW_INTERVAL until cancelled."""
    stream = await trio.open_tcp_stream(HOST, port)
    async with stream:
        request = f"GET {path} HTTP/1.1\r\nHost: {HOST}\r\n\r\n".encode()
        await stream.send_all(request)
        head = b""
        while b"\r\n\r\n" not in head:
            data = await stream.receive_some(SLOW_READ)
            if not data:
                return
            head += data
        status_line, _, _ = head.partition(b"\r\n")
        ok[index] = status_line.split(b" ")[1] == b"200"
        results[index] = len(head.partition(b"\r\n\r\n")[2])
        while True:
            await trio.sleep(SLOW_INTERVAL)
            data = await stream.receive_some(SLOW_READ)
            if not data:
                return
            results[index] += len(data)


async def _slow_downloads(
    port: int, pid: int, clients: int, seconds: float
) -> tuple[int, int, int]:
    """Run the slow clients for ``seconds``, sampling the server's VmRSS meanwhile.

    Returns:
        Clients that got a 200, bytes delivered, largest VmRSS sampled (KiB).
    """
    received = [0] * clients
    ok = [False] * clients
    sampled = 0
    path = f"/static/{BIG_NAME}"
    with trio.move_on_after(seconds):
        async with trio.open_nursery() as nursery:
            for index in range(clients):
                nursery.start_soon(_slow_client, port, path, received, ok, index)
            while True:
                sampled = max(sampled, proc_status_kib(pid, "VmRSS"))
                await trio.sleep(0.1)
    return sum(ok), sum(received), sampled


def measure_memory(
    name: str, round_number: int, prefix: list[str], root: Path, args: argparse.Namespace
) -> MemorySample:
    """Start a fresh server, let the slow clients download from it, and measure its memory.

    Args:
        name: Server name.
        round_number: Round number.
        prefix: Command prefix pinning the server.
        root: The served directory.
        args: The options (``clients``, ``slow_seconds``).

    Returns:
        The measurement.

    Raises:
        BenchError: If the server fails.
    """
    server = start(name, prefix, root)
    try:
        check_file(server, (root / SMALL_NAME).read_bytes())
        # One request for the big file before measuring, so that one-time work (Tornado
        # hashes up to 64 MiB of a file for its ETag) is not counted as the clients' cost.
        conn = http.client.HTTPConnection(HOST, server.port, timeout=30.0)
        try:
            conn.request("HEAD", f"/static/{BIG_NAME}")
            conn.getresponse().read()
        finally:
            conn.close()
        time.sleep(0.5)
        baseline = proc_status_kib(server.process.pid, "VmRSS")
        clients_ok, delivered, sampled = trio.run(
            _slow_downloads, server.port, server.process.pid, args.clients, args.slow_seconds
        )
        time.sleep(0.2)
        if server.process.poll() is not None:
            raise BenchError(f"{name} died under slow clients:\n{server.log_tail()}")
        peak = proc_status_kib(server.process.pid, "VmHWM")
    finally:
        stop_server(server)
    return MemorySample(name, round_number, baseline, peak, sampled, clients_ok, delivered)


def report_memory(samples: list[MemorySample], servers: list[str]) -> dict[str, Any]:
    """Print the memory table and return its summary.

    Args:
        samples: Every memory measurement.
        servers: Servers in display order.

    Returns:
        Medians per server.
    """
    summary: dict[str, Any] = {}
    header = (
        f"{'server':<9} {'baseline MiB':>12} {'peak MiB':>9} {'growth MiB':>10} "
        f"{'growth min-max':>15} {'clients ok':>10} {'delivered MiB':>13}"
    )
    print()
    print(header)
    print("-" * len(header))
    for name in servers:
        mine = [s for s in samples if s.server == name]
        if not mine:
            continue
        growth = [s.growth_kib / 1024 for s in mine]
        row = {
            "baseline_mib_median": statistics.median(s.baseline_kib / 1024 for s in mine),
            "peak_mib_median": statistics.median(s.peak_kib / 1024 for s in mine),
            "growth_mib_median": statistics.median(growth),
            "growth_mib_min": min(growth),
            "growth_mib_max": max(growth),
            "clients_ok_min": min(s.clients_ok for s in mine),
            "delivered_mib_median": statistics.median(s.delivered_bytes / MIB for s in mine),
        }
        summary[name] = row
        print(
            f"{name:<9} {row['baseline_mib_median']:>12.1f} {row['peak_mib_median']:>9.1f} "
            f"{row['growth_mib_median']:>10.1f} "
            f"{row['growth_mib_min']:>7.1f}-{row['growth_mib_max']:<7.1f} "
            f"{row['clients_ok_min']:>10} {row['delivered_mib_median']:>13.1f}"
        )
    return summary


def throughput(
    args: argparse.Namespace,
    root: Path,
    expected: bytes,
    client_prefix: list[str],
    server_prefix: list[str],
    failed: dict[str, str],
) -> list[Sample]:
    """Run the wrk rounds against the 1 MiB file.

    Returns:
        Every measurement.
    """
    samples: list[Sample] = []
    servers: list[StaticServer] = []
    try:
        for name in args.servers:
            server = start(name, server_prefix, root)
            servers.append(server)
            try:
                check_file(server, expected)
                if args.warmup:
                    run_wrk(server, client_prefix, args.warmup, args.connections)
            except BenchError as exc:
                failed[name] = str(exc)
                print(f"\nSKIPPING {name}: {exc}", file=sys.stderr)
                servers.pop()
                stop_server(server)
        for round_number in range(1, args.rounds + 1):
            for server in list(servers):
                load = os.getloadavg()[0]
                try:
                    result, server_cpu, client_cpu = run_wrk(
                        server, client_prefix, args.duration, args.connections
                    )
                except BenchError as exc:
                    failed[server.name] = str(exc)
                    print(f"\nDROPPING {server.name}: {exc}", file=sys.stderr)
                    servers.remove(server)
                    stop_server(server)
                    continue
                samples.append(
                    Sample(server.name, round_number, result, server_cpu, client_cpu, load)
                )
                flag = f"  ERRORS: {result.errors}" if result.errors else ""
                print(
                    f"round {round_number}/{args.rounds} {server.name:<8} "
                    f"{result.rps:>7.0f} req/s ({result.rps * SMALL_SIZE / MIB:>6.0f} MiB/s)  "
                    f"p50 {result.p50_ms:.2f} ms  p99 {result.p99_ms:.2f} ms  "
                    f"server cpu {server_cpu:.0%}  wrk cpu {client_cpu:.0%}  "
                    f"load {load:.2f}{flag}",
                    flush=True,
                )
    finally:
        for server in servers:
            stop_server(server)
    return samples


def memory_rounds(
    args: argparse.Namespace,
    root: Path,
    client_prefix: list[str],
    server_prefix: list[str],
    failed: dict[str, str],
) -> tuple[list[MemorySample], dict[str, Any]]:
    """Run the slow-client rounds, a fresh server process each time, and print the table.

    Returns:
        Every measurement, and the summary per server.
    """
    print(
        f"\n== memory: {args.clients} clients download /static/{BIG_NAME} (100 MiB), reading "
        f"{SLOW_READ // 1024} KiB every {SLOW_INTERVAL * 1000:.0f} ms for "
        f"{args.slow_seconds:g} s; a fresh server per round"
    )
    if client_prefix:
        # The clients run in this process: keep them off the server's core.
        os.sched_setaffinity(0, {int(client_prefix[-1])})
    samples: list[MemorySample] = []
    rounds = max(2, args.rounds - 2)
    for round_number in range(1, rounds + 1):
        for name in args.servers:
            if name in failed:
                continue
            try:
                sample = measure_memory(name, round_number, server_prefix, root, args)
            except BenchError as exc:
                failed[name] = str(exc)
                print(f"\nDROPPING {name}: {exc}", file=sys.stderr)
                continue
            samples.append(sample)
            print(
                f"round {round_number}/{rounds} {name:<8} baseline "
                f"{sample.baseline_kib / 1024:.1f} MiB  peak {sample.peak_kib / 1024:.1f} MiB  "
                f"growth {sample.growth_kib / 1024:.1f} MiB  clients ok "
                f"{sample.clients_ok}/{args.clients}  delivered "
                f"{sample.delivered_bytes / MIB:.0f} MiB",
                flush=True,
            )
    summary = report_memory(samples, args.servers)
    if "trinado" in summary and "tornado" in summary:
        for key, label in (("growth_mib_median", "growth"), ("peak_mib_median", "peak")):
            ratio = summary["trinado"][key] / summary["tornado"][key]
            print(f"{label} trinado/tornado: {ratio:.2f} (lower is better)")
    return samples, summary


def main(argv: Sequence[str] | None = None) -> int:
    """Run both measurements.

    Args:
        argv: Arguments without the program name; ``None`` reads ``sys.argv``.

    Returns:
        0 when every server was measured, 1 when some failed, 2 when nothing could run.
    """
    args = parse_args(argv)
    if shutil.which("wrk") is None:
        print("error: wrk is not installed; install it with `apt-get install wrk`", file=sys.stderr)
        return 2
    if not Path("/proc/self/status").exists():
        print("error: the memory measurement needs Linux's /proc", file=sys.stderr)
        return 2
    client_prefix, server_prefix = pinning(args.no_pin)
    print(f"pinning: wrk {client_prefix or 'off'}, servers {server_prefix or 'off'}")
    failed: dict[str, str] = {}
    started = datetime.now(timezone.utc).isoformat(timespec="seconds")
    with tempfile.TemporaryDirectory(prefix="trinado-static-bench-") as directory:
        root = Path(directory)
        expected = make_files(root)
        samples: list[Sample] = []
        summary: dict[str, Any] = {}
        if args.only != "memory":
            print(
                f"\n== throughput: GET /static/{SMALL_NAME} (1 MiB), {args.rounds} rounds x "
                f"{args.duration} s, {args.connections} connections"
            )
            samples = throughput(args, root, expected, client_prefix, server_prefix, failed)
            measured = {s.server for s in samples}
            summary = report(samples, args.servers, BASELINE if BASELINE in measured else None)
        memory: list[MemorySample] = []
        memory_summary: dict[str, Any] = {}
        if args.only != "throughput":
            memory, memory_summary = memory_rounds(args, root, client_prefix, server_prefix, failed)

    path = write_results(
        kind="static_files",
        data={
            "benchmark": "static_files",
            "started": started,
            "argv": sys.argv[1:] if argv is None else list(argv),
            "settings": {
                "rounds": args.rounds,
                "duration_s": args.duration,
                "connections": args.connections,
                "clients": args.clients,
                "slow_seconds": args.slow_seconds,
                "slow_read_bytes": SLOW_READ,
                "slow_interval_s": SLOW_INTERVAL,
                "servers": args.servers,
                "client_pin": client_prefix,
                "server_pin": server_prefix,
            },
            "machine": {
                "python": sys.version,
                "platform": platform.platform(),
                "cpus": os.cpu_count(),
                "versions": _versions(),
            },
            "throughput": summary,
            "memory": memory_summary,
            "failed": failed,
            "samples": [asdict(sample) for sample in samples],
            "memory_samples": [asdict(sample) for sample in memory],
        },
    )
    print(f"\nraw results: {path.relative_to(ROOT)}")
    if failed:
        print(f"FAILED: {', '.join(sorted(failed))}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""WebSocket echo and idle memory: trinado against Tornado, side by side.

Each server runs as its own process pinned to one core (``taskset -c 1``); the load client
(``peers/ws_client.py``) runs as another process pinned to the other core. The helpers for
ports, pinning, processes, CPU accounting and ratios come from ``http_hello.py``.

1. **Echo round trips**: 100-byte text messages in a closed loop (send, wait for the echo,
   repeat) for a fixed time, over 1 connection and over 50. Rounds alternate the servers;
   the ratio to Tornado is taken per round, then the median over rounds. The client's CPU
   is reported: near 90% it would be the client being measured.
2. **Memory per idle WebSocket**: a fresh server per round; its ``VmRSS`` is read before
   and after a separate process opens 5,000 WebSockets to it (and once more after one echo
   on each), and the growth is divided by the number of sockets.

Run: ``python bench/ws_echo.py [--quick] [--rounds N] [--duration S] [--connections 1,50]
[--sockets N] [--impl raw|websockets] [--only echo|memory]``
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Any

from http_hello import (
    HOST,
    PEERS,
    ROOT,
    STARTUP_TIMEOUT,
    STARVED_CPU,
    BenchError,
    Sample,
    Server,
    WrkResult,
    _process_cpu_seconds,
    _ratio_lines,
    _versions,
    pinning,
    start_server,
    stop_server,
    write_results,
)
from peers.ws_client import (
    MESSAGE_SIZE,
    client_frame,
    close_all,
    open_websocket,
    raise_nofile,
    receive_exactly,
    server_frame,
    text_message,
)
from static_files import proc_status_kib

#: Server name -> script under ``bench/peers/``; each takes ``--port`` and ``--host``.
SERVERS: dict[str, str] = {
    "trinado": "trinado_ws.py",
    "tornado": "tornado_ws.py",
}
BASELINE = "tornado"
CLIENT = PEERS / "ws_client.py"
#: Seconds the server gets, after the last handshake or echo, before its VmRSS is read.
SETTLE = 1.0
#: Seconds a client process may take beyond its own work before it is killed.
CLIENT_GRACE = 120.0


@dataclass
class MemorySample:
    """One server's memory with many idle WebSockets open, in one round.

    Attributes:
        server: Server name.
        round: Round number, from 1.
        sockets: WebSockets the client opened.
        before_kib: VmRSS before the client came (after one echo check).
        open_kib: VmRSS with all the sockets open (handshake only).
        echoed_kib: VmRSS after one echo on every socket (still open).
        open_seconds: How long opening them took.
    """

    server: str
    round: int
    sockets: int
    before_kib: int
    open_kib: int
    echoed_kib: int
    open_seconds: float

    @property
    def open_kib_per_socket(self) -> float:
        """Growth per socket with the handshake done and nothing sent."""
        return (self.open_kib - self.before_kib) / self.sockets

    @property
    def echoed_kib_per_socket(self) -> float:
        """Growth per socket after each socket exchanged one message."""
        return (self.echoed_kib - self.before_kib) / self.sockets


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Parse the command line.

    Args:
        argv: Arguments without the program name; ``None`` reads ``sys.argv``.

    Returns:
        The parsed options, with ``servers`` and ``connections`` as lists.
    """
    parser = argparse.ArgumentParser(description="WebSocket echo: trinado against Tornado.")
    parser.add_argument("--rounds", type=int, default=None, help="echo rounds (5)")
    parser.add_argument("--duration", type=float, default=None, help="seconds per run (5)")
    parser.add_argument(
        "--connections", default="1,50", help="comma-separated connection counts (1,50)"
    )
    parser.add_argument("--warmup", type=float, default=None, help="warm-up seconds (1)")
    parser.add_argument(
        "--impl", choices=("raw", "websockets"), default="raw", help="echo client (raw)"
    )
    parser.add_argument("--sockets", type=int, default=5000, help="idle WebSockets (5000)")
    parser.add_argument("--memory-rounds", type=int, default=None, help="memory rounds (3)")
    parser.add_argument(
        "--sources", type=int, default=1, help="spread idle sockets over 127.0.0.1..N (1)"
    )
    parser.add_argument(
        "--servers", default=",".join(SERVERS), help="comma-separated, in round order"
    )
    parser.add_argument("--quick", action="store_true", help="3 rounds of 2 s, 2 memory rounds")
    parser.add_argument("--no-pin", action="store_true", help="do not pin with taskset")
    parser.add_argument("--only", choices=("echo", "memory"), help="one of the two measurements")
    args = parser.parse_args(argv)
    if args.rounds is None:
        args.rounds = 3 if args.quick else 5
    if args.duration is None:
        args.duration = 2.0 if args.quick else 5.0
    if args.warmup is None:
        args.warmup = 1.0
    if args.memory_rounds is None:
        args.memory_rounds = 2 if args.quick else 3
    names = [name.strip() for name in args.servers.split(",") if name.strip()]
    if not names or any(name not in SERVERS for name in names) or len(set(names)) != len(names):
        parser.error(f"--servers takes distinct names from {', '.join(SERVERS)}")
    try:
        counts = [int(part) for part in args.connections.split(",") if part.strip()]
    except ValueError:
        parser.error("--connections takes comma-separated integers")
    if not counts or min(counts) < 1:
        parser.error("--connections takes positive integers")
    if min(args.rounds, args.memory_rounds, args.sockets) < 1 or args.duration <= 0:
        parser.error("--rounds, --memory-rounds, --sockets and --duration must be positive")
    if args.warmup < 0 or not 1 <= args.sources <= 254:
        parser.error("--warmup must be >= 0 and --sources 1 to 254")
    args.servers = names
    args.connections = counts
    return args


def start(name: str, prefix: list[str]) -> Server:
    """Start one echo server process (a key of :data:`SERVERS`) on a free port."""
    return start_server(name, prefix, SERVERS)


def check_echo(server: Server) -> None:
    """Wait until the server listens, then check one WebSocket echo.

    Args:
        server: The server.

    Raises:
        BenchError: If the server exits, does not listen in time, or echoes wrongly.
    """
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while True:
        if server.process.poll() is not None:
            raise BenchError(f"{server.name} exited early:\n{server.log_tail()}")
        try:
            with socket.create_connection((HOST, server.port), timeout=1.0):
                break
        except OSError:
            if time.monotonic() > deadline:
                raise BenchError(f"{server.name} did not listen:\n{server.log_tail()}") from None
            time.sleep(0.05)
    payload = text_message().encode("ascii")
    try:
        sock = open_websocket(HOST, server.port)
        try:
            for _ in range(3):
                sock.sendall(client_frame(1, payload))
                receive_exactly(sock, server_frame(1, payload))
        finally:
            close_all([sock])
    except Exception as exc:
        raise BenchError(
            f"{server.name} failed the echo check: {exc}\n{server.log_tail()}"
        ) from exc


@dataclass
class Client:
    """A running ``ws_client.py`` process, talked to one JSON line at a time.

    Attributes:
        process: The process, with text pipes on stdin and stdout.
        errors: The file collecting its standard error.
    """

    process: subprocess.Popen[str]
    errors: IO[bytes]

    def read(self, what: str) -> dict[str, Any]:
        """Read the client's next JSON line.

        Args:
            what: What it is doing, for the error message.

        Returns:
            The decoded object.

        Raises:
            BenchError: If the client reported an error, died or printed something else.
        """
        line = self.process.stdout.readline() if self.process.stdout is not None else ""
        try:
            value: dict[str, Any] = json.loads(line)
        except ValueError:
            self.errors.seek(0)
            tail = self.errors.read().decode(errors="replace").strip()[-2000:]
            raise BenchError(f"the client failed while {what}: {line!r}\n{tail}") from None
        if "error" in value:
            raise BenchError(f"the client failed while {what}: {value['error']}")
        return value

    def tell(self, command: str) -> None:
        """Send the client one command line.

        Args:
            command: The command (``go``, ``echo``, ``quit``).
        """
        if self.process.stdin is not None:
            self.process.stdin.write(command + "\n")
            self.process.stdin.flush()


@contextmanager
def client_process(command: list[str], timeout: float) -> Iterator[Client]:
    """Run a ``ws_client.py`` process, killed if it outlives ``timeout`` or on error.

    Args:
        command: The full command.
        timeout: Seconds it may live.

    Yields:
        The client.
    """
    with tempfile.TemporaryFile() as errors:
        process = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=errors,
            text=True,
            cwd=ROOT,
        )
        timer = threading.Timer(timeout, process.kill)
        timer.start()
        try:
            yield Client(process, errors)
            if process.stdin is not None:
                process.stdin.close()
            process.wait(timeout=30)
        finally:
            timer.cancel()
            if process.poll() is None:
                process.kill()
                process.wait()


def run_echo(
    server: Server, prefix: list[str], connections: int, duration: float, impl: str
) -> tuple[WrkResult, float, float]:
    """Run one closed-loop echo measurement against a server.

    The client connects first, then is told to go; the server's CPU is read around the
    measured window only.

    Args:
        server: The server.
        prefix: Command prefix pinning the client, or empty.
        connections: WebSockets to run at once.
        duration: Seconds to run.
        impl: The client implementation (``raw`` or ``websockets``).

    Returns:
        The measurement (``rps`` holds messages/s), the server's CPU use and the client's
        (1.0 is one core).

    Raises:
        BenchError: If the client fails or the server dies.
    """
    command = [
        *prefix,
        sys.executable,
        str(CLIENT),
        "echo",
        "--port",
        str(server.port),
        "--connections",
        str(connections),
        "--duration",
        str(duration),
        "--impl",
        impl,
    ]
    with client_process(command, duration + CLIENT_GRACE) as client:
        client.read(f"connecting to {server.name}")
        before = _process_cpu_seconds(server.process.pid)
        started = time.monotonic()
        client.tell("go")
        result = client.read(f"loading {server.name}")
        wall = time.monotonic() - started
        server_cpu = (_process_cpu_seconds(server.process.pid) - before) / wall
    if server.process.poll() is not None:
        raise BenchError(f"{server.name} died under load:\n{server.log_tail()}")
    measured = WrkResult(
        rps=result["rate"],
        p50_ms=result["p50_ms"],
        p99_ms=result["p99_ms"],
        requests=result["messages"],
        errors=result["errors"],
        raw=json.dumps(result),
    )
    return measured, server_cpu, result["cpu"]


def echo_rounds(
    args: argparse.Namespace,
    client_prefix: list[str],
    server_prefix: list[str],
    failed: dict[str, str],
) -> dict[int, list[Sample]]:
    """Start the servers, warm them up, and run the alternating rounds.

    Returns:
        The measurements, by connection count.
    """
    samples: dict[int, list[Sample]] = {count: [] for count in args.connections}
    servers: list[Server] = []
    try:
        for name in args.servers:
            server = start(name, server_prefix)
            servers.append(server)
            try:
                check_echo(server)
                if args.warmup:
                    run_echo(server, client_prefix, max(args.connections), args.warmup, args.impl)
            except BenchError as exc:
                failed[name] = str(exc)
                print(f"\nSKIPPING {name}: {exc}", file=sys.stderr)
                servers.remove(server)
                stop_server(server)
        for round_number in range(1, args.rounds + 1):
            for count in args.connections:
                for server in list(servers):
                    load = os.getloadavg()[0]
                    try:
                        result, server_cpu, client_cpu = run_echo(
                            server, client_prefix, count, args.duration, args.impl
                        )
                    except BenchError as exc:
                        failed[server.name] = str(exc)
                        print(f"\nDROPPING {server.name}: {exc}", file=sys.stderr)
                        servers.remove(server)
                        stop_server(server)
                        continue
                    samples[count].append(
                        Sample(server.name, round_number, result, server_cpu, client_cpu, load)
                    )
                    flag = f"  ERRORS: {result.errors}" if result.errors else ""
                    print(
                        f"round {round_number}/{args.rounds} {count:>3} conn "
                        f"{server.name:<8} {result.rps:>8.0f} msg/s  p50 {result.p50_ms:.3f} ms"
                        f"  p99 {result.p99_ms:.3f} ms  server cpu {server_cpu:.0%}  "
                        f"client cpu {client_cpu:.0%}  load {load:.2f}{flag}",
                        flush=True,
                    )
    finally:
        for server in servers:
            stop_server(server)
    return samples


def report_echo(samples: list[Sample], servers: list[str], connections: int) -> dict[str, Any]:
    """Print one connection count's table and ratios, and return its summary.

    Args:
        samples: Its measurements.
        servers: Servers in display order.
        connections: The connection count, for the title.

    Returns:
        Medians per server and the ratios to the baseline.
    """
    summary: dict[str, Any] = {"servers": {}, "ratios": {}, "ratios_per_cpu_second": {}}
    header = (
        f"{'server':<9} {'msg/s med':>10} {'min':>8} {'max':>8} {'p50 ms':>7} {'p99 ms':>7} "
        f"{'srv cpu':>7} {'cli cpu':>7} {'cli max':>7}"
    )
    print(f"\n== echo over {connections} connection{'s' if connections > 1 else ''}")
    print(header)
    print("-" * len(header))
    for name in servers:
        mine = [s for s in samples if s.server == name]
        if not mine:
            continue
        rates = [s.result.rps for s in mine]
        row = {
            "rate_median": statistics.median(rates),
            "rate_min": min(rates),
            "rate_max": max(rates),
            "p50_ms_median": statistics.median(s.result.p50_ms for s in mine),
            "p99_ms_median": statistics.median(s.result.p99_ms for s in mine),
            "server_cpu_median": statistics.median(s.server_cpu for s in mine),
            "client_cpu_median": statistics.median(s.client_cpu for s in mine),
            "client_cpu_max": max(s.client_cpu for s in mine),
            "errors": sum(s.result.errors for s in mine),
        }
        summary["servers"][name] = row
        print(
            f"{name:<9} {row['rate_median']:>10.0f} {row['rate_min']:>8.0f} "
            f"{row['rate_max']:>8.0f} {row['p50_ms_median']:>7.3f} {row['p99_ms_median']:>7.3f} "
            f"{row['server_cpu_median']:>7.0%} {row['client_cpu_median']:>7.0%} "
            f"{row['client_cpu_max']:>7.0%}"
        )
    measured = [name for name in servers if name in summary["servers"]]
    pairs = [(name, BASELINE) for name in measured if name != BASELINE]
    if BASELINE not in measured or not pairs:
        return summary
    print("messages/s ratios (per round, then the median over rounds):")
    summary["ratios"] = _ratio_lines(samples, pairs, per_cpu=False)
    print("messages per server CPU-second:")
    summary["ratios_per_cpu_second"] = _ratio_lines(samples, pairs, per_cpu=True)
    busy = [s for s in samples if s.client_cpu >= 0.9]
    if busy:
        print(f"warning: the client used >= 90% of its core in {len(busy)} runs: it limits them")
    if connections > 1:
        starved = [s for s in samples if s.server_cpu < STARVED_CPU]
        if starved:
            print(
                f"warning: in {len(starved)} of {len(samples)} runs the server got less than "
                f"{STARVED_CPU:.0%} of its core (a busy machine, or the client limits it)"
            )
    return summary


def measure_memory(
    name: str,
    round_number: int,
    client_prefix: list[str],
    server_prefix: list[str],
    args: argparse.Namespace,
) -> MemorySample:
    """Start a fresh server, open the idle WebSockets from a client process, read VmRSS.

    Args:
        name: Server name.
        round_number: Round number.
        client_prefix: Command prefix pinning the client.
        server_prefix: Command prefix pinning the server.
        args: The options (``sockets``, ``sources``).

    Returns:
        The measurement.

    Raises:
        BenchError: If the server or the client fails.
    """
    server = start(name, server_prefix)
    pid = server.process.pid
    command = [
        *client_prefix,
        sys.executable,
        str(CLIENT),
        "hold",
        "--port",
        str(server.port),
        "--count",
        str(args.sockets),
        "--sources",
        str(args.sources),
    ]
    try:
        check_echo(server)
        time.sleep(SETTLE / 2)
        before = proc_status_kib(pid, "VmRSS")
        with client_process(command, CLIENT_GRACE + args.sockets / 100) as client:
            opened = client.read(f"opening {args.sockets} WebSockets to {name}")
            time.sleep(SETTLE)
            open_kib = proc_status_kib(pid, "VmRSS")
            client.tell("echo")
            client.read(f"echoing once on each WebSocket of {name}")
            time.sleep(SETTLE)
            echoed_kib = proc_status_kib(pid, "VmRSS")
            if server.process.poll() is not None:
                raise BenchError(f"{name} died with the sockets open:\n{server.log_tail()}")
            stop_server(server)  # (first: thousands of sockets closing is not measured)
            client.tell("quit")
    finally:
        stop_server(server)
    return MemorySample(
        name,
        round_number,
        opened["opened"],
        before,
        open_kib,
        echoed_kib,
        opened["seconds"],
    )


def memory_ratios(samples: list[MemorySample], attribute: str) -> list[float]:
    """Per-round ``tornado / trinado`` KiB-per-socket ratios (>= 1.0: trinado uses less).

    Args:
        samples: Every memory measurement.
        attribute: ``open_kib_per_socket`` or ``echoed_kib_per_socket``.

    Returns:
        One ratio per round in which both were measured.
    """
    by_round: dict[int, dict[str, float]] = {}
    for sample in samples:
        by_round.setdefault(sample.round, {})[sample.server] = getattr(sample, attribute)
    return [
        values[BASELINE] / values["trinado"]
        for _, values in sorted(by_round.items())
        if BASELINE in values and "trinado" in values and values["trinado"] > 0
    ]


def memory_rounds(
    args: argparse.Namespace,
    client_prefix: list[str],
    server_prefix: list[str],
    failed: dict[str, str],
) -> tuple[list[MemorySample], dict[str, Any]]:
    """Run the idle-memory rounds, a fresh server each time, and print the table.

    Returns:
        Every measurement, and the summary.
    """
    print(
        f"\n== memory: {args.sockets} idle WebSockets from one client process, a fresh "
        "server per round; VmRSS growth / sockets"
    )
    samples: list[MemorySample] = []
    for round_number in range(1, args.memory_rounds + 1):
        for name in args.servers:
            if name in failed:
                continue
            try:
                sample = measure_memory(name, round_number, client_prefix, server_prefix, args)
            except BenchError as exc:
                failed[name] = str(exc)
                print(f"\nDROPPING {name}: {exc}", file=sys.stderr)
                continue
            samples.append(sample)
            print(
                f"round {round_number}/{args.memory_rounds} {name:<8} before "
                f"{sample.before_kib / 1024:.1f} MiB  open {sample.open_kib / 1024:.1f} MiB "
                f"({sample.open_kib_per_socket:.2f} KiB/socket)  after one echo each "
                f"{sample.echoed_kib / 1024:.1f} MiB ({sample.echoed_kib_per_socket:.2f} "
                f"KiB/socket)  opened in {sample.open_seconds:.1f} s",
                flush=True,
            )
    summary: dict[str, Any] = {"servers": {}, "ratios": {}}
    header = f"{'server':<9} {'KiB/socket open':>16} {'min-max':>13} {'after 1 echo':>13}"
    print()
    print(header)
    print("-" * len(header))
    for name in args.servers:
        mine = [s for s in samples if s.server == name]
        if not mine:
            continue
        opened = [s.open_kib_per_socket for s in mine]
        row = {
            "open_kib_per_socket_median": statistics.median(opened),
            "open_kib_per_socket_min": min(opened),
            "open_kib_per_socket_max": max(opened),
            "echoed_kib_per_socket_median": statistics.median(
                s.echoed_kib_per_socket for s in mine
            ),
            "before_mib_median": statistics.median(s.before_kib / 1024 for s in mine),
        }
        summary["servers"][name] = row
        print(
            f"{name:<9} {row['open_kib_per_socket_median']:>16.2f} "
            f"{row['open_kib_per_socket_min']:>6.2f}-{row['open_kib_per_socket_max']:<6.2f} "
            f"{row['echoed_kib_per_socket_median']:>13.2f}"
        )
    for attribute, label in (
        ("open_kib_per_socket", "open"),
        ("echoed_kib_per_socket", "after one echo"),
    ):
        per_round = memory_ratios(samples, attribute)
        if per_round:
            median = statistics.median(per_round)
            summary["ratios"][attribute] = {"per_round": per_round, "median": median}
            rounds_text = " ".join(f"{r:.2f}" for r in per_round)
            print(
                f"  tornado/trinado KiB per socket, {label}: {median:.2f}   (rounds: "
                f"{rounds_text}; >= 1.0: trinado uses less)"
            )
    return samples, summary


def main(argv: Sequence[str] | None = None) -> int:
    """Run both measurements.

    Args:
        argv: Arguments without the program name; ``None`` reads ``sys.argv``.

    Returns:
        0 when every server was measured, 1 when some failed, 2 when nothing could run.
    """
    args = parse_args(argv)
    if not Path("/proc/self/status").exists():
        print("error: the CPU and memory figures need Linux's /proc", file=sys.stderr)
        return 2
    raise_nofile()
    client_prefix, server_prefix = pinning(args.no_pin)
    print(f"pinning: client {client_prefix or 'off'}, servers {server_prefix or 'off'}")
    failed: dict[str, str] = {}
    started = datetime.now(timezone.utc).isoformat(timespec="seconds")
    echo: dict[str, Any] = {}
    samples: dict[int, list[Sample]] = {}
    if args.only != "memory":
        print(
            f"\n== echo: {MESSAGE_SIZE}-byte text messages, closed loop, {args.rounds} rounds x "
            f"{args.duration:g} s, connections {args.connections}, {args.impl} client"
        )
        samples = echo_rounds(args, client_prefix, server_prefix, failed)
        for count, mine in samples.items():
            echo[str(count)] = report_echo(mine, args.servers, count)
    memory: list[MemorySample] = []
    memory_summary: dict[str, Any] = {}
    if args.only != "echo":
        memory, memory_summary = memory_rounds(args, client_prefix, server_prefix, failed)
    versions = _versions()
    versions.pop("wrk", None)
    try:
        from importlib.metadata import version

        versions["websockets"] = version("websockets")
    except Exception:
        versions["websockets"] = "missing"
    path = write_results(
        kind="ws_echo",
        data={
            "benchmark": "ws_echo",
            "started": started,
            "argv": sys.argv[1:] if argv is None else list(argv),
            "settings": {
                "rounds": args.rounds,
                "duration_s": args.duration,
                "connections": args.connections,
                "warmup_s": args.warmup,
                "impl": args.impl,
                "message_bytes": MESSAGE_SIZE,
                "sockets": args.sockets,
                "memory_rounds": args.memory_rounds,
                "sources": args.sources,
                "servers": args.servers,
                "client_pin": client_prefix,
                "server_pin": server_prefix,
            },
            "machine": {
                "python": sys.version,
                "platform": platform.platform(),
                "cpus": os.cpu_count(),
                "versions": versions,
            },
            "echo": echo,
            "memory": memory_summary,
            "failed": failed,
            "samples": {str(k): [asdict(s) for s in v] for k, v in samples.items()},
            "memory_samples": [asdict(s) for s in memory],
        },
    )
    print(f"\nraw results: {path.relative_to(ROOT)}")
    if failed:
        print(f"FAILED: {', '.join(sorted(failed))}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""HTTP benchmark of the decision service on loopback.

Starts one uvicorn process (SQLite file in a temp dir, decision log on and
already holding ``--log`` decisions, the rule baseline or ``--policy``)
serving the nba app plus a bare FastAPI endpoint (``POST /bare``, same app,
same server, same auth-free sync handler shape) and measures, in the same
run:

- single decisions: decisions/s and p50/p99 latency with one client, and
  decisions/s with ``--clients`` concurrent clients, next to the bare endpoint
  — in ``--rounds`` alternating blocks (bare, decisions, bare, ...), so that
  both see the same swings of a shared machine's speed;
- the batch endpoint: decisions/s with 10,000 ids per call;
- event ingestion: events/s with 1,000 events per call.

With one client it also reads the server process's CPU time per request
(Linux ``/proc``), and over the whole run how many cores other processes kept
busy: on a machine shared with other work, latencies swing with that load,
and CPU per request swings less.

A service's log grows: writes that are cheap into a fresh log (an index that
fits in memory) may not be into a big one, so the log starts with
``--log`` decisions (200,000 by default; 0 for a fresh one).

It ends with the service's speed targets, each met or not: decisions/s under
concurrent load at least 60 % of the bare endpoint's, p99 at most 5 ms with one
client, the batch endpoint at least 20,000 decisions/s, ingestion at least
5,000 events/s. (With one client, decisions/s is just 1 / latency: its ratio
to bare is printed too, as the latency ratio it is.)

Run: ``python benchmarks/bench_http.py [--n 2000] [--clients 4] [--rounds 5] [--log 200000]
[--json]``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx2
from pydantic import BaseModel

KEY = "bench-admin-key-0123456789abcdef-xyz"
#: The requests' clock starts on a Monday morning, outside quiet hours, and advances in
#: real time, a second at a time. A frozen clock would be a replay, not traffic (decision
#: ids, which sort by decision time, would all share one millisecond); a clock in
#: microseconds would give every request an ask of its own, never grouped with others',
#: whereas applications leave `now` out and share the server's clock.
START = datetime(2026, 3, 2, 10, tzinfo=UTC)
_T0 = time.monotonic()


def _now() -> str:
    """The requests' clock (ISO 8601)."""
    return (START + timedelta(seconds=int(time.monotonic() - _T0))).isoformat()


class Bare(BaseModel):
    """The bare endpoint's body (the same shape as a decision request's core)."""

    customer_id: str
    now: str | None = None


def bench_app() -> Any:
    """The nba app plus a bare endpoint (used as uvicorn's factory)."""
    from nba.api.app import create_app

    app = create_app()

    @app.post("/bare")
    def bare(body: Bare) -> dict[str, Any]:
        return {"customer_id": body.customer_id, "action": None, "propensity": 1.0}

    # matched first: routes are tried in order, and after the nba routers the bare
    # endpoint's own routing cost ~60 us more than the decisions route's
    app.router.routes.insert(0, app.router.routes.pop())
    return app


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _latencies(url: str, path: str, bodies: list[dict[str, Any]]) -> list[float]:
    out = []
    with httpx2.Client(base_url=url, headers={"Authorization": f"Bearer {KEY}"}) as c:
        for b in bodies:
            t = time.perf_counter()
            r = c.post(path, json=b | {"now": _now()})
            out.append(time.perf_counter() - t)
            r.raise_for_status()
    return out


def _throughput(url: str, path: str, n: int, clients: int, prefix: str) -> float:
    per = n // clients

    def work(k: int) -> None:
        _latencies(url, path, [{"customer_id": f"{prefix}{k}-{i % 500}"} for i in range(per)])

    threads = [threading.Thread(target=work, args=(k,)) for k in range(clients)]
    t = time.perf_counter()
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    return per * clients / (time.perf_counter() - t)


def _cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a process so far (None where /proc is missing)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _busy_cores_seconds() -> float | None:
    """CPU seconds all cores spent busy so far (None where /proc is missing)."""
    try:
        fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def _cpu_per_request(
    pid: int, run: Callable[[], list[float]], n: int
) -> tuple[list[float], float | None]:
    """``run()``'s latencies and the server's CPU microseconds per request during it."""
    before = _cpu_seconds(pid)
    out = run()
    after = _cpu_seconds(pid)
    return out, None if before is None or after is None else (after - before) / n * 1e6


def _pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))] * 1000.0


def _fill_log(url: str, n: int) -> None:
    """Log ``n`` decisions for new customers (calls of 10,000, at the requests' clock)
    before the server starts."""
    from nba.service import DecisionService
    from nba.settings import Settings

    service = DecisionService(
        Settings(database_url=url, admin_key=KEY), learn_interval=0, champion_lookup=False
    )
    try:
        for k in range(0, n, 10_000):
            ids = [f"P{i}" for i in range(k, min(n, k + 10_000))]
            service.decide(ids, datetime.fromisoformat(_now()))
    finally:
        service.stop()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--n", type=int, default=2000, help="requests per single-decision run")
    ap.add_argument("--clients", type=int, default=4, help="concurrent clients")
    ap.add_argument(
        "--rounds", type=int, default=5, help="alternating bare/decision blocks per measurement"
    )
    ap.add_argument("--policy", default=None, help="NBA_MODEL_URI (default: rule baseline)")
    ap.add_argument("--database-url", default=None, help="default: SQLite file in a temp dir")
    ap.add_argument(
        "--log", type=int, default=200_000, help="decisions in the log before the run starts"
    )
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="nba-bench-"))
    port = _free_port()
    database_url = args.database_url or f"sqlite:///{tmp / 'nba.db'}"
    _fill_log(database_url, args.log)
    env = {
        **os.environ,
        "NBA_DATABASE_URL": database_url,
        "NBA_ADMIN_KEY": KEY,
        "NBA_LEARN_INTERVAL": "0",
        "NBA_CHAMPION_LOOKUP": "0",
    }
    if args.policy:
        env["NBA_MODEL_URI"] = args.policy
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "bench_http:bench_app",
            "--factory",
            "--app-dir",
            str(Path(__file__).parent),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--no-access-log",
        ],
        env=env,
        cwd=tmp,
    )
    url = f"http://127.0.0.1:{port}"
    busy0, server0, own0, wall0 = (
        _busy_cores_seconds(),
        _cpu_seconds(proc.pid),
        time.process_time(),
        time.perf_counter(),
    )
    try:
        for _ in range(300):
            try:
                if httpx2.get(url + "/healthz").status_code == 200:
                    break
            except httpx2.HTTPError:
                time.sleep(0.1)
        # warm-up
        _latencies(url, "/bare", [{"customer_id": "w"}] * 200)
        _latencies(url, "/v1/decisions", [{"customer_id": f"w{i}"} for i in range(200)])

        # bare and decision requests in alternating blocks (ABAB...): on a shared machine
        # the speed swings by tens of percent within a minute, and both endpoints should
        # see the same swings; each block is long enough to keep its own caches warm
        n, rounds = args.n, args.rounds
        block = max(1, n // rounds)
        bare_lat: list[float] = []
        dec_lat: list[float] = []
        cpu = {"bare": 0.0, "dec": 0.0}
        tp_time = {"bare": 0.0, "dec": 0.0}
        for r in range(rounds):
            bodies = [{"customer_id": f"s{i % 500}"} for i in range(block)]
            for key, path, out in (("bare", "/bare", bare_lat), ("dec", "/v1/decisions", dec_lat)):
                lat, us = _cpu_per_request(
                    proc.pid, lambda p=path, b=bodies: _latencies(url, p, b), block
                )  # type: ignore[misc]
                out += lat
                cpu[key] += (us or 0.0) * block
            for key, path in (("bare", "/bare"), ("dec", "/v1/decisions")):
                t = time.perf_counter()
                _throughput(url, path, block, args.clients, f"{key}{r}-")
                tp_time[key] += time.perf_counter() - t
        measured = rounds * block
        bare_cpu = cpu["bare"] / measured if cpu["bare"] else None
        dec_cpu = cpu["dec"] / measured if cpu["dec"] else None
        per = block // args.clients * args.clients
        bare_tp = rounds * per / tp_time["bare"]
        dec_tp = rounds * per / tp_time["dec"]

        with httpx2.Client(
            base_url=url, headers={"Authorization": f"Bearer {KEY}"}, timeout=300
        ) as c:
            calls, size = 5, 10_000
            t = time.perf_counter()
            for k in range(calls):
                r = c.post(
                    "/v1/decisions/batch",
                    json={"customer_ids": [f"B{k}-{i}" for i in range(size)], "now": _now()},
                )
                r.raise_for_status()
            batch_tp = calls * size / (time.perf_counter() - t)
            t = time.perf_counter()
            for k in range(calls):
                r = c.post(
                    "/v1/decisions/batch",
                    json={
                        "customer_ids": [f"L{k}-{i}" for i in range(size)],
                        "now": _now(),
                        "explain": False,
                    },
                )
                r.raise_for_status()
            lean_tp = calls * size / (time.perf_counter() - t)

            ecalls, esize = 20, 1000
            t = time.perf_counter()
            for k in range(ecalls):
                evs = [
                    {
                        "event_id": f"e{k}-{i}",
                        "customer_id": f"s{i % 500}",
                        "type": "opened",
                        "timestamp": _now(),
                        "channel": "email",
                    }
                    for i in range(esize)
                ]
                c.post("/v1/events", json={"events": evs}).raise_for_status()
            events_tp = ecalls * esize / (time.perf_counter() - t)
        busy1, server1 = _busy_cores_seconds(), _cpu_seconds(proc.pid)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        shutil.rmtree(tmp, ignore_errors=True)
    # cores kept busy by everything but this benchmark (server and client) during the run
    other = None
    if None not in (busy0, busy1, server0, server1):
        ours = (server1 - server0) + (time.process_time() - own0)  # type: ignore[operator]
        other = max(0.0, (busy1 - busy0 - ours) / (time.perf_counter() - wall0))  # type: ignore[operator]

    targets = {
        f"throughput_{args.clients}_clients_ratio_to_bare_ge_0.6": dec_tp / bare_tp >= 0.6,
        "p99_one_client_le_5_ms": _pct(dec_lat, 0.99) <= 5.0,
        "batch_ge_20000_per_s": batch_tp >= 20_000,
        "events_ge_5000_per_s": events_tp >= 5_000,
    }
    one_client_tp = len(dec_lat) / sum(dec_lat)
    one_client_bare = len(bare_lat) / sum(bare_lat)
    res = {
        "single": {
            "one_client": {
                "decisions_per_s": round(one_client_tp, 1),
                "bare_per_s": round(one_client_bare, 1),
                "ratio_to_bare": round(one_client_tp / one_client_bare, 3),
                "p50_ms": round(_pct(dec_lat, 0.50), 3),
                "p99_ms": round(_pct(dec_lat, 0.99), 3),
                "bare_p50_ms": round(_pct(bare_lat, 0.50), 3),
                "bare_p99_ms": round(_pct(bare_lat, 0.99), 3),
                "server_cpu_us_per_request": None if dec_cpu is None else round(dec_cpu),
                "bare_server_cpu_us_per_request": None if bare_cpu is None else round(bare_cpu),
            },
            f"{args.clients}_clients": {
                "decisions_per_s": round(dec_tp, 1),
                "bare_per_s": round(bare_tp, 1),
                "ratio_to_bare": round(dec_tp / bare_tp, 3),
            },
        },
        "targets": targets,
        "batch_decisions_per_s": round(batch_tp, 1),
        "batch_explain_false_decisions_per_s": round(lean_tp, 1),
        "events_per_s": round(events_tp, 1),
        "setup": {
            "requests": n,
            "clients": args.clients,
            "cpus": os.cpu_count(),
            "database": "sqlite" if not args.database_url else args.database_url.split(":")[0],
            "policy": args.policy or "rules",
            "decision_log": True,
            "decisions_logged_before": args.log,
            "other_load_cores": None if other is None else round(other, 2),
        },
    }
    if args.json:
        print(json.dumps(res, indent=2))
        return
    s1 = res["single"]["one_client"]
    sk = res["single"][f"{args.clients}_clients"]
    print(
        f"single decision, 1 client : {s1['decisions_per_s']:8.0f}/s  p50 {s1['p50_ms']:.2f} ms"
        f"  p99 {s1['p99_ms']:.2f} ms   (bare: {s1['bare_per_s']:.0f}/s, p50 "
        f"{s1['bare_p50_ms']:.2f} ms, p99 {s1['bare_p99_ms']:.2f} ms) -> "
        f"{s1['ratio_to_bare']:.0%} of bare"
    )
    if dec_cpu is not None and bare_cpu is not None:
        print(f"  server CPU per request  : {dec_cpu:8.0f} us  (bare: {bare_cpu:.0f} us)")
    print(
        f"single decision, {args.clients} clients: {sk['decisions_per_s']:8.0f}/s"
        f"  (bare: {sk['bare_per_s']:.0f}/s) -> {sk['ratio_to_bare']:.0%} of bare"
    )
    print(
        f"batch (10,000 ids/call)   : {batch_tp:8.0f} decisions/s"
        f"  ({lean_tp:.0f}/s with explain=false)"
    )
    print(f"events (1,000/call)       : {events_tp:8.0f} events/s")
    print(f"log at start              : {args.log:8,d} decisions")
    met = ["not met", "met"]
    tg = list(targets.values())
    print(
        f"targets: throughput with {args.clients} clients >= 60 % of bare: {met[tg[0]]}; "
        f"p99 with one client <= 5 ms: {met[tg[1]]}; batch >= 20,000/s: {met[tg[2]]}; "
        f"events >= 5,000/s: {met[tg[3]]}"
    )
    if other is not None:
        print(
            f"other processes kept {other:.2f} of {os.cpu_count()} cores busy during the run"
            + (" (figures are noisy)" if other > 0.25 else "")
        )


if __name__ == "__main__":
    main()

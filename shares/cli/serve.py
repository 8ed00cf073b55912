"""`manage.py pasla serve`: one server (N workers) for every share in the database."""

import ctypes
import json
import logging
import os
import shutil
import signal
import socket
import sys
from pathlib import Path

from django.conf import settings

from shares import __version__
from shares.bandwidth import pacing
from shares.cli.parser import CliError
from shares.cli.share import client_options
from shares.config import numbers, runtime
from shares.config.deployment import DEFAULT_BIND, base_url, parse_bind
from shares.download import rows
from shares.handling import counters, outage
from shares.operator import database, leases
from shares.operator.processes import pid_exists
from shares.server import listeners as listen
from shares.server.shared_caps import SharedConnectionCounts
from shares.telemetry import metrics

log = logging.getLogger("pasla")

MAX_WORKERS = 64


def run(opts, argv: list[str]) -> int:
    clients = client_options(opts, opts.trust_proxy, opts.trust_header)
    if opts.worker_fds is not None:
        return run_worker(opts, clients)
    workers = _workers(opts.workers)
    binds = _binds(opts.bind or settings.PASLA_BIND or [DEFAULT_BIND])
    if workers > 1 and counters.cache_is_local():
        raise CliError(
            "--workers above 1 needs a shared cache (CACHE_URL=redis://...): "
            "caps, bans and rate limits must hold across workers"
        )
    base = base_url(settings.PASLA_PUBLIC_URL, None) if settings.PASLA_PUBLIC_URL else None

    # Imported when serving: importing the server installs the asyncio reactor.
    from shares.server.supervisor import Supervisor, SupervisorError, worker_command

    outage.require()
    database.ensure_database()
    sockets = _bind_all(binds, workers)
    metrics_dir = _metrics_dir()
    addresses = [(host, sockets[0][i].getsockname()[1]) for i, (host, _) in enumerate(binds)]
    supervisor = Supervisor(
        worker_command(str(settings.BASE_DIR / "manage.py"), argv),
        sockets,
        on_death=_after_death,
    )
    try:
        try:
            supervisor.start()
        except SupervisorError as exc:
            supervisor._signal(None, None)
            supervisor.run()
            raise CliError(str(exc)) from None
        return _announce_and_run(opts, supervisor, workers, addresses, base)
    finally:
        shutil.rmtree(metrics_dir, ignore_errors=True)


def _announce_and_run(opts, supervisor, workers: int, addresses, base) -> int:
    info = {
        "version": __version__,
        "pid": os.getpid(),
        "workers": supervisor.pids(),
        "bind": [f"[{h}]:{p}" if ":" in h else f"{h}:{p}" for h, p in addresses],
        "port": addresses[0][1],
        "url": (base or base_url("", addresses[0], settings.PASLA_PUBLIC_HOST))
        + settings.PASLA_URL_PREFIX
        + "/",
    }
    if opts.json:
        sys.stdout.write(json.dumps(info) + "\n")
    else:
        sys.stdout.write(
            f"pasla serve: {workers} worker(s) on {', '.join(info['bind'])}; URLs under {info['url']}\n"
        )
    sys.stdout.flush()
    return supervisor.run()


def _workers(text: str) -> int:
    workers = numbers.whole(text)
    if workers is None or not 1 <= workers <= MAX_WORKERS:
        raise CliError(f"invalid --workers {text!r} (1-{MAX_WORKERS})")
    return workers


def _binds(texts) -> list[tuple[str, int]]:
    try:
        return [parse_bind(text) for text in texts]
    except ValueError as exc:
        raise CliError(str(exc)) from None


def _bind_all(binds, workers: int) -> list[list[socket.socket]]:
    """workers x addresses sockets, all SO_REUSEPORT; port 0 resolves once per address."""
    per_worker: list[list[socket.socket]] = [[] for _ in range(workers)]
    try:
        for host, port in binds:
            for index in range(workers):
                sock = listen.bind_address(host, port)
                port = sock.getsockname()[1]
                per_worker[index].append(sock)
    except listen.ListenError as exc:
        for socks in per_worker:
            for sock in socks:
                sock.close()
        raise CliError(str(exc)) from None
    return per_worker


def _metrics_dir() -> Path:
    """A fresh PROMETHEUS_MULTIPROC_DIR for this server, inherited by its workers.

    Directories of earlier servers whose supervisor is gone are removed.
    """
    root = settings.DATA_DIR / "metrics"
    root.mkdir(mode=0o700, exist_ok=True)
    for old in root.iterdir():
        if old.name.isdigit() and not pid_exists(int(old.name)):
            shutil.rmtree(old, ignore_errors=True)
    path = root / str(os.getpid())
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(mode=0o700)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(path)
    return path


def _after_death(pid: int, hostname: str) -> None:
    metrics.worker_gone(pid)
    closed = rows.close_worker_history(pid, hostname)
    leases.forget(pid, hostname)
    if closed:
        log.warning("closed %d download(s) the dead worker left in progress", closed)
    if not counters.cache_is_local():
        SharedConnectionCounts.from_cache(runtime.worker_id(pid, hostname)).forget()


def _end_with_the_supervisor() -> None:
    """Linux: SIGTERM this worker when its supervisor dies, however it dies,
    so no orphaned worker keeps serving with nobody watching it."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # see ServeRunner.signals
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return
    if os.getppid() == 1:  # the supervisor died before the line above
        os.kill(os.getpid(), signal.SIGTERM)


def run_worker(opts, clients) -> int:
    # Imported when serving: importing the server installs the asyncio reactor.
    from shares.server.serve_runner import ServeRunner

    _end_with_the_supervisor()
    runtime.configure_clients(**clients)
    pacing.workers = _workers(opts.workers)  # each paces at its part of the rate caps
    listeners = []
    for fd in opts.worker_fds.split(","):
        sock = socket.socket(fileno=int(fd))
        listeners.append(listen.Listener(sock, sock.family))
    shared = None
    if not counters.cache_is_local():
        shared = SharedConnectionCounts.from_cache()
        shared.start()

    def ready(server):
        if opts.ready_fd is not None:
            os.write(opts.ready_fd, b"1")
            os.close(opts.ready_fd)

    return ServeRunner(listeners, settings.PASLA_LIMITS, shared=shared, on_ready=ready).run()

"""The long-running commands: one service alone (`eastwest serve`) and everything on one port (`eastwest run`).

Only these commands import this module: it loads every service (FastAPI, SQLAlchemy, scikit-learn), uvicorn
and the gateway, which the short commands (`eastwest token`, `--help`) must not wait for."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from pathlib import Path
from types import FrameType

import uvicorn
from rich.console import Console

from eastwest.embedded import NatsGaveUp, NatsServer, free_port, stop_stale_nats_servers, supervise_nats
from eastwest.gateway import Gateway, create_gateway
from eastwest.instance import forget_instance, record_instance
from eastwest.services import FACTORIES, create_apps
from libs import migrations
from libs.observability import configure_logging, get_logger
from libs.runtime import ServiceRuntime
from libs.settings import Settings

console = Console(stderr=True, soft_wrap=True)
log = get_logger("ew.cli")


class PortTaken(RuntimeError):
    """The HTTP port asked for is in use."""


def serve_service(
    settings: Settings,
    service: str,
    *,
    host: str,
    port: int,
    shutdown_delay: float,
    graceful_timeout: int,
    drain_timeout: float,
) -> bool:
    """Run one service until SIGTERM or Ctrl-C; False when the server never started."""
    configure_logging(settings.log_level, settings.log_json)
    application = FACTORIES[service](settings)
    runtime: ServiceRuntime = application.state.runtime
    runtime.drain_seconds = drain_timeout
    server = DrainingServer(
        uvicorn.Config(
            application,
            host=host,
            port=port,
            log_config=None,
            access_log=False,
            timeout_graceful_shutdown=graceful_timeout,
            timeout_keep_alive=settings.keep_alive_seconds,
            # One setting for both: uvicorn rewrites the client address only for the proxies we trust.
            forwarded_allow_ips=settings.forwarded_allow_ips or settings.trusted_proxies,
        ),
        runtime,
        shutdown_delay,
    )
    # uvicorn re-raises the signal it shut down on, once it is done: after a graceful shutdown on SIGTERM
    # that is a normal end, exit status 0.
    signal.signal(signal.SIGTERM, _shut_down_cleanly)
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C: the same graceful shutdown, then re-raised
        server.run()
    return bool(server.started)


def _shut_down_cleanly(_signum: int, _frame: object) -> None:
    """SIGTERM after uvicorn's graceful shutdown (or before it started): nothing left to do."""


class DrainingServer(uvicorn.Server):
    """uvicorn whose first SIGTERM turns readiness to 503 at once and closes the listener `delay` seconds
    later, so that requests the load balancer still sends meanwhile are served, not refused."""

    def __init__(self, config: uvicorn.Config, runtime: ServiceRuntime, delay: float) -> None:
        super().__init__(config)
        self.runtime = runtime
        self.delay = delay
        self._exit_at: float | None = None
        self._announced = False

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        # Runs as a signal handler: set flags only (no logging: a write to stdout may be in progress).
        self.runtime.begin_drain()
        if sig == signal.SIGTERM and self.delay > 0 and self._exit_at is None and not self.should_exit:
            self._exit_at = time.monotonic() + self.delay
            return
        super().handle_exit(sig, frame)

    async def on_tick(self, counter: int) -> bool:
        if self._exit_at is not None:
            if not self._announced:
                self._announced = True
                log.info("service.shutdown_requested", service=self.runtime.name, delay_seconds=self.delay)
            if time.monotonic() >= self._exit_at:
                self.should_exit = True
        return await super().on_tick(counter)


def run_platform(settings: Settings, data_dir: Path, *, port: int, demo: bool, nats_port: int | None) -> None:
    """Everything on one port, for a caller holding the data folder's lock (`hold_data_folder`): so no other
    run uses its JetStream store. Raises `PortTaken`, or `NatsGaveUp` when the nats-server keeps dying.

    A nats-server left on the store by a crashed run is stopped first, and the one started here is
    restarted (same port, same store) if it dies."""
    configure_logging(settings.log_level, json_logs=os.environ.get("EW_LOG_JSON", "0") == "1")
    if free_port(port) != port:
        raise PortTaken(f"port {port} is taken; try `make run PORT={free_port()}`")
    # uvicorn re-raises SIGTERM after its graceful shutdown; make that an exit that runs our `finally`.
    signal.signal(signal.SIGTERM, _exit_on_signal)
    store = data_dir / "nats"
    pid_file = store / "nats-server.pid"
    stale = stop_stale_nats_servers(store, pid_file)
    if stale:
        console.print(
            f"[yellow]stopped[/] a nats-server left on {store} by an earlier run "
            f"(pid {', '.join(map(str, stale))})"
        )
    nats = NatsServer(store, port=nats_port, log_file=data_dir / "nats.log", pid_file=pid_file).start()
    try:
        settings = settings.model_copy(update={"nats_url": nats.url, "data_dir": data_dir})
        for name in FACTORIES:
            asyncio.run(migrations.upgrade(name, settings.database_url_for(name)))
        asyncio.run(_serve_all(settings, port, demo, nats))
    finally:
        nats.stop()
        forget_instance(data_dir)
        console.print("[green]stopped[/] nats-server and all services")


def _exit_on_signal(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)


def gateway_server(gateway: Gateway, port: int, *, graceful_seconds: int) -> uvicorn.Server:
    """All services on one loopback port, as `eastwest run` and the tests serve them: a request still running
    `graceful_seconds` after shutdown began is cancelled, never waited for for ever."""
    return uvicorn.Server(
        uvicorn.Config(
            gateway,
            host="127.0.0.1",
            port=port,
            log_config=None,
            access_log=False,
            lifespan="on",
            timeout_graceful_shutdown=graceful_seconds,
        )
    )


async def _serve_all(settings: Settings, port: int, demo: bool, nats: NatsServer) -> None:
    server = gateway_server(create_gateway(create_apps(settings)), port, graceful_seconds=5)
    base = f"http://127.0.0.1:{port}"
    data_dir: Path = settings.data_dir

    async def after_start() -> None:
        while not server.started:
            if server.should_exit:
                return
            await asyncio.sleep(0.05)
        record_instance(data_dir, base, nats.url)
        if demo:
            from eastwest.demo import load_demo

            assert settings.jwt_secret is not None
            console.print(f"[green]demo data[/]: {await load_demo(base, settings)}")
        console.print(
            f"\n[bold]eastwest is running[/] on {base}  (NATS {nats.url}, data in {data_dir})\n"
            f"  API docs:  {base}/docs  ({', '.join(f'{base}/docs/{name}' for name in FACTORIES)})\n"
            f"  health:    {base}/healthz  {base}/readyz  {base}/metrics\n"
            "  a token:   .venv/bin/eastwest token --role admin\n"
            "             .venv/bin/eastwest token --role recruiter --employer-id <id>\n"
            f'  try:       curl -H "Authorization: Bearer $(.venv/bin/eastwest token --role public)" {base}/v1/feed\n'
            "  Ctrl-C stops everything.\n"
        )

    failure: list[BaseException] = []

    async def watch_nats() -> None:
        try:
            await supervise_nats(nats)
        except NatsGaveUp as error:
            failure.append(error)
            server.should_exit = True

    announcer = asyncio.create_task(after_start())
    supervisor = asyncio.create_task(watch_nats())
    try:
        await server.serve()
    finally:
        announcer.cancel()
        supervisor.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await supervisor
    if failure:
        raise failure[0]

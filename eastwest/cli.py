"""`eastwest`: everything an operator types."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import signal
import time
from pathlib import Path
from types import FrameType
from typing import Annotated

import typer
import uvicorn
from rich.console import Console

from eastwest.embedded import NatsServer, free_port
from eastwest.gateway import create_gateway
from eastwest.services import FACTORIES, create_apps
from libs import migrations
from libs.api.app import ServiceRuntime
from libs.auth import Role, issue_token
from libs.observability import configure_logging, get_logger
from libs.settings import Settings

app = typer.Typer(help="eastwest · 东西部劳务协作平台", no_args_is_help=True, add_completion=False)
console = Console(stderr=True, soft_wrap=True)
log = get_logger("ew.cli")


def load_settings(*, personal_data: bool = False) -> Settings:
    """Settings from the environment; in development, local keys are made for what is missing (never in prod).

    `personal_data`: the command touches the demand database's personal data and needs its keys."""
    settings = Settings()
    if settings.jwt_secret is None and not (settings.jwt_public_key or settings.jwt_jwks_url):
        if settings.environment == "prod":
            raise typer.BadParameter("production needs EW_JWT_PUBLIC_KEY or EW_JWT_JWKS_URL")
        settings = settings.model_copy(update={"jwt_secret": dev_secret(settings.data_dir)})
    if personal_data and (not settings.pii_keys or settings.pii_hash_key is None):
        if settings.environment == "prod":
            raise typer.BadParameter("production needs EW_PII_KEYS and EW_PII_HASH_KEY")
        settings = settings.model_copy(update=dev_pii_keys(settings.data_dir))
    if settings.internal_secret is None and settings.environment != "prod":
        settings = settings.model_copy(update={"internal_secret": dev_internal_secret(settings.data_dir)})
    return settings


def dev_pii_keys(data_dir: Path) -> dict[str, object]:
    """Development personal-data keys, made once per checkout and kept out of git under the data folder."""
    from pydantic import SecretStr

    path = data_dir / "dev-pii-keys.json"
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        keys = {"keys": {"k1": secrets.token_hex(32)}, "active": "k1", "hash_key": secrets.token_hex(32)}
        path.write_text(json.dumps(keys))
        path.chmod(0o600)
    stored = json.loads(path.read_text())
    return {
        "pii_keys": {key_id: SecretStr(value) for key_id, value in stored["keys"].items()},
        "pii_active_key": stored["active"],
        "pii_hash_key": SecretStr(stored["hash_key"]),
    }


def dev_secret(data_dir: Path) -> object:
    """A development signing key made once per checkout, kept out of git under the data folder."""
    from pydantic import SecretStr

    path = data_dir / "dev-jwt-secret"
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return SecretStr(path.read_text().strip())


def dev_internal_secret(data_dir: Path) -> object:
    """The development secret services present to each other (bus asking demand for passenger contacts),
    made once per checkout and kept out of git under the data folder."""
    from pydantic import SecretStr

    path = data_dir / "dev-internal-secret"
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return SecretStr(path.read_text().strip())


def check_service(name: str) -> str:
    if name not in FACTORIES:
        raise typer.BadParameter(f"unknown service {name!r}; one of: {', '.join(FACTORIES)}")
    return name


@app.command()
def migrate(
    services: Annotated[list[str] | None, typer.Argument(help="services to migrate (default: all)")] = None,
) -> None:
    """Bring each service's database to the latest schema (EW_DATABASE_URL, or SQLite files under EW_DATA_DIR)."""
    settings = load_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    for name in services or list(FACTORIES):
        check_service(name)
        asyncio.run(migrations.upgrade(name, settings.database_url_for(name)))
        console.print(f"[green]migrated[/] {name}")


@app.command()
def makemigration(service: str, message: Annotated[str, typer.Option("-m", "--message")]) -> None:
    """(Developers) autogenerate a migration for one service from its models."""
    settings = load_settings()
    url = settings.database_url_for(check_service(service))
    asyncio.run(migrations.upgrade(service, url))
    migrations.revision(service, url, message)


@app.command()
def token(
    role: Annotated[
        Role, typer.Option(help="admin | partner | station | recruiter | training | operator | public")
    ],
    sub: Annotated[str | None, typer.Option(help="subject (user id)")] = None,
    province: Annotated[list[str] | None, typer.Option("--province", help="partner: 2-digit codes")] = None,
    station_id: Annotated[str | None, typer.Option()] = None,
    employer_id: Annotated[str | None, typer.Option()] = None,
    base_id: Annotated[str | None, typer.Option()] = None,
    operator_id: Annotated[str | None, typer.Option(help="operator: the bus company's id")] = None,
    hours: Annotated[int, typer.Option(help="lifetime")] = 12,
) -> None:
    """Print a development token signed with the local key (never in production)."""
    settings = load_settings()
    assert settings.jwt_secret is not None
    typer.echo(
        issue_token(
            settings.jwt_secret.get_secret_value(),
            role=role,
            sub=sub,
            provinces=province,
            station_id=station_id,
            employer_id=employer_id,
            base_id=base_id,
            operator_id=operator_id,
            ttl_seconds=hours * 3600,
            audience=settings.jwt_audience,
            issuer=settings.jwt_issuer,
        )
    )


@app.command()
def serve(
    service: Annotated[str, typer.Argument(help="the service to run alone")],
    host: str = "0.0.0.0",
    port: int = 8000,
    shutdown_delay: Annotated[
        float,
        typer.Option(
            envvar="EW_SHUTDOWN_DELAY_SECONDS",
            help="on SIGTERM, answer /readyz with 503 but keep serving this long before closing the listener "
            "(time for the load balancer to take the instance out)",
        ),
    ] = 0.0,
    graceful_timeout: Annotated[
        int,
        typer.Option(envvar="EW_GRACEFUL_TIMEOUT_SECONDS", help="then wait this long for in-flight requests"),
    ] = 20,
    drain_timeout: Annotated[
        float,
        typer.Option(
            envvar="EW_DRAIN_TIMEOUT_SECONDS", help="then wait this long for in-flight event handlers"
        ),
    ] = 10.0,
) -> None:
    """Run one service against EW_DATABASE_URL and EW_NATS_URL (the mode containers use).

    SIGTERM shuts down gracefully and exits 0: readiness 503 at once, the listener open for --shutdown-delay,
    in-flight requests finished (--graceful-timeout), no new events pulled and the handlers in hand finished
    and acknowledged (--drain-timeout), the outbox flushed once more if NATS is reachable (up to 5 s), then the
    connections closed. A Kubernetes terminationGracePeriodSeconds above the sum of these (plus a few seconds)
    lets all of it happen."""
    settings = load_settings(personal_data=check_service(service) == "demand")
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
        ),
        runtime,
        shutdown_delay,
    )
    # uvicorn re-raises the signal it shut down on, once it is done: after a graceful shutdown on SIGTERM
    # that is a normal end, exit status 0.
    signal.signal(signal.SIGTERM, _shut_down_cleanly)
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C: the same graceful shutdown, then re-raised
        server.run()
    if not server.started:
        raise typer.Exit(3)


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


@app.command()
def run(
    port: Annotated[int, typer.Option(help="HTTP port")] = 8000,
    demo: Annotated[bool, typer.Option("--demo", help="load demo employers and jobs")] = False,
) -> None:
    """Everything on one port: a real nats-server from the wheel, SQLite per service, all services."""
    settings = load_settings(personal_data=True)
    configure_logging(settings.log_level, json_logs=os.environ.get("EW_LOG_JSON", "0") == "1")
    if free_port(port) != port:
        raise typer.BadParameter(f"port {port} is taken; try `make run PORT={free_port()}`")
    data_dir = settings.data_dir.resolve()
    # uvicorn re-raises SIGTERM after its graceful shutdown; make that an exit that runs our `finally`.
    signal.signal(signal.SIGTERM, _exit_on_signal)
    nats = NatsServer(data_dir / "nats", log_file=data_dir / "nats.log").start()
    try:
        settings = settings.model_copy(update={"nats_url": nats.url, "data_dir": data_dir})
        for name in FACTORIES:
            asyncio.run(migrations.upgrade(name, settings.database_url_for(name)))
        asyncio.run(_serve_all(settings, port, demo, nats.url))
    finally:
        nats.stop()
        console.print("[green]stopped[/] nats-server and all services")


def _exit_on_signal(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)


async def _serve_all(settings: Settings, port: int, demo: bool, nats_url: str) -> None:
    gateway = create_gateway(create_apps(settings))
    server = uvicorn.Server(
        uvicorn.Config(
            gateway,
            host="127.0.0.1",
            port=port,
            log_config=None,
            access_log=False,
            timeout_graceful_shutdown=5,
        )
    )

    async def after_start() -> None:
        while not server.started:
            if server.should_exit:
                return
            await asyncio.sleep(0.05)
        base = f"http://127.0.0.1:{port}"
        if demo:
            from eastwest.demo import load_demo

            assert settings.jwt_secret is not None
            console.print(f"[green]demo data[/]: {await load_demo(base, settings)}")
        console.print(
            f"\n[bold]eastwest is running[/] on {base}  (NATS {nats_url}, data in {settings.data_dir})\n"
            f"  API docs:  {base}/docs  ({', '.join(f'{base}/docs/{name}' for name in FACTORIES)})\n"
            f"  health:    {base}/healthz  {base}/readyz  {base}/metrics\n"
            "  a token:   .venv/bin/eastwest token --role admin\n"
            "             .venv/bin/eastwest token --role recruiter --employer-id <id>\n"
            f'  try:       curl -H "Authorization: Bearer $(.venv/bin/eastwest token --role public)" {base}/v1/feed\n'
            "  Ctrl-C stops everything.\n"
        )

    announcer = asyncio.create_task(after_start())
    try:
        await server.serve()
    finally:
        announcer.cancel()


@app.command("rotate-pii-key")
def rotate_pii_key() -> None:
    """Re-encrypt personal data written with older keys under EW_PII_ACTIVE_KEY (keep the old keys in
    EW_PII_KEYS until this has run); safe to interrupt and re-run."""
    from libs.db import create_engine, session_factory
    from libs.pii import vault_from_settings
    from services.demand.keys import rotate

    settings = load_settings(personal_data=True)
    assert settings.pii_hash_key is not None
    vault = vault_from_settings(
        {key_id: key.get_secret_value() for key_id, key in settings.pii_keys.items()},
        settings.pii_active_key,
        settings.pii_hash_key.get_secret_value(),
    )

    async def run() -> int:
        engine = create_engine(settings.database_url_for("demand"))
        try:
            return await rotate(session_factory(engine), vault)
        finally:
            await engine.dispose()

    console.print(f"re-encrypted {asyncio.run(run())} rows with key {settings.pii_active_key}")


import_app = typer.Typer(help="Bulk imports through the API of a running platform.", no_args_is_help=True)
app.add_typer(import_app, name="import")


@import_app.command("demand")
def import_demand(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help=".xlsx or .csv roster (花名册)")],
    station: Annotated[str, typer.Option("--station", help="the liaison station's id")],
    url: Annotated[str, typer.Option(help="a running platform")] = "http://127.0.0.1:8000",
    token: Annotated[
        str | None, typer.Option(envvar="EW_TOKEN", help="bearer token (default: a dev token)")
    ] = None,
    chunk_rows: Annotated[int, typer.Option(min=1, max=5000)] = 200,
) -> None:
    """Import a roster in chunks with a progress bar; re-running the same file changes nothing."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn
    from rich.table import Table

    from eastwest.roster_upload import UploadError, upload_roster

    if token is None:
        settings = load_settings()
        assert settings.jwt_secret is not None
        token = issue_token(
            settings.jwt_secret.get_secret_value(),
            role=Role.station,
            station_id=station,
            audience=settings.jwt_audience,
            issuer=settings.jwt_issuer,
        )
    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=console,
    ) as bar:
        task = bar.add_task("导入花名册", total=None)

        def progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        try:
            summary = asyncio.run(
                upload_roster(
                    file,
                    station_id=station,
                    base_url=url,
                    token=token,
                    chunk_rows=chunk_rows,
                    progress=progress,
                )
            )
        except UploadError as error:
            console.print(f"[red]导入中止[/]（第 {error.chunk + 1} 批）：{error}")
            raise typer.Exit(1) from error
    console.print(
        f"共 {summary.total_rows} 行：[green]接收 {summary.accepted}[/]，[red]拒绝 {len(summary.rejected)}[/]"
    )
    if summary.rejected:
        table = Table("行", "列", "原因代码", "说明")
        for rejection in summary.rejected:
            table.add_row(str(rejection.row), rejection.column, rejection.code, rejection.message)
        console.print(table)


eval_app = typer.Typer(help="Offline quality evaluations.", no_args_is_help=True)
app.add_typer(eval_app, name="eval")


@eval_app.command("matching")
def eval_matching(
    workers: Annotated[int, typer.Option(min=100)] = 2000,
    jobs: Annotated[int, typer.Option(min=50)] = 1000,
    seed: int = 7,
) -> None:
    """Precision@10, NDCG@10 and coverage of the ranker against random and "same city, highest pay", on a
    generated data set with planted preferences."""
    from eastwest.eval_cli import run_eval

    run_eval(workers, jobs, seed)


@app.command()
def demo(url: Annotated[str, typer.Option(help="a running platform")] = "http://127.0.0.1:8000") -> None:
    """Load demo employers and jobs into a running platform through its API."""
    from eastwest.demo import load_demo

    console.print(f"demo data: {asyncio.run(load_demo(url, load_settings()))}")

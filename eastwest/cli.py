"""`eastwest`: everything an operator types."""

from __future__ import annotations

import asyncio
import json
import secrets
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from eastwest.service_names import SERVICE_NAMES
from libs.auth import Role, TokenKind, issue_token
from libs.settings import Settings

if TYPE_CHECKING:
    from pydantic import SecretStr

# Only light imports up here: `eastwest --help` and `eastwest token` must not load the services (FastAPI,
# SQLAlchemy, scikit-learn), uvicorn or Alembic. The commands that need them import them.

app = typer.Typer(help="eastwest · 东西部劳务协作平台", no_args_is_help=True, add_completion=False)
console = Console(stderr=True, soft_wrap=True)

# Development keys, made once per checkout under the data folder (kept out of git).
DEV_SECRET_FILE = "dev-jwt-secret"
DEV_PII_KEYS_FILE = "dev-pii-keys.json"
DEV_INTERNAL_FILE = "dev-internal-secret"


class NoSigningKey(RuntimeError):
    """The data folder lacks a development key this command needs, and the command must not make one."""

    def __init__(self, data_dir: Path) -> None:
        super().__init__(
            f"no development keys in the data folder {data_dir} (EW_DATA_DIR, default ./var under the current "
            "folder), and this command does not make new ones: a token signed with a new key would be refused "
            "by the platform, which checks tokens with the key in its own data folder. Run this from the "
            "checkout where `make run` runs, or set EW_DATA_DIR to that checkout's var/ folder, or start the "
            "platform first (`make run` makes the keys)."
        )
        self.data_dir = data_dir


def load_settings(*, personal_data: bool = False, make_keys: bool = False) -> Settings:
    """Settings from the environment; in development, local keys under the data folder fill what is missing
    (never in prod).

    `personal_data`: the command touches the demand database's personal data and needs its keys.
    `make_keys`: the command starts or prepares a platform (`run`, `serve`, `migrate`), so it may make the
    development keys when the data folder has none yet. The others (`token`, `import`, `demo`,
    `rotate-pii-key`) use the keys already there, make none, and refuse with `NoSigningKey` when the one
    they need is missing: run outside the checkout they would sign or decrypt with a key no platform knows."""
    settings = Settings()
    data_dir = settings.data_dir

    def may_use(file: str) -> bool:
        return make_keys or (data_dir / file).exists()

    if settings.jwt_secret is None and not (settings.jwt_public_key or settings.jwt_jwks_url):
        if settings.environment == "prod":
            raise typer.BadParameter("production needs EW_JWT_PUBLIC_KEY or EW_JWT_JWKS_URL")
        if not may_use(DEV_SECRET_FILE):
            raise NoSigningKey(data_dir.resolve())
        settings = settings.model_copy(update={"jwt_secret": dev_secret(data_dir)})
    if personal_data and (not settings.pii_keys or settings.pii_hash_key is None):
        if settings.environment == "prod":
            raise typer.BadParameter("production needs EW_PII_KEYS and EW_PII_HASH_KEY")
        if not may_use(DEV_PII_KEYS_FILE):
            raise NoSigningKey(data_dir.resolve())
        settings = settings.model_copy(update=dev_pii_keys(data_dir))
    if settings.internal_secret is None and settings.environment != "prod" and may_use(DEV_INTERNAL_FILE):
        settings = settings.model_copy(update={"internal_secret": dev_internal_secret(data_dir)})
    return settings


def dev_pii_keys(data_dir: Path) -> dict[str, object]:
    """Development personal-data keys, made once per checkout and kept out of git under the data folder."""
    from pydantic import SecretStr

    path = data_dir / DEV_PII_KEYS_FILE
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


def dev_secret(data_dir: Path) -> SecretStr:
    """A development signing key made once per checkout, kept out of git under the data folder."""
    from pydantic import SecretStr

    path = data_dir / DEV_SECRET_FILE
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return SecretStr(path.read_text().strip())


def dev_internal_secret(data_dir: Path) -> SecretStr:
    """The development secret services present to each other (bus asking demand for passenger contacts),
    made once per checkout and kept out of git under the data folder."""
    from pydantic import SecretStr

    path = data_dir / DEV_INTERNAL_FILE
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return SecretStr(path.read_text().strip())


def check_service(name: str) -> str:
    if name not in SERVICE_NAMES:
        raise typer.BadParameter(f"unknown service {name!r}; one of: {', '.join(SERVICE_NAMES)}")
    return name


def signing_secret(settings: Settings) -> str:
    """The shared secret development tokens are signed with; none where tokens come from an identity
    provider (EW_JWT_PUBLIC_KEY / EW_JWT_JWKS_URL)."""
    if settings.jwt_secret is None:
        console.print(
            "[red]refused[/]: this platform checks tokens against EW_JWT_PUBLIC_KEY / EW_JWT_JWKS_URL: tokens "
            "come from its identity provider (pass one with --token or EW_TOKEN), not from eastwest"
        )
        raise typer.Exit(2)
    return settings.jwt_secret.get_secret_value()


def existing_settings(*, personal_data: bool = False) -> Settings:
    """Settings with the keys already in the data folder (those a running platform uses); exits with the
    reason when there are none, instead of making new ones."""
    try:
        return load_settings(personal_data=personal_data)
    except NoSigningKey as error:
        console.print(f"[red]refused[/]: {error}")
        raise typer.Exit(2) from error


@app.command()
def migrate(
    services: Annotated[list[str] | None, typer.Argument(help="services to migrate (default: all)")] = None,
) -> None:
    """Bring each service's database to the latest schema (EW_DATABASE_URL, or SQLite files under EW_DATA_DIR)."""
    from libs import migrations

    settings = load_settings(make_keys=True)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    for name in services or list(SERVICE_NAMES):
        check_service(name)
        asyncio.run(migrations.upgrade(name, settings.database_url_for(name)))
        console.print(f"[green]migrated[/] {name}")


@app.command()
def makemigration(service: str, message: Annotated[str, typer.Option("-m", "--message")]) -> None:
    """(Developers) autogenerate a migration for one service from its models."""
    from libs import migrations

    settings = load_settings(make_keys=True)
    url = settings.database_url_for(check_service(service))
    asyncio.run(migrations.upgrade(service, url))
    migrations.revision(service, url, message)


@app.command()
def token(
    role: Annotated[
        Role,
        typer.Option(help="admin | partner | station | recruiter | training | operator | bureau | public"),
    ],
    sub: Annotated[str | None, typer.Option(help="subject (user id)")] = None,
    province: Annotated[list[str] | None, typer.Option("--province", help="partner: 2-digit codes")] = None,
    station_id: Annotated[str | None, typer.Option()] = None,
    employer_id: Annotated[str | None, typer.Option()] = None,
    base_id: Annotated[str | None, typer.Option()] = None,
    operator_id: Annotated[str | None, typer.Option(help="operator: the bus company's id")] = None,
    city_code: Annotated[str | None, typer.Option(help="bureau: its Jiangsu city (4 digits)")] = None,
    hours: Annotated[
        int, typer.Option(help="lifetime (at most 24 h for a person, 1 h for a service account)")
    ] = 12,
    service_account: Annotated[
        bool, typer.Option("--service-account", help="a service account's token (kind: service)")
    ] = False,
) -> None:
    """Print a development token signed with the key in the data folder (never in production)."""
    settings = existing_settings()
    typer.echo(
        issue_token(
            signing_secret(settings),
            role=role,
            sub=sub,
            provinces=province,
            station_id=station_id,
            employer_id=employer_id,
            base_id=base_id,
            operator_id=operator_id,
            city_code=city_code,
            kind=TokenKind.service if service_account else TokenKind.person,
            ttl_seconds=(1 if service_account and hours == 12 else hours) * 3600,
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
    from eastwest.running import serve_service

    settings = load_settings(personal_data=check_service(service) == "demand", make_keys=True)
    started = serve_service(
        settings,
        service,
        host=host,
        port=port,
        shutdown_delay=shutdown_delay,
        graceful_timeout=graceful_timeout,
        drain_timeout=drain_timeout,
    )
    if not started:
        raise typer.Exit(3)


@app.command()
def run(
    port: Annotated[int, typer.Option(help="HTTP port")] = 8000,
    demo: Annotated[bool, typer.Option("--demo", help="load demo employers and jobs")] = False,
    nats_port: Annotated[
        int | None, typer.Option(help="the nats-server's port (default: 4222 when free, else any free one)")
    ] = None,
) -> None:
    """Everything on one port: a real nats-server from the wheel, SQLite per service, all services.

    Holds the data folder while it runs (a second `run` on it refuses), stops a nats-server an earlier,
    crashed run left on its store, restarts the nats-server if it dies, and records where it listens in
    `<data folder>/instance.json` for the other commands."""
    from eastwest.instance import DataFolderBusy, hold_data_folder

    settings = load_settings(personal_data=True, make_keys=True)
    data_dir = settings.data_dir.resolve()
    try:
        # Before anything heavy: a second `run` on the folder refuses at once.
        with hold_data_folder(data_dir):
            from eastwest.embedded import NatsGaveUp
            from eastwest.running import PortTaken, run_platform

            try:
                run_platform(settings, data_dir, port=port, demo=demo, nats_port=nats_port)
            except PortTaken as error:
                raise typer.BadParameter(str(error)) from error
            except NatsGaveUp as error:
                console.print(f"[red]stopped[/]: {error}")
                raise typer.Exit(1) from error
    except DataFolderBusy as error:
        console.print(f"[red]refused[/]: {error}")
        raise typer.Exit(1) from error


monitoring_app = typer.Typer(help="monitoring's facts", no_args_is_help=True)
app.add_typer(monitoring_app, name="monitoring")


@monitoring_app.command("rebuild")
def rebuild_monitoring() -> None:
    """Rebuild monitoring's facts from the source services' own databases (stop monitoring's consumers first:
    scale it to zero, or stop `make run`)."""
    from eastwest.monitoring_rebuild import rebuild

    settings = existing_settings()
    said = asyncio.run(rebuild(settings))
    typer.echo(f"monitoring: facts rebuilt from {said} events read back from the services' databases")


@app.command("rotate-pii-key")
def rotate_pii_key() -> None:
    """Re-encrypt personal data written with older keys under EW_PII_ACTIVE_KEY (keep the old keys in
    EW_PII_KEYS until this has run); safe to interrupt and re-run."""
    from libs.db import create_engine, session_factory
    from libs.pii import vault_from_settings
    from services.demand.keys import rotate

    settings = existing_settings(personal_data=True)
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
    url: Annotated[
        str | None,
        typer.Option(
            help="a running platform (default: the one running from the data folder, else http://127.0.0.1:8000)"
        ),
    ] = None,
    token: Annotated[
        str | None, typer.Option(envvar="EW_TOKEN", help="bearer token (default: a dev token)")
    ] = None,
    chunk_rows: Annotated[int, typer.Option(min=1, max=5000)] = 200,
) -> None:
    """Import a roster in chunks with a progress bar; re-running the same file changes nothing."""
    import httpx
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn
    from rich.table import Table

    from eastwest.roster_upload import UploadError, upload_roster
    from libs.spreadsheets import SpreadsheetError

    base_url = talking_to(url)
    signed_here = token is None
    if token is None:
        settings = existing_settings()
        token = issue_token(
            signing_secret(settings),
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
                    base_url=base_url,
                    token=token,
                    chunk_rows=chunk_rows,
                    progress=progress,
                )
            )
        except UploadError as error:
            if error.status == 401:
                console.print(f"[red]导入中止[/]：{refused_token_message(base_url, signed_here)}")
            else:
                console.print(f"[red]导入中止[/]（第 {error.chunk + 1} 批）：{error}")
            raise typer.Exit(1) from error
        except httpx.TransportError as error:
            console.print(f"[red]导入中止[/]：{unreachable_message(base_url, error)}")
            raise typer.Exit(1) from error
        except SpreadsheetError as error:  # read before anything is sent: nothing imported
            console.print(f"[red]文件无法导入[/]（{file.name}）：{error}")
            raise typer.Exit(1) from error
    console.print(
        f"共 {summary.total_rows} 行：[green]接收 {summary.accepted}[/]，[red]拒绝 {len(summary.rejected)}[/]"
    )
    if summary.rejected:
        table = Table("行", "列", "原因代码", "说明")
        for rejection in summary.rejected:
            table.add_row(str(rejection.row), rejection.column, rejection.code, rejection.message)
        console.print(table)


def talking_to(url: str | None) -> str:
    """The platform a client command talks to (`--url`, else the one running from the data folder, else
    port 8000), said on stderr so that a surprise shows at once."""
    from eastwest.instance import platform_url

    chosen, reason = platform_url(url, Settings().data_dir.resolve())
    console.print(f"talking to {chosen} ({reason})")
    return chosen


def refused_token_message(url: str, signed_here: bool) -> str:
    """A 401: whose token, refused by whom, and the likely reason."""
    if not signed_here:
        return f"{url} 拒绝了令牌（HTTP 401）：EW_TOKEN / --token 给出的令牌无效或已过期。"
    data_dir = Settings().data_dir.resolve()
    return (
        f"{url} 拒绝了令牌（HTTP 401）。开发令牌用数据目录 {data_dir} 中的签名密钥签发；"
        "该服务器可能使用另一个数据目录或签名密钥：在运行 make run 的检出目录里执行本命令，"
        "或把 EW_DATA_DIR 设为该服务器的数据目录，或用 --url 指向正确的服务器。"
    )


def unreachable_message(url: str, error: Exception) -> str:
    return (
        f"连接不到 {url}（{type(error).__name__}）：平台是否在运行（make run）？"
        "端口不是 8000 时用 --url 指定，或在平台的检出目录里执行本命令。"
    )


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
def demo(
    url: Annotated[
        str | None,
        typer.Option(
            help="a running platform (default: the one running from the data folder, else http://127.0.0.1:8000)"
        ),
    ] = None,
) -> None:
    """Load demo employers and jobs into a running platform through its API."""
    import httpx

    from eastwest.demo import load_demo

    base_url = talking_to(url)
    settings = existing_settings()
    signing_secret(settings)  # the demo signs its own admin and recruiter tokens
    try:
        counts = asyncio.run(load_demo(base_url, settings))
    except httpx.HTTPStatusError as error:
        if error.response.status_code != 401:
            raise
        console.print(f"[red]refused[/]: {refused_token_message(base_url, signed_here=True)}")
        raise typer.Exit(1) from error
    except httpx.TransportError as error:
        console.print(f"[red]failed[/]: {unreachable_message(base_url, error)}")
        raise typer.Exit(1) from error
    console.print(f"demo data: {counts}")

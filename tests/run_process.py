"""`eastwest run` as an operator starts it, in a subprocess with its own data folder and ports, for the tests
that need the real thing (the embedded mode, the README's commands)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx

from eastwest.embedded import free_port
from libs.auth import Role, issue_token

EASTWEST = str(Path(sys.executable).parent / "eastwest")
CAP = 180.0  # generous, for a busy machine; every wait also ends at once when the platform exits


def run_env(data_dir: Path, **extra: str) -> dict[str, str]:
    """The environment of a fresh shell: no EW_* settings but the data folder."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("EW_")}
    return {**env, "EW_DATA_DIR": str(data_dir), "EW_LOG_JSON": "1", **extra}


@dataclass
class RunningPlatform:
    process: subprocess.Popen[bytes]
    data_dir: Path
    url: str
    log: Path

    @classmethod
    def start(cls, data_dir: Path, *arguments: str) -> RunningPlatform:
        """Started, and /readyz ready (or AssertionError with its log)."""
        port = free_port()
        log = data_dir / "run.log"
        data_dir.mkdir(parents=True, exist_ok=True)
        with open(log, "wb") as output:
            process = subprocess.Popen(
                [EASTWEST, "run", "--port", str(port), "--nats-port", str(free_port()), *arguments],
                env=run_env(data_dir),
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        platform = cls(process, data_dir, f"http://127.0.0.1:{port}", log)
        try:
            platform.wait(lambda: (data_dir / "instance.json").exists() and platform.ready(), "ready")
        except BaseException:
            platform.stop()
            raise
        return platform

    def wait(self, check: Callable[[], bool], what: str, cap: float = CAP) -> None:
        """Poll `check` until it holds; fail at once if the platform exits, else after `cap` seconds."""
        deadline = time.monotonic() + cap
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(
                    f"eastwest run exited ({self.process.returncode}) before {what}:\n{self.output()}"
                )
            with contextlib.suppress(httpx.HTTPError, OSError, ValueError):
                if check():
                    return
            time.sleep(0.1)
        raise AssertionError(f"{what} did not happen within {cap}s:\n{self.output()[-5000:]}")

    def ready(self) -> bool:
        return httpx.get(f"{self.url}/readyz", timeout=5).status_code == 200

    def token(self, role: Role, **claims: str) -> str:
        secret = (self.data_dir / "dev-jwt-secret").read_text().strip()
        return issue_token(secret, role=role, **claims)  # type: ignore[arg-type]

    def headers(self, role: Role, **claims: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(role, **claims)}"}

    def nats_pid(self) -> int:
        """The pid the run recorded for its nats-server (0 while a restart attempt has none)."""
        try:
            return int((self.data_dir / "nats" / "nats-server.pid").read_text().strip())
        except (OSError, ValueError):
            return 0

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self) -> None:
        """SIGTERM, as Ctrl-C or a service manager would; SIGKILL only if it does not end."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

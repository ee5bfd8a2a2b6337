"""`eastwest run` as an operator starts it, in a subprocess with its own data folder: it stops the nats-server a
crashed run left on its store, holds the folder against a second run, records where it listens, and survives
its nats-server being killed under load without losing an event."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from eastwest.embedded import NatsServer, free_port
from libs.auth import Role, issue_token
from services.demand.roster import REQUIRED_HEADERS
from tests.factories import employer_body, job_body
from tests.run_process import CAP, EASTWEST, RunningPlatform, run_env


def _alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        return b"nats-server" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


def _ready(url: str) -> bool:
    """Ready with NATS connected in every service (NATS alone never makes /readyz answer 503)."""
    response = httpx.get(f"{url}/readyz", timeout=5)
    services = response.json()["services"].values()
    return response.status_code == 200 and all(checks["nats"] for checks in services)


@dataclass
class Running(RunningPlatform):
    stale_nats: NatsServer


@pytest.fixture(scope="module")
def running() -> Iterator[Running]:
    data_dir = Path(tempfile.mkdtemp(prefix="ew-test-run-"))
    # A crashed run's leftover: a nats-server on the store, its pid in the pid file, nobody to stop it.
    stale = NatsServer(
        data_dir / "nats", port=free_port(), pid_file=data_dir / "nats" / "nats-server.pid"
    ).start()
    try:
        started = RunningPlatform.start(data_dir)
        platform = Running(started.process, data_dir, started.url, started.log, stale)
        yield platform
        platform.stop()
    finally:
        stale.stop()
        shutil.rmtree(data_dir, ignore_errors=True)


def test_the_stale_nats_server_of_a_crashed_run_is_stopped(running: Running) -> None:
    assert running.stale_nats.process is not None
    assert running.stale_nats.process.wait(timeout=30) is not None  # stopped by the new run
    assert running.nats_pid() != running.stale_nats.pid
    assert _alive(running.nats_pid())
    assert "stopped" in running.output()
    assert f"pid {running.stale_nats.pid}" in running.output()


def test_where_it_listens_is_recorded_in_the_data_folder(running: Running) -> None:
    instance = json.loads((running.data_dir / "instance.json").read_text())
    assert instance["url"] == running.url
    assert instance["pid"] == running.process.pid
    assert instance["nats_url"].startswith("nats://127.0.0.1:")


def test_a_second_run_on_the_same_data_folder_refuses(running: Running) -> None:
    second = subprocess.run(
        [EASTWEST, "run", "--port", str(free_port())],
        env=run_env(running.data_dir),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert second.returncode == 1
    message = " ".join(second.stdout.split() + second.stderr.split())
    assert f"pid {running.process.pid}" in message
    assert str(running.data_dir) in message
    assert running.process.poll() is None


def test_import_talks_to_the_recorded_platform_and_a_refused_token_names_it(
    running: Running, tmp_path: Path
) -> None:
    roster = tmp_path / "花名册.csv"
    roster.write_text(",".join(REQUIRED_HEADERS) + "\n" + ",".join("x" for _ in REQUIRED_HEADERS) + "\n")
    result = subprocess.run(
        [EASTWEST, "import", "demand", str(roster), "--station", "s-1"],
        env={**run_env(running.data_dir), "EW_TOKEN": issue_token("another key" * 4, role=Role.station)},
        cwd=tmp_path,  # not the checkout: the data folder comes from EW_DATA_DIR
        capture_output=True,
        text=True,
        timeout=120,
    )
    message = "".join(result.stderr.split())
    assert result.returncode == 1, result.stderr
    assert f"talkingto{running.url}" in message
    assert f"pid{running.process.pid}" in message
    assert f"{running.url}拒绝了令牌（HTTP401）" in message


def test_nats_server_killed_under_load_comes_back_and_nothing_is_lost(running: Running) -> None:
    """Jobs keep being posted while the nats-server is killed twice (the second time right after it came
    back): every one of them reaches the feed."""
    admin = running.headers(Role.admin)
    with httpx.Client(base_url=running.url, timeout=30) as client:
        employer = client.post("/v1/employers", json=employer_body(), headers=admin)
        assert employer.status_code == 201, employer.text
        employer_id = employer.json()["id"]
        recruiter = running.headers(Role.recruiter, employer_id=employer_id)
        killed: list[int] = []
        jobs: list[str] = []
        since_kill = 0
        deadline = time.monotonic() + CAP
        while len(killed) < 2 or since_kill < 10:
            assert time.monotonic() < deadline, f"{len(killed)} kills, {len(jobs)} jobs:\n{running.output()}"
            pid = running.nats_pid()
            if len(killed) < 2 and since_kill >= 5:
                # five jobs posted while it is down: wait for it to come back (restarted, not still starting:
                # a server killed inside its start is a failed restart, not a death the supervisor reports)
                came_back = running.output().count("nats.server_restarted") >= len(killed)
                if pid in killed or not _alive(pid) or not came_back:
                    time.sleep(0.1)
                    continue
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)
                since_kill = 0
            response = client.post(
                "/v1/jobs", json=job_body(employer_id, title=f"装配工{len(jobs)}"), headers=recruiter
            )
            assert response.status_code == 201, response.text
            jobs.append(response.json()["id"])
            since_kill += 1

        def back() -> bool:
            pid = running.nats_pid()
            return pid not in killed and _alive(pid) and _ready(running.url)

        running.wait(back, "nats-server back and /readyz ready")
        public = running.headers(Role.public)

        def all_in_feed() -> bool:
            listed: set[str] = set()
            cursor: str | None = None
            while True:
                params: dict[str, str | int] = {"limit": 200, **({"cursor": cursor} if cursor else {})}
                page = client.get("/v1/feed", params=params, headers=public).json()
                listed.update(item["id"] for item in page["items"])
                cursor = page["next_cursor"]
                if cursor is None:
                    return set(jobs) <= listed

        running.wait(all_in_feed, f"all {len(jobs)} jobs in the feed")
    log = running.output()
    assert log.count("nats.server_died") >= 2
    assert log.count("nats.server_restarted") >= 2


def test_readyz_names_nats_while_the_server_is_down(running: Running) -> None:
    """Killed, with its port held by someone else so it cannot come back yet: /readyz says NATS is what is
    down and still answers 200 (the platform can serve without it); once the port is free again the
    supervisor's next attempt brings it back."""
    instance = json.loads((running.data_dir / "instance.json").read_text())
    nats_port = int(instance["nats_url"].rsplit(":", 1)[1])
    pid = running.nats_pid()
    blocker = socket.socket()
    blocker.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        os.kill(pid, signal.SIGKILL)

        def port_held() -> bool:
            try:
                blocker.bind(("127.0.0.1", nats_port))
            except OSError:
                return False
            blocker.listen()
            return True

        running.wait(port_held, "the nats port free to hold")
        body: dict[str, Any] = {}

        def reports_nats_down() -> bool:
            nonlocal body
            response = httpx.get(f"{running.url}/readyz", timeout=5)
            body = response.json()
            return all(checks["nats"] is False for checks in body["services"].values())

        running.wait(reports_nats_down, "/readyz naming NATS as down")
        assert body["ready"] is True
        assert all(checks["nats"] is False for checks in body["services"].values())
        assert all(checks["database"] is True for checks in body["services"].values())
    finally:
        blocker.close()
    running.wait(lambda: running.nats_pid() != pid and _ready(running.url), "/readyz ready again")


def test_stopping_leaves_no_nats_server_and_no_instance_file(running: Running) -> None:
    pid = running.nats_pid()
    running.process.send_signal(signal.SIGTERM)
    running.process.wait(timeout=120)
    assert not _alive(pid)
    assert not (running.data_dir / "instance.json").exists()
    assert not (running.data_dir / "nats" / "nats-server.pid").exists()

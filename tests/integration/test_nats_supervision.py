"""The embedded nats-server: one per store, found and stopped when a crashed run left it, restarted when it
dies (real nats-server processes)."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

import nats
import pytest

from eastwest.embedded import (
    NatsGaveUp,
    NatsServer,
    free_port,
    nats_servers_on_store,
    stop_stale_nats_servers,
    supervise_nats,
)


def _stale(store: Path, pid_file: Path | None) -> NatsServer:
    """What a killed `eastwest run` leaves: a server in its own session, still running on the store."""
    return NatsServer(store, port=free_port(), pid_file=pid_file).start()


def test_a_stale_server_from_its_pid_file_is_stopped(tmp_path: Path) -> None:
    store, pid_file = tmp_path / "nats", tmp_path / "nats" / "nats-server.pid"
    left = _stale(store, pid_file)
    other = NatsServer(tmp_path / "other-store", port=free_port()).start()
    try:
        assert nats_servers_on_store(store, pid_file) == [left.pid]
        assert stop_stale_nats_servers(store, pid_file) == [left.pid]
        assert left.process is not None
        assert left.process.wait(timeout=30) is not None
        assert not pid_file.exists()
        assert other.exit_code() is None  # another store's server is left alone
    finally:
        left.stop()
        other.stop()


def test_a_stale_server_is_found_without_its_pid_file(tmp_path: Path) -> None:
    store = tmp_path / "nats"
    left = _stale(store, pid_file=None)
    try:
        assert stop_stale_nats_servers(store, tmp_path / "missing.pid") == [left.pid]
        assert left.process is not None
        left.process.wait(timeout=30)
    finally:
        left.stop()


def test_a_pid_file_naming_another_process_stops_nothing(tmp_path: Path) -> None:
    pid_file = tmp_path / "nats-server.pid"
    pid_file.write_text(f"{os.getpid()}\n")
    assert stop_stale_nats_servers(tmp_path / "nats", pid_file) == []


async def test_a_killed_server_comes_back_on_its_port_and_store(tmp_path: Path) -> None:
    server = NatsServer(tmp_path / "nats", port=free_port(), pid_file=tmp_path / "nats.pid").start()
    restarted: list[int] = []
    supervisor = asyncio.create_task(
        supervise_nats(server, poll_seconds=0.05, first_delay=0.05, on_restart=restarted.append)
    )
    try:
        client = await nats.connect(server.url)
        js = client.jetstream()
        await js.add_stream(name="T", subjects=["t.>"])
        await js.publish("t.1", b"before")
        first = server.pid
        assert first is not None
        os.kill(first, signal.SIGKILL)
        for _ in range(600):  # bounded by progress: the restart is logged through on_restart
            if restarted:
                break
            await asyncio.sleep(0.05)
        assert restarted == [server.pid]
        assert server.pid != first
        assert (tmp_path / "nats.pid").read_text().strip() == str(server.pid)
        again = await nats.connect(server.url)  # same port
        info = await again.jetstream().stream_info("T")  # same store
        assert info.state.messages == 1
        await again.close()
        await client.close()
    finally:
        supervisor.cancel()
        with pytest.raises(asyncio.CancelledError):
            await supervisor
        server.stop()


async def test_a_server_that_keeps_dying_is_given_up(tmp_path: Path) -> None:
    server = NatsServer(tmp_path / "nats", port=free_port()).start()
    try:
        assert server.pid is not None
        os.kill(server.pid, signal.SIGKILL)
        with pytest.raises(NatsGaveUp):
            await asyncio.wait_for(supervise_nats(server, poll_seconds=0.05, max_restarts=0), timeout=60)
    finally:
        server.stop()

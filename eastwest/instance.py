"""What a running `eastwest run` leaves in its data folder: a lock held for its lifetime (never two platforms on
one folder, hence one JetStream store), and `instance.json` saying where it listens, so that the other commands
talk to it rather than to a guessed port."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

INSTANCE_FILE = "instance.json"
LOCK_FILE = "run.lock"
DEFAULT_URL = "http://127.0.0.1:8000"


class DataFolderBusy(RuntimeError):
    """Another process holds the data folder's lock."""

    def __init__(self, data_dir: Path, holder: int | None) -> None:
        who = f"pid {holder}" if holder else "another process"
        super().__init__(
            f"another `eastwest run` ({who}) is using the data folder {data_dir}: stop it first (Ctrl-C in its "
            "terminal), or give this one its own folder with EW_DATA_DIR"
        )
        self.holder = holder


@contextlib.contextmanager
def hold_data_folder(data_dir: Path) -> Iterator[None]:
    """An exclusive lock on `data_dir/run.lock` for the caller's lifetime; the holder's pid is written in it.

    The kernel drops the lock when the process ends, however it ends: a crashed run leaves no stale lock."""
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / LOCK_FILE
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise DataFolderBusy(data_dir, _read_pid(path)) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        yield
    finally:
        os.close(fd)  # releases the lock; the file stays (removing it would race with the next holder)


def _read_pid(path: Path) -> int | None:
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None


@dataclass(frozen=True)
class Instance:
    """A running platform as it recorded itself."""

    url: str
    pid: int
    started_at: str
    nats_url: str
    data_dir: str


def record_instance(data_dir: Path, url: str, nats_url: str) -> Instance:
    """Written once the server listens (atomically: a reader never sees half a file)."""
    instance = Instance(
        url=url,
        pid=os.getpid(),
        started_at=datetime.now(UTC).isoformat(timespec="seconds"),
        nats_url=nats_url,
        data_dir=str(data_dir),
    )
    path = data_dir / INSTANCE_FILE
    partial = path.with_suffix(".json.tmp")
    partial.write_text(json.dumps(asdict(instance), indent=2))
    partial.replace(path)
    return instance


def forget_instance(data_dir: Path) -> None:
    """Removed on exit, when it is still ours."""
    path = data_dir / INSTANCE_FILE
    with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
        if json.loads(path.read_text())["pid"] == os.getpid():
            path.unlink()


def running_instance(data_dir: Path) -> Instance | None:
    """The platform recorded in the data folder, if its process is still alive."""
    try:
        stored = json.loads((data_dir / INSTANCE_FILE).read_text())
        instance = Instance(**{name: stored[name] for name in Instance.__dataclass_fields__})
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return instance if _is_eastwest(int(instance.pid)) else None


def _is_eastwest(pid: int) -> bool:
    """Alive, and (where /proc tells) an eastwest process: a pid reused after a crash does not count."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes()
    except FileNotFoundError:
        return not Path("/proc/self").exists()  # no /proc (macOS): trust the signal probe
    except OSError:
        return True
    return b"eastwest" in command


def platform_url(explicit: str | None, data_dir: Path) -> tuple[str, str]:
    """The URL to talk to and why: the one given, else the platform running from the data folder, else the
    default port."""
    if explicit:
        return explicit.rstrip("/"), "--url"
    instance = running_instance(data_dir)
    if instance is not None:
        return instance.url, f"the platform running from {data_dir} (pid {instance.pid})"
    return DEFAULT_URL, f"the default: no running platform recorded in {data_dir / INSTANCE_FILE}"

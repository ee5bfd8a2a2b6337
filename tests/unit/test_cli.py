"""The CLI: light to import, signs only with the data folder's key, and finds the platform that runs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import jwt
import pytest
from typer.testing import CliRunner

from eastwest.cli import app
from eastwest.instance import (
    DEFAULT_URL,
    INSTANCE_FILE,
    DataFolderBusy,
    forget_instance,
    hold_data_folder,
    platform_url,
    record_instance,
    running_instance,
)
from eastwest.service_names import SERVICE_NAMES

# What `eastwest token` and `eastwest --help` must not wait for.
HEAVY = ("services", "sklearn", "scipy", "uvicorn", "sqlalchemy", "alembic", "fastapi", "numpy", "nats")

_PROBE = """
import json, sys
from typer.testing import CliRunner
from eastwest.cli import app
runner = CliRunner()
outcomes = [runner.invoke(app, arguments).exit_code for arguments in (["--help"], ["token", "--role", "admin"])]
print(json.dumps({"exit_codes": outcomes, "modules": sorted(sys.modules)}))
"""


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An empty data folder the CLI reads through EW_DATA_DIR (no signing key yet)."""
    folder = tmp_path / "var"
    monkeypatch.setenv("EW_DATA_DIR", str(folder))
    for name in ("EW_JWT_SECRET", "EW_JWT_PUBLIC_KEY", "EW_JWT_JWKS_URL", "EW_TOKEN", "EW_ENVIRONMENT"):
        monkeypatch.delenv(name, raising=False)
    yield folder


def test_the_light_service_list_is_the_registry() -> None:
    from eastwest.services import FACTORIES

    assert list(SERVICE_NAMES) == list(FACTORIES)


def test_help_and_token_import_no_service_and_no_heavy_library(data_dir: Path) -> None:
    data_dir.mkdir()
    (data_dir / "dev-jwt-secret").write_text("s" * 64)
    result = subprocess.run(
        [sys.executable, "-c", _PROBE], capture_output=True, text=True, check=True, env=os.environ.copy()
    )
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["exit_codes"] == [0, 0]
    loaded = [module for module in report["modules"] if module.split(".")[0] in HEAVY]
    assert loaded == []


def test_token_is_signed_with_the_data_folder_key(data_dir: Path) -> None:
    data_dir.mkdir()
    (data_dir / "dev-jwt-secret").write_text("k" * 64)
    result = CliRunner().invoke(app, ["token", "--role", "recruiter", "--employer-id", "e-1"])
    assert result.exit_code == 0, result.output
    claims = jwt.decode(result.stdout.strip(), "k" * 64, algorithms=["HS256"], audience="eastwest")
    assert claims["role"] == "recruiter"
    assert claims["employer_id"] == "e-1"
    assert claims["exp"] - claims["iat"] <= 12 * 3600


def test_token_outside_the_checkout_refuses_and_makes_no_key(data_dir: Path) -> None:
    result = CliRunner().invoke(app, ["token", "--role", "admin"])
    assert result.exit_code == 2
    assert str(data_dir.resolve()) in " ".join(result.output.split())
    assert "EW_DATA_DIR" in result.output
    assert not data_dir.exists()


def test_token_with_a_secret_from_the_environment_writes_nothing(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EW_JWT_SECRET", "e" * 64)
    result = CliRunner().invoke(app, ["token", "--role", "admin"])
    assert result.exit_code == 0, result.output
    jwt.decode(result.stdout.strip(), "e" * 64, algorithms=["HS256"], audience="eastwest")
    assert not data_dir.exists()


def test_rotation_outside_the_checkout_refuses_instead_of_making_new_keys(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EW_JWT_SECRET", "e" * 64)
    result = CliRunner().invoke(app, ["rotate-pii-key"])
    assert result.exit_code == 2
    assert str(data_dir.resolve()) in " ".join(result.output.split())
    assert not data_dir.exists()


def test_no_dev_token_where_tokens_come_from_an_identity_provider(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EW_JWT_PUBLIC_KEY", "-----BEGIN PUBLIC KEY-----")
    result = CliRunner().invoke(app, ["token", "--role", "admin"])
    assert result.exit_code == 2
    assert "identity provider" in result.output
    assert not data_dir.exists()


def test_token_from_another_folder_names_the_var_folder_there(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, data_dir: Path
) -> None:
    monkeypatch.delenv("EW_DATA_DIR")
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["token", "--role", "public"])
    assert result.exit_code == 2
    assert str(tmp_path.resolve() / "var") in " ".join(result.output.split())
    assert not (tmp_path / "var").exists()


def test_import_with_a_dev_token_refuses_without_the_key(data_dir: Path, tmp_path: Path) -> None:
    roster = tmp_path / "roster.csv"
    roster.write_text("姓名\n张三\n")
    result = CliRunner().invoke(app, ["import", "demand", str(roster), "--station", "s-1"])
    assert result.exit_code == 2
    assert "no development keys" in result.output
    assert not data_dir.exists()


def test_demo_refuses_without_the_key(data_dir: Path) -> None:
    result = CliRunner().invoke(app, ["demo"])
    assert result.exit_code == 2
    assert not data_dir.exists()


def test_an_unknown_service_is_named_with_the_known_ones(data_dir: Path) -> None:
    result = CliRunner().invoke(app, ["migrate", "payroll"])
    assert result.exit_code != 0
    assert "unknown service 'payroll'" in result.output
    assert "stations" in result.output


def test_a_second_holder_of_the_data_folder_is_refused_with_the_first_ones_pid(tmp_path: Path) -> None:
    with hold_data_folder(tmp_path):
        with pytest.raises(DataFolderBusy) as refused, hold_data_folder(tmp_path):
            pass
        assert refused.value.holder == os.getpid()
        assert str(tmp_path) in str(refused.value)
    with hold_data_folder(tmp_path):  # released on exit
        pass


@pytest.fixture
def eastwest_process() -> Iterator[subprocess.Popen[bytes]]:
    """A live process whose command line says eastwest, standing in for `eastwest run`."""
    process = subprocess.Popen(
        [sys.executable, "-c", "import sys; sys.stdin.read()", "eastwest", "run"], stdin=subprocess.PIPE
    )
    # Popen can return while the child is still inside exec, when /proc shows an empty command line for a
    # moment; a real `eastwest run` has long been running when another command looks it up.
    cmdline = Path(f"/proc/{process.pid}/cmdline")
    for _ in range(500):
        if not cmdline.exists() or b"eastwest" in cmdline.read_bytes():
            break
        time.sleep(0.01)
    yield process
    process.kill()
    process.wait()


def test_the_url_comes_from_the_running_instance(
    tmp_path: Path, eastwest_process: subprocess.Popen[bytes]
) -> None:
    instance = record_instance(tmp_path, "http://127.0.0.1:8001", "nats://127.0.0.1:4222")
    stored = json.loads((tmp_path / INSTANCE_FILE).read_text())
    stored["pid"] = eastwest_process.pid
    (tmp_path / INSTANCE_FILE).write_text(json.dumps(stored))
    assert instance.url == "http://127.0.0.1:8001"
    url, reason = platform_url(None, tmp_path)
    assert url == "http://127.0.0.1:8001"
    assert f"pid {eastwest_process.pid}" in reason
    assert platform_url("http://example.test:9000/", tmp_path) == ("http://example.test:9000", "--url")


def test_a_dead_instance_falls_back_to_the_default_port(tmp_path: Path) -> None:
    record_instance(tmp_path, "http://127.0.0.1:8001", "nats://127.0.0.1:4222")
    stored = json.loads((tmp_path / INSTANCE_FILE).read_text())
    (tmp_path / INSTANCE_FILE).write_text(json.dumps({**stored, "pid": 2**22 + 1}))  # above pid_max
    assert running_instance(tmp_path) is None
    url, reason = platform_url(None, tmp_path)
    assert url == DEFAULT_URL
    assert INSTANCE_FILE in reason


def test_the_instance_file_is_removed_only_by_its_writer(tmp_path: Path) -> None:
    record_instance(tmp_path, "http://127.0.0.1:8001", "nats://127.0.0.1:4222")
    forget_instance(tmp_path)
    assert not (tmp_path / INSTANCE_FILE).exists()
    (tmp_path / INSTANCE_FILE).write_text(json.dumps({"pid": os.getpid() + 1}))
    forget_instance(tmp_path)
    assert (tmp_path / INSTANCE_FILE).exists()

"""The client's address behind the gateway (libs/proxies.py), and the settings that say whom to believe."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from libs.proxies import client_address, parse_trusted_proxies
from libs.settings import Settings

GATEWAY = parse_trusted_proxies("172.28.0.10")
PODS = parse_trusted_proxies("10.244.0.0/16, ::1")


def test_the_header_is_ignored_unless_the_peer_is_a_trusted_proxy() -> None:
    assert client_address("203.0.113.7", ["1.2.3.4"], GATEWAY) == "203.0.113.7"
    assert client_address("203.0.113.7", [], GATEWAY) == "203.0.113.7"
    assert client_address(None, ["1.2.3.4"], GATEWAY) == "unknown"


def test_the_right_most_untrusted_hop_is_the_client() -> None:
    # the caller wrote "1.2.3.4, 5.6.7.8" itself; the gateway appended the address it saw
    assert client_address("172.28.0.10", ["1.2.3.4, 5.6.7.8, 198.51.100.20"], GATEWAY) == "198.51.100.20"
    # two proxies of ours (an ingress pod, then another) in front of the service
    hops = ["9.9.9.9, 198.51.100.20, 10.244.1.5"]
    assert client_address("10.244.3.9", hops, PODS) == "198.51.100.20"
    # several header lines are one list, in order
    assert client_address("10.244.3.9", ["9.9.9.9", "198.51.100.20", "10.244.1.5"], PODS) == "198.51.100.20"


def test_ports_brackets_and_mapped_addresses() -> None:
    assert client_address("172.28.0.10", ["198.51.100.20:53211"], GATEWAY) == "198.51.100.20"
    assert client_address("::1", ["[2001:db8::5]:443"], PODS) == "2001:db8::5"
    assert client_address("::ffff:10.244.0.1", ["198.51.100.20"], PODS) == "198.51.100.20"
    assert client_address("172.28.0.10", ["not-an-address"], GATEWAY) == "not-an-address"


def test_a_request_from_the_proxies_themselves() -> None:
    assert client_address("172.28.0.10", [], GATEWAY) == "172.28.0.10"
    assert client_address("10.244.3.9", ["10.244.1.5"], PODS) == "10.244.1.5"


def test_a_stuffed_header_is_read_only_near_its_end() -> None:
    stuffed = ", ".join(["10.244.0.1"] * 1000 + ["198.51.100.20", "10.244.1.5"])
    assert client_address("10.244.3.9", [stuffed], PODS) == "198.51.100.20"
    only_ours = ", ".join(["10.244.0.1"] * 1000)
    assert client_address("10.244.3.9", [only_ours], PODS) == "10.244.0.1"


@pytest.mark.parametrize("value", ["*", "10.0.0.1, *", "gateway", "10.0.0.0/33"])
def test_trust_in_everyone_or_in_nonsense_is_refused(value: str) -> None:
    with pytest.raises(ValueError):
        parse_trusted_proxies(value)


def test_settings_refuse_a_wildcard_for_us_and_for_uvicorn(monkeypatch: pytest.MonkeyPatch) -> None:
    assert "127.0.0.1" in Settings().proxies and "::1" in Settings().proxies  # loopback only by default
    assert "10.0.0.1" not in Settings().proxies
    monkeypatch.setenv("EW_TRUSTED_PROXIES", "*")
    with pytest.raises(ValidationError, match="trust X-Forwarded-For from anyone"):
        Settings()
    monkeypatch.setenv("EW_TRUSTED_PROXIES", "172.28.0.10")
    assert "172.28.0.10" in Settings().proxies
    # uvicorn takes the LEFT-most entry when it trusts "*": a service must not start like that
    monkeypatch.setenv("FORWARDED_ALLOW_IPS", "*")
    with pytest.raises(ValidationError, match="FORWARDED_ALLOW_IPS"):
        Settings()

"""The bearer dependency: a shared secret or a static key is checked on the event loop (no thread hand-off per
request); a verifier that may fetch a JWKS over the network works in a thread, never on the loop."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import FastAPI

from libs.api.problems import Problem, install_problem_handlers
from libs.api.routing import Caller
from libs.auth import TokenVerifier

AUDIENCE = ISSUER = "eastwest"


def _claims() -> dict[str, Any]:
    now = int(time.time())
    return {"sub": "clerk-1", "role": "admin", "iat": now, "exp": now + 600, "aud": AUDIENCE, "iss": ISSUER}


def _app(verifier: TokenVerifier, threads: list[str]) -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app)
    app.state.token_verifier = verifier

    @app.get("/who")
    async def who(caller: Caller) -> dict[str, str]:
        threads.append(threading.current_thread().name)  # the route itself: always the loop's thread
        return {"sub": caller.sub, "role": caller.role}

    return app


async def _get(app: FastAPI, token: str) -> httpx.Response:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        return await client.get("/who", headers={"Authorization": f"Bearer {token}"})


@pytest.fixture
def jwks_server() -> Iterator[tuple[str, Any]]:
    """A key set served over HTTP from a thread, as an identity provider would."""
    private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(private_key.public_key()))
    body = json.dumps({"keys": [{**jwk, "kid": "k1", "use": "sig", "alg": "RS256"}]}).encode()

    class KeySet(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), KeySet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/jwks.json", private_key
    finally:
        server.shutdown()


async def test_a_shared_secret_is_checked_on_the_loop() -> None:
    verifier = TokenVerifier("s" * 32, ["HS256"], AUDIENCE, ISSUER)
    checked_on: list[str] = []
    original = verifier.verify

    def verify(token: str) -> Any:
        checked_on.append(threading.current_thread().name)
        return original(token)

    verifier.verify = verify  # type: ignore[method-assign]
    threads: list[str] = []
    answer = await _get(_app(verifier, threads), jwt.encode(_claims(), "s" * 32, algorithm="HS256"))
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"sub": "clerk-1", "role": "admin"}
    assert checked_on == threads  # the same thread as the route: the loop's


async def test_a_jwks_verifier_fetches_the_keys_in_a_thread(jwks_server: tuple[str, Any]) -> None:
    url, private_key = jwks_server
    client = jwt.PyJWKClient(url)
    fetched_on: list[str] = []
    original = client.fetch_data

    def fetch_data() -> Any:
        fetched_on.append(threading.current_thread().name)
        return original()

    client.fetch_data = fetch_data  # type: ignore[method-assign]
    verifier = TokenVerifier(None, ["RS256"], AUDIENCE, ISSUER, jwks_client=client)
    threads: list[str] = []
    token = jwt.encode(_claims(), private_key, algorithm="RS256", headers={"kid": "k1"})
    answer = await _get(_app(verifier, threads), token)
    assert answer.status_code == 200, answer.text
    assert answer.json()["sub"] == "clerk-1"
    assert fetched_on and threads and fetched_on[0] != threads[0]  # the network wait stayed off the loop
    forged = jwt.encode(
        _claims(), rsa.generate_private_key(65537, 2048), algorithm="RS256", headers={"kid": "k1"}
    )
    assert (await _get(_app(verifier, threads), forged)).status_code == 401


def test_a_verified_token_is_remembered_until_it_expires() -> None:
    verifier = TokenVerifier("s" * 32, ["HS256"], AUDIENCE, ISSUER)
    checked: list[str] = []
    original = verifier._verify

    def counted(token: str) -> Any:
        checked.append(token)
        return original(token)

    verifier._verify = counted  # type: ignore[method-assign]
    expires = int(time.time()) + 2
    token = jwt.encode({**_claims(), "exp": expires}, "s" * 32, algorithm="HS256")
    assert verifier.verify(token).sub == "clerk-1"
    assert verifier.verify(token).sub == "clerk-1"
    assert len(checked) == 1  # the second time from memory
    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    with pytest.raises(Problem):  # another signature is another key: checked, and refused
        verifier.verify(forged)
    while time.time() < expires + 0.01:
        time.sleep(0.05)
    with pytest.raises(Problem) as expired:
        verifier.verify(token)
    assert expired.value.status == 401

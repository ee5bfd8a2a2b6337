"""Benchmarks that drive a real platform (nats-server, databases, uvicorn) from outside; see bench/README.md."""

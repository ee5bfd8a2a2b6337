"""The platform's microservices, one package each with the same shape."""

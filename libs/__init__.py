"""Shared code of every service: settings, db, api, auth, events, pii, reference data, observability."""

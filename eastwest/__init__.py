"""Composition root: the CLI and the all-in-one launcher, the only code that imports every service."""

"""The ranking index kept on local disk, so that a restarted replica is ready in seconds instead of rebuilding it
from every row of the read models.

What is kept: the index with what the holder knows of each row (statuses, versions) and the two watermarks, as
one pickle written by this service (to a temporary file, then renamed: a crash leaves the old file or none). It
is read back only when it was written by the same code (a fingerprint of the modules that shape the index); any
other file, or one that fails to load, is ignored and the index is built from the rows as before. After a restore
the holder catches up from the watermarks and compares every row's version at once (`IndexHolder.reconcile`), so
whatever changed while the replica was down is applied before it says it is ready.

The file is a cache: losing it costs one full build. Kubernetes gives it an emptyDir (k8s/base/matching), which
survives a container restart, not a move to another node.
"""

from __future__ import annotations

import hashlib
import os
import pickle
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from libs.observability import get_logger

log = get_logger("ew.matching.index_cache")
FORMAT = 1
_SHAPING = (
    "ranker.py",
    "columns.py",
    "ngrams.py",
    "features.py",
    "index.py",
    "index_pages.py",
    "index_cache.py",
)


def fingerprint() -> str:
    """Changes whenever the code that shapes the index does: a file from other code is never read."""
    digest = hashlib.sha256(str(FORMAT).encode())
    here = Path(__file__).parent
    for name in _SHAPING:
        digest.update((here / name).read_bytes())
    return digest.hexdigest()


@dataclass
class Kept:
    held: Any  # index._Held
    jobs_seen: datetime
    workers_seen: datetime


def save(path: Path, kept: Kept) -> int:
    """Write the index (atomically); the number of bytes written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    with temporary.open("wb") as file:
        pickle.dump((fingerprint(), kept), file, protocol=pickle.HIGHEST_PROTOCOL)
        file.flush()
        os.fsync(file.fileno())
    temporary.replace(path)
    return path.stat().st_size


def restore(path: Path) -> Kept | None:
    """The kept index, or None when there is none, it came from other code, or it cannot be read."""
    if not path.is_file():
        return None
    try:
        with path.open("rb") as file:
            written_by, kept = pickle.load(file)
    except Exception as error:  # a torn or foreign file: build from the rows instead
        log.warning("index_cache.unreadable", error=str(error))
        return None
    if written_by != fingerprint() or not isinstance(kept, Kept):
        log.info("index_cache.stale")
        return None
    return kept

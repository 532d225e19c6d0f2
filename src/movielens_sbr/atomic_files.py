"""Write a file completely or not at all: beside the target, flushed to disk, then renamed.

``os.replace`` is atomic on one filesystem, so readers see either the old file or the new
one, never a truncated one: not after a crash, a kill or a full disk. The one helper for
every file the project writes outside the Kedro catalog (the catalog's datasets go through
``datasets/atomic.py``, which commits with :func:`replace_durably` as well).
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path


def temporary_path(target: str | Path) -> Path:
    """A hidden, unique name in the target's folder (same filesystem, so rename is atomic)."""
    target = Path(target)
    return target.with_name(f".{target.name}.{os.getpid()}-{uuid.uuid4().hex[:8]}.tmp")


def replace_durably(temporary: str | Path, target: str | Path) -> None:
    """Flush ``temporary`` to disk and rename it over ``target``."""
    with open(temporary, "rb") as handle:
        os.fsync(handle.fileno())
    os.replace(temporary, target)


@contextlib.contextmanager
def atomic_path(target: str | Path) -> Iterator[Path]:
    """Yields a temporary path to write; on success it replaces ``target``, on any error
    (or Ctrl-C) it is deleted and ``target`` stays as it was."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = temporary_path(target)
    try:
        yield temporary
        replace_durably(temporary, target)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def write_atomically(target: str | Path, data: str | bytes) -> None:
    """Write text (UTF-8) or bytes to ``target`` atomically."""
    with atomic_path(target) as temporary:
        if isinstance(data, str):
            temporary.write_text(data, encoding="utf-8")
        else:
            temporary.write_bytes(data)

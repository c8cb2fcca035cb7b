"""YAML documents parsed once per content, kept on disk between preflight runs.

The pinned CRDs and the charts' renders are megabytes of YAML; even libyaml spends most of a warm preflight
building Python objects from them. A parse is a pure function of (loader, text), so its result is pickled under the
SHA-256 of both in the user's cache folder ($GPU_EKS_CACHE_DIR, else $XDG_CACHE_HOME/gpu-eks, else
~/.cache/gpu-eks) and unpickled (about ten times faster) the next time. Every call returns fresh objects, so a caller
may change them. A cache that cannot be read or written is ignored: preflight then parses, as without it.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import tempfile
from pathlib import Path
from typing import Any

import yaml

# Below this size parsing is faster than a file round trip; above it the cache pays.
SMALLEST_CACHED = 64 * 1024
# Entries kept: the newest by use; the oldest beyond this are removed when one is added.
KEPT_ENTRIES = 400


def cache_dir() -> Path:
    configured = os.environ.get("GPU_EKS_CACHE_DIR")
    if configured:
        return Path(configured)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "gpu-eks"


def load_all(text: str, loader: type[Any]) -> list[Any]:
    """`list(yaml.load_all(text, Loader=loader))`, from the disk cache when this text was parsed before."""
    if len(text) < SMALLEST_CACHED:
        return list(yaml.load_all(text, Loader=loader))
    digest = hashlib.sha256(f"{loader.__module__}.{loader.__qualname__}\0{text}".encode()).hexdigest()
    folder = cache_dir() / "yaml"
    entry = folder / f"{digest}.pickle"
    try:
        documents = pickle.loads(entry.read_bytes())
        os.utime(entry)
        return list(documents)
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ValueError):
        pass
    documents = list(yaml.load_all(text, Loader=loader))
    _store(folder, entry, documents)
    return documents


def _store(folder: Path, entry: Path, documents: list[Any]) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, delete=False, suffix=".tmp") as handle:
            pickle.dump(documents, handle, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(handle.name, entry)  # atomic: a concurrent reader sees the whole entry or none
        entries = sorted(folder.glob("*.pickle"), key=lambda p: p.stat().st_mtime)
        for old in entries[: max(0, len(entries) - KEPT_ENTRIES)]:
            old.unlink(missing_ok=True)
    except OSError:
        pass

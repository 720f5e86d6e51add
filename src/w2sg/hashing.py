"""A stable content hash of everything that affects results: specs, dicts, lists and scalars."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from pydantic import BaseModel

# Bump when a change in w2sg's own code changes what an artifact contains: old cache entries then miss.
ARTIFACT_VERSION = 2


def canonical_json(obj: Any) -> str:
    """Deterministic JSON (sorted keys, no whitespace) of a spec, dict or list."""
    if isinstance(obj, BaseModel):
        obj = obj.model_dump(mode="json")
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str)


def content_hash(*parts: Any, length: int = 16) -> str:
    """Stable hex digest of any mix of specs, dicts, lists and scalars (plus ARTIFACT_VERSION)."""
    h = hashlib.sha256()
    h.update(f"w2sg-artifact-v{ARTIFACT_VERSION}".encode())
    for p in parts:
        h.update(b"\x1f")
        h.update(canonical_json(p).encode())
    return h.hexdigest()[:length]

"""Who is in a meeting, across processes.

Each process owns the entries of its own sockets and announces them: at once when they
change, and in full every heartbeat. Another process's entries expire when its
heartbeats stop, so a process that dies takes its people with it within seconds.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Any


@dataclass
class PresenceEntry:
    key: str  # "<process id>:<socket serial>": one per socket, so two tablets show twice
    user_id: int
    username: str
    full_name: str
    role: str | None
    site_id: int | None
    following: bool = True
    document_id: int | None = None
    page: int | None = None

    def public(self) -> dict[str, Any]:
        return asdict(self)


class PresenceBoard:
    def __init__(self, process_id: str) -> None:
        self.process_id = process_id
        self._local: dict[str, PresenceEntry] = {}
        self._remote: dict[str, dict[str, dict[str, Any]]] = {}
        self._heard: dict[str, float] = {}

    def has(self, key: str) -> bool:
        return key in self._local

    def set_local(self, entry: PresenceEntry) -> None:
        self._local[entry.key] = entry

    def remove_local(self, key: str) -> PresenceEntry | None:
        return self._local.pop(key, None)

    def local_entries(self) -> list[PresenceEntry]:
        return list(self._local.values())

    def merge_remote(
        self, process: str, entries: list[dict[str, Any]], *, complete: bool
    ) -> list[tuple[str, dict[str, Any]]]:
        """Take a process's entries; returns the presence events that follow from them."""
        self._heard[process] = time.monotonic()
        known = self._remote.setdefault(process, {})
        changes: list[tuple[str, dict[str, Any]]] = []
        incoming = {e["key"]: e for e in entries}
        for key, entry in incoming.items():
            if key not in known:
                changes.append(("presence.joined", entry))
            elif known[key] != entry:
                changes.append(("presence.updated", entry))
            known[key] = entry
        if complete:
            for key in [k for k in known if k not in incoming]:
                del known[key]
                changes.append(("presence.left", {"key": key}))
        return changes

    def remove_remote(self, process: str, key: str) -> bool:
        return self._remote.get(process, {}).pop(key, None) is not None

    def expire(self, now: float, after: float) -> list[str]:
        """Drop the entries of processes not heard from for `after` seconds."""
        gone: list[str] = []
        for process in [p for p, t in self._heard.items() if now - t > after]:
            gone.extend(self._remote.pop(process, {}))
            del self._heard[process]
        return gone

    def everyone(self) -> list[dict[str, Any]]:
        people = [e.public() for e in self._local.values()]
        for entries in self._remote.values():
            people.extend(entries.values())
        return people

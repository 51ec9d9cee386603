"""Durable snapshots of the sim's state in `SARATHI_SIM_STATE_DIR`, safe against a kill at any instant.

Why snapshots, not a journal: the paper broker's state is small (a day's orders, trades and
positions: kilobytes), while what changes it is not a short list of commands that could be
replayed — in paper mode fills depend on the ticks NATS delivered, which nobody can replay. So
the whole state is written after each change: one file, easy to read back and to inspect.

How a snapshot is written (`save`), so that a SIGKILL or a power cut at any instant leaves a
good one:

1. `sim-state.json.tmp` gets the new snapshot, then `fsync`;
2. the current `sim-state.json` (if any) is renamed to `sim-state.prev.json` (atomic);
3. the temp file is renamed to `sim-state.json` (atomic), then the directory is `fsync`ed.

Each snapshot carries a generation number and a SHA-256 of its content. `load` reads every one
of the three files that exists, keeps those whose checksum holds, and takes the highest
generation: a torn temp file fails its checksum and the previous good snapshot wins; a kill
between steps 2 and 3 finds the new snapshot complete in the temp file. A file that fails is
logged and skipped; if files exist but none holds, `load` raises `StateStoreError`, never
answering "nothing stored" (which would start an empty broker over lost positions).
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sarathi.common.logging import get_logger

log = get_logger(__name__)

CURRENT = "sim-state.json"
TEMP = "sim-state.json.tmp"
PREVIOUS = "sim-state.prev.json"
MAGIC = "sarathi-sim-state"


class StateStoreError(Exception):
    """The state directory holds snapshots but none can be used (or it cannot be written)."""


@dataclass(frozen=True, slots=True)
class Snapshot:
    generation: int
    body: dict[str, Any]
    file: str


def _digest(generation: int, body: dict[str, Any]) -> str:
    canonical = json.dumps({"generation": generation, "body": body}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def encode(generation: int, body: dict[str, Any]) -> bytes:
    document = {"format": MAGIC, "generation": generation, "sha256": _digest(generation, body), "body": body}
    return json.dumps(document, sort_keys=True, indent=1).encode()


def decode(raw: bytes, file: str) -> Snapshot:
    """A verified snapshot, or ValueError saying what is wrong with it."""
    try:
        document = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"not JSON (torn or corrupt): {exc}") from None
    if not isinstance(document, dict) or document.get("format") != MAGIC:
        raise ValueError("not a sim state snapshot")
    generation, body = document.get("generation"), document.get("body")
    if not isinstance(generation, int) or not isinstance(body, dict):
        raise ValueError("generation or body missing")
    if document.get("sha256") != _digest(generation, body):
        raise ValueError("checksum mismatch (corrupt)")
    return Snapshot(generation, body, file)


class StateStore:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.generation = 0

    def load(self) -> Snapshot | None:
        """The newest good snapshot; None when the directory holds none at all (a first start)."""
        good: list[Snapshot] = []
        bad: list[str] = []
        for name in (CURRENT, TEMP, PREVIOUS):
            path = self.directory / name
            try:
                raw = path.read_bytes()
            except FileNotFoundError:
                continue
            except OSError as exc:
                bad.append(f"{name}: unreadable: {exc}")
                continue
            try:
                good.append(decode(raw, name))
            except ValueError as exc:
                bad.append(f"{name}: {exc}")
        if not good:
            if bad:
                raise StateStoreError(
                    f"no usable snapshot in {self.directory} ({'; '.join(bad)}): refusing to start an "
                    "empty paper broker over a lost state; move the directory away to start afresh"
                )
            return None
        best = max(good, key=lambda snapshot: snapshot.generation)
        if bad or best.file != CURRENT:
            log.warning("sim_state_fallback", directory=str(self.directory), using=best.file, skipped=bad)
        self.generation = best.generation
        return best

    def save(self, body: dict[str, Any]) -> int:
        """Write `body` as the next generation, durably (blocking: call off the event loop)."""
        generation = self.generation + 1
        data = encode(generation, body)
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            temp = self.directory / TEMP
            fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view) :]
                os.fsync(fd)
            finally:
                os.close(fd)
            current = self.directory / CURRENT
            if current.exists():
                os.replace(current, self.directory / PREVIOUS)
            os.replace(temp, current)
            _fsync_directory(self.directory)
        except OSError as exc:
            raise StateStoreError(f"cannot write the sim state to {self.directory}: {exc}") from exc
        self.generation = generation
        return generation


def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)

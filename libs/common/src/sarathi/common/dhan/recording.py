"""Recordings of the raw market feed: written by `feed`, replayed by `sim`.

One file per trading day, append-only, so a crash loses at most the frame being written:

    file   = MAGIC record*
    record = receive_time_ns: int64 LE (UTC epoch nanoseconds) | length: uint32 LE | frame: bytes

Frames are stored exactly as received (Dhan's binary packets, several per frame possible), so a
replay feeds the same bytes through the same decoder. A truncated last record (the process died
mid-write) is reported and ignored by the reader; `RecordingWriter` re-opens a file for append
after truncating such a tail, so the file stays readable.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import BinaryIO

MAGIC = b"SARATHI-FEED-REC/1\n"
_RECORD = struct.Struct("<qI")
MAX_FRAME_BYTES = 1 << 20  # far above any Dhan frame; a larger length means a corrupt file


class RecordingError(ValueError):
    """Not a recording, or corrupt beyond its last complete record."""


@dataclass(frozen=True, slots=True)
class RecordedFrame:
    received_ns: int
    frame: bytes


def recording_path(directory: Path, day: date) -> Path:
    return directory / f"feed-{day:%Y%m%d}.rec"


@dataclass
class ReadReport:
    frames: int = 0
    truncated_tail_bytes: int = 0


def read_frames(path: Path, report: ReadReport | None = None) -> Iterator[RecordedFrame]:
    """Every complete record in order; a truncated tail is counted in `report`, not raised."""
    report = report if report is not None else ReadReport()
    with path.open("rb") as stream:
        if stream.read(len(MAGIC)) != MAGIC:
            raise RecordingError(f"{path} is not a Sarathi feed recording")
        while True:
            head = stream.read(_RECORD.size)
            if not head:
                return
            if len(head) < _RECORD.size:
                report.truncated_tail_bytes = len(head)
                return
            received_ns, length = _RECORD.unpack(head)
            if length > MAX_FRAME_BYTES:
                raise RecordingError(f"{path}: record {report.frames} claims {length} bytes")
            frame = stream.read(length)
            if len(frame) < length:
                report.truncated_tail_bytes = _RECORD.size + len(frame)
                return
            report.frames += 1
            yield RecordedFrame(received_ns, frame)


def _valid_length(path: Path) -> int:
    """Bytes of `path` up to the end of its last complete record."""
    report = ReadReport()
    for _ in read_frames(path, report):
        pass
    return path.stat().st_size - report.truncated_tail_bytes


@dataclass
class RecordingWriter:
    """Appends frames to one day's file; call `flush()` periodically and `close()` at the end."""

    path: Path
    _stream: BinaryIO | None = field(default=None, init=False, repr=False)
    frames_written: int = field(default=0, init=False)

    def open(self) -> RecordingWriter:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        stream: BinaryIO
        if self.path.exists() and self.path.stat().st_size > 0:
            keep = _valid_length(self.path)
            stream = self.path.open("r+b")
            stream.truncate(keep)
            stream.seek(keep)
        else:
            stream = self.path.open("wb")
            stream.write(MAGIC)
        self._stream = stream
        return self

    def write(self, received_ns: int, frame: bytes) -> None:
        if self._stream is None:
            raise RecordingError("writer is not open")
        self._stream.write(_RECORD.pack(received_ns, len(frame)))
        self._stream.write(frame)
        self.frames_written += 1

    def flush(self) -> None:
        if self._stream is not None:
            self._stream.flush()

    def close(self) -> None:
        if self._stream is not None:
            self._stream.close()
            self._stream = None

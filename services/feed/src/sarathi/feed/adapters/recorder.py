"""The raw-frame recorder: every received frame, with its receive time, to one file per day.

Format and reader: `sarathi.common.dhan.recording` (sim replays these files). The day is the
market day of the frame's receive time (IST, from the Clock). Writes go to a buffered file (a
memory copy on the hot path); `flush()` runs periodically off the event loop. A failing disk
is counted and logged, never raised into the hot path.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

from sarathi.common.clock import IST
from sarathi.common.dhan.recording import RecordingWriter, recording_path
from sarathi.common.logging import get_logger
from sarathi.feed.metrics import FeedMetrics

log = get_logger(__name__)


class DailyRecorder:
    def __init__(self, directory: Path, metrics: FeedMetrics) -> None:
        self._directory = directory
        self._metrics = metrics
        self._day: date | None = None
        self._writer: RecordingWriter | None = None
        self._failing = False

    @property
    def path(self) -> Path | None:
        return self._writer.path if self._writer is not None else None

    def write(self, received: datetime, frames: list[bytes]) -> None:
        try:
            day = received.astimezone(IST).date()
            if day != self._day or self._writer is None:
                self._rotate(day)
            writer = self._writer
            assert writer is not None  # _rotate opened it
            received_ns = int(received.timestamp() * 1_000_000) * 1000
            for frame in frames:
                writer.write(received_ns, frame)
        except (OSError, ValueError) as exc:
            self._metrics.recorder_errors.inc()
            if not self._failing:
                log.error("recording_failed", error=repr(exc), directory=str(self._directory))
            self._failing = True
            return
        self._failing = False
        self._metrics.recorded_frames.inc(len(frames))

    def _rotate(self, day: date) -> None:
        self.close()
        self._writer = RecordingWriter(recording_path(self._directory, day)).open()
        self._day = day
        log.info("recording_to", path=str(self._writer.path))

    def flush(self) -> None:
        if self._writer is not None:
            try:
                self._writer.flush()
            except (OSError, ValueError) as exc:  # a closed file after rotation, or disk trouble
                self._metrics.recorder_errors.inc()
                log.warning("recording_flush_failed", error=repr(exc))

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sarathi.common.dhan.recording import (
    MAGIC,
    ReadReport,
    RecordedFrame,
    RecordingError,
    RecordingWriter,
    read_frames,
)

frames = st.lists(st.tuples(st.integers(0, 2**62), st.binary(max_size=300)), max_size=40)


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(frames)
def test_frames_read_back_exactly_as_written(tmp_path: Path, written: list[tuple[int, bytes]]) -> None:
    path = tmp_path / "day.rec"
    path.unlink(missing_ok=True)
    writer = RecordingWriter(path).open()
    for received_ns, frame in written:
        writer.write(received_ns, frame)
    writer.close()
    assert list(read_frames(path)) == [RecordedFrame(ns, f) for ns, f in written]


def test_a_truncated_tail_is_reported_and_the_complete_records_kept(tmp_path: Path) -> None:
    path = tmp_path / "day.rec"
    writer = RecordingWriter(path).open()
    writer.write(1, b"first")
    writer.write(2, b"second frame")
    writer.close()
    path.write_bytes(path.read_bytes()[:-4])  # the process died mid-write
    report = ReadReport()
    assert [f.frame for f in read_frames(path, report)] == [b"first"]
    assert report.truncated_tail_bytes == 12 + len(b"second frame") - 4


def test_appending_after_a_crash_drops_the_broken_tail_and_continues(tmp_path: Path) -> None:
    path = tmp_path / "day.rec"
    writer = RecordingWriter(path).open()
    writer.write(1, b"kept")
    writer.write(2, b"broken")
    writer.close()
    path.write_bytes(path.read_bytes()[:-3])
    writer = RecordingWriter(path).open()
    writer.write(3, b"after restart")
    writer.close()
    assert [(f.received_ns, f.frame) for f in read_frames(path)] == [(1, b"kept"), (3, b"after restart")]


def test_a_file_that_is_not_a_recording_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.bin"
    path.write_bytes(b"hello world, not a recording")
    with pytest.raises(RecordingError, match="not a Sarathi feed recording"):
        list(read_frames(path))


def test_an_absurd_record_length_is_reported_as_corruption(tmp_path: Path) -> None:
    path = tmp_path / "bad.rec"
    path.write_bytes(MAGIC + (5).to_bytes(8, "little") + (2**31).to_bytes(4, "little"))
    with pytest.raises(RecordingError, match="claims"):
        list(read_frames(path))

"""Snapshots of the sim's state: a kill at any instant leaves the last good one, never nothing."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from sarathi.sim.state_store import CURRENT, PREVIOUS, TEMP, StateStore, StateStoreError, encode


def saved(directory: Path, *bodies: dict[str, int]) -> StateStore:
    store = StateStore(directory)
    for body in bodies:
        store.save(body)
    return store


def test_the_newest_snapshot_is_read_back_and_the_generation_goes_on(tmp_path: Path) -> None:
    saved(tmp_path, {"n": 1}, {"n": 2}, {"n": 3})
    store = StateStore(tmp_path)
    snapshot = store.load()
    assert snapshot is not None
    assert (snapshot.body, snapshot.generation, snapshot.file) == ({"n": 3}, 3, CURRENT)
    assert store.save({"n": 4}) == 4
    assert sorted(os.listdir(tmp_path)) == [CURRENT, PREVIOUS]


def test_an_empty_directory_is_a_first_start(tmp_path: Path) -> None:
    assert StateStore(tmp_path / "not-yet").load() is None


def test_a_torn_temp_file_leaves_the_last_good_snapshot(tmp_path: Path) -> None:
    saved(tmp_path, {"n": 1}, {"n": 2})
    whole = encode(3, {"n": 3})
    (tmp_path / TEMP).write_bytes(whole[: len(whole) // 2])  # killed while writing step 1
    snapshot = StateStore(tmp_path).load()
    assert snapshot is not None
    assert snapshot.body == {"n": 2}


def test_a_kill_between_the_two_renames_finds_the_complete_new_snapshot(tmp_path: Path) -> None:
    saved(tmp_path, {"n": 1}, {"n": 2})
    (tmp_path / TEMP).write_bytes(encode(3, {"n": 3}))
    os.replace(tmp_path / CURRENT, tmp_path / PREVIOUS)  # step 2 done, step 3 not
    snapshot = StateStore(tmp_path).load()
    assert snapshot is not None
    assert (snapshot.body, snapshot.file) == ({"n": 3}, TEMP)


def test_a_corrupt_current_snapshot_falls_back_to_the_previous_one(tmp_path: Path) -> None:
    saved(tmp_path, {"n": 1}, {"n": 2})
    current = tmp_path / CURRENT
    current.write_bytes(current.read_bytes().replace(b'"n": 2', b'"n": 7'))  # a flipped byte
    snapshot = StateStore(tmp_path).load()
    assert snapshot is not None
    assert (snapshot.body, snapshot.file) == ({"n": 1}, PREVIOUS)


def test_when_no_snapshot_holds_loading_fails_loudly_instead_of_starting_empty(tmp_path: Path) -> None:
    saved(tmp_path, {"n": 1}, {"n": 2})
    (tmp_path / CURRENT).write_bytes(b'{"format": "sarathi-sim-st')
    (tmp_path / PREVIOUS).write_bytes(b"\x00\x00garbage")
    with pytest.raises(StateStoreError, match="no usable snapshot") as error:
        StateStore(tmp_path).load()
    assert CURRENT in str(error.value)
    assert PREVIOUS in str(error.value)

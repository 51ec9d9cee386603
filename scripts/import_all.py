"""Import every module of a package: fails if the package imports something it does not declare.

Run inside an environment holding only that workspace member and its declared dependencies
(`make deps-check`), so a phantom dependency (one that happens to be installed in the dev
environment) shows up as an ImportError here.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys


def main(package_name: str) -> int:
    package = importlib.import_module(package_name)
    failures: list[str] = []
    count = 1
    for module in pkgutil.walk_packages(package.__path__, prefix=f"{package_name}."):
        if ".migrations" in module.name:  # Alembic scripts run inside Alembic, not on import
            continue
        try:
            importlib.import_module(module.name)
            count += 1
        except ImportError as exc:
            failures.append(f"{module.name}: {exc}")
    for failure in failures:
        sys.stderr.write(f"phantom dependency: {failure}\n")
    sys.stdout.write(f"{package_name}: {count} modules imported, {len(failures)} failed\n")
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1]))

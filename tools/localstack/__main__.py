"""python -m tools.localstack up|down|status: the private servers of `make run`, by hand."""

import argparse
import sys
from pathlib import Path

import tools.localstack as localstack
from tools.localstack import LocalNats, LocalPostgres


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m tools.localstack", description=localstack.__doc__.split("\n\n")[0])
    p.add_argument("action", choices=["up", "down", "status"])
    p.add_argument("--dir", default="var", help="data folder (postgres/ and nats/ inside); default var")
    p.add_argument("--pg-port", type=int, default=15432)
    p.add_argument("--nats-port", type=int, default=14222)
    a = p.parse_args(argv)
    pg = LocalPostgres(Path(a.dir) / "postgres", a.pg_port)
    nats = LocalNats(Path(a.dir) / "nats", a.nats_port)
    if a.action == "up":
        pg.start()
        try:
            nats.start()
        except BaseException:
            pg.stop()
            raise
        print(f"WARROOM_DATABASE_URL={pg.url}\nWARROOM_NATS_URL={nats.url}")
    elif a.action == "down":
        nats.stop()
        pg.stop()
    else:
        print(f"postgres: {f'running pid {pg.pid()}' if pg.running else 'stopped'}")
        print(f"nats:     {f'running pid {nats.pid()}' if nats.running else 'stopped'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

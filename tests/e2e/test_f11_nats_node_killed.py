"""F11: one server of the three-node NATS cluster — the incident stream's leader — killed with SIGKILL in
the middle of a command load. The cluster runs the deployment's own nats.conf (tests/deploy/cluster.py),
the init step puts every stream and consumer on all three servers (WARROOM_STREAM_REPLICAS=3), and the
four services are spread over the three servers (each learns the others from the one it is given, as
NATS clients do). Nothing the incident service answered is lost on the way, and every consumer
downstream catches up and applies each event once."""

import asyncio
import os
import subprocess
import sys

import httpx
import nats

from tests.deploy.cluster import SIZE, NatsCluster
from tests.support.downstream import Downstream
from tests.support.incident import ADMIN_TOKEN, auth, eventually
from tests.support.load import Load
from tests.support.processes import ROOT
from tests.support.system import SERVICES, environment, running, urls

STREAM = "WARROOM_INCIDENT"


async def init(env: dict[str, str]) -> None:
    """The deployment's init step: every stream and consumer declared at three replicas."""
    done = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "shared.init", "--timeout", "60"],
        cwd=ROOT,
        text=True,
        env={**os.environ, **env, "WARROOM_STREAM_REPLICAS": str(SIZE)},
        capture_output=True,
        timeout=90,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


async def leader(url: str) -> str | None:
    """The server leading the incident stream (its server_name, nats-<node>), None while it has none."""
    nc = await nats.connect(url)
    try:
        info = await nc.jetstream().stream_info(STREAM)
    except (nats.errors.Error, TimeoutError):
        return None  # no answer while the cluster elects one
    else:
        return info.cluster.leader if info.cluster else None
    finally:
        await nc.close()


async def test_f11_the_stream_leader_killed_under_load_loses_nothing_answered_and_every_consumer_catches_up_once(
    database_url, tmp_path
):
    (tmp_path / "nats").mkdir()
    with NatsCluster(tmp_path / "nats") as cluster:
        env = environment(database_url, cluster.urls[0])
        await init(env)
        spread = {name: cluster.urls[n % SIZE] for n, name in enumerate(SERVICES)}
        async with running(SERVICES, env, tmp_path, spread) as services:
            async with httpx.AsyncClient(
                base_url=services["incident"].url, headers=auth(ADMIN_TOKEN), timeout=30
            ) as client:
                load = await Load.prepared(client)
                tasks = load.start()
                try:
                    await load.answers(40)
                    killed = await leader(cluster.urls[0])
                    assert killed is not None and killed in {f"nats-{node}" for node in range(SIZE)}, killed
                    node = int(killed.rsplit("-", 1)[1])
                    await asyncio.to_thread(_kill, cluster.processes[node])
                    survivor = cluster.urls[(node + 1) % SIZE]
                    await load.answers(len(load.answered) + 60)
                    elected = await eventually(lambda: leader(survivor), timeout=30)
                    assert elected != killed
                finally:
                    await load.stop(tasks)
                # Commands never wait for NATS (the relay publishes what is stored): none was refused.
                assert set(load.statuses) == {200, 201}, load.statuses
                histories = await load.verify(client, survivor)
            await Downstream(urls(services), ADMIN_TOKEN).verify(histories, survivor, timeout=90)


def _kill(server: subprocess.Popen) -> None:
    server.kill()  # SIGKILL: no lame-duck mode, no leadership handed over
    server.wait()

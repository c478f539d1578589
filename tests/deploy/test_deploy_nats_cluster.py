"""Streams at 3 replicas in the cluster: the init Job's command, run with the Kubernetes settings
against a real 3-node cluster running the ConfigMap's nats.conf, puts every stream and consumer on
all three servers, and service replicas starting afterwards keep it so."""

import nats

from shared.contract import CONSUMERS, STREAMS
from tests.deploy.cluster import SIZE, NatsCluster
from tests.deploy.deployment import ContainerCommand, container, settings_env
from tools.localstack import free_port


async def copies(url: str) -> dict[str, tuple[int, int]]:
    """Each stream's configured replicas and the servers holding it; likewise each consumer (``STREAM/durable``),
    whose replicas follow its stream's (configured 0)."""
    nc = await nats.connect(url)
    try:
        js = nc.jetstream()
        found = {}
        for stream in STREAMS:
            info = await js.stream_info(stream.name)
            found[stream.name] = (info.config.num_replicas, 1 + len(info.cluster.replicas or []))
        for consumers in CONSUMERS.values():
            for consumer in consumers:
                info = await js.consumer_info(consumer.stream.name, consumer.durable)
                found[f"{consumer.stream.name}/{consumer.durable}"] = (
                    info.config.num_replicas or SIZE,
                    1 + len(info.cluster.replicas or []),
                )
        return found
    finally:
        await nc.close()


def everywhere() -> dict[str, tuple[int, int]]:
    names = [s.name for s in STREAMS] + [f"{c.stream.name}/{c.durable}" for cs in CONSUMERS.values() for c in cs]
    return {name: (SIZE, SIZE) for name in names}


async def test_the_init_step_replicates_every_stream_and_consumer_on_all_three_servers_and_services_keep_it(
    database_url, tmp_path
):
    with NatsCluster(tmp_path) as cluster:
        init = ContainerCommand(
            container("warroom-init")["command"], settings_env(WARROOM_NATS_URL=cluster.urls[0]), tmp_path / "init.log"
        )
        assert await init.wait(timeout=90) == 0, init.output()
        assert await copies(cluster.urls[1]) == everywhere()

        # Replicas start afterwards and declare what they use, as every service does at start-up:
        # the incident service through its own bootstrap, the others through shared.runtime.
        started = []
        try:
            for node, name in enumerate(("incident", "timers")):
                port = free_port()
                env = settings_env(
                    WARROOM_DATABASE_URL=database_url,
                    WARROOM_NATS_URL=cluster.urls[node + 1],
                    WARROOM_HOST="127.0.0.1",
                    **{f"WARROOM_{name.upper()}_PORT": str(port)},
                )
                started.append(ContainerCommand(container(name)["command"], env, tmp_path / f"{name}.log"))
                await started[-1].answers(f"http://127.0.0.1:{port}/readyz", timeout=60)
            assert await copies(cluster.urls[2]) == everywhere()
        finally:
            for process in started:
                process.stop()

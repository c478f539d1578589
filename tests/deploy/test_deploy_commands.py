"""Each container's command, as compose and Kubernetes give it, run here as a real process against
the test's PostgreSQL and NATS: the init step declares everything, each service starts and is
healthy, and the image's health check tells a running service from a stopped one."""

import subprocess
import sys

import nats

from shared.contract import CONSUMERS, STREAMS
from shared.init import missing
from tests.deploy.deployment import (
    HEALTHCHECK,
    SERVICES,
    ContainerCommand,
    compose,
    container,
    pod_templates,
    settings_env,
)
from tests.support.incident import eventually
from tools.localstack import free_port


def test_compose_and_kubernetes_run_the_same_commands():
    services = compose()["services"]
    for name in SERVICES:
        assert services[name]["command"] == container(name)["command"]
    assert services["init"]["command"] == container("warroom-init")["command"][:3]


async def test_the_init_step_declares_every_stream_and_consumer_and_services_wait_for_it(nats_url, tmp_path):
    env = settings_env(WARROOM_NATS_URL=nats_url, WARROOM_STREAM_REPLICAS="1")  # one server here
    command = pod_templates()["incident"]["spec"]["initContainers"][0]["command"]
    waiting = ContainerCommand(command, env, tmp_path / "wait.log")
    try:
        await eventually(lambda: "not declared yet" in waiting.output(), timeout=30)
        assert waiting.process.poll() is None, waiting.output()

        init = ContainerCommand(container("warroom-init")["command"], env, tmp_path / "init.log")
        assert await init.wait(timeout=60) == 0, init.output()
        assert await waiting.wait(timeout=30) == 0, waiting.output()
    finally:
        waiting.stop()

    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        assert await missing(js) == []
        names = {info.config.name for info in await js.streams_info()}
        assert names == {stream.name for stream in STREAMS}
        for stream in STREAMS:
            durables = {c.durable for cs in CONSUMERS.values() for c in cs if c.stream == stream}
            assert {info.name for info in await js.consumers_info(stream.name)} == durables
    finally:
        await nc.close()


async def test_each_services_container_command_starts_it_and_the_image_health_check_sees_it(
    database_url, nats_url, tmp_path
):
    init = ContainerCommand(
        container("warroom-init")["command"],
        settings_env(WARROOM_NATS_URL=nats_url, WARROOM_STREAM_REPLICAS="1"),
        tmp_path / "init.log",
    )
    assert await init.wait(timeout=60) == 0, init.output()

    ports = {name: free_port() for name in SERVICES}
    env = settings_env(
        WARROOM_DATABASE_URL=database_url,
        WARROOM_NATS_URL=nats_url,
        WARROOM_HOST="127.0.0.1",
        WARROOM_ADMIN_TOKEN="deploy-test-admin-token-0123456789",
        **{f"WARROOM_{name.upper()}_PORT": str(port) for name, port in ports.items()},
    )
    started = {name: ContainerCommand(container(name)["command"], env, tmp_path / f"{name}.log") for name in SERVICES}
    try:
        for name, process in started.items():
            await process.answers(f"http://127.0.0.1:{ports[name]}/healthz", timeout=60)
            await process.answers(f"http://127.0.0.1:{ports[name]}/readyz", timeout=30)
            # Where the pods' annotations send Prometheus.
            scraped = pod_templates()[name]["metadata"]["annotations"]["prometheus.io/path"]
            await process.answers(f"http://127.0.0.1:{ports[name]}{scraped}", timeout=10)
            assert health_check(ports[name]) == 0, name
        started["timers"].stop()
        assert health_check(ports["timers"]) == 1
    finally:
        for process in started.values():
            process.stop()


def health_check(port: int) -> int:
    """The image's HEALTHCHECK, in a container running one service on ``port``."""
    env = {f"WARROOM_{name.upper()}_PORT": str(port) for name in SERVICES}
    return subprocess.run([sys.executable, HEALTHCHECK], env=env, timeout=30, check=False).returncode

"""`python -m shared.init`: declare every JetStream stream and every service's durable consumers.

The deployment's explicit init step (the Kubernetes Job, compose's `init` service, `make init`): the
streams' configuration, their replicas above all, is decided here once per deployment, not by
whichever service replica happens to start first. Services still declare what they use at start-up,
idempotently, so that `make run` and the tests need no init step.

Settings (environment, as the services read them):
  WARROOM_NATS_URL         any server of the NATS cluster
  WARROOM_STREAM_REPLICAS  copies of each stream and its consumers: 3 on a 3-node cluster, 1 on one server
  WARROOM_ACK_WAIT         seconds a consumer waits for an acknowledgement, as the services declare it

Options:
  --wait       declare nothing; wait until every stream and consumer exists (a service's init
               container, so that no replica is the first to declare them)
  --timeout S  keep trying this long (NATS still starting, a cluster still electing its leader);
               default 120; exit status 1 when it runs out
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time

import nats
from nats.js import JetStreamContext
from nats.js.errors import NotFoundError
from pydantic import Field

from shared import logs, natsio
from shared.contract import CONSUMERS, STREAMS
from shared.settings import Settings

RETRY_EVERY = 1.0
log = logs.get(__name__)


class InitSettings(Settings):
    stream_replicas: int = Field(default=1, ge=1, le=5)


async def declare(js: JetStreamContext, settings: InitSettings) -> None:
    """Every stream at the configured replicas (scaled if it exists), then every service's consumers."""
    await natsio.ensure_streams(js, replicas=settings.stream_replicas)
    for consumers in CONSUMERS.values():
        for consumer in consumers:
            await natsio.ensure_consumer(js, consumer, ack_wait=settings.ack_wait)


async def missing(js: JetStreamContext) -> list[str]:
    """The streams and consumers (``STREAM/durable``) not declared yet."""
    absent = []
    for stream in STREAMS:
        try:
            await js.stream_info(stream.name)
        except NotFoundError:
            absent.append(stream.name)
    for consumers in CONSUMERS.values():
        for consumer in consumers:
            if consumer.stream.name in absent:
                continue  # its stream's absence says it all
            try:
                await js.consumer_info(consumer.stream.name, consumer.durable)
            except NotFoundError:
                absent.append(f"{consumer.stream.name}/{consumer.durable}")
    return absent


async def run(settings: InitSettings, *, wait: bool, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    try:
        async with asyncio.timeout(timeout):
            nc = await natsio.connect(settings.nats_url, "warroom-init")  # retries until NATS answers
    except TimeoutError:
        log.error("init_failed", reason=f"NATS at {settings.nats_url} did not answer within {timeout:.0f} s")
        return False
    try:
        js = nc.jetstream()
        while True:
            try:
                if wait:
                    if not (absent := await missing(js)):
                        log.info("init_found", streams=len(STREAMS))
                        return True
                    reason = f"not declared yet: {', '.join(absent)}"
                else:
                    await declare(js, settings)
                    log.info(
                        "init_declared",
                        streams=len(STREAMS),
                        replicas=settings.stream_replicas,
                        consumers=sum(len(c) for c in CONSUMERS.values()),
                    )
                    return True
            # A cluster answers "unavailable" or not at all until it has elected a leader; a
            # replica count it cannot place yet (nodes still joining) fails until they have.
            except (nats.errors.Error, TimeoutError) as exc:
                reason = f"{type(exc).__name__}: {exc}"
            if time.monotonic() + RETRY_EVERY > deadline:
                log.error("init_failed", reason=reason)
                return False
            log.info("init_retrying", reason=reason)
            await asyncio.sleep(RETRY_EVERY)
    finally:
        await nc.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m shared.init", description=__doc__.split("\n\n")[0])
    parser.add_argument("--wait", action="store_true", help="declare nothing; wait until everything is declared")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds to keep trying (default 120)")
    args = parser.parse_args(argv)
    settings = InitSettings()
    logs.configure("init", settings.log_level)
    return 0 if asyncio.run(run(settings, wait=args.wait, timeout=args.timeout)) else 1


if __name__ == "__main__":
    sys.exit(main())

# One image for every Warroom service; the command chooses which (see docker-compose.yml, deploy/k8s):
#   python -m services.incident | services.notifier | services.timers | services.postmortem
#   python -m shared.init        declares the JetStream streams and consumers (the init step)

FROM python:3.11-slim AS dependencies
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /tmp/build
COPY requirements.lock ./
# What the services run on and nothing else: requirements.lock pins it all, each file checked against
# its hash. The tests' tools and servers are in requirements-test.lock, which never comes in here
# (tests/deploy/test_deploy_packaging.py lists what this command installs).
RUN python -m venv /opt/warroom \
 && /opt/warroom/bin/pip install --require-hashes -r requirements.lock

FROM python:3.11-slim
ENV PATH=/opt/warroom/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    WARROOM_HOST=0.0.0.0
RUN groupadd --system --gid 10001 warroom \
 && useradd --system --uid 10001 --gid warroom --no-create-home --shell /usr/sbin/nologin warroom
COPY --from=dependencies /opt/warroom /opt/warroom
WORKDIR /app
COPY shared ./shared
COPY services ./services
# GET /rules serves the rules document: services/incident/rules.md links to ../../docs/process.md.
COPY docs/process.md ./docs/process.md
COPY LICENSE ./LICENSE
COPY deploy/docker/healthcheck.py ./healthcheck.py
# Bytecode now: at run time the code belongs to root and the root filesystem may be read-only.
RUN python -m compileall -q shared services healthcheck.py
# A numeric user, so that Kubernetes' runAsNonRoot can check it.
USER 10001:10001
EXPOSE 8080 8081 8082 8083
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 CMD ["python", "/app/healthcheck.py"]
CMD ["python", "-m", "services.incident"]

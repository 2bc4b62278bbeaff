# The harness in a container, installed as the README installs it (make deps),
# for scheduled runs against the aws and k8s targets from inside a cluster
# (examples/kubernetes/drill-cronjob.yaml). Build: docker build -t aftershock .
FROM debian:12-slim

ENV DEBIAN_FRONTEND=noninteractive \
    PYTHONDONTWRITEBYTECODE=1

RUN apt-get update \
    && apt-get install -y --no-install-recommends make python3 python3-venv ca-certificates \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /opt/aftershock
COPY . .
# The README's own set-up: every Debian package and the project into .venv.
RUN make deps && rm -rf /var/lib/apt/lists/*

ENTRYPOINT ["/opt/aftershock/.venv/bin/aftershock"]
CMD ["--help"]

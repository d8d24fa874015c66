# Stands in for the project's own services: PORT METRICS_PATH HEALTH_PATH... as arguments (set by the
# test's override file), /metrics and the health paths; runs as nobody.
ARG COMMON
FROM ${COMMON}
USER 65534
ENTRYPOINT ["python3", "/usr/local/bin/standin.py", "app"]

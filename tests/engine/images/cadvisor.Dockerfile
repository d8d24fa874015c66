# Stands in for gcr.io/cadvisor/cadvisor: root, reads the engine's containers from
# /var/run/docker.sock (mounted by the stack) and serves container_* series on 8080.
ARG COMMON
FROM ${COMMON}
EXPOSE 8080
ENTRYPOINT ["python3", "/usr/local/bin/standin.py", "cadvisor"]

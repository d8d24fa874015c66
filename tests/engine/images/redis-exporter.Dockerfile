# Stands in for oliver006/redis_exporter: /redis_exporter, user 59000 (the stack sets its own).
ARG COMMON
FROM ${COMMON}
COPY bin/redis_exporter /redis_exporter
USER 59000:59000
EXPOSE 9121
ENTRYPOINT ["/redis_exporter"]

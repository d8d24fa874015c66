# Stands in for percona/mongodb_exporter: /metrics on 9216 with mongodb_up from a TCP connect
# to the host of MONGODB_URI.
ARG COMMON
FROM ${COMMON}
USER 65535
EXPOSE 9216
ENTRYPOINT ["python3", "/usr/local/bin/standin.py", "mongodb-exporter"]

# Stands in for prom/node-exporter: /bin/node_exporter, user nobody.
ARG COMMON
FROM ${COMMON}
COPY bin/node_exporter /bin/node_exporter
USER 65534
EXPOSE 9100
# Debian builds it with the systemd collector on and a textfile folder: back to upstream defaults
ENTRYPOINT ["/bin/node_exporter", "--no-collector.systemd", "--collector.textfile.directory="]

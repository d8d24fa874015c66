# Stands in for prom/blackbox-exporter: /bin/blackbox_exporter with its default config path.
ARG COMMON
FROM ${COMMON}
COPY bin/blackbox_exporter /bin/blackbox_exporter
RUN mkdir -p /etc/blackbox_exporter && printf 'modules:\n  http_2xx:\n    prober: http\n' > /etc/blackbox_exporter/config.yml
USER 65534
EXPOSE 9115
ENTRYPOINT ["/bin/blackbox_exporter"]
CMD ["--config.file=/etc/blackbox_exporter/config.yml"]

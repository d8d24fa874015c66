# Stands in for prom/prometheus: /bin/prometheus (Debian's static Go build), user nobody,
# data in /prometheus owned by 65534, config under /etc/prometheus.
ARG COMMON
FROM ${COMMON}
COPY bin/prometheus /bin/prometheus
RUN mkdir -p /prometheus /etc/prometheus && chown 65534:65534 /prometheus /etc/prometheus
USER 65534
WORKDIR /prometheus
EXPOSE 9090
ENTRYPOINT ["/bin/prometheus"]
CMD ["--config.file=/etc/prometheus/prometheus.yml", "--storage.tsdb.path=/prometheus"]

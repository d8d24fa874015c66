# Stands in for grafana/grafana: user 472, /var/lib/grafana owned 472:0 mode 777 as upstream;
# reads provisioning (datasources with $__file{} secrets, dashboard providers) and serves
# /api/health, /metrics and a check endpoint the test calls.
ARG COMMON
FROM ${COMMON}
RUN mkdir -p /var/lib/grafana /etc/grafana/provisioning && chown -R 472:0 /var/lib/grafana \
    && chmod -R 777 /var/lib/grafana
USER 472
WORKDIR /usr/share/grafana
EXPOSE 3000
ENTRYPOINT ["python3", "/usr/local/bin/standin.py", "grafana"]

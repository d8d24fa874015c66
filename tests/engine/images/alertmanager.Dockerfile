# Stands in for prom/alertmanager: /bin/alertmanager, user nobody, data in /alertmanager
# (Debian builds it to read its default template from /usr/share/prometheus/alertmanager).
ARG COMMON
FROM ${COMMON}
COPY bin/alertmanager /bin/alertmanager
COPY bin/default.tmpl bin/email.tmpl /usr/share/prometheus/alertmanager/
RUN mkdir -p /alertmanager /etc/alertmanager && chown 65534:65534 /alertmanager /etc/alertmanager
USER 65534
WORKDIR /alertmanager
EXPOSE 9093
ENTRYPOINT ["/bin/alertmanager"]
CMD ["--config.file=/etc/alertmanager/alertmanager.yml", "--storage.path=/alertmanager"]

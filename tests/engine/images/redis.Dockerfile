# Stands in for redis: Debian's redis-server 7.0 and redis-cli, uid 999 owning /data (the
# working directory, where --appendonly writes).
ARG COMMON
FROM ${COMMON}
RUN mkdir -p /data && chown 999:999 /data
VOLUME /data
WORKDIR /data
EXPOSE 6379
CMD ["redis-server"]

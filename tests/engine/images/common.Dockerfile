# Common layer of every stand-in: the debootstrap rootfs (imported by the engine test) plus the
# users and tools the upstream images have. busybox gives wget, which the health checks call.
ARG ROOTFS
FROM ${ROOTFS}
RUN set -e; for t in wget nc; do ln -sf /bin/busybox /usr/bin/$t; done; \
    groupadd -r -g 472 grafana; useradd -r -u 472 -g 472 -d /usr/share/grafana grafana; \
    groupadd -r -g 999 standin999; useradd -r -u 999 -g 999 -d /data standin999; \
    rm -rf /var/lib/apt/lists/* /var/cache/apt/*
COPY standin.py /usr/local/bin/standin.py

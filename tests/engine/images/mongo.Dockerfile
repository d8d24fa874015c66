# Stands in for mongo: a root entrypoint that checks the MONGO_INITDB_ROOT_* pair, chowns
# /data/db to 999 and drops to it (needs CHOWN, SETUID, SETGID), then accepts TCP on 27017;
# `mongosh` for the health check. No MongoDB protocol.
ARG COMMON
FROM ${COMMON}
RUN mkdir -p /data/db /data/configdb && chown 999:999 /data/db /data/configdb \
    && printf '#!/bin/sh\nexec python3 /usr/local/bin/standin.py mongosh "$@"\n' > /usr/bin/mongosh \
    && chmod 755 /usr/bin/mongosh
VOLUME /data/db /data/configdb
EXPOSE 27017
ENTRYPOINT ["python3", "/usr/local/bin/standin.py", "mongod"]

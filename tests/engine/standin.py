#!/usr/bin/python3
"""Minimal stand-ins for the upstream images that have no Debian package (engine test only).

Each role serves the endpoints the generated stack uses and reads the files the stack gives
it; what each one proves and what it cannot prove is in docs/engine.md. Never used outside
the engine test (scripts/engine-test.sh): the images are tagged obsgen-standin/*.

  standin.py app PORT METRICS HEALTH... an application: metrics path (prometheus text) + health paths;
                                       records POSTs (a webhook receiver) at /standin/received
  standin.py grafana                   Grafana: provisioning, datasource secrets, /api/health, /metrics
  standin.py cadvisor                  cAdvisor: container_* series of the engine's containers (docker.sock)
  standin.py mongod                    MongoDB: root entrypoint that chowns /data/db and drops to 999
  standin.py mongosh                   mongosh for the health check: prints 1 when mongod answers
  standin.py mongodb-exporter          percona mongodb_exporter: mongodb_up from a TCP connect
"""
import base64
import glob
import http.client
import http.server
import json
import os
import socket
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

START = time.time()


def log(*a):
    print("[standin]", *a, file=sys.stderr, flush=True)


def serve(port, routes):
    """routes: path -> callable(handler) returning (status, content_type, body)."""

    class H(http.server.BaseHTTPRequestHandler):
        def _go(self):
            path = urllib.parse.urlsplit(self.path).path
            fn = routes.get(path)
            if self.command == "POST" and "POST" in routes:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                fn = lambda h: routes["POST"](h, path, body)  # noqa: E731
            if fn is None:
                status, ctype, body = 404, "text/plain", "not found\n"
            else:
                try:
                    status, ctype, body = fn(self)
                except Exception as e:  # report, never crash the server
                    status, ctype, body = 500, "text/plain", "error: %s\n" % e
            data = body.encode() if isinstance(body, str) else body
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)

        do_GET = do_HEAD = do_POST = _go

        def log_message(self, *a):
            pass

    http.server.ThreadingHTTPServer.allow_reuse_address = True
    srv = http.server.ThreadingHTTPServer(("0.0.0.0", port), H)
    log("listening on :%d as uid %d" % (port, os.getuid()))
    srv.serve_forever()


def metrics(lines):
    return 200, "text/plain; version=0.0.4", "\n".join(lines) + "\n"


def process_metrics():
    return [
        "# TYPE process_start_time_seconds gauge",
        "process_start_time_seconds %f" % START,
    ]


# ------------------------------------------------------------------ app
def app(port, metrics_path="/metrics", *health):
    count = {"n": 0}

    def m(_h):
        count["n"] += 1
        return metrics(process_metrics() + [
            "# TYPE http_requests_total counter",
            'http_requests_total{method="GET",route="/",status="200"} %d' % count["n"],
            "# TYPE http_request_duration_seconds histogram",
            'http_request_duration_seconds_bucket{le="0.1"} %d' % count["n"],
            'http_request_duration_seconds_bucket{le="+Inf"} %d' % count["n"],
            "http_request_duration_seconds_sum %f" % (count["n"] * 0.01),
            "http_request_duration_seconds_count %d" % count["n"],
        ])

    received = []

    def post(_h, path, body):
        # A webhook receiver: record the alert names of every notification.
        try:
            names = [a["labels"]["alertname"] for a in json.loads(body).get("alerts", [])]
        except (ValueError, KeyError, AttributeError):
            names = ["<unparsable>"]
        received.append({"path": path, "alerts": names})
        log("POST %s: %s" % (path, names))
        return 200, "text/plain", "ok\n"

    routes = {"/": lambda h: (200, "text/plain", "ok\n"), "POST": post,
              "/standin/received": lambda h: (200, "application/json", json.dumps(received))}
    for p in health:
        routes[p] = lambda h: (200, "text/plain", "ok\n")
    routes[metrics_path] = m
    serve(int(port), routes)


# ------------------------------------------------------------------ grafana
def resolve_secret(v):
    """Grafana's $__file{...} and $__env{...} expansion."""
    if isinstance(v, str) and v.startswith("$__file{") and v.endswith("}"):
        with open(v[len("$__file{"):-1]) as f:
            return f.read().strip()
    if isinstance(v, str) and v.startswith("$__env{") and v.endswith("}"):
        return os.environ[v[len("$__env{"):-1]]
    return v


DS_HEALTH = {"prometheus": "/api/v1/status/buildinfo", "alertmanager": "/api/v2/status",
             "loki": "/ready", "tempo": "/ready", "jaeger": "/"}


def grafana(*_args):
    import yaml  # python3-yaml, in the stand-in base image

    data = "/var/lib/grafana"
    # Grafana writes its database and plugins under its data path at start: prove it can.
    with open(os.path.join(data, "grafana.db"), "a") as f:
        f.write("")
    os.makedirs(os.path.join(data, "plugins"), exist_ok=True)
    admin = (os.environ.get("GF_SECURITY_ADMIN_USER", "admin"),
             os.environ.get("GF_SECURITY_ADMIN_PASSWORD", "admin"))
    prov = os.environ.get("GF_PATHS_PROVISIONING", "/etc/grafana/provisioning")
    datasources, dashboards = [], []
    for fn in sorted(glob.glob(prov + "/datasources/*.y*ml")):
        doc = yaml.safe_load(open(fn)) or {}
        for ds in doc.get("datasources") or []:
            sj = {k: resolve_secret(v) for k, v in (ds.get("secureJsonData") or {}).items()}
            datasources.append(dict(ds, secureJsonData=sj))
    for fn in sorted(glob.glob(prov + "/dashboards/*.y*ml")):
        doc = yaml.safe_load(open(fn)) or {}
        for p in doc.get("providers") or []:
            path = (p.get("options") or {}).get("path")
            for d in sorted(glob.glob(os.path.join(path, "**", "*.json"), recursive=True)):
                dashboards.append(json.load(open(d)).get("uid"))
    log("provisioned %d datasources, %d dashboards" % (len(datasources), len(dashboards)))

    def authed(h):
        want = "Basic " + base64.b64encode(("%s:%s" % admin).encode()).decode()
        return h.headers.get("Authorization") == want

    def ds_health(ds):
        url = ds["url"].rstrip("/") + DS_HEALTH.get(ds.get("type"), "/")
        req = urllib.request.Request(url)
        if ds.get("basicAuth"):
            pw = ds["secureJsonData"].get("basicAuthPassword", "")
            tok = base64.b64encode(("%s:%s" % (ds.get("basicAuthUser", ""), pw)).encode()).decode()
            req.add_header("Authorization", "Basic " + tok)
        try:
            with urllib.request.urlopen(req, timeout=5) as r:
                return {"name": ds["name"], "url": url, "status": r.status}
        except urllib.error.HTTPError as e:
            return {"name": ds["name"], "url": url, "status": e.code}
        except Exception as e:
            return {"name": ds["name"], "url": url, "status": 0, "error": str(e)}

    def check(h):
        if not authed(h):
            return 401, "application/json", '{"message":"Unauthorized"}'
        return 200, "application/json", json.dumps({
            "datasources": [ds_health(ds) for ds in datasources],
            "dashboards": dashboards})

    serve(3000, {
        "/api/health": lambda h: (200, "application/json", '{"database":"ok"}'),
        "/metrics": lambda h: metrics(process_metrics() + [
            "# TYPE grafana_build_info gauge",
            'grafana_build_info{edition="standin",version="0.0.0"} 1']),
        "/api/standin/check": check,
    })


# ------------------------------------------------------------------ cadvisor
class UnixConn(http.client.HTTPConnection):
    def __init__(self, path):
        super().__init__("localhost", timeout=5)
        self.path_ = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(5)
        self.sock.connect(self.path_)


def docker_get(path):
    c = UnixConn("/var/run/docker.sock")
    c.request("GET", path)
    r = c.getresponse()
    return json.loads(r.read())


def cadvisor(*_args):
    def m(_h):
        out = ["# TYPE container_last_seen gauge", "# TYPE container_start_time_seconds gauge",
               "# TYPE container_cpu_usage_seconds_total counter",
               "# TYPE container_memory_working_set_bytes gauge",
               "# TYPE container_spec_memory_limit_bytes gauge",
               "# TYPE container_network_receive_bytes_total counter",
               "# TYPE container_network_transmit_bytes_total counter"]
        now = time.time()
        for c in docker_get("/containers/json"):
            name = c["Names"][0].lstrip("/")
            labels = 'id="/docker/%s",image="%s",name="%s"' % (c["Id"], c["Image"], name)
            out += [
                "container_last_seen{%s} %f" % (labels, now),
                "container_start_time_seconds{%s} %d" % (labels, c["Created"]),
                'container_cpu_usage_seconds_total{%s,cpu="total"} 1' % labels,
                "container_memory_working_set_bytes{%s} 1048576" % labels,
                "container_spec_memory_limit_bytes{%s} 0" % labels,
                'container_network_receive_bytes_total{%s,interface="eth0"} 1' % labels,
                'container_network_transmit_bytes_total{%s,interface="eth0"} 1' % labels,
            ]
        return metrics(out)

    serve(8080, {"/metrics": m, "/healthz": lambda h: (200, "text/plain", "ok\n")})


# ------------------------------------------------------------------ mongodb
def mongod(*_args):
    user, pw = os.environ.get("MONGO_INITDB_ROOT_USERNAME"), os.environ.get("MONGO_INITDB_ROOT_PASSWORD")
    if bool(user) != bool(pw):
        log("error: MONGO_INITDB_ROOT_USERNAME and MONGO_INITDB_ROOT_PASSWORD must be set together")
        sys.exit(1)
    # What the upstream entrypoint does as root: own the data folder, then drop to mongodb (999).
    if os.getuid() == 0:
        for root, dirs, files in os.walk("/data/db"):
            for n in dirs + files:
                os.chown(os.path.join(root, n), 999, 999)
        os.chown("/data/db", 999, 999)
        os.setgroups([])
        os.setgid(999)
        os.setuid(999)
    with open("/data/db/standin.lock", "w") as f:
        f.write(str(os.getpid()))
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", 27017))
    s.listen(64)
    log("mongod stand-in listening on :27017 as uid %d" % os.getuid())
    while True:
        c, _ = s.accept()
        c.close()


def mongosh(*_args):
    try:
        socket.create_connection(("127.0.0.1", 27017), timeout=3).close()
        print(1)
    except OSError as e:
        print("MongoNetworkError: %s" % e)
        sys.exit(1)


def mongodb_exporter(*_args):
    uri = urllib.parse.urlsplit(os.environ.get("MONGODB_URI", "mongodb://127.0.0.1:27017"))

    def m(_h):
        try:
            socket.create_connection((uri.hostname, uri.port or 27017), timeout=3).close()
            up = 1
        except OSError:
            up = 0
        return metrics(process_metrics() + ["# TYPE mongodb_up gauge", "mongodb_up %d" % up])

    serve(9216, {"/metrics": m})


if __name__ == "__main__":
    role, args = sys.argv[1], sys.argv[2:]
    {"app": app, "grafana": grafana, "cadvisor": cadvisor, "mongod": mongod, "mongosh": mongosh,
     "mongodb-exporter": mongodb_exporter}[role](*args)

# The app of tests/integration/live_databases.rs: an HTTP service instrumented with the
# real Prometheus client library (Debian's python3-prometheus-client), as a Python app
# would be. It serves `/`, `/health` and `/metrics` on 127.0.0.1:PORT and sends itself
# traffic: 199 of 200 requests answer 200, one answers 500. Like every client library,
# prometheus_client creates the `status="500"` series only at the first 500.
#
#   usage: python3 live_app.py PORT
import sys
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest

REQUESTS = Counter("http_requests", "HTTP requests served.", ["method", "path", "status"])
LATENCY = Histogram("http_request_duration_seconds", "HTTP request latency.", ["method", "path"])
PORT = int(sys.argv[1])
COUNT = [0]


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        start = time.perf_counter()
        if self.path == "/metrics":
            body, status, ctype = generate_latest(), 200, CONTENT_TYPE_LATEST
        elif self.path == "/health":
            body, status, ctype = b"ok\n", 200, "text/plain"
        else:
            COUNT[0] += 1
            status = 500 if COUNT[0] % 200 == 0 else 200
            body, ctype = b"hello\n", "text/plain"
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        if self.path not in ("/metrics", "/health"):
            REQUESTS.labels("GET", "/", str(status)).inc()
            LATENCY.labels("GET", "/").observe(time.perf_counter() - start)

    def log_message(self, *args):
        pass


def traffic():
    while True:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{PORT}/", timeout=2).read()
        except Exception:
            pass
        time.sleep(0.02)


threading.Thread(target=traffic, daemon=True).start()
ThreadingHTTPServer(("127.0.0.1", PORT), Handler).serve_forever()

#!/usr/bin/env python3
"""Engine test: run the generated stacks of the examples under a real dockerd (issue 17).

Started by scripts/engine-test.sh (which the integration test tests/integration/engine.rs runs).
Stand-in images are built from a debootstrap rootfs and Debian's binaries, tagged
obsgen-standin/*:test only, and the generated stack is pointed at them by a test-only
override file written into the temporary copy (compose.engine-test.yaml). Nothing obsgen
generates is changed. See docs/engine.md.

Exit codes: 0 pass, 1 failure, 77 skipped (no engine and not under CI).
"""
import argparse
import base64
import glob
import hashlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import tomllib
import urllib.error
import urllib.parse
import urllib.request

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
DOCKER = "/usr/bin/docker"  # /usr/local/bin/docker may be something else
NS = "obsgen-standin"
TAG = "test"
ROOTFS_PACKAGES = "busybox,python3-minimal,python3-yaml,redis-server,redis-tools"
# Upstream image repository -> stand-in image (tests/engine/images/<name>.Dockerfile).
STANDINS = {
    "prom/prometheus": "prometheus",
    "prom/alertmanager": "alertmanager",
    "prom/node-exporter": "node-exporter",
    "prom/blackbox-exporter": "blackbox-exporter",
    "oliver006/redis_exporter": "redis-exporter",
    "redis": "redis",
    "mongo": "mongo",
    "percona/mongodb_exporter": "mongodb-exporter",
    "grafana/grafana": "grafana",
    "gcr.io/cadvisor/cadvisor": "cadvisor",
}
# Host binaries (Debian packages) copied into the stand-ins: context name -> host path.
BINARIES = {
    "prometheus": "/usr/bin/prometheus",
    "alertmanager": "/usr/bin/prometheus-alertmanager",
    "node_exporter": "/usr/bin/prometheus-node-exporter",
    "blackbox_exporter": "/usr/bin/prometheus-blackbox-exporter",
    "redis_exporter": "/usr/bin/prometheus-redis-exporter",
    # Debian's Alertmanager is built to read its default templates from /usr/share/prometheus
    "default.tmpl": "/usr/share/prometheus/alertmanager/default.tmpl",
    "email.tmpl": "/usr/share/prometheus/alertmanager/email.tmpl",
}
PERMISSION_ERRORS = re.compile(r"permission denied|operation not permitted|read-only file system", re.I)
BRIDGE_PREFIX = "obsgt"  # bridge names of the test networks (egress is dropped from obsgt+)

T0 = time.time()
CLEANUPS = []  # callables, run in reverse order at exit


def log(msg):
    print("[engine %6.1fs] %s" % (time.time() - T0, msg), file=sys.stderr, flush=True)


def run(cmd, timeout=600, check=True, cwd=None, env=None, quiet=False, input=None):
    if not quiet:
        log("$ " + " ".join(cmd))
    p = subprocess.run(cmd, cwd=cwd, env=env, timeout=timeout, capture_output=True, text=True,
                       input=input)
    if check and p.returncode != 0:
        raise RuntimeError("%s exited %d:\n%s%s" % (cmd[0], p.returncode, p.stdout[-3000:], p.stderr[-3000:]))
    return p


def ci():
    return os.environ.get("CI") in ("true", "1")


def skip_or_fail(why):
    if ci():
        log("FAIL (CI=true, the engine test cannot be skipped): " + why)
        sys.exit(1)
    log("SKIPPED: " + why)
    print("engine test SKIPPED: " + why, flush=True)
    sys.exit(77)


def run_cleanups():
    while CLEANUPS:
        fn = CLEANUPS.pop()
        try:
            fn()
        except Exception as e:  # keep cleaning
            log("cleanup step failed: %s" % e)


# ------------------------------------------------------------------ engine
def ensure_engine(work):
    if not os.access(DOCKER, os.X_OK):
        skip_or_fail("%s not found (apt docker.io; scripts/install-validators.sh installs it)" % DOCKER)
    if shutil.which("docker-compose") is None:
        skip_or_fail("docker-compose (v1) not found")
    if run([DOCKER, "info"], check=False, quiet=True).returncode == 0:
        log("using the running dockerd")
        return
    dockerd = shutil.which("dockerd") or "/usr/sbin/dockerd"
    if os.geteuid() != 0 or not os.access(dockerd, os.X_OK):
        skip_or_fail("no dockerd is running and this user cannot start one (needs root)")
    logf = open(os.path.join(work, "dockerd.log"), "w")
    proc = subprocess.Popen([dockerd], stdout=logf, stderr=subprocess.STDOUT, start_new_session=True)
    log("started dockerd (pid %d); it is stopped at the end" % proc.pid)

    def stop():
        log("stopping the dockerd this test started (pid %d)" % proc.pid)
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)

    CLEANUPS.append(stop)
    deadline = time.time() + 60
    while time.time() < deadline:
        if proc.poll() is not None:
            skip_or_fail("dockerd exited %s: %s" % (proc.returncode, open(logf.name).read()[-2000:]))
        if run([DOCKER, "info"], check=False, quiet=True).returncode == 0:
            return
        time.sleep(1)
    skip_or_fail("dockerd did not answer within 60 s")


def debian_mirror():
    if os.environ.get("ENGINE_DEBIAN_MIRROR"):
        return os.environ["ENGINE_DEBIAN_MIRROR"]
    for fn in sorted(glob.glob("/etc/apt/sources.list.d/*")) + ["/etc/apt/sources.list"]:
        try:
            text = open(fn).read()
        except OSError:
            continue
        m = re.search(r"^URIs:\s*(\S+/debian)\s*$", text, re.M) or re.search(r"^deb\s+(?:\[[^]]*\]\s+)?(\S+/debian)\s+bookworm", text, re.M)
        if m:
            return m.group(1)
    return "http://deb.debian.org/debian"


def rootfs_tar(cache):
    """The debootstrap rootfs as a tar, cached under the validators prefix."""
    key = hashlib.sha256(("bookworm minbase " + ROOTFS_PACKAGES).encode()).hexdigest()[:12]
    tar = os.path.join(cache, "rootfs-bookworm-%s.tar" % key)
    if os.path.exists(tar):
        log("rootfs from cache: " + tar)
        return tar
    if shutil.which("debootstrap") is None and not os.path.exists("/usr/sbin/debootstrap"):
        skip_or_fail("debootstrap not found (apt debootstrap)")
    os.makedirs(cache, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix="rootfs-", dir=cache)
    try:
        run(["debootstrap", "--variant=minbase", "--include=" + ROOTFS_PACKAGES, "bookworm",
             tmp, debian_mirror()], timeout=900)
        run(["tar", "-C", tmp, "-cf", tar + ".part", "."], timeout=300)
        os.replace(tar + ".part", tar)
    finally:
        # debootstrap mounts /proc (and more) inside the target; a failed run may leave them.
        mounts = [line.split()[1] for line in open("/proc/mounts")]
        for m in sorted((m for m in mounts if m.startswith(tmp + "/")), reverse=True):
            run(["umount", "-l", m], check=False)
        shutil.rmtree(tmp, ignore_errors=True)
    return tar


def image_exists(ref):
    return run([DOCKER, "image", "inspect", ref], check=False, quiet=True).returncode == 0


def image_id(ref):
    p = run([DOCKER, "image", "inspect", "-f", "{{.Id}}", ref], check=False, quiet=True)
    return p.stdout.strip() if p.returncode == 0 else None


def build_images(work, cache, keep):
    built, stale = [], []

    def remove_images():
        if keep:
            log("OBSGEN_ENGINE_KEEP_IMAGES=1: leaving %d obsgen-standin images" % len(built))
            if stale:
                run([DOCKER, "rmi", "-f"] + list(reversed(stale)), check=False)
            return
        refs = list(reversed(built)) + list(reversed(stale))
        if refs:
            run([DOCKER, "rmi", "-f"] + refs, check=False)

    CLEANUPS.append(remove_images)
    rootfs = "%s/rootfs:%s" % (NS, TAG)
    common = "%s/common:%s" % (NS, TAG)
    ctx = os.path.join(work, "context")
    os.makedirs(os.path.join(ctx, "bin"))
    shutil.copy(os.path.join(HERE, "standin.py"), ctx)
    for name, path in BINARIES.items():
        if not os.path.exists(path):
            skip_or_fail("%s missing (Debian package; scripts/install-validators.sh installs it)" % path)
        shutil.copy(path, os.path.join(ctx, "bin", name))
    if not image_exists(rootfs):
        tar = rootfs_tar(cache)
        with open(tar, "rb") as f:
            p = subprocess.run([DOCKER, "import", "-", rootfs], stdin=f, capture_output=True, timeout=300)
        if p.returncode != 0:
            raise RuntimeError("docker import failed: %s" % p.stderr.decode()[-2000:])
    built.append(rootfs)
    env = dict(os.environ, DOCKER_BUILDKIT="0")
    for name in ["common"] + sorted(set(STANDINS.values())) + ["app"]:
        ref = "%s/%s:%s" % (NS, name, TAG)
        arg = "ROOTFS=" + rootfs if name == "common" else "COMMON=" + common
        before = image_id(ref)
        run([DOCKER, "build", "-q", "--network", "none", "--build-arg", arg, "-t", ref,
             "-f", os.path.join(HERE, "images", name + ".Dockerfile"), ctx], env=env, timeout=300)
        built.append(ref)
        if before and before != image_id(ref):
            stale.append(before)  # a kept image of an earlier run, replaced: remove it too
    for name in STANDINS.values():
        assert "%s/%s:%s" % (NS, name, TAG) in built


# ------------------------------------------------------------------ egress
def block_egress():
    """Drop everything the test bridges (obsgt+) forward anywhere but to themselves."""
    ipt = shutil.which("iptables")
    rule = ["DOCKER-USER", "-i", BRIDGE_PREFIX + "+", "!", "-o", BRIDGE_PREFIX + "+", "-j", "DROP"]
    if ipt is None or run([ipt, "-L", "DOCKER-USER", "-n"], check=False, quiet=True).returncode != 0:
        log("WARNING: no iptables DOCKER-USER chain: egress of the test networks is NOT blocked")
        return False
    run([ipt, "-I"] + rule)
    CLEANUPS.append(lambda: run([ipt, "-D"] + rule, check=False))
    return True


# ------------------------------------------------------------------ HTTP
def http(url, auth=None, timeout=5):
    req = urllib.request.Request(url)
    if auth:
        req.add_header("Authorization", "Basic " + base64.b64encode(("%s:%s" % auth).encode()).decode())
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(errors="replace")
    except OSError as e:
        return 0, str(e)


def wait_for(what, fn, timeout):
    """Polls fn() -> (ok, detail) until ok or timeout; returns (ok, detail)."""
    deadline = time.time() + timeout
    ok, detail = fn()
    while not ok and time.time() < deadline:
        time.sleep(2)
        ok, detail = fn()
    log("%s: %s (%s)" % (what, "ok" if ok else "NOT within %ds" % timeout, detail if not ok else "") if not ok
        else "%s: ok" % what)
    return ok, detail


# ------------------------------------------------------------------ one project
def read_env(path):
    out = {}
    for line in open(path):
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            k, v = line.split("=", 1)
            out[k] = v
    return out


def published(merged, service, container_port):
    for p in (merged["services"].get(service) or {}).get("ports") or []:
        if isinstance(p, dict):
            if int(p.get("target")) == container_port:
                return p.get("host_ip") or "127.0.0.1", int(p["published"])
        else:
            parts = str(p).split(":")
            if int(parts[-1].split("/")[0]) == container_port:
                return (parts[0] if len(parts) == 3 else "127.0.0.1"), int(parts[-2])
    return None


def app_services(manifest, merged):
    """Compose service -> (port, health paths) of the project's own services."""
    out = {}
    for svc in manifest.get("service") or []:
        paths = [(svc.get("metrics") or {}).get("path", "/metrics")]
        if svc.get("health"):
            paths.append(svc["health"])
        n = int(svc.get("replicas") or 1)
        names = [svc["name"]] if n == 1 else ["%s-%d" % (svc["name"], i) for i in range(1, n + 1)]
        for name in names:
            if name in merged["services"]:
                out[name] = (int(svc["port"]), paths)
    return out


def write_override(work, manifest, merged, project):
    services, notes = {}, []
    apps = app_services(manifest, merged)
    for name, svc in merged["services"].items():
        image = svc.get("image") or ""
        repo = image.rsplit(":", 1)[0] if ":" in image.split("/")[-1] else image
        o = {}
        if name in apps:
            port, paths = apps[name]
            o["image"] = "%s/app:%s" % (NS, TAG)
            o["command"] = [str(port)] + paths
        elif repo in STANDINS:
            o["image"] = "%s/%s:%s" % (NS, STANDINS[repo], TAG)
        else:
            raise RuntimeError("no stand-in for service %s (image %r): add one to tests/engine" % (name, image))
        # Host limits, worked around here only (docs/engine.md): `/` is a private mount, so
        # rslave propagation is refused; privileged containers cannot start.
        vols = svc.get("volumes") or []
        fixed = []
        for v in vols:
            if isinstance(v, dict) and v.get("type") == "bind" and (v.get("bind") or {}).get("propagation"):
                fixed.append("%s:%s:%s" % (v["source"], v["target"], "ro" if v.get("read_only") else "rw"))
            elif isinstance(v, str) and v.endswith(",rslave"):
                fixed.append(v[: -len(",rslave")])
        if fixed:
            o["volumes"] = fixed
            notes.append("%s: rslave dropped from %s" % (name, fixed))
        if svc.get("privileged"):
            o["privileged"] = False
            notes.append("%s: privileged turned off" % name)
        services[name] = o
    networks = {}
    for i, (name, net) in enumerate(sorted((merged.get("networks") or {}).items())):
        net = dict(net or {})
        net.pop("name", None)  # v1 prints the resolved name; keep compose's own naming
        opts = dict(net.get("driver_opts") or {})
        opts["com.docker.network.bridge.name"] = "%s%d" % (BRIDGE_PREFIX, i)
        net["driver_opts"] = opts
        networks[name] = net
    doc = {"version": merged.get("version", "3.9"), "services": services, "networks": networks}
    if "version" not in merged:
        doc.pop("version")
    path = os.path.join(work, "compose.engine-test.yaml")
    with open(path, "w") as f:
        f.write("# Written by the engine test only (tests/engine/run.py): stand-in images and host\n"
                "# workarounds. Never part of what obsgen generates.\n")
        yaml.safe_dump(doc, f, sort_keys=True)
    for n in notes:
        log("override: " + n)
    return path


def containers(project):
    ids = run([DOCKER, "ps", "-aq", "--filter", "label=com.docker.compose.project=" + project],
              quiet=True).stdout.split()
    if not ids:
        return []
    return json.loads(run([DOCKER, "inspect"] + ids, quiet=True).stdout)


def run_project(example, source, env, obsgen, base):
    failures = []
    t_start = time.time()
    work = os.path.join(base, "%s-%s" % (example, env))
    shutil.copytree(source, work)
    run([obsgen, "-q", "-C", work, "secrets"])
    run([obsgen, "-q", "-C", work, "generate"])
    with open(os.path.join(work, "obsgen.toml"), "rb") as f:
        manifest = tomllib.load(f)
    dotenv = read_env(os.path.join(work, ".env"))
    project = dotenv.get("COMPOSE_PROJECT_NAME") or manifest["project"]["name"]
    files = ["compose.yaml", "compose.%s.yaml" % env]
    # Build contexts of the project's own services are the user's code, absent from the
    # examples; the stand-in app image replaces them (never built: `up --no-build`).
    for svc in (yaml.safe_load(open(os.path.join(work, "compose.yaml")))["services"] or {}).values():
        b = svc.get("build")
        ctx = b if isinstance(b, str) else (b or {}).get("context")
        if ctx and not os.path.exists(os.path.join(work, ctx)):
            os.makedirs(os.path.join(work, ctx))
    merged = yaml.safe_load(run(["docker-compose"] + sum((["-f", f] for f in files), []) + ["config"],
                                cwd=work, quiet=True).stdout)
    # Secret files only the user can provide (provider keys, webhook URLs): test values that
    # point nowhere (127.0.0.1:9, the discard port; egress is blocked anyway).
    for name, sec in (merged.get("secrets") or {}).items():
        path = sec.get("file")
        path = path if os.path.isabs(path) else os.path.join(work, path)
        if not os.path.exists(path):
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w") as f:
                f.write("http://127.0.0.1:9/engine-test" if "url" in name else "engine-test-" + name)
            os.chmod(path, 0o644)
    if containers(project):
        return ["project %r already has containers on this engine: not touching them" % project]
    files.append(os.path.basename(write_override(work, manifest, merged, project)))
    compose = ["docker-compose", "-p", project] + sum((["-f", f] for f in files), [])
    auth = ("prometheus", dotenv["PROMETHEUS_PASSWORD"])

    def down():
        log("removing project %s (containers, networks, volumes)" % project)
        run(compose + ["down", "-v", "--remove-orphans", "--timeout", "5"], cwd=work, check=False, timeout=180)
        for c in containers(project):  # whatever down left
            run([DOCKER, "rm", "-f", "-v", c["Id"]], check=False, quiet=True)
        for kind in ("network", "volume"):
            ids = run([DOCKER, kind, "ls", "-q", "--filter", "label=com.docker.compose.project=" + project],
                      check=False, quiet=True).stdout.split()
            if ids:
                run([DOCKER, kind, "rm"] + ids, check=False, quiet=True)

    CLEANUPS.append(down)
    for svc, port in (("prometheus", 9090), ("alertmanager", 9093), ("grafana", 3000)):
        hp = published(merged, svc, port) if svc in merged["services"] else None
        if hp:
            s = socket.socket()
            busy = s.connect_ex((hp[0] if hp[0] != "0.0.0.0" else "127.0.0.1", hp[1])) == 0
            s.close()
            if busy:
                return ["port %s:%d (of %s) is already in use on this host" % (hp[0], hp[1], svc)]
    p = run(compose + ["up", "-d", "--no-build"], cwd=work, check=False, timeout=400)
    if p.returncode != 0:
        failures.append("docker-compose up failed: " + (p.stderr[-3000:] or p.stdout[-3000:]))
    t_up = time.time()

    # 1. every container running; healthy where it has a health check.
    expected = set(merged["services"])

    def states():
        cs = containers(project)
        got = {c["Config"]["Labels"].get("com.docker.compose.service"): c for c in cs}
        bad = []
        for s in sorted(expected):
            c = got.get(s)
            if c is None:
                bad.append("%s: no container" % s)
            elif not c["State"]["Running"]:
                bad.append("%s: %s (exit %s)" % (s, c["State"]["Status"], c["State"]["ExitCode"]))
            elif c["State"].get("Health") and c["State"]["Health"]["Status"] != "healthy":
                bad.append("%s: %s" % (s, c["State"]["Health"]["Status"]))
        return not bad, "; ".join(bad)

    ok, detail = wait_for("%s/%s containers running and healthy" % (example, env), states, 180)
    if not ok:
        failures.append("containers: " + detail)

    prom = published(merged, "prometheus", 9090)
    prom_url = "http://127.0.0.1:%d" % prom[1] if prom else None
    if not prom:
        failures.append("prometheus has no published port")
    else:
        # 2. basic auth: 401 without the login, 200 with it.
        st, _ = http(prom_url + "/api/v1/status/buildinfo")
        if st != 401:
            failures.append("prometheus without login answered %s, want 401" % st)
        st, body = http(prom_url + "/api/v1/status/buildinfo", auth)
        if st != 200:
            failures.append("prometheus with the generated login answered %s: %s" % (st, body[:200]))

        # 3. every target up.
        def targets():
            st, body = http(prom_url + "/api/v1/targets", auth)
            if st != 200:
                return False, "HTTP %s" % st
            ts = json.loads(body)["data"]["activeTargets"]
            bad = ["%s %s: %s %s" % (t["labels"].get("job"), t["labels"].get("instance"), t["health"],
                                     t.get("lastError", "")) for t in ts if t["health"] != "up"]
            return bool(ts) and not bad, "%d targets; down: %s" % (len(ts), "; ".join(bad))

        ok, detail = wait_for("%s/%s every Prometheus target up" % (example, env), targets, 120)
        if not ok:
            failures.append("targets: " + detail)

        # 4. every rule evaluated without error.
        def rules():
            st, body = http(prom_url + "/api/v1/rules", auth)
            if st != 200:
                return False, "HTTP %s" % st
            groups = json.loads(body)["data"]["groups"]
            n, bad = 0, []
            for g in groups:
                for r in g["rules"]:
                    n += 1
                    if r.get("health") != "ok" or r.get("lastError"):
                        bad.append("%s/%s: %s %s" % (g["name"], r["name"], r.get("health"), r.get("lastError", "")))
            return bool(groups) and not bad, "%d rules in %d groups; %s" % (n, len(groups), "; ".join(bad))

        ok, detail = wait_for("%s/%s every rule evaluated without error" % (example, env), rules, 120)
        if not ok:
            failures.append("rules: " + detail)

    # 5. Watchdog reaches Alertmanager (through the generated alerting config and login).
    am = published(merged, "alertmanager", 9093) if "alertmanager" in merged["services"] else None
    if am:
        am_url = "http://127.0.0.1:%d" % am[1]
        if http(am_url + "/api/v2/status")[0] != 401:
            failures.append("alertmanager without login did not answer 401")

        def watchdog():
            st, body = http(am_url + "/api/v2/alerts", auth)
            if st != 200:
                return False, "HTTP %s" % st
            names = sorted({a["labels"].get("alertname") for a in json.loads(body)})
            return "Watchdog" in names, "alerts: %s" % names

        ok, detail = wait_for("%s/%s Watchdog reached Alertmanager" % (example, env), watchdog, 120)
        if not ok:
            failures.append("watchdog: " + detail)

    # 6. the Grafana stand-in reaches every provisioned datasource with the provisioned login.
    gf = published(merged, "grafana", 3000) if "grafana" in merged["services"] else None
    if gf:
        gauth = (dotenv.get("GRAFANA_ADMIN_USER"), dotenv.get("GRAFANA_ADMIN_PASSWORD"))

        def grafana():
            st, body = http("http://127.0.0.1:%d/api/standin/check" % gf[1], gauth, timeout=20)
            if st != 200:
                return False, "HTTP %s %s" % (st, body[:200])
            d = json.loads(body)
            bad = ["%s %s -> %s %s" % (x["name"], x["url"], x["status"], x.get("error", ""))
                   for x in d["datasources"] if x["status"] != 200]
            return bool(d["datasources"]) and bool(d["dashboards"]) and not bad, \
                "%d datasources, %d dashboards; failing: %s" % (len(d["datasources"]), len(d["dashboards"]), bad)

        ok, detail = wait_for("%s/%s Grafana datasources reachable" % (example, env), grafana, 60)
        if not ok:
            failures.append("grafana: " + detail)

    # 7. cAdvisor selectors of the dashboards match the containers this engine runs (their
    # names as docker-compose v1 gives them: <project>_<service>_<n>).
    if prom_url and "cadvisor" in merged["services"]:
        bases = [svc["name"] for svc in manifest.get("service") or []]
        sels = set()
        for fn in glob.glob(os.path.join(work, "monitoring/grafana/dashboards/**/*.json"), recursive=True):
            for m in re.finditer(r'name=~"([^"]*)"', json.dumps(json.load(open(fn))).replace('\\"', '"')):
                sel = m.group(1)
                if "$instance" in sel:
                    continue
                sels.update([sel.replace("$service", b) for b in bases] if "$service" in sel else [sel])

        def selectors():
            bad = []
            for sel in sorted(sels):
                q = 'count(container_last_seen{job="cadvisor",name=~%s})' % json.dumps(sel)
                st, body = http(prom_url + "/api/v1/query?" + urllib.parse.urlencode({"query": q}), auth)
                res = json.loads(body)["data"]["result"] if st == 200 else []
                if not res or float(res[0]["value"][1]) < 1:
                    bad.append(sel)
            return bool(sels) and not bad, "%d selectors; matching no container: %s" % (len(sels), bad)

        ok, detail = wait_for("%s/%s dashboard container selectors match the engine's containers" % (example, env),
                              selectors, 60)
        if not ok:
            failures.append("cAdvisor selectors: " + detail)

    # 8. an alert reaches, through the generated route, a webhook receiver that is a service
    # of the stack (the app stand-in records what it is POSTed).
    for r in manifest.get("receiver") or []:
        host = urllib.parse.urlsplit(r.get("url") or "").hostname
        if r.get("kind") != "webhook" or host not in [svc["name"] for svc in manifest.get("service") or []]:
            continue
        port = urllib.parse.urlsplit(r["url"]).port or 80
        cid = [c["Id"] for c in containers(project)
               if c["Config"]["Labels"].get("com.docker.compose.service") == host]

        def delivered():
            if not cid:
                return False, "no container %s" % host
            p = run([DOCKER, "exec", cid[0], "wget", "-qO-", "http://127.0.0.1:%d/standin/received" % port],
                    check=False, quiet=True)
            got = json.loads(p.stdout) if p.returncode == 0 and p.stdout.strip() else []
            return any(g["alerts"] for g in got), "received: %s" % got

        ok, detail = wait_for("%s/%s alert delivered to webhook receiver %s (service %s)" % (example, env, r["name"], host),
                              delivered, 120)
        if not ok:
            failures.append("webhook %s: %s" % (r["name"], detail))

    # 9. no restarts, no permission errors, over the whole run.
    for c in containers(project):
        svc = c["Config"]["Labels"].get("com.docker.compose.service")
        if c["RestartCount"]:
            failures.append("%s restarted %d times" % (svc, c["RestartCount"]))
        logs = run([DOCKER, "logs", c["Id"]], check=False, quiet=True)
        for line in (logs.stdout + logs.stderr).splitlines():
            if PERMISSION_ERRORS.search(line):
                failures.append("%s log: %s" % (svc, line.strip()[:300]))
                break
    if failures:
        for c in containers(project):
            svc = c["Config"]["Labels"].get("com.docker.compose.service")
            logs = run([DOCKER, "logs", "--tail", "15", c["Id"]], check=False, quiet=True)
            log("--- last log lines of %s:\n%s%s" % (svc, logs.stdout, logs.stderr))
    log("%s/%s: %d containers, up in %.0fs, checks %.0fs" % (
        example, env, len(expected), t_up - t_start, time.time() - t_up))
    CLEANUPS.remove(down)
    down()
    return failures


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--examples", default=os.environ.get("OBSGEN_ENGINE_EXAMPLES", "minimal,shop"))
    ap.add_argument("--projects", default=os.environ.get("OBSGEN_ENGINE_PROJECTS", "hooks"),
                    help="test-only projects under tests/engine/projects/")
    ap.add_argument("--envs", default=os.environ.get("OBSGEN_ENGINE_ENVS", "production,development"))
    ap.add_argument("--obsgen", default=os.environ.get("OBSGEN_BIN", os.path.join(REPO, "target/debug/obsgen")))
    ap.add_argument("--cache", default=os.path.join(os.environ.get("VALIDATORS_PREFIX", "/opt/infra-validators"), "engine"))
    args = ap.parse_args()
    keep = os.environ.get("OBSGEN_ENGINE_KEEP_IMAGES") == "1"

    def on_signal(signum, _frame):
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    base = tempfile.mkdtemp(prefix="obsgen-engine-")
    CLEANUPS.append(lambda: shutil.rmtree(base, ignore_errors=True))
    results, blocked = {}, False
    try:
        ensure_engine(base)
        t = time.time()
        build_images(base, args.cache, keep)
        log("stand-in images ready in %.0fs" % (time.time() - t))
        blocked = block_egress()
        runs = [(ex, os.path.join(REPO, "examples", ex)) for ex in args.examples.split(",") if ex]
        runs += [(pr, os.path.join(HERE, "projects", pr)) for pr in args.projects.split(",") if pr]
        for name, source in runs:
            with open(os.path.join(source, "obsgen.toml"), "rb") as f:
                declared = tomllib.load(f)["project"].get("environments") or ["development", "production"]
            for env in [e for e in args.envs.split(",") if e in declared]:
                t = time.time()
                try:
                    results[(name, env)] = run_project(name, source, env, args.obsgen, base)
                except Exception as e:
                    results[(name, env)] = ["error: %s" % e]
                log("%s/%s took %.0fs" % (name, env, time.time() - t))
    finally:
        run_cleanups()
    failed = False
    for (ex, env), fails in results.items():
        print("%-8s %s/%s" % ("FAIL" if fails else "ok", ex, env))
        for f in fails:
            print("    - " + f)
        failed |= bool(fails)
    print("engine test: %d project runs, %s, egress %s, %.0fs" % (
        len(results), "FAILED" if failed else "all passed", "blocked" if blocked else "NOT blocked",
        time.time() - T0), flush=True)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()

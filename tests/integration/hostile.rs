//! Property test of issue 11: hostile text in every free-text field of the manifest.
//!
//! [`FIELDS`] has one row per free-text string of the manifest schema (`obsgen schema`;
//! [`every_free_text_field_of_the_schema_is_in_the_table`] keeps it complete). Each row
//! says where the field sits in a baseline manifest ([`BASE`]), which context its value
//! reaches, the values it must accept, known attack strings, and where the value must
//! arrive in the output. For every value — the must-accept ones, the known ones and
//! random hostile strings from a fixed-seed generator — put into that one field of the
//! baseline, obsgen either
//!
//! - refuses the manifest: exit 2, `obsgen.toml:<line>:<col>` at the value's line, a
//!   `help:` line, and nothing written; or
//! - writes output that `promtool check config`, `promtool test rules`, `amtool
//!   check-config`, the generated `routes.test.sh`, `docker-compose config` (with a
//!   placeholder `.env`, build folders, env files and secret files, the way the generated
//!   CI workflow prepares them), `actionlint` and `cfn-lint` accept, every generated
//!   YAML/JSON file parses, and the value arrives unchanged where the row looks for it:
//!   YAML read back with every scalar as its text; Compose values after Compose's own
//!   interpolation (its `config` output); Go templates (Prometheus annotations and labels,
//!   Alertmanager `channel`/`to`/`from`), Alertmanager matchers, CloudFormation `Fn::Sub`,
//!   GitHub expressions and branch filters decoded the way their consumer reads them; the
//!   two workflow steps that paste a value into shell (the image name of `ci.yml`, the
//!   smoke test of `deploy.yml`) run with bash and stub commands.
//!
//! A must-accept value must take the second way. Every failing (field, value, reason) is
//! collected and reported at the end, grouped by field; `OBSGEN_HOSTILE_REPORT=<file>`
//! also writes the report and what became of every value to a file.
//!
//! Cost (the test prints it; the budget is 5 minutes on 2 cores, checked as CPU time):
//! values are tested in projects of up to [`GROUP`], each value in its own slot. An error
//! at a value's line settles that value and sends the others back to the pool; a project
//! whose output a validator rejects is split until each value stands alone. A validator
//! runs only on projects whose files it reads differ from the baseline's (the baseline is
//! checked in full), and once per round over all of them: promtool, amtool, actionlint and
//! cfn-lint take every file in one call; docker-compose (production when the base file
//! changed, every environment whose overlay changed) runs as two Python interpreters that
//! call docker-compose's own `main()` once per project and environment (`DC_DRIVER`),
//! instead of a 0.7 s process start per check. Not covered: the other shell the output
//! holds (`deploy/aws/secrets.sh`, the CI placeholder step, `routes.test.sh` arguments
//! beyond what amtool sees); a separate test runs those with stub commands.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::require_tool;

// ---------------------------------------------------------------------------------------
// The table
// ---------------------------------------------------------------------------------------

/// The baseline manifest: every free-text field set once, at a `@slot@`, one slot per
/// line (so the line of an error names the value it is about). A case replaces
/// one slot with its (TOML-quoted) value and every other slot with the row's base value.
/// A line starting with `?` exists only in the cases of its own slot (`url_env` is always
/// an error, so the baseline leaves it out). Nothing refers to the fields under test
/// (the SLO and `depends_on` name `web`, routes do not name the receiver whose name is
/// tested), so a renamed service or receiver is still a valid manifest.
const BASE: &str = r#"[project]
name = @project_name@
templates = @templates@
profile = @profile@
environments = ["development", "production", @env_name@]

[[service]]
name = @svc_name@
image = @image@
port = 8080
public = true
health = @health@
depends_on = [@depends_on@]
command = [@command@, "--flag"]
user = @user@
[service.ports]
@port_name@ = 9000
[service.metrics]
path = @metrics_path@
port = 9102
[service.http]
requests = @http_requests@
duration = @http_duration@
status_label = @http_status_label@
[service.env]
@env_key@ = "envkeyvalue"
PLAIN = @env_value@
[service.hardening]
read_only = true
tmpfs = [@tmpfs@]
cap_add = [@cap_add@]
[service.alerts]
latency_p95 = @svc_latency_p95@
latency_p95_critical = @svc_latency_p95_critical@

[[service]]
name = "web"
build = @build@
port = 3100
health = "/healthz"
health_cmd = [@health_cmd@, "--check"]
env_file = [@env_file@]
language = "node"
[service.dev]
mount = @dev_mount@
command = [@dev_command@]

[[database]]
name = @db_name@
kind = "postgres"
version = @db_version@

[environment.@env_name@]
extends = @extends@
publish = "all"
bind_address = @bind_address@
public_address = @public_address@
monitoring_address = @monitoring_address@
scrape_interval = @scrape_interval@
scrape_timeout = @scrape_timeout@
evaluation_interval = @evaluation_interval@
retention_time = @retention_time@
retention_size = @retention_size@
log_max_size = @log_max_size@
memory = @memory@
memory_reservation = @memory_reservation@
database_memory = @database_memory@
database_memory_reservation = @database_memory_reservation@
monitoring_memory = @monitoring_memory@
monitoring_memory_reservation = @monitoring_memory_reservation@
exporter_memory = @exporter_memory@
exporter_memory_reservation = @exporter_memory_reservation@
group_wait = @env_group_wait@
group_interval = @env_group_interval@
repeat_interval = @env_repeat_interval@
watchdog_interval = @watchdog_interval@

[[prometheus.remote_write]]
name = @rw_name@
url = @rw_url@
username = @rw_username@
password_file = @rw_password_file@

[[prometheus.remote_write]]
name = "rw-bearer"
url = "https://rw2.example.com/push"
bearer_token_file = @rw_bearer_file@

[logging]
backend = "loki"
retention = @log_retention@

[tracing]
backend = "tempo"

[errors]
backend = "sentry"
dsn_env = @dsn_env@

[storage.minio]
buckets = [@bucket@]

[alerts]
latency_p95 = @latency_p95@
latency_p95_critical = @latency_p95_critical@
for = @alerts_for@

[[alerts.slo]]
service = @slo_service@
objective = 99.9
window = @slo_window@

[[alerts.custom]]
name = @custom_name@
expr = @custom_expr@
for = @custom_for@
severity = "warning"
summary = @summary@
description = @description@
[alerts.custom.labels]
@label_key@ = "labelvalue"
team = @label_value@

[[alerts.custom]]
name = "Tested"
expr = 'up{job="tested"} == 0'
severity = "warning"
summary = "tested"
description = "tested"
[alerts.custom.test]
eval_time = @test_eval_time@
description = @test_description@
[[alerts.custom.test.input]]
series = @test_series@
values = "1x10"
[[alerts.custom.test.input]]
series = 'up{job="tested"}'
values = @test_values@

[[receiver]]
name = "chat"
kind = "slack"
channel = @channel@
webhook_url_env = @webhook_url_env@

[[receiver]]
name = "mail"
kind = "email"
to = [@email_to@]
from = @email_from@
smarthost = @smarthost@
auth_username = @auth_username@
auth_password_env = @auth_password_env@

[[receiver]]
name = "pager"
kind = "pagerduty"
routing_key_env = @routing_key_env@

[[receiver]]
name = "genie"
kind = "opsgenie"
api_key_env = @api_key_env@

[[receiver]]
name = @receiver_name@
kind = "webhook"
url = @webhook_url@
bearer_token_env = @bearer_token_env@
?url_env = @url_env@

[[route]]
receivers = ["pager", "genie"]
continue = true
group_by = [@group_by@]
group_wait = @route_group_wait@
group_interval = @route_group_interval@
repeat_interval = @route_repeat_interval@
[route.match]
@match_key@ = "matchvalue"
team = @match_value@

[[route]]
receivers = ["mail"]
continue = true
[route.match_re]
@match_re_key@ = "db|cache"
service = @match_re@

[[route]]
receivers = [@route_receiver@]

[ci]
provider = "github"
registry = @registry@
branch = @branch@

[deploy.aws]
region = @region@
instance_type = @instance_type@
domain = @domain@

[kubernetes]
release = @k8s_release@
monitoring_namespace = @k8s_mns@
gitops = "argocd"
repository = @k8s_repo@
revision = @k8s_rev@
workloads = true

[kubernetes.environment.@env_name@]
namespace = @k8s_namespace@
release = @k8s_env_release@
monitoring_namespace = @k8s_env_mns@
"#;

/// How a probe reads the value it finds.
#[derive(Clone, Copy, Debug, PartialEq)]
enum How {
    /// The text equals `want`.
    Eq,
    /// A Go text/template (Prometheus, Alertmanager) prints `want`: only text and
    /// string-literal actions (`{{ "{{" }}`) are allowed.
    Tmpl,
    /// An Alertmanager matcher (`name="value"`, as Alertmanager 0.25 and 0.28 parse it)
    /// reads `name<op>value` = `want`.
    Matcher,
    /// A CloudFormation `Fn::Sub` string (`${!` is a literal `${`) expands to `want`.
    FnSub,
    /// A GitHub workflow string: `${{ 'literal' }}` is its literal, any other `${{` fails.
    Gha,
    /// A GitHub branch filter pattern matching exactly `want` (`\` escapes, no globs).
    Glob,
    /// Compose interpolation of a service's `env`: `${NAME}` and `${NAME:-default}` are
    /// references to `.env` (the placeholder `.env` sets every variable `.env.example`
    /// lists to `ci-placeholder`, so a reference must be listed there); every other `$`
    /// is literal.
    Interp,
    /// A host path: `want` relative to the project folder, normalised (Compose resolves
    /// paths in its `config` output).
    Path,
    /// The raw text of the file contains `want` (for identifiers with no structured place).
    Contains,
    /// A workflow step (`path` selects it) run the way GitHub runs it: `bash -e` on its
    /// `run:`, its `env:` with every `${{ … }}` as `stub`, stub commands first on PATH.
    /// `want` is `output=<GITHUB_OUTPUT content>` or `curl=<curl's last argument>`; a
    /// `${{` in the script or a file the script creates fails.
    Shell,
}
use How::*;

/// Where a value must arrive: `doc` is `file:<path>` (YAML, every scalar kept as its
/// text), `text:<path>` (raw text) or `compose:<env>` (`docker-compose -f compose.yaml -f
/// compose.<env>.yaml config` output, `$$` read as `$`; a NUL cannot arrive there).
/// `path` is dotted, with `*` for every element, `[key=value]` to pick list items and
/// `[key~text]` those whose `key` contains `text`. `{v}` in `path` and `want` is the
/// value, `{lower}` the value in ASCII lowercase, `{dir}` the project folder. The probe
/// holds when any element found matches.
#[derive(Clone, Copy, Debug)]
struct Probe {
    doc: &'static str,
    path: &'static str,
    how: How,
    want: &'static str,
}

const fn at(doc: &'static str, path: &'static str, how: How, want: &'static str) -> Probe {
    Probe {
        doc,
        path,
        how,
        want,
    }
}

/// One free-text field of the manifest.
struct Field {
    /// Schema path (`service[].env.*` a value of the map, `service[].env.<key>` its keys).
    path: &'static str,
    /// Its `@slot@` in [`BASE`].
    slot: &'static str,
    /// Its value in the baseline.
    base: &'static str,
    /// Which contexts the value reaches (documentation; printed with failures).
    ctx: &'static str,
    /// Values that must be accepted and arrive unchanged.
    accept: &'static [&'static str],
    /// Known attack strings (from issue 11): rejected, or accepted and arriving unchanged.
    known: &'static [&'static str],
    /// Where the value must arrive. Empty: the value is a reference, an enum-like name,
    /// a duration/size/address (its text may be normalised; the validators check it), or
    /// written nowhere.
    find: &'static [Probe],
}

#[allow(
    clippy::too_many_arguments,
    reason = "one row of the field table, spelled out"
)]
const fn f(
    path: &'static str,
    slot: &'static str,
    base: &'static str,
    ctx: &'static str,
    accept: &'static [&'static str],
    known: &'static [&'static str],
    find: &'static [Probe],
) -> Field {
    Field {
        path,
        slot,
        base,
        ctx,
        accept,
        known,
        find,
    }
}

// Must-accept sets, by what a field means.

/// Free text: a sentence, a label value, a command argument. Everything printable.
const TEXT: &[&str] = &[
    "costs $5",
    "it's",
    "say \"hi\"",
    "#1 on the list",
    "a: b",
    "100%",
    "two words",
    "café ж",
    "$ ' \" # : % é",
];
/// A service's `env` value: free text, plus `${NAME}` / `${NAME:-default}` references.
const ENV_VALUE: &[&str] = &[
    "costs $5",
    "it's",
    "say \"hi\"",
    "#1 on the list",
    "a: b",
    "100%",
    "two words",
    "café ж",
    "$ ' \" # : % é",
    "${APP_SECRET}",
    "${APP_MODE:-fast}",
];
/// A user name (basic auth: no `:`).
const USER_NAME: &[&str] = &[
    "costs $5",
    "it's",
    "say \"hi\"",
    "#1",
    "100%",
    "two words",
    "café ж",
];
/// An HTTP path with a query: `$ : %` and `? = &`, no spaces or quotes.
const HTTP_PATH: &[&str] = &["/a$b", "/a:b", "/a%20b", "/health?ready=1&full=yes"];
/// A Prometheus `metrics_path` (no query: that is `params`).
const METRICS_PATH: &[&str] = &["/a$b", "/a:b", "/a%20b"];
/// An http(s) URL.
const URL: &[&str] = &[
    "https://h.example.com/a$b",
    "https://h.example.com:8443/p",
    "https://h.example.com/a%20b?x=1&y=2",
    "https://h.example.com/it's",
];
/// An absolute container path (`:` separates Compose's mount options).
const CONTAINER_PATH: &[&str] = &["/tmp/a$b", "/tmp/100%", "/tmp/café", "/tmp/#x"];
/// An e-mail address (RFC 5322 atext, RFC 6531 non-ASCII).
const EMAIL: &[&str] = &[
    "o'brien@example.com",
    "a+b@example.com",
    "#ops@example.com",
    "100%@example.com",
    "$ops@example.com",
    "josé@example.com",
];
/// A git branch (no `:`, spaces, quotes or glob characters).
const BRANCH: &[&str] = &["release/v2.1", "feat#12", "50%-off", "$dollar", "café"];
/// An RE2 regular expression (Alertmanager `match_re`).
const REGEX: &[&str] = &[
    "api|web",
    "db-.*",
    "a b",
    "it's",
    "say \"hi\"",
    "#ops",
    "a:b",
    "100%",
    "café",
    "costs \\$5",
    "[a-z]+",
    "(?i)api",
    "x{2,3}",
];
/// PromQL.
const PROMQL: &[&str] = &[
    "up{job=\"a b\"} == 0",
    "up{job='x'} == 0",
    "up{job=\"#1\"} == 0",
    "up{job=\"a:b\"} == 0",
    "up % 2 == 1",
    "up{job=\"café\"} == 0",
    "up{job=\"$5\"} == 0",
    "up{job=~\"a|b\"} == 0",
];
/// Restricted by meaning (names, identifiers, references, durations, sizes, addresses):
/// the baseline value is the must-accept value.
const NONE: &[&str] = &[];

/// Attack strings for names and identifiers.
const NAME_ATTACKS: &[&str] = &["a\u{85}b", "x\u{2028}y", "a\u{0}b", "é"];
/// Durations Prometheus or Alertmanager refuse.
const DURATION_ATTACKS: &[&str] = &["1000y", "0s", "-5m", "5m\n"];
/// Go template actions and YAML breakers for free text.
const TEXT_ATTACKS: &[&str] = &[
    "{{ $labels.job }}",
    "{{",
    "}}",
    "{{`x`}}",
    "web\u{85}shop",
    "a\u{2028}b",
    "line\nbreak",
    "tab\there",
    "bell\u{7}",
    "${{ github.token }}",
    "$(touch PWNED)",
];

const ENV_PROD: &str = "compose:production";
const PROM: &str = "file:monitoring/prometheus/prometheus.production.yml";
const CUSTOM: &str = "file:monitoring/prometheus/rules/custom.yml";
const AM: &str = "file:monitoring/alertmanager/alertmanager.production.yml";
const ENV_EXAMPLE: &str = "text:.env.example";

#[rustfmt::skip]
/// Every free-text field: (schema path, slot, base value, context, must-accept, known
/// attacks, where the value arrives).
const FIELDS: &[Field] = &[
    // ---- project
    f("project.name", "project_name", "hostile",
      "DNS label: Compose project name, Prometheus external label, dashboard uids, file names",
      NONE, NAME_ATTACKS,
      &[at(PROM, "global.external_labels.project", Eq, "{v}")]),
    f("project.templates", "templates", "1", "reference: a template-set version", NONE, &["1\n"], &[]),
    f("project.profile", "profile", "full", "reference: a stack preset", NONE, &["full\u{0}"], &[]),
    f("project.environments[]", "env_name", "qa",
      "DNS label: environment name in file names, labels, Compose overlay names",
      NONE, NAME_ATTACKS,
      &[at("file:monitoring/prometheus/prometheus.{v}.yml", "global.external_labels.environment", Eq, "{v}")]),
    f("environment.<key>", "env_name", "qa",
      "DNS label: the same environment name, as a table key",
      NONE, &["qa\u{7f}"],
      &[at("file:monitoring/prometheus/prometheus.{v}.yml", "global.external_labels.environment", Eq, "{v}")]),
    // ---- services
    f("service[].name", "svc_name", "api",
      "DNS label: Compose service, scrape job, target file, dashboard, workflow job",
      NONE, NAME_ATTACKS,
      &[at(ENV_PROD, "services.{v}.image", Eq, "ghcr.io/acme/api:1.0.0")]),
    f("service[].image", "image", "ghcr.io/acme/api:1.0.0",
      "image reference in Compose (interpolated)",
      &["registry.example.com:5000/acme/api:1.0.0",
        "ghcr.io/acme/api@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"],
      &["ghcr.io/acme/api:1.0.0$x", "ghcr.io/acme/api:${TAG}"],
      &[at(ENV_PROD, "services.api.image", Eq, "{v}")]),
    f("service[].build", "build", "./buildval",
      "folder: Compose build context, workflow working-directory and docker build context",
      NONE, &["./a$b", "./a b", "./x'y", "./${{ github.token }}"],
      &[at("compose:development", "services.web.build.context", Path, "{v}")]),
    f("service[].ports.<key>", "port_name", "grpc", "DNS label: a named container port (written nowhere)", NONE, NAME_ATTACKS, &[]),
    f("service[].alerts.latency_p95", "svc_latency_p95", "1s", "duration: PromQL threshold", NONE, DURATION_ATTACKS, &[]),
    f("service[].alerts.latency_p95_critical", "svc_latency_p95_critical", "30d", "duration: PromQL threshold", NONE, DURATION_ATTACKS, &[]),
    f("service[].metrics.path", "metrics_path", "/metrics",
      "HTTP path: Prometheus metrics_path",
      METRICS_PATH, &["/a\"b", "/a\\b", "/${x}"],
      &[at(PROM, "scrape_configs.[job_name=api].metrics_path", Eq, "{v}")]),
    f("service[].health", "health", "/health",
      "HTTP path: Compose health check argument, blackbox probe URL, PromQL label in rule tests, shell in deploy.yml, CloudFormation Fn::Sub",
      HTTP_PATH, &["/a\"b", "/a\\b", "/${x}", "/$(touch PWNED)", "/`id`", "/${{ github.token }}"],
      &[at(ENV_PROD, "services.api.healthcheck.test.*", Eq, "http://127.0.0.1:8080{v}"),
        at("file:monitoring/prometheus/targets/probe.yml", "*.targets.*", Eq, "http://api:8080{v}"),
        at("file:deploy/aws/cloudformation.yaml", "Outputs.*.Value.Fn::Sub", FnSub, "http://${ElasticIp.PublicIp}:8080{v}"),
        at("file:.github/workflows/deploy.yml", "jobs.*.steps.[run~curl -fsS]", Shell, "curl=http://stub:8080{v}")]),
    f("service[].http.requests", "http_requests", "reqval_total", "metric name in PromQL rules and dashboards", NONE, &["__name__", "a{b}"],
      &[at("text:monitoring/prometheus/rules/services.yml", "", Contains, "{v}")]),
    f("service[].http.duration", "http_duration", "durval_seconds", "metric name in PromQL rules and dashboards", NONE, &["x_bucket"],
      &[at("text:monitoring/prometheus/rules/services.yml", "", Contains, "{v}")]),
    f("service[].http.status_label", "http_status_label", "statusval", "label name in PromQL rules and dashboards", NONE, &["__name__"],
      &[at("text:monitoring/prometheus/rules/services.yml", "", Contains, "{v}")]),
    f("service[].depends_on[]", "depends_on", "web", "reference: a service or database", NONE, &["web\n"], &[]),
    f("service[].env.<key>", "env_key", "ENVKEYVAL",
      "variable name: Compose environment key",
      &["lower_case_var"], &["A$B", "A B", "A=B"],
      &[at(ENV_PROD, "services.api.environment.{v}", Eq, "envkeyvalue")]),
    f("service[].env.*", "env_value", "envvalueval",
      "Compose environment value (interpolated by Compose; ${NAME} references .env)",
      ENV_VALUE, &["$", "${x", "$(id)", "`id`", "${{ github.token }}", "$$", "a\u{85}b"],
      &[at(ENV_PROD, "services.api.environment.PLAIN", Interp, "{v}")]),
    f("service[].command[]", "command", "cmdargval",
      "Compose command argument (interpolated by Compose)",
      TEXT, TEXT_ATTACKS,
      &[at(ENV_PROD, "services.api.command.0", Eq, "{v}")]),
    f("service[].env_file[]", "env_file", "./envfileval.env",
      "file: Compose env_file, CI placeholder step (shell), secrets.sh (shell), .env.example",
      NONE, &["./a$b.env", "./a b.env", "./../x.env", "./.env"],
      &[at(ENV_PROD, "services.web.environment.OBSGEN_PROBE_ENV_FILE", Eq, "1")]),
    f("service[].health_cmd[]", "health_cmd", "healthcmdval",
      "Compose healthcheck CMD argument (interpolated by Compose)",
      TEXT, TEXT_ATTACKS,
      &[at(ENV_PROD, "services.web.healthcheck.test.1", Eq, "{v}")]),
    f("service[].user", "user", "userval", "Compose user (uid[:gid] or name)", &["1000:1000", "app_user"], &["$USER", "1000:$x"],
      &[at(ENV_PROD, "services.api.user", Eq, "{v}")]),
    f("service[].hardening.tmpfs[]", "tmpfs", "/tmpfsval", "container path: Compose tmpfs (production overlay)",
      CONTAINER_PATH, &["/tmp:size=1m", "/${x}"],
      &[at(ENV_PROD, "services.api.tmpfs.*", Eq, "{v}")]),
    f("service[].hardening.cap_add[]", "cap_add", "NET_BIND_SERVICE", "enum-like: a Linux capability", NONE, &["ALL", "NET_ADMIN\n"], &[]),
    f("service[].dev.mount", "dev_mount", "/mountval", "container path: Compose bind mount target (development overlay)",
      CONTAINER_PATH, &["/a:/b", "/${x}"],
      &[at("compose:development", "services.web.volumes.*", Eq, "{dir}/buildval:{v}:rw")]),
    f("service[].dev.command[]", "dev_command", "devcmdval", "Compose command argument (development overlay)",
      TEXT, TEXT_ATTACKS,
      &[at("compose:development", "services.web.command.0", Eq, "{v}")]),
    // ---- databases
    f("database[].name", "db_name", "db", "DNS label: Compose service, exporter, variables", NONE, NAME_ATTACKS,
      &[at(ENV_PROD, "services.{v}.image", Eq, "postgres:16.4")]),
    f("database[].version", "db_version", "16.4", "image tag", &["16.4-bookworm"], &["16$x", "latest"],
      &[at(ENV_PROD, "services.db.image", Eq, "postgres:{v}")]),
    // ---- environment settings (validated values; the validators check where they go)
    f("environment.*.extends", "extends", "staging", "reference: an overlay", NONE, &["staging "], &[]),
    f("environment.*.bind_address", "bind_address", "127.0.0.2", "IP address: Compose ports", NONE, &["::1", "127.0.0.1 "], &[]),
    f("environment.*.public_address", "public_address", "0.0.0.0", "IP address: Compose ports", NONE, &["::"], &[]),
    f("environment.*.monitoring_address", "monitoring_address", "127.0.0.3", "IP address: Compose ports", NONE, &["::1"], &[]),
    f("environment.*.scrape_interval", "scrape_interval", "16s", "duration: Prometheus", NONE, DURATION_ATTACKS, &[]),
    f("environment.*.scrape_timeout", "scrape_timeout", "9s", "duration: Prometheus", NONE, DURATION_ATTACKS, &[]),
    f("environment.*.evaluation_interval", "evaluation_interval", "17s", "duration: Prometheus", NONE, DURATION_ATTACKS, &[]),
    f("environment.*.retention_time", "retention_time", "11d", "duration: Prometheus command line in Compose", NONE, DURATION_ATTACKS, &[]),
    f("environment.*.retention_size", "retention_size", "3GB", "size: Prometheus command line in Compose", NONE, &["1e3GB", "3GB$x"], &[]),
    f("environment.*.log_max_size", "log_max_size", "11m", "size: Compose logging option", NONE, &["11m$x"], &[]),
    f("environment.*.memory", "memory", "513M", "size: Compose limits", NONE, &["1e3M"], &[]),
    f("environment.*.memory_reservation", "memory_reservation", "129M", "size: Compose reservations", NONE, &["0M"], &[]),
    f("environment.*.database_memory", "database_memory", "1025M", "size: Compose limits", NONE, &["1e3M"], &[]),
    f("environment.*.database_memory_reservation", "database_memory_reservation", "257M", "size: Compose reservations", NONE, &["0M"], &[]),
    f("environment.*.monitoring_memory", "monitoring_memory", "1026M", "size: Compose limits", NONE, &["1e3M"], &[]),
    f("environment.*.monitoring_memory_reservation", "monitoring_memory_reservation", "258M", "size: Compose reservations", NONE, &["0M"], &[]),
    f("environment.*.exporter_memory", "exporter_memory", "129M", "size: Compose limits", NONE, &["1e3M"], &[]),
    f("environment.*.exporter_memory_reservation", "exporter_memory_reservation", "33M", "size: Compose reservations", NONE, &["0M"], &[]),
    f("environment.*.group_wait", "env_group_wait", "31s", "duration: Alertmanager", NONE, DURATION_ATTACKS, &[]),
    f("environment.*.group_interval", "env_group_interval", "6m", "duration: Alertmanager", NONE, DURATION_ATTACKS, &[]),
    f("environment.*.repeat_interval", "env_repeat_interval", "5h", "duration: Alertmanager", NONE, DURATION_ATTACKS, &[]),
    f("environment.*.watchdog_interval", "watchdog_interval", "2m", "duration: Alertmanager", NONE, DURATION_ATTACKS, &[]),
    // ---- prometheus
    f("prometheus.remote_write[].name", "rw_name", "rwname", "DNS label: remote_write name, Compose secret name", NONE, NAME_ATTACKS,
      &[at(PROM, "remote_write.*.name", Eq, "{v}")]),
    f("prometheus.remote_write[].url", "rw_url", "https://rw.example.com/push", "URL: Prometheus remote_write", URL,
      &["https://rw.example.com/\nx", "https://u:p@rw.example.com/"],
      &[at(PROM, "remote_write.*.url", Eq, "{v}")]),
    f("prometheus.remote_write[].username", "rw_username", "rwuserval", "basic-auth user: Prometheus remote_write", USER_NAME,
      &["{{ x }}", "a\nb"],
      &[at(PROM, "remote_write.*.basic_auth.username", Eq, "{v}")]),
    f("prometheus.remote_write[].password_file", "rw_password_file", "secrets/rwpassval",
      "file: Compose secret, CI placeholder step (shell), secrets.sh (shell)", NONE,
      &["secrets/a$b", "secrets/a b", "../x", "secrets/$(id)"],
      &[at(ENV_PROD, "secrets.*.file", Path, "{v}")]),
    f("prometheus.remote_write[].bearer_token_file", "rw_bearer_file", "secrets/rwbearerval",
      "file: Compose secret, CI placeholder step (shell), secrets.sh (shell)", NONE,
      &["secrets/a$b", "secrets/a b", "../x"],
      &[at(ENV_PROD, "secrets.*.file", Path, "{v}")]),
    // ---- logging, errors, storage
    f("logging.retention", "log_retention", "14d", "duration: Loki", NONE, DURATION_ATTACKS, &[]),
    f("errors.dsn_env", "dsn_env", "DSNENVVAL", "variable name: Compose ${VAR:?} reference, .env.example, secrets.sh", NONE, &["A-B", "A}B", "a b"],
      &[at(ENV_PROD, "services.api.environment.SENTRY_DSN", Eq, "ci-placeholder")]),
    f("storage.minio.buckets[]", "bucket", "bucketval", "S3 bucket: minio init command in Compose", NONE, &["a$b", "a b"],
      &[at(ENV_PROD, "services.*.command.*", Eq, "local/{v}")]),
    // ---- alerts
    f("alerts.latency_p95", "latency_p95", "500ms", "duration: PromQL threshold", NONE, DURATION_ATTACKS, &[]),
    f("alerts.latency_p95_critical", "latency_p95_critical", "1d", "duration: PromQL threshold", NONE, DURATION_ATTACKS, &[]),
    f("alerts.for", "alerts_for", "5m", "duration: rule `for`", NONE, DURATION_ATTACKS, &[]),
    f("alerts.slo[].service", "slo_service", "web", "reference: a service", NONE, &["web\u{0}"], &[]),
    f("alerts.slo[].window", "slo_window", "30d", "duration: SLO window", NONE, DURATION_ATTACKS, &[]),
    f("alerts.custom[].name", "custom_name", "CustomNameVal", "alert name: Prometheus rule, Alertmanager label", NONE, &["A{b}", "A\u{85}"],
      &[at(CUSTOM, "groups.*.rules.*.alert", Eq, "{v}")]),
    f("alerts.custom[].expr", "custom_expr", "up{job=\"exprval\"} == 0", "PromQL in a Prometheus rule", PROMQL,
      &["limitk(1, up)", "up{job=~\"(?x)a\"}", "up{job=~\"(?<n>a)\"}", "{__name__=~\"a{1001}\"}", "up\n# c"],
      &[at(CUSTOM, "groups.*.rules.*.expr", Eq, "{v}")]),
    f("alerts.custom[].for", "custom_for", "5m", "duration: rule `for`", NONE, DURATION_ATTACKS, &[]),
    f("alerts.custom[].test.input[].series", "test_series", "up{job=\"exprval\"}", "series: promtool test input", NONE,
      &["up{job=~\"a\"}", "up{job=\"a\"} + 1", "1up"], &[]),
    f("alerts.custom[].test.input[].values", "test_values", "1x10", "promtool value notation", NONE, &["1x", "abc", "1e5"], &[]),
    f("alerts.custom[].test.eval_time", "test_eval_time", "1m", "duration: promtool eval_time", NONE, DURATION_ATTACKS, &[]),
    f("alerts.custom[].test.description", "test_description", "testdescval", "expected annotation (promtool test)", TEXT, TEXT_ATTACKS, &[]),
    f("alerts.custom[].summary", "summary", "summaryval", "Prometheus annotation (Go template)", TEXT, TEXT_ATTACKS,
      &[at(CUSTOM, "groups.*.rules.*.annotations.summary", Tmpl, "{v}")]),
    f("alerts.custom[].description", "description", "descriptionval", "Prometheus annotation (Go template)", TEXT, TEXT_ATTACKS,
      &[at(CUSTOM, "groups.*.rules.*.annotations.description", Tmpl, "{v}")]),
    f("alerts.custom[].labels.<key>", "label_key", "labelkeyval", "label name: Prometheus rule", NONE, &["__name__", "__x", "severity"],
      &[at(CUSTOM, "groups.*.rules.*.labels.{v}", Tmpl, "labelvalue")]),
    f("alerts.custom[].labels.*", "label_value", "labelvalueval", "label value: Prometheus rule (Go template)", TEXT, TEXT_ATTACKS,
      &[at(CUSTOM, "groups.*.rules.*.labels.team", Tmpl, "{v}")]),
    // ---- receivers
    f("receiver[].name", "receiver_name", "hook", "DNS label: Alertmanager receiver", NONE, NAME_ATTACKS,
      &[at(AM, "receivers.*.name", Eq, "{v}")]),
    f("receiver[].channel", "channel", "#channelval", "Slack channel (Alertmanager template)", TEXT, TEXT_ATTACKS,
      &[at(AM, "receivers.*.slack_configs.*.channel", Tmpl, "{v}")]),
    f("receiver[].webhook_url_env", "webhook_url_env", "SLACKENVVAL", "variable name: secret file name, .env.example", NONE, &["A/B", "../A"],
      &[at(ENV_EXAMPLE, "", Contains, "{v}")]),
    f("receiver[].routing_key_env", "routing_key_env", "ROUTINGENVVAL", "variable name: secret file name, .env.example", NONE, &["A/B"],
      &[at(ENV_EXAMPLE, "", Contains, "{v}")]),
    f("receiver[].api_key_env", "api_key_env", "APIKEYENVVAL", "variable name: secret file name, .env.example", NONE, &["A/B"],
      &[at(ENV_EXAMPLE, "", Contains, "{v}")]),
    f("receiver[].url", "webhook_url", "https://hook.example.com/hookurlval", "URL: Alertmanager webhook", URL,
      &["https://a.example.com/\nx", "https://a.example.com/{{ .x }}"],
      &[at(AM, "receivers.*.webhook_configs.*.url", Eq, "{v}")]),
    f("receiver[].bearer_token_env", "bearer_token_env", "BEARERENVVAL", "variable name: secret file name, .env.example", NONE, &["A/B"],
      &[at(ENV_EXAMPLE, "", Contains, "{v}")]),
    f("receiver[].url_env", "url_env", "URLENV", "always refused (Alertmanager 0.25 has no url_file)", NONE, &["A$B"], &[]),
    f("receiver[].to[]", "email_to", "toval@example.com", "e-mail address (Alertmanager template)", EMAIL, &["{{ x }}@example.com", "a@example.com\nBcc: x"],
      &[at(AM, "receivers.*.email_configs.*.to", Tmpl, "{v}")]),
    f("receiver[].from", "email_from", "fromval@example.com", "e-mail address (Alertmanager template)", EMAIL, &["", "{{ x }}@example.com"],
      &[at(AM, "receivers.*.email_configs.*.from", Tmpl, "{v}")]),
    f("receiver[].smarthost", "smarthost", "smtp.example.com:587", "host:port: Alertmanager", NONE, &["smtp.example.com:25\nX: y", "a b:25"],
      &[at(AM, "receivers.*.email_configs.*.smarthost", Eq, "{v}")]),
    f("receiver[].auth_username", "auth_username", "authuserval", "SMTP login: Alertmanager", TEXT, &["a\nb", "{{ x }}"],
      &[at(AM, "receivers.*.email_configs.*.auth_username", Eq, "{v}")]),
    f("receiver[].auth_password_env", "auth_password_env", "SMTPPASSENVVAL", "variable name: secret file name, .env.example", NONE, &["A/B"],
      &[at(ENV_EXAMPLE, "", Contains, "{v}")]),
    // ---- routes
    f("route[].match.<key>", "match_key", "matchkey", "label name: Alertmanager matcher, amtool argument in routes.test.sh", NONE, &["__name__", "a b"],
      &[at(AM, "route.routes.*.matchers.*", Matcher, "{v}=matchvalue")]),
    f("route[].match.*", "match_value", "matchvalueval", "label value: Alertmanager matcher, amtool argument in routes.test.sh (shell)", TEXT,
      &["a\u{85}b", "x'y", "\\", "a\"b\\"],
      &[at(AM, "route.routes.*.matchers.*", Matcher, "team={v}")]),
    f("route[].match_re.<key>", "match_re_key", "matchrekey", "label name: Alertmanager matcher", NONE, &["__name__"],
      &[at(AM, "route.routes.*.matchers.*", Matcher, "{v}=~db|cache")]),
    f("route[].match_re.*", "match_re", "api|web", "RE2 regex: Alertmanager matcher, sample value in routes.test.sh", REGEX,
      &["(?x)a", "(?<n>a)", "a(?=b)", "a{1001}", "\\C", "a\nb"],
      &[at(AM, "route.routes.*.matchers.*", Matcher, "service=~{v}")]),
    f("route[].receivers[]", "route_receiver", "chat", "reference: a receiver", NONE, &["chat\n"], &[]),
    f("route[].group_by[]", "group_by", "groupbyval", "label name: Alertmanager group_by", &["..."], &["__name__", "a b"],
      &[at(AM, "route.routes.*.group_by.*", Eq, "{v}")]),
    f("route[].group_wait", "route_group_wait", "10s", "duration: Alertmanager", NONE, DURATION_ATTACKS, &[]),
    f("route[].group_interval", "route_group_interval", "1m", "duration: Alertmanager", NONE, DURATION_ATTACKS, &[]),
    f("route[].repeat_interval", "route_repeat_interval", "1h", "duration: Alertmanager", NONE, DURATION_ATTACKS, &[]),
    // ---- ci and deploy
    f("ci.registry", "registry", "registryval.example.com",
      "registry host: workflow `with:` (GitHub expression), image-name step (shell), comments",
      &["registry.example.com:5000"],
      &["ghcr.io\"$(touch${IFS}PWNED)\"", "ghcr.io`id`", "ghcr.io${{ github.token }}", "ghcr.io/$(id)", "ghcr.io\n"],
      &[at("file:.github/workflows/ci.yml", "jobs.*.steps.*.with.registry", Gha, "{v}"),
        at("file:.github/workflows/ci.yml", "jobs.*.steps.[id=image]", Shell, "output=name={lower}/stub/hostile-web")]),
    f("ci.branch", "branch", "branchval",
      "git branch: workflow branch filters, `if:` expressions, comments",
      BRANCH, &["!main", "a*", "x${{ github.token }}", "a\u{85}b"],
      &[at("file:.github/workflows/ci.yml", "on.push.branches.*", Glob, "{v}")]),
    f("deploy.aws.region", "region", "eu-central-1", "AWS region: workflows, secrets.sh, CloudFormation", NONE, &["eu-central-1$(id)"],
      &[at("file:.github/workflows/deploy.yml", "jobs.*.steps.*.with.aws-region", Gha, "{v}")]),
    f("deploy.aws.instance_type", "instance_type", "t3.large", "EC2 instance type: CloudFormation", NONE, &["t3.${x}"],
      &[at("file:deploy/aws/cloudformation.yaml", "Parameters.InstanceType.Default", Eq, "{v}")]),
    f("deploy.aws.domain", "domain", "domainval.example.com", "DNS name: Grafana root URL (Compose), workflows, docs", NONE, &["a.example.com$x"],
      &[at(ENV_PROD, "services.grafana.environment.GF_SERVER_ROOT_URL", Eq, "https://grafana.{v}/")]),
    // ---- [kubernetes]
    f("kubernetes.environment.<key>", "env_name", "qa", "DNS label: the same environment name, as a table key", NONE, &["qa\u{7f}"],
      &[at("text:deploy/kubernetes/monitoring/{v}/kustomization.yaml", "", Contains, "Monitoring objects of environment \"{v}\"")]),
    f("kubernetes.environment.*.namespace", "k8s_namespace", "nsval", "DNS label: Kubernetes namespace (objects, README, CI dry run)", NONE, NAME_ATTACKS,
      &[at(K8S_README, "", Contains, "create namespace {v} ")]),
    f("kubernetes.environment.*.release", "k8s_env_release", "envrelval", "DNS label: Helm release (`release` label)", NONE, NAME_ATTACKS,
      &[at(K8S_README, "", Contains, "| {v} |")]),
    f("kubernetes.environment.*.monitoring_namespace", "k8s_env_mns", "envmnsval", "DNS label: monitoring namespace", NONE, NAME_ATTACKS,
      &[at(K8S_README, "", Contains, "dashboards/{v}\n")]),
    f("kubernetes.release", "k8s_release", "krelval", "DNS label: Helm release (`release` label)", NONE, &["a\u{85}b", "x.y", "A"],
      &[at("file:deploy/kubernetes/monitoring/production/servicemonitor-api.yaml", "metadata.labels.release", Eq, "{v}")]),
    f("kubernetes.monitoring_namespace", "k8s_mns", "kmnsval", "DNS label: monitoring namespace", NONE, NAME_ATTACKS,
      &[at(K8S_README, "", Contains, "dashboards/{v}\n")]),
    f("kubernetes.repository", "k8s_repo", "https://git.example.com/repo.git", "Git URL: Argo CD Applications, Flux GitRepository", K8S_REPO,
      &["https://x/{{ y }}", "https://x/a b", "file:///etc/passwd", "https://x/\u{85}"],
      &[at(K8S_APP, "spec.sources.*.repoURL", Eq, "{v}")]),
    f("kubernetes.revision", "k8s_rev", "main", "git branch or tag: Argo CD targetRevision, Flux ref", BRANCH, &["a b", "-x", "a..b", "{{ x }}"],
      &[at(K8S_APP, "spec.sources.*.targetRevision", Eq, "{v}")]),
];

const K8S_README: &str = "text:deploy/kubernetes/README.md";
const K8S_APP: &str = "file:deploy/kubernetes/gitops/production/application-monitoring.yaml";
/// A Git repository URL.
const K8S_REPO: &[&str] = &[
    "https://git.example.com/a$b.git",
    "https://git.example.com:8443/p.git",
    "https://git.example.com/a%20b?x=1&y=2",
    "ssh://git@git.example.com/a#b.git",
];

// ---------------------------------------------------------------------------------------
// Hostile strings
// ---------------------------------------------------------------------------------------

/// Fixed seed and number of random strings per field.
const SEED: u64 = 0x0b5e_11ed_2024_0011;
const RANDOM_PER_FIELD: usize = 4;

/// splitmix64.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed)
    }
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Pieces of hostile strings: shell, Compose and GitHub interpolation, YAML and TOML
/// breakers, Go template delimiters, control and odd Unicode characters, path tricks.
const FRAGMENTS: &[&str] = &[
    "$",
    "$$",
    "${HOSTILE}",
    "${HOSTILE:-x}",
    "$HOSTILE",
    "$(touch PWNED)",
    "`touch PWNED`",
    "${{ github.token }}",
    "${IFS}",
    "'",
    "\"",
    "\\",
    "\\\"",
    "\n",
    "\r",
    "\r\n",
    "\t",
    "\u{0}",
    "\u{7f}",
    "\u{85}",
    "\u{9b}",
    "\u{2028}",
    "\u{2029}",
    "\u{feff}",
    "\u{fffe}",
    "\u{202e}",
    "#",
    " #",
    ": ",
    ":",
    "%",
    "%20",
    "%s",
    " ",
    "{{",
    "}}",
    "{{ .Labels }}",
    "é",
    "ж",
    "日本",
    "😀",
    "*",
    "&a",
    "*a",
    "!x",
    "|",
    ">",
    "- ",
    "[",
    "]",
    "{",
    "}",
    ",",
    "?",
    "=",
    "@",
    "/",
    "..",
    "../",
    "~",
    ";",
    "&&",
    "<",
    "(",
    ")",
    "^",
    "+",
    "yes",
    "null",
    "0x1F",
    "1e3",
    "-1",
    "--flag",
    ".",
    "(?x)",
    "(?<n>a)",
    "\\d",
    "(?=a)",
    "a{1001}",
    "__name__",
];

/// A random hostile variant of `base`: fragments inserted into it, fragments alone, or
/// a long string.
fn hostile(rng: &mut Rng, base: &str) -> String {
    let frag = |rng: &mut Rng| FRAGMENTS[rng.below(FRAGMENTS.len())];
    match rng.below(12) {
        0 => (0..=rng.below(3)).map(|_| frag(rng)).collect(),
        1 => {
            let n = if rng.below(4) == 0 { 10_000 } else { 300 };
            let mut s = base.to_string();
            while s.len() < n {
                s.push('x');
            }
            s
        }
        _ => {
            let mut s = base.to_string();
            for _ in 0..=rng.below(3) {
                let cuts: Vec<usize> = s.char_indices().map(|(i, _)| i).chain([s.len()]).collect();
                let at = match rng.below(3) {
                    0 => 0,
                    1 => s.len(),
                    _ => cuts[rng.below(cuts.len())],
                };
                s.insert_str(at, frag(rng));
            }
            s
        }
    }
}

fn fnv(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ b as u64).wrapping_mul(0x100_0000_01b3)
    })
}

// ---------------------------------------------------------------------------------------
// Cases, projects and manifests
// ---------------------------------------------------------------------------------------

#[derive(Clone, Copy, PartialEq, Debug)]
enum Kind {
    Baseline,
    Must,
    Known,
    Random,
}

/// One value for one field.
struct Case {
    /// Index into FIELDS; None for the baseline.
    field: Option<usize>,
    value: String,
    kind: Kind,
}

impl Case {
    fn field_path(&self) -> &'static str {
        self.field.map_or("(baseline)", |i| FIELDS[i].path)
    }
    fn slot(&self) -> Option<&'static str> {
        self.field.map(|i| FIELDS[i].slot)
    }
}

/// Slots whose value other rows' probes depend on (service, database and environment
/// names, the build folder): their cases get a project of their own.
const ALONE: &[&str] = &["svc_name", "db_name", "build", "env_name"];

/// Cases per project: one obsgen run and one validation for up to this many values, each
/// in its own slot. An error at a value's line settles that case; a validator failure
/// splits the project until each case stands alone.
const GROUP: usize = 8;

/// A manifest holding the values of some cases, each in its own slot.
struct Project {
    dir: PathBuf,
    cases: Vec<usize>,
    /// Slot → value, for the slots of its cases.
    values: BTreeMap<&'static str, String>,
    /// Case → lines of obsgen.toml holding its value.
    lines: BTreeMap<usize, Vec<usize>>,
    text: String,
}

impl Project {
    fn new(dir: PathBuf, ids: Vec<usize>, cases: &[Case]) -> Project {
        let values: BTreeMap<&'static str, String> = ids
            .iter()
            .filter_map(|c| Some((cases[*c].slot()?, cases[*c].value.clone())))
            .collect();
        let (text, by_slot) = manifest(&values);
        let lines = ids
            .iter()
            .map(|c| {
                let l = cases[*c]
                    .slot()
                    .and_then(|s| by_slot.get(s).cloned())
                    .unwrap_or_default();
                (*c, l)
            })
            .collect();
        Project {
            dir,
            cases: ids,
            values,
            lines,
            text,
        }
    }
    fn name(&self) -> String {
        self.dir.file_name().unwrap().to_string_lossy().into_owned()
    }
    /// The value of a slot in this manifest.
    fn slot_value(&self, slot: &str) -> String {
        self.values.get(slot).cloned().unwrap_or_else(|| {
            FIELDS
                .iter()
                .find(|f| f.slot == slot)
                .unwrap()
                .base
                .to_string()
        })
    }
}

/// A TOML basic string (usable as a value and as a key).
fn toml_str(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push('\t'),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04X}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The manifest with these slot values (the base value elsewhere), and the lines each of
/// these slots is on.
fn manifest(
    values: &BTreeMap<&'static str, String>,
) -> (String, BTreeMap<&'static str, Vec<usize>>) {
    let mut text = String::new();
    let mut lines: BTreeMap<&'static str, Vec<usize>> = BTreeMap::new();
    for line in BASE.lines() {
        let line = match line.strip_prefix('?') {
            Some(rest) if values.keys().any(|s| rest.contains(&format!("@{s}@"))) => rest,
            Some(_) => continue,
            None => line,
        };
        // Template lines hold `@` only around slot names: odd pieces are slots.
        for (n, piece) in line.split('@').enumerate() {
            if n % 2 == 0 {
                text.push_str(piece);
                continue;
            }
            let row = FIELDS
                .iter()
                .find(|f| f.slot == piece)
                .unwrap_or_else(|| panic!("no row for @{piece}@"));
            match values.get(row.slot) {
                Some(v) => {
                    let at = lines.entry(row.slot).or_default();
                    let n = text.matches('\n').count() + 1;
                    if !at.contains(&n) {
                        at.push(n);
                    }
                    text.push_str(&toml_str(v));
                }
                None => text.push_str(&toml_str(row.base)),
            }
        }
        text.push('\n');
    }
    (text, lines)
}

/// Every case: the baseline first, then per field its must-accept values, its known
/// attacks and RANDOM_PER_FIELD random hostile strings.
fn cases() -> Vec<Case> {
    let mut out = vec![Case {
        field: None,
        value: String::new(),
        kind: Kind::Baseline,
    }];
    for (i, fld) in FIELDS.iter().enumerate() {
        let mut seen = BTreeSet::from([fld.base.to_string()]);
        let mut push = |value: String, kind: Kind, out: &mut Vec<Case>| {
            let new = seen.insert(value.clone());
            if new {
                out.push(Case {
                    field: Some(i),
                    value,
                    kind,
                });
            }
            new
        };
        for v in fld.accept {
            push(v.to_string(), Kind::Must, &mut out);
        }
        for v in fld.known {
            push(v.to_string(), Kind::Known, &mut out);
        }
        let mut rng = Rng::new(SEED ^ fnv(fld.path));
        let mut made = 0;
        while made < RANDOM_PER_FIELD {
            if push(hostile(&mut rng, fld.base), Kind::Random, &mut out) {
                made += 1;
            }
        }
    }
    out
}

/// Puts cases into projects of at most GROUP, one case per slot.
fn pack(pending: Vec<usize>, cases: &[Case]) -> Vec<Vec<usize>> {
    let slot = |c: usize| cases[c].slot().unwrap();
    let mut groups: Vec<Vec<usize>> = Vec::new();
    for c in pending {
        if ALONE.contains(&slot(c)) {
            groups.push(vec![c]);
            continue;
        }
        match groups.iter_mut().find(|g| {
            g.len() < GROUP && !ALONE.contains(&slot(g[0])) && g.iter().all(|o| slot(*o) != slot(c))
        }) {
            Some(g) => g.push(c),
            None => groups.push(vec![c]),
        }
    }
    groups
}

// ---------------------------------------------------------------------------------------
// Running things
// ---------------------------------------------------------------------------------------

/// `f` over `items`, `workers` at a time, results in order.
fn par_map<T: Sync, R: Send>(items: &[T], workers: usize, f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<R>>> = Mutex::new((0..items.len()).map(|_| None).collect());
    std::thread::scope(|s| {
        for _ in 0..workers.max(1) {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    if i >= items.len() {
                        break;
                    }
                    let r = f(&items[i]);
                    results.lock().unwrap()[i] = Some(r);
                }
            });
        }
    });
    results
        .into_inner()
        .unwrap()
        .into_iter()
        .map(Option::unwrap)
        .collect()
}

/// Runs a command with a time limit; stdout and stderr go through files in `scratch`
/// (never into the project folder), or both into stdout in the order written when
/// `merged`. Returns (exit code, -2 after the time limit, -1 on a signal; stdout; stderr).
fn run_limited(
    cmd: &mut Command,
    scratch: &Path,
    limit: Duration,
    merged: bool,
) -> (i32, String, String) {
    let id = format!("{:?}", std::thread::current().id())
        .chars()
        .filter(char::is_ascii_digit)
        .collect::<String>();
    let out_path = scratch.join(format!("out-{id}"));
    let err_path = scratch.join(format!("err-{id}"));
    let out_file = std::fs::File::create(&out_path).unwrap();
    let err_file = if merged {
        out_file.try_clone().unwrap()
    } else {
        std::fs::File::create(&err_path).unwrap()
    };
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(out_file)
        .stderr(err_file)
        .spawn()
        .unwrap_or_else(|e| panic!("running {cmd:?}: {e}"));
    let start = Instant::now();
    let code = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status.code().unwrap_or(-1);
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            break -2;
        }
        std::thread::sleep(Duration::from_millis(3));
    };
    let read =
        |p: &Path| String::from_utf8_lossy(&std::fs::read(p).unwrap_or_default()).into_owned();
    let err = if merged {
        String::new()
    } else {
        read(&err_path)
    };
    (code, read(&out_path), err)
}

/// CPU seconds used by this process and its finished children (Linux), so the cost can
/// be judged apart from the machine's load.
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let fields: Vec<&str> = stat[stat.rfind(')')? + 2..].split(' ').collect();
    let ticks: f64 = fields
        .get(11..15)?
        .iter()
        .map(|f| f.parse::<f64>().unwrap_or(0.0))
        .sum();
    let hz = Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| {
            String::from_utf8_lossy(&o.stdout)
                .trim()
                .parse::<f64>()
                .ok()
        })
        .unwrap_or(100.0);
    Some(ticks / hz)
}

/// Every file below `dir`, by relative path.
fn tree(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        let mut entries: Vec<PathBuf> = entries.map(|e| e.unwrap().path()).collect();
        entries.sort();
        for p in entries {
            let rel = p.strip_prefix(root).unwrap().to_string_lossy().into_owned();
            let meta = std::fs::symlink_metadata(&p).unwrap();
            if meta.is_dir() {
                out.insert(format!("{rel}/"), Vec::new());
                walk(root, &p, out);
            } else {
                out.insert(rel, std::fs::read(&p).unwrap_or_default());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

/// One (field, value, reason) found.
struct Failure {
    field: &'static str,
    value: String,
    kind: Kind,
    reason: String,
}

struct Report(Mutex<Vec<Failure>>);

impl Report {
    fn add(&self, case: &Case, reason: impl Into<String>) {
        let reason = reason.into();
        let mut all = self.0.lock().unwrap();
        if all
            .iter()
            .any(|f| f.field == case.field_path() && f.value == case.value && f.reason == reason)
        {
            return;
        }
        all.push(Failure {
            field: case.field_path(),
            value: case.value.clone(),
            kind: case.kind,
            reason,
        });
    }
}

/// Shortens tool output for the report.
fn brief(text: &str, lines: usize) -> String {
    let mut out: String = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .take(lines)
        .map(str::trim)
        .collect::<Vec<_>>()
        .join(" | ");
    if out.chars().count() > 400 {
        out = out.chars().take(400).collect::<String>() + "…";
    }
    out
}

// ---------------------------------------------------------------------------------------
// YAML read back with every scalar as its text
// ---------------------------------------------------------------------------------------

/// Parses YAML into JSON values in which every scalar is a string holding its text
/// (`1e3`, `yes` and `null` stay text, as a Go string field reads them).
fn yaml_text(text: &str) -> Result<Value, String> {
    use granit_parser::{Event, Parser};
    let mut events = Vec::new();
    for e in Parser::new_from_str(text) {
        let (e, _) = e.map_err(|e| e.to_string())?;
        if !matches!(e, Event::Comment(..)) {
            events.push(e);
        }
    }
    fn node(events: &[Event], i: &mut usize) -> Result<Value, String> {
        let e = events.get(*i).ok_or("unexpected end")?;
        *i += 1;
        match e {
            Event::Scalar(s, ..) => Ok(Value::String(s.to_string())),
            Event::SequenceStart(..) => {
                let mut items = Vec::new();
                while !matches!(events.get(*i), Some(Event::SequenceEnd) | None) {
                    items.push(node(events, i)?);
                }
                *i += 1;
                Ok(Value::Array(items))
            }
            Event::MappingStart(..) => {
                let mut map = serde_json::Map::new();
                while !matches!(events.get(*i), Some(Event::MappingEnd) | None) {
                    let k = match node(events, i)? {
                        Value::String(s) => s,
                        other => other.to_string(),
                    };
                    let v = node(events, i)?;
                    map.insert(k, v);
                }
                *i += 1;
                Ok(Value::Object(map))
            }
            other => Err(format!("unexpected {other:?}")),
        }
    }
    let mut i = 0;
    while i < events.len() {
        if matches!(events[i], Event::DocumentStart(..)) {
            i += 1;
            return node(&events, &mut i);
        }
        i += 1;
    }
    Ok(Value::Null)
}

/// `$$` → `$` in every string and key (docker-compose `config` escapes `$` in its output).
fn unescape_dollars(v: Value) -> Value {
    match v {
        Value::String(s) => Value::String(s.replace("$$", "$")),
        Value::Array(a) => Value::Array(a.into_iter().map(unescape_dollars).collect()),
        Value::Object(o) => Value::Object(
            o.into_iter()
                .map(|(k, v)| (k.replace("$$", "$"), unescape_dollars(v)))
                .collect(),
        ),
        other => other,
    }
}

/// The elements at a dotted path (`*`, `[key=value]`).
fn select<'a>(v: &'a Value, path: &[String]) -> Vec<&'a Value> {
    let Some((seg, rest)) = path.split_first() else {
        return vec![v];
    };
    let children: Vec<&Value> = if seg == "*" {
        match v {
            Value::Array(a) => a.iter().collect(),
            Value::Object(o) => o.values().collect(),
            _ => vec![],
        }
    } else if let Some(filter) = seg.strip_prefix('[').and_then(|s| s.strip_suffix(']')) {
        let (k, op, want) = match filter.split_once('~') {
            Some((k, w)) if !k.contains('=') => (k, '~', w),
            _ => {
                let (k, w) = filter.split_once('=').unwrap();
                (k, '=', w)
            }
        };
        v.as_array()
            .into_iter()
            .flatten()
            .filter(|item| {
                item.get(k).and_then(Value::as_str).is_some_and(|s| {
                    if op == '~' {
                        s.contains(want)
                    } else {
                        s == want
                    }
                })
            })
            .collect()
    } else {
        match v {
            Value::Object(o) => o.get(seg.as_str()).into_iter().collect(),
            Value::Array(a) => seg
                .parse::<usize>()
                .ok()
                .and_then(|i| a.get(i))
                .into_iter()
                .collect(),
            _ => vec![],
        }
    };
    children.into_iter().flat_map(|c| select(c, rest)).collect()
}

// ---------------------------------------------------------------------------------------
// Decoders: what the consumer of a string makes of it
// ---------------------------------------------------------------------------------------

/// Go string literal (strconv.Unquote of a double-quoted string).
fn go_unquote(body: &str) -> Result<String, String> {
    let mut out = String::new();
    let mut chars = body.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        let e = chars.next().ok_or("trailing backslash")?;
        match e {
            'a' => out.push('\u{7}'),
            'b' => out.push('\u{8}'),
            'f' => out.push('\u{c}'),
            'n' => out.push('\n'),
            'r' => out.push('\r'),
            't' => out.push('\t'),
            'v' => out.push('\u{b}'),
            '\\' => out.push('\\'),
            '"' => out.push('"'),
            'x' | 'u' | 'U' => {
                let n = match e {
                    'x' => 2,
                    'u' => 4,
                    _ => 8,
                };
                let hex: String = chars.by_ref().take(n).collect();
                let code =
                    u32::from_str_radix(&hex, 16).map_err(|_| format!("bad escape \\{e}{hex}"))?;
                out.push(char::from_u32(code).ok_or("bad code point")?);
            }
            '0'..='7' => {
                let rest: String = chars.by_ref().take(2).collect();
                let code = u32::from_str_radix(&format!("{e}{rest}"), 8)
                    .map_err(|_| "bad octal escape")?;
                out.push(char::from_u32(code).ok_or("bad code point")?);
            }
            other => return Err(format!("invalid escape \\{other}")),
        }
    }
    Ok(out)
}

/// What Go's text/template prints for `s`: text, and string-literal actions only.
fn go_template(s: &str) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = s;
    while let Some(open) = rest.find("{{") {
        let mut text = &rest[..open];
        let mut action = &rest[open + 2..];
        if let Some(a) = action.strip_prefix("- ") {
            text = text.trim_end();
            action = a;
        }
        out.push_str(text);
        let a = action.trim_start();
        let (lit, after) = if let Some(body) = a.strip_prefix('`') {
            let end = body.find('`').ok_or("unclosed raw string in an action")?;
            (body[..end].to_string(), &body[end + 1..])
        } else if let Some(body) = a.strip_prefix('"') {
            let mut end = None;
            let mut escaped = false;
            for (i, c) in body.char_indices() {
                match c {
                    _ if escaped => escaped = false,
                    '\\' => escaped = true,
                    '"' => {
                        end = Some(i);
                        break;
                    }
                    _ => {}
                }
            }
            let end = end.ok_or("unclosed string in an action")?;
            (go_unquote(&body[..end])?, &body[end + 1..])
        } else {
            let shown: String = a.chars().take(30).collect();
            return Err(format!("the template action `{{{{{shown}` would run"));
        };
        let after = after.trim_start_matches(' ');
        let (trim, after) = match after.strip_prefix("-}}") {
            Some(a) => (true, a),
            None => (
                false,
                after
                    .strip_prefix("}}")
                    .ok_or("an action that is not a literal")?,
            ),
        };
        out.push_str(&lit);
        rest = if trim { after.trim_start() } else { after };
    }
    out.push_str(rest);
    Ok(out)
}

/// An Alertmanager matcher as `name<op>value`, read as Alertmanager 0.25's parser does;
/// an error when 0.28's parser (Go string literal) would read it differently.
fn matcher(s: &str) -> Result<String, String> {
    let s = s.trim();
    let name_end = s
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
        .ok_or("no operator")?;
    let name = &s[..name_end];
    let rest = s[name_end..].trim_start();
    let op = ["=~", "!~", "!=", "="]
        .into_iter()
        .find(|op| rest.starts_with(op))
        .ok_or("no operator")?;
    let raw = rest[op.len()..].trim();
    let quoted = raw.starts_with('"') && raw.ends_with('"') && raw.len() >= 2;
    if !quoted {
        return Err(format!("unquoted matcher value `{raw}`"));
    }
    let body = &raw[1..raw.len() - 1];
    // 0.25 (pkg/labels ParseMatcher): \n, \" and \\ are escapes; any other backslash is literal.
    let mut old = String::new();
    let mut chars = body.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some('n') => old.push('\n'),
                Some('"') => old.push('"'),
                Some('\\') => old.push('\\'),
                Some(o) => {
                    old.push('\\');
                    old.push(o);
                }
                None => old.push('\\'),
            },
            '"' => return Err("unescaped `\"` in a matcher value".into()),
            c => old.push(c),
        }
    }
    match go_unquote(body) {
        Ok(new) if new == old => Ok(format!("{name}{op}{old}")),
        Ok(new) => Err(format!(
            "Alertmanager 0.25 reads {old:?}, 0.28 reads {new:?}"
        )),
        Err(e) => Err(format!(
            "Alertmanager 0.28 cannot read the matcher value: {e}"
        )),
    }
}

/// A CloudFormation Fn::Sub string with `${Name}` shown as `⟨Name⟩`.
fn fn_sub(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find("${") {
        out.push_str(&rest[..i]);
        let after = &rest[i + 2..];
        if let Some(lit) = after.strip_prefix('!') {
            out.push_str("${");
            rest = lit;
        } else if let Some(end) = after.find('}') {
            let _ = write!(out, "⟨{}⟩", &after[..end]);
            rest = &after[end + 1..];
        } else {
            out.push_str("${");
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

/// A GitHub workflow string with `${{ 'literal' }}` expressions read as their literal.
fn gha(s: &str) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find("${{") {
        out.push_str(&rest[..i]);
        let expr = rest[i + 3..].trim_start();
        let body = expr.strip_prefix('\'').ok_or_else(|| {
            format!(
                "GitHub evaluates the expression `{}`",
                &rest[i..].chars().take(40).collect::<String>()
            )
        })?;
        let mut lit = String::new();
        let mut chars = body.char_indices().peekable();
        let mut end = None;
        while let Some((j, c)) = chars.next() {
            if c == '\'' {
                if chars.peek().map(|(_, c)| *c) == Some('\'') {
                    lit.push('\'');
                    chars.next();
                } else {
                    end = Some(j);
                    break;
                }
            } else {
                lit.push(c);
            }
        }
        let end = end.ok_or("unclosed string in an expression")?;
        let after = body[end + 1..].trim_start();
        rest = after
            .strip_prefix("}}")
            .ok_or("an expression that is not a literal")?;
        out.push_str(&lit);
    }
    out.push_str(rest);
    Ok(out)
}

/// A GitHub branch filter that matches exactly one name: that name.
fn glob(s: &str) -> Result<String, String> {
    let mut out = String::new();
    let mut chars = s.chars();
    let mut first = true;
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.push(chars.next().ok_or("trailing backslash")?),
            '*' | '?' | '+' | '[' | ']' => {
                return Err(format!("`{c}` is a pattern character in a branch filter"));
            }
            '!' if first => return Err("a leading `!` negates a branch filter".into()),
            c => out.push(c),
        }
        first = false;
    }
    Ok(out)
}

/// A service `env` value after Compose interpolation with the placeholder `.env`.
fn interpolated(v: &str) -> String {
    let mut out = String::new();
    let mut rest = v;
    while let Some(i) = rest.find("${") {
        out.push_str(&rest[..i]);
        let after = &rest[i + 2..];
        let name_len = after
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(after.len());
        let name = &after[..name_len];
        let tail = &after[name_len..];
        let valid = !name.is_empty() && !name.starts_with(|c: char| c.is_ascii_digit());
        if valid && tail.starts_with('}') {
            out.push_str("ci-placeholder");
            rest = &tail[1..];
        } else if valid && tail.starts_with(":-") && tail.contains('}') {
            out.push_str("ci-placeholder");
            rest = &tail[tail.find('}').unwrap() + 1..];
        } else {
            out.push_str("${");
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

/// `rel` inside `dir`, lexically normalised; None when it leaves `dir`.
fn inside(dir: &Path, rel: &str) -> Option<PathBuf> {
    if rel.starts_with('/') || rel.contains('\0') {
        return None;
    }
    let mut parts: Vec<&str> = Vec::new();
    for p in rel.split('/') {
        match p {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            p => parts.push(p),
        }
    }
    Some(parts.iter().fold(dir.to_path_buf(), |d, p| d.join(p)))
}

// ---------------------------------------------------------------------------------------
// Validators
// ---------------------------------------------------------------------------------------

/// Runs `tool` once over `files` (relative to `root`, each owned by a case), and blames
/// problem lines on the case whose folder the output names last. When the tool fails and
/// names no case, each case is run alone.
fn batch(
    root: &Path,
    scratch: &Path,
    label: &str,
    tool: &Path,
    args: &[&str],
    files: &[(usize, String)],
    is_problem: fn(&str) -> bool,
) -> Vec<(usize, String)> {
    if files.is_empty() {
        return vec![];
    }
    let run = |files: &[(usize, String)]| {
        run_limited(
            Command::new(tool)
                .current_dir(root)
                .args(args)
                .args(files.iter().map(|(_, f)| f)),
            scratch,
            Duration::from_secs(600),
            true,
        )
    };
    let (code, out, err) = run(files);
    let text = format!("{out}{err}");
    let owners: BTreeMap<String, usize> = files
        .iter()
        .map(|(c, f)| (f.split('/').next().unwrap().to_string() + "/", *c))
        .collect();
    let mut found: BTreeMap<usize, Vec<String>> = BTreeMap::new();
    let mut current: Option<usize> = None;
    let mut tail = 0;
    for line in text.lines() {
        if let Some(c) = owners
            .iter()
            .filter(|(dir, _)| line.contains(dir.as_str()))
            .map(|(_, c)| *c)
            .next_back()
        {
            if current != Some(c) {
                tail = 0;
            }
            current = Some(c);
        }
        // A new block (`Checking <file>`, `Unit Testing: <file>`) ends the lines kept
        // after a problem.
        let t = line.trim();
        if t.starts_with("Checking") || t.starts_with("Unit Testing") || t.starts_with("SUCCESS") {
            tail = 0;
        }
        let Some(c) = current else { continue };
        let keep = if is_problem(line) {
            tail = 3;
            true
        } else if tail > 0 && !t.is_empty() {
            tail -= 1;
            true
        } else {
            false
        };
        let lines = found.entry(c).or_default();
        let new = !t.is_empty() && t != "FAILED:" && !lines.iter().any(|l| l == t);
        if keep && (new || lines.is_empty()) {
            lines.push(t.to_string());
        }
    }
    found.retain(|_, lines| !lines.is_empty());
    if code != 0 && found.is_empty() {
        // Nothing attributable: one run per case.
        let by_case: BTreeMap<usize, Vec<(usize, String)>> =
            files.iter().fold(BTreeMap::new(), |mut m, f| {
                m.entry(f.0).or_default().push(f.clone());
                m
            });
        for (c, fs) in by_case {
            let (code, out, err) = run(&fs);
            if code != 0 {
                found.insert(c, vec![format!("{out}{err}")]);
            }
        }
    }
    found
        .into_iter()
        .map(|(c, lines)| (c, format!("{label}: {}", brief(&lines.join("\n"), 6))))
        .collect()
}

/// Runs docker-compose's own `main()` for many projects in one Python interpreter:
/// the same code path as `docker-compose -f … config`, without a process start each.
/// The merged configuration comes back as JSON, read with the YAML library that wrote
/// it (PyYAML, YAML 1.1: U+0085 and U+2028 are line breaks there, not in YAML 1.2).
const DC_DRIVER: &str = r#"
import contextlib, io, json, logging, os, sys
import yaml
from compose.cli.main import main
base_env = {k: v for k, v in os.environ.items() if not k.startswith("COMPOSE_")}
with open(sys.argv[1]) as jobs:
    for line in jobs:
        job = json.loads(line)
        os.chdir(job["dir"])
        os.environ.clear()
        os.environ.update(base_env)
        sys.argv = ["docker-compose"] + job["args"]
        logging.getLogger().handlers.clear()
        out, err, code = io.StringIO(), io.StringIO(), 0
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                main()
            except SystemExit as e:
                code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
            except BaseException as e:
                code = 99
                err.write(repr(e))
        doc = None
        if code == 0:
            try:
                doc = yaml.safe_load(out.getvalue())
            except Exception as e:
                code, doc = 98, None
                err.write("cannot read the config output back: %r" % e)
        print(json.dumps({"code": code, "doc": doc, "err": err.getvalue()}), flush=True)
"#;

/// The Python that runs docker-compose, when it is the Python docker-compose v1.
fn compose_python(dc: &Path) -> Option<PathBuf> {
    let text = std::fs::read_to_string(dc).ok()?;
    let interp = text.lines().next()?.strip_prefix("#!")?.trim();
    if !interp.contains("python") || !text.contains("docker-compose") {
        return None;
    }
    let ok = Command::new(interp)
        .args(["-c", "import compose.cli.main"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .ok()?
        .success();
    ok.then(|| PathBuf::from(interp))
}

/// One `docker-compose config`: exit code, the merged configuration (`$$` read as `$`)
/// and stderr.
struct Composed {
    code: i32,
    doc: Option<Value>,
    err: String,
}

/// `docker-compose -f compose.yaml -f compose.<env>.yaml config` for each job
/// (project folder, environment).
fn compose_configs(dc: &Path, scratch: &Path, jobs: &[(PathBuf, String)]) -> Vec<Composed> {
    let args = |env: &str| {
        vec![
            "-f".to_string(),
            "compose.yaml".to_string(),
            "-f".to_string(),
            format!("compose.{env}.yaml"),
            "config".to_string(),
        ]
    };
    if jobs.is_empty() {
        return vec![];
    }
    if let Some(python) = compose_python(dc) {
        let driver = scratch.join("dc_driver.py");
        std::fs::write(&driver, DC_DRIVER).unwrap();
        let (a, b) = jobs.split_at(jobs.len() / 2);
        let parts = par_map(&[(a, "a"), (b, "b")], 2, |(part, name)| {
            let list = scratch.join(format!("dc-jobs-{name}.jsonl"));
            let mut text = String::new();
            for (dir, env) in *part {
                text.push_str(&serde_json::json!({"dir": dir, "args": args(env)}).to_string());
                text.push('\n');
            }
            std::fs::write(&list, text).unwrap();
            let out = Command::new(&python)
                .arg(&driver)
                .arg(&list)
                .output()
                .unwrap();
            let mut results: Vec<Composed> = String::from_utf8_lossy(&out.stdout)
                .lines()
                .filter_map(|l| serde_json::from_str::<Value>(l).ok())
                .map(|v| Composed {
                    code: v["code"].as_i64().unwrap_or(-1) as i32,
                    doc: (!v["doc"].is_null()).then(|| unescape_dollars(v["doc"].clone())),
                    err: v["err"].as_str().unwrap_or("").to_string(),
                })
                .collect();
            let crash = brief(&String::from_utf8_lossy(&out.stderr), 5);
            while results.len() < part.len() {
                results.push(Composed {
                    code: -1,
                    doc: None,
                    err: format!("the docker-compose driver stopped: {crash}"),
                });
            }
            results
        });
        return parts.into_iter().flatten().collect();
    }
    par_map(jobs, 2, |(dir, env)| {
        let (code, out, err) = run_limited(
            Command::new(dc).current_dir(dir).args(args(env)),
            scratch,
            Duration::from_secs(120),
            false,
        );
        let doc = (code == 0)
            .then(|| yaml_text(&out).ok().map(unescape_dollars))
            .flatten();
        Composed { code, doc, err }
    })
}

/// What the validators need, per project (index into the round's projects).
#[derive(Default)]
struct Work {
    prom_configs: Vec<(usize, String)>,
    prom_tests: Vec<(usize, String)>,
    am_configs: Vec<(usize, String)>,
    route_tests: Vec<usize>,
    compose: Vec<(usize, String)>,
    workflows: Vec<(usize, String)>,
    stacks: Vec<(usize, String)>,
}

/// Placeholder files Compose needs, the way the generated CI workflow and a user make
/// them: `.env` from `.env.example`, every build folder, env file and secret file, from
/// the manifest's values and from compose.yaml. Returns the problems found.
fn placeholders(p: &Project) -> Vec<String> {
    let mut problems = Vec::new();
    let dir = &p.dir;
    let example = std::fs::read_to_string(dir.join(".env.example")).unwrap_or_default();
    let env: String = example
        .lines()
        .filter_map(|l| {
            let name = &l[..l.find('=')?];
            (!name.is_empty()
                && !name.starts_with(|c: char| c.is_ascii_digit())
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
            .then(|| format!("{name}=ci-placeholder\n"))
        })
        .collect();
    std::fs::write(dir.join(".env"), env).unwrap();
    let mut dirs = vec![p.slot_value("build")];
    let mut files = vec![
        (p.slot_value("env_file"), "OBSGEN_PROBE_ENV_FILE=1\n"),
        (p.slot_value("rw_password_file"), "ci-placeholder"),
        (p.slot_value("rw_bearer_file"), "ci-placeholder"),
    ];
    let compose = std::fs::read_to_string(dir.join("compose.yaml")).unwrap_or_default();
    if let Ok(compose) = yaml_text(&compose) {
        for svc in compose["services"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(_, s)| s)
        {
            if let Some(ctx) = svc["build"]["context"].as_str() {
                dirs.push(ctx.to_string());
            }
            for f in svc["env_file"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
            {
                files.push((f.to_string(), "OBSGEN_PROBE_ENV_FILE=1\n"));
            }
        }
        for s in compose["secrets"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(_, s)| s)
        {
            if let Some(f) = s["file"].as_str() {
                files.push((f.to_string(), "ci-placeholder"));
            }
        }
    }
    for d in dirs {
        match inside(dir, &d) {
            Some(path) => {
                if let Err(e) = std::fs::create_dir_all(&path) {
                    problems.push(format!(
                        "cannot create the build folder {d:?} it names: {e}"
                    ));
                }
            }
            None => problems.push(format!(
                "the output names a build folder outside the project: {d:?}"
            )),
        }
    }
    for (f, content) in files {
        match inside(dir, &f) {
            Some(path) if path != *dir => {
                let made = path
                    .parent()
                    .map_or(Ok(()), std::fs::create_dir_all)
                    .and_then(|()| {
                        if path.exists() {
                            Ok(())
                        } else {
                            std::fs::write(&path, content)
                        }
                    });
                if let Err(e) = made {
                    problems.push(format!("cannot create the file {f:?} it names: {e}"));
                }
            }
            _ => problems.push(format!(
                "the output names a file outside the project: {f:?}"
            )),
        }
    }
    problems
}

// ---------------------------------------------------------------------------------------
// The property
// ---------------------------------------------------------------------------------------

struct Tools {
    promtool: PathBuf,
    amtool: PathBuf,
    compose: PathBuf,
    actionlint: PathBuf,
    cfn_lint: PathBuf,
}

fn tools() -> Option<Tools> {
    Some(Tools {
        promtool: require_tool("promtool")?,
        amtool: require_tool("amtool")?,
        compose: require_tool("docker-compose")?,
        actionlint: require_tool("actionlint-files")?,
        cfn_lint: require_tool("cfn-lint")?,
    })
}

/// What became of one project.
enum Outcome {
    /// Exit 2 with an error at the line of some of its cases (those are settled); the
    /// others were not tested.
    Refused { missed: Vec<usize> },
    /// Accepted; every validator and probe has run and its failures are recorded.
    Passed,
    /// Accepted, but a validator (or a placeholder or YAML check) failed: the reasons.
    Failed(Vec<String>),
    /// Another exit code, a timeout, or exit 2 with no error at any case's line.
    Broken(String),
}

struct Run<'a> {
    tools: &'a Tools,
    root: &'a Path,
    scratch: &'a Path,
    cases: &'a [Case],
    report: &'a Report,
    /// The baseline's files; None while the baseline itself runs.
    base_tree: Option<BTreeMap<String, Vec<u8>>>,
    timings: Mutex<BTreeMap<&'static str, Duration>>,
    runs: Mutex<BTreeMap<&'static str, usize>>,
    /// What became of each case (for the report file).
    settled: Mutex<BTreeMap<usize, String>>,
}

impl Run<'_> {
    fn settle(&self, case: usize, what: impl Into<String>) {
        self.settled.lock().unwrap().insert(case, what.into());
    }
    fn time<R>(&self, name: &'static str, f: impl FnOnce() -> R) -> R {
        let start = Instant::now();
        let r = f();
        *self.timings.lock().unwrap().entry(name).or_default() += start.elapsed();
        r
    }
    fn count(&self, name: &'static str, n: usize) {
        *self.runs.lock().unwrap().entry(name).or_default() += n;
    }

    /// obsgen generate on every project, then every validator once over the accepted ones.
    fn round(&self, projects: &[Project]) -> Vec<Outcome> {
        let obsgen = assert_cmd::cargo::cargo_bin("obsgen");
        let generated: Vec<(i32, String)> = self.time("obsgen generate", || {
            par_map(projects, 2, |p| {
                std::fs::create_dir_all(&p.dir).unwrap();
                std::fs::write(p.dir.join("obsgen.toml"), &p.text).unwrap();
                let (code, _, stderr) = run_limited(
                    Command::new(&obsgen)
                        .current_dir(&p.dir)
                        .env_remove("CI")
                        .env_remove("PROMETHEUS_PASSWORD")
                        .env("NO_COLOR", "1")
                        .arg("generate"),
                    self.scratch,
                    Duration::from_secs(60),
                    false,
                );
                (code, stderr)
            })
        });
        self.count("obsgen generate", projects.len());
        let mut outcomes: Vec<Option<Outcome>> = projects
            .iter()
            .zip(&generated)
            .map(|(p, (code, stderr))| self.refusal(p, *code, stderr))
            .collect();

        // What changed against the baseline decides which validators run.
        let mut work = Work::default();
        let mut problems: BTreeMap<usize, Vec<String>> = BTreeMap::new();
        self.time("diff and placeholders", || {
            for (i, p) in projects.iter().enumerate() {
                if outcomes[i].is_some() {
                    continue;
                }
                self.plan(i, p, &mut work, problems.entry(i).or_default());
            }
        });
        let compose_jobs: Vec<(PathBuf, String)> = work
            .compose
            .iter()
            .map(|(i, env)| (projects[*i].dir.clone(), env.clone()))
            .collect();
        let (root, scratch, tools) = (self.root, self.scratch, self.tools);
        let (found, compose_out) = std::thread::scope(|s| {
            let prom = s.spawn(|| {
                let mut v = self.time("promtool check config", || {
                    batch(
                        root,
                        scratch,
                        "promtool check config",
                        &tools.promtool,
                        &["check", "config"],
                        &work.prom_configs,
                        |l| l.contains("FAILED") || l.contains("WARNING"),
                    )
                });
                // promtool test rules runs its files one after another: two halves at once.
                let (a, b) = work.prom_tests.split_at(work.prom_tests.len() / 2);
                let parts = self.time("promtool test rules", || {
                    par_map(&[a, b], 2, |part| {
                        batch(
                            root,
                            scratch,
                            "promtool test rules",
                            &tools.promtool,
                            &["test", "rules"],
                            part,
                            |l| l.contains("FAILED"),
                        )
                    })
                });
                v.extend(parts.into_iter().flatten());
                v
            });
            let am = s.spawn(|| {
                let mut v = self.time("amtool check-config", || {
                    batch(
                        root,
                        scratch,
                        "amtool check-config",
                        &tools.amtool,
                        &["check-config"],
                        &work.am_configs,
                        |l| l.contains("FAILED"),
                    )
                });
                let routes = self.time("routes.test.sh", || {
                    par_map(&work.route_tests, 2, |i| {
                        let script = projects[*i]
                            .dir
                            .join("monitoring/alertmanager/routes.test.sh");
                        let (code, out, err) = run_limited(
                            Command::new("sh")
                                .env("AMTOOL", &tools.amtool)
                                .arg(script)
                                .current_dir(scratch),
                            scratch,
                            Duration::from_secs(120),
                            true,
                        );
                        (code != 0).then(|| {
                            (
                                *i,
                                format!("routes.test.sh: {}", brief(&format!("{err}{out}"), 6)),
                            )
                        })
                    })
                });
                v.extend(routes.into_iter().flatten());
                v
            });
            let lint = s.spawn(|| {
                let mut v = self.time("actionlint", || {
                    batch(
                        root,
                        scratch,
                        "actionlint",
                        &tools.actionlint,
                        &[],
                        &work.workflows,
                        |l| !l.starts_with("actionlint:"),
                    )
                });
                v.extend(self.time("cfn-lint", || {
                    batch(
                        root,
                        scratch,
                        "cfn-lint",
                        &tools.cfn_lint,
                        &["-f", "parseable"],
                        &work.stacks,
                        |_| true,
                    )
                }));
                v
            });
            let compose = self.time("docker-compose config", || {
                compose_configs(&tools.compose, scratch, &compose_jobs)
            });
            let mut found = prom.join().unwrap();
            found.extend(am.join().unwrap());
            found.extend(lint.join().unwrap());
            (found, compose)
        });
        self.count("promtool check config (files)", work.prom_configs.len());
        self.count("promtool test rules (files)", work.prom_tests.len());
        self.count("amtool check-config (files)", work.am_configs.len());
        self.count("routes.test.sh", work.route_tests.len());
        self.count("docker-compose config", work.compose.len());
        self.count("actionlint (files)", work.workflows.len());
        self.count("cfn-lint (files)", work.stacks.len());
        for (i, reason) in found {
            problems.entry(i).or_default().push(reason);
        }
        let mut compose_docs: HashMap<(usize, String), Value> = HashMap::new();
        // One reason per project and message, naming every environment it happened in.
        let mut compose_problems: BTreeMap<(usize, String), Vec<String>> = BTreeMap::new();
        for ((i, env), c) in work.compose.iter().zip(compose_out) {
            let mut problem = |msg: String| {
                compose_problems
                    .entry((*i, msg))
                    .or_default()
                    .push(env.clone())
            };
            if c.code != 0 {
                problem(brief(&c.err, 4));
                continue;
            }
            if let Some(w) = c.err.lines().find(|l| l.contains("variable is not set")) {
                problem(w.trim().to_string());
            }
            match c.doc {
                Some(doc) => {
                    compose_docs.insert((*i, env.clone()), doc);
                }
                None => problem("no configuration output".into()),
            }
        }
        for ((i, msg), envs) in compose_problems {
            problems.entry(i).or_default().push(format!(
                "docker-compose config ({}): {msg}",
                envs.join(", ")
            ));
        }

        // Projects every validator accepted: the values must arrive.
        for (i, p) in projects.iter().enumerate() {
            if outcomes[i].is_some() {
                continue;
            }
            let found = problems.remove(&i).unwrap_or_default();
            if !found.is_empty() {
                // A project of one case: its probes too, for the complete list (those
                // reading an output a validator rejected are skipped).
                if p.cases.len() == 1 {
                    self.time("probes", || self.probes(i, p, &compose_docs, false));
                }
                outcomes[i] = Some(Outcome::Failed(found));
                continue;
            }
            self.time("probes", || self.probes(i, p, &compose_docs, true));
            for c in &p.cases {
                self.settle(*c, "accepted; the validators pass");
            }
            outcomes[i] = Some(Outcome::Passed);
        }
        outcomes.into_iter().map(Option::unwrap).collect()
    }

    /// The outcome of a refused or broken run (None when obsgen accepted the manifest).
    fn refusal(&self, p: &Project, code: i32, stderr: &str) -> Option<Outcome> {
        match code {
            0 => return None,
            2 => {}
            -2 => {
                return Some(Outcome::Broken(
                    "obsgen generate ran for more than 60 s".into(),
                ));
            }
            code => {
                return Some(Outcome::Broken(format!(
                    "exit {code}: {}",
                    brief(stderr, 3)
                )));
            }
        }
        let hit: Vec<usize> = p
            .cases
            .iter()
            .copied()
            .filter(|c| {
                p.lines[c]
                    .iter()
                    .any(|l| stderr.contains(&format!("obsgen.toml:{l}:")))
            })
            .collect();
        if hit.is_empty() {
            return Some(Outcome::Broken(if stderr.contains("obsgen.toml:") {
                format!(
                    "exit 2, but no error at the value's line {:?}: {}",
                    p.lines.values().next(),
                    brief(stderr, 3)
                )
            } else {
                format!("exit 2 without a location: {}", brief(stderr, 3))
            }));
        }
        let written: Vec<String> = tree(&p.dir)
            .into_keys()
            .filter(|f| f != "obsgen.toml")
            .collect();
        for c in &hit {
            let case = &self.cases[*c];
            let line = p.lines[c][0];
            let msg = stderr
                .split("\nerror")
                .find(|e| e.contains(&format!("obsgen.toml:{line}:")))
                .unwrap_or(stderr);
            self.settle(*c, format!("refused: {}", brief(msg, 1)));
            if !written.is_empty() {
                self.report.add(
                    case,
                    format!("refused, but wrote {:?}", &written[..written.len().min(5)]),
                );
            }
            if !stderr.contains("help:") {
                self.report.add(
                    case,
                    format!("exit 2 without a help line: {}", brief(stderr, 3)),
                );
            }
            if matches!(case.kind, Kind::Must | Kind::Baseline) {
                self.report.add(
                    case,
                    format!("must-accept value refused: {}", brief(msg, 1)),
                );
            }
        }
        let missed = p
            .cases
            .iter()
            .copied()
            .filter(|c| !hit.contains(c))
            .collect();
        Some(Outcome::Refused { missed })
    }

    /// Decides which validators an accepted project needs; writes its placeholders and
    /// checks that every changed YAML/JSON file parses.
    fn plan(&self, i: usize, p: &Project, work: &mut Work, problems: &mut Vec<String>) {
        let mut t = tree(&p.dir);
        t.retain(|k, _| !k.ends_with('/'));
        let changed: BTreeSet<String> = match &self.base_tree {
            None => t.keys().cloned().collect(),
            Some(base) => t
                .iter()
                .filter(|(k, v)| base.get(*k) != Some(*v))
                .map(|(k, _)| k.clone())
                .chain(base.keys().filter(|k| !t.contains_key(*k)).cloned())
                .filter(|k| k != "obsgen.toml" && k != "obsgen.lock")
                .collect(),
        };
        let rel = |f: &str| format!("{}/{f}", p.name());
        let files: Vec<&String> = t.keys().collect();
        if changed
            .iter()
            .any(|f| f.starts_with("monitoring/prometheus/"))
        {
            for f in files
                .iter()
                .filter(|f| f.starts_with("monitoring/prometheus/prometheus."))
            {
                work.prom_configs.push((i, rel(f)));
            }
        }
        for f in files
            .iter()
            .filter(|f| f.starts_with("monitoring/prometheus/tests/"))
        {
            let rules = f.replace("/tests/", "/rules/").replace(".test.yml", ".yml");
            if changed.contains(*f) || changed.contains(&rules) {
                work.prom_tests.push((i, rel(f)));
            }
        }
        if changed
            .iter()
            .any(|f| f.starts_with("monitoring/alertmanager/alertmanager."))
        {
            for f in files
                .iter()
                .filter(|f| f.starts_with("monitoring/alertmanager/alertmanager."))
            {
                work.am_configs.push((i, rel(f)));
            }
        }
        if changed.contains("monitoring/alertmanager/routes.test.sh") {
            work.route_tests.push(i);
        }
        // Compose: every environment whose overlay changed; production also when the base
        // file or .env.example changed (the base is the same under every overlay); and
        // every environment a probe of the project's cases reads.
        let base_changed = changed.contains("compose.yaml") || changed.contains(".env.example");
        let probed: BTreeSet<&str> = p
            .cases
            .iter()
            .filter_map(|c| self.cases[*c].field)
            .flat_map(|f| FIELDS[f].find.iter())
            .filter_map(|pr| pr.doc.strip_prefix("compose:"))
            .collect();
        let envs: Vec<String> = files
            .iter()
            .filter(|f| f.starts_with("compose.") && f.as_str() != "compose.yaml")
            .map(|f| {
                f.trim_start_matches("compose.")
                    .trim_end_matches(".yaml")
                    .to_string()
            })
            .filter(|env| {
                changed.contains(&format!("compose.{env}.yaml"))
                    || (base_changed && env == "production")
                    || probed.contains(env.as_str())
                    || self.base_tree.is_none()
            })
            .collect();
        if !envs.is_empty() {
            problems.extend(placeholders(p));
            work.compose.extend(envs.into_iter().map(|env| (i, env)));
        }
        for f in changed
            .iter()
            .filter(|f| f.starts_with(".github/workflows/") && t.contains_key(*f))
        {
            work.workflows.push((i, rel(f)));
        }
        let stack = "deploy/aws/cloudformation.yaml";
        if changed.contains(stack) && t.contains_key(stack) {
            work.stacks.push((i, rel(stack)));
        }
        for f in changed.iter().filter(|f| t.contains_key(*f)) {
            let text = String::from_utf8_lossy(&t[f]);
            let bad = if f.ends_with(".yml") || f.ends_with(".yaml") {
                yaml_text(&text).err()
            } else if f.ends_with(".json") {
                serde_json::from_str::<Value>(&text)
                    .err()
                    .map(|e| e.to_string())
            } else {
                None
            };
            if let Some(e) = bad {
                problems.push(format!("{f} does not parse: {}", brief(&e, 2)));
            }
        }
    }

    /// Every probe of every case of an accepted project (all rows for the baseline).
    fn probes(
        &self,
        i: usize,
        p: &Project,
        compose: &HashMap<(usize, String), Value>,
        valid: bool,
    ) {
        for c in &p.cases {
            let case = &self.cases[*c];
            let rows: Vec<(usize, &str)> = match case.field {
                Some(f) => vec![(f, case.value.as_str())],
                None => FIELDS
                    .iter()
                    .enumerate()
                    .map(|(f, row)| (f, row.base))
                    .collect(),
            };
            for (f, v) in rows {
                for probe in FIELDS[f].find {
                    let composed = probe
                        .doc
                        .strip_prefix("compose:")
                        .is_none_or(|env| compose.contains_key(&(i, env.to_string())));
                    if !valid && !composed {
                        continue;
                    }
                    if let Err(e) = check_probe(p, i, probe, v, compose, self.scratch) {
                        match case.field {
                            Some(_) => self.report.add(case, e),
                            None => self.report.add(case, format!("{}: {e}", FIELDS[f].path)),
                        }
                    }
                }
            }
        }
    }
}

#[test]
fn hostile_text_is_rejected_with_a_location_or_arrives_unchanged() {
    let Some(tools) = tools() else {
        return;
    };
    let started = Instant::now();
    let cpu_at_start = cpu_seconds();
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().canonicalize().unwrap();
    let scratch = root.join("scratch");
    std::fs::create_dir_all(&scratch).unwrap();
    let cases = cases();
    let report = Report(Mutex::new(Vec::new()));
    let mut run = Run {
        tools: &tools,
        root: &root,
        scratch: &scratch,
        cases: &cases,
        report: &report,
        base_tree: None,
        timings: Mutex::new(BTreeMap::new()),
        runs: Mutex::new(BTreeMap::new()),
        settled: Mutex::new(BTreeMap::new()),
    };
    let mut made = 0;
    let mut project = |ids: Vec<usize>| {
        made += 1;
        Project::new(root.join(format!("p{made:04}")), ids, &cases)
    };

    // The baseline: accepted, every validator and every probe passes.
    let baseline = project(vec![0]);
    match run.round(std::slice::from_ref(&baseline)).remove(0) {
        Outcome::Passed => {}
        Outcome::Failed(reasons) => reasons.into_iter().for_each(|r| report.add(&cases[0], r)),
        Outcome::Refused { .. } | Outcome::Broken(_) => {
            panic!(
                "the baseline manifest is refused (a bug in this test's table):\n{}",
                baseline.text
            )
        }
    }
    let mut base_tree = tree(&baseline.dir);
    base_tree.retain(|k, _| !k.ends_with('/'));
    run.base_tree = Some(base_tree);

    // The cases, in rounds: values untested because another value of their project was
    // refused go back to the pool; a project a validator rejects is split.
    let mut pending: Vec<usize> = (1..cases.len()).collect();
    let mut queue: Vec<Vec<usize>> = Vec::new();
    let mut rounds = 0;
    while !pending.is_empty() || !queue.is_empty() {
        rounds += 1;
        let mut groups = std::mem::take(&mut queue);
        groups.extend(pack(std::mem::take(&mut pending), &cases));
        let projects: Vec<Project> = groups.into_iter().map(&mut project).collect();
        for (p, outcome) in projects.iter().zip(run.round(&projects)) {
            match outcome {
                Outcome::Passed => {}
                Outcome::Refused { missed } => pending.extend(missed),
                Outcome::Failed(reasons) if p.cases.len() == 1 => {
                    run.settle(p.cases[0], "accepted, output rejected");
                    reasons
                        .into_iter()
                        .for_each(|r| report.add(&cases[p.cases[0]], r))
                }
                Outcome::Broken(reason) if p.cases.len() == 1 => {
                    run.settle(p.cases[0], format!("broken: {}", brief(&reason, 1)));
                    report.add(&cases[p.cases[0]], reason)
                }
                Outcome::Failed(_) | Outcome::Broken(_) => {
                    if p.cases.len() <= 3 {
                        queue.extend(p.cases.iter().map(|c| vec![*c]));
                    } else {
                        let (a, b) = p.cases.split_at(p.cases.len() / 2);
                        queue.extend([a.to_vec(), b.to_vec()]);
                    }
                }
            }
            let _ = std::fs::remove_dir_all(&p.dir);
        }
    }

    // ---- report
    let (timings, runs) = (
        run.timings.into_inner().unwrap(),
        run.runs.into_inner().unwrap(),
    );
    let settled = run.settled.into_inner().unwrap();
    let failures = report.0.into_inner().unwrap();
    let total = started.elapsed();
    let cpu = cpu_seconds()
        .zip(cpu_at_start)
        .map(|(end, start)| end - start);
    let mut text = String::new();
    let _ = writeln!(
        text,
        "hostile-text property: {} cases over {} fields, {made} projects in {rounds} rounds, {total:.1?} wall, {} CPU",
        cases.len() - 1,
        FIELDS.len(),
        cpu.map_or("?".into(), |c| format!("{c:.0} s")),
    );
    for (name, d) in &timings {
        let _ = writeln!(text, "  {name:<24} {d:.1?}");
    }
    for (name, n) in &runs {
        let _ = writeln!(text, "  {name:<32} {n}");
    }
    eprintln!("{text}");
    let mut by_field: BTreeMap<&str, Vec<&Failure>> = BTreeMap::new();
    for fl in &failures {
        by_field.entry(fl.field).or_default().push(fl);
    }
    for (field, list) in &by_field {
        let ctx = FIELDS
            .iter()
            .find(|f| f.path == *field)
            .map_or("", |f| f.ctx);
        let _ = writeln!(text, "\n{field}  ({ctx})");
        for fl in list {
            let _ = writeln!(text, "  [{:?}] {:?}: {}", fl.kind, fl.value, fl.reason);
        }
    }
    // OBSGEN_HOSTILE_REPORT=<file>: the report, and what became of every value.
    if let Ok(path) = std::env::var("OBSGEN_HOSTILE_REPORT") {
        let mut all = text.clone();
        let _ = writeln!(all, "\n---- every value");
        for (c, case) in cases.iter().enumerate().skip(1) {
            let what = settled.get(&c).map_or("?", String::as_str);
            let _ = writeln!(
                all,
                "{}  [{:?}] {:?}: {what}",
                case.field_path(),
                case.kind,
                case.value
            );
        }
        std::fs::write(path, all).unwrap();
    }
    assert!(
        failures.is_empty(),
        "{} failures in {} fields:\n{text}",
        failures.len(),
        by_field.len()
    );
    // The budget: 5 minutes on 2 cores, judged by CPU time (wall time depends on the load).
    if let Some(cpu) = cpu {
        assert!(
            cpu < 600.0,
            "{cpu:.0} CPU seconds: over the budget of 5 minutes on 2 cores"
        );
    }
}

/// Checks one probe of one value in one accepted project's output.
fn check_probe(
    p: &Project,
    i: usize,
    probe: &Probe,
    v: &str,
    compose: &HashMap<(usize, String), Value>,
    scratch: &Path,
) -> Result<(), String> {
    let dir = p.dir.to_string_lossy().into_owned();
    let fill = |s: &str| {
        s.replace("{v}", v)
            .replace("{lower}", &v.to_ascii_lowercase())
            .replace("{dir}", &dir)
    };
    let (kind, name) = probe.doc.split_once(':').unwrap();
    let name = fill(name);
    let where_ = format!("{kind}:{name} {}", probe.path);
    let want = match probe.how {
        Interp => interpolated(v),
        Path => inside(&p.dir, v)
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_else(|| format!("(outside the project: {v})")),
        FnSub => fn_sub(&probe.want.replace("{v}", "")) + v,
        _ => fill(probe.want),
    };
    if kind == "compose" && want.contains('\0') {
        // Compose hands these to execve, the environment or the file system.
        return Err("accepted a NUL, which no process argument, variable or path can hold".into());
    }
    let doc: Value = match kind {
        "compose" => compose
            .get(&(i, name.clone()))
            .cloned()
            .ok_or_else(|| format!("{where_}: no docker-compose config output"))?,
        "file" | "text" => {
            let text =
                std::fs::read_to_string(p.dir.join(&name)).map_err(|e| format!("{where_}: {e}"))?;
            if kind == "text" {
                return if text.contains(&want) {
                    Ok(())
                } else {
                    Err(format!("value changed: {name} does not contain {want:?}"))
                };
            }
            yaml_text(&text).map_err(|e| format!("{where_}: {}", brief(&e, 1)))?
        }
        other => panic!("unknown document kind {other}"),
    };
    let segs: Vec<String> = probe.path.split('.').map(fill).collect();
    if probe.how == Shell {
        let steps = select(&doc, &segs);
        if steps.is_empty() {
            return Err(format!("value lost: no step at {where_}"));
        }
        let mut read = Vec::new();
        for step in steps {
            match run_step(step, &want, scratch) {
                Ok(()) => return Ok(()),
                Err(e) => read.push(e),
            }
        }
        return Err(format!("{where_}: {}", read.join("; ")));
    }
    let found: Vec<String> = select(&doc, &segs)
        .into_iter()
        .map(|x| match x {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        })
        .collect();
    if found.is_empty() {
        return Err(format!("value lost: nothing at {where_}"));
    }
    let mut read = Vec::new();
    for text in &found {
        let decoded = match probe.how {
            Eq | Interp | Path | Contains | Shell => Ok(text.clone()),
            Tmpl => go_template(text),
            Matcher => matcher(text),
            FnSub => Ok(fn_sub(text)),
            Gha => gha(text),
            Glob => glob(text),
        };
        match decoded {
            Ok(d) if d == want => return Ok(()),
            Ok(d) => read.push(d),
            Err(e) => read.push(format!("<{e}> in {text:?}")),
        }
    }
    read.sort();
    read.dedup();
    read.truncate(4);
    Err(format!(
        "value changed at {where_}: want {want:?}, found {read:?}"
    ))
}

/// Runs one workflow step as GitHub would (see [`How::Shell`]) and checks what `want`
/// names.
fn run_step(step: &Value, want: &str, scratch: &Path) -> Result<(), String> {
    let script = step["run"].as_str().ok_or("the step has no `run`")?;
    if script.contains("${{") {
        return Err(format!(
            "GitHub evaluates `${{{{` in the script: {}",
            brief(script, 2)
        ));
    }
    let (channel, expected) = want.split_once('=').unwrap();
    let stubs = scratch.join("stubs");
    std::fs::create_dir_all(&stubs).unwrap();
    for (name, body) in [
        (
            "curl",
            "for a; do last=$a; done\nprintf '%s' \"$last\" > \"$STUB_LOG\"\n",
        ),
        ("aws", ":\n"),
        ("docker", ":\n"),
    ] {
        let path = stubs.join(name);
        if !path.exists() {
            std::fs::write(&path, format!("#!/bin/sh\n{body}")).unwrap();
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
    }
    let work = tempfile::tempdir_in(scratch).unwrap();
    let out = tempfile::tempdir_in(scratch).unwrap();
    let (log, output) = (out.path().join("log"), out.path().join("output"));
    std::fs::write(&output, "").unwrap();
    let mut cmd = Command::new("bash");
    cmd.args(["--noprofile", "--norc", "-eo", "pipefail", "-c", script])
        .current_dir(work.path())
        .env_clear()
        .env("PATH", format!("{}:/usr/bin:/bin", stubs.display()))
        .env("HOME", work.path())
        .env("STUB_LOG", &log)
        .env("GITHUB_OUTPUT", &output);
    for (k, val) in step["env"].as_object().into_iter().flatten() {
        let val = val.as_str().unwrap_or("");
        // A literal expression is its text; any other expression a stub value.
        let val = gha(val).unwrap_or_else(|_| {
            let mut val = val.to_string();
            while let Some(start) = val.find("${{") {
                let end = val[start..].find("}}").map_or(val.len(), |e| start + e + 2);
                val.replace_range(start..end, "stub");
            }
            val
        });
        cmd.env(k, val);
    }
    let (code, stdout, _) = run_limited(&mut cmd, scratch, Duration::from_secs(20), true);
    let created: Vec<String> = tree(work.path()).into_keys().collect();
    if !created.is_empty() {
        return Err(format!(
            "the step created {created:?}: {}",
            brief(&stdout, 2)
        ));
    }
    if code != 0 {
        return Err(format!(
            "the step failed (exit {code}): {}",
            brief(&stdout, 2)
        ));
    }
    let got = match channel {
        "output" => std::fs::read_to_string(&output)
            .unwrap_or_default()
            .trim_end_matches('\n')
            .to_string(),
        "curl" => std::fs::read_to_string(&log).unwrap_or_default(),
        other => panic!("unknown channel {other}"),
    };
    if got == expected {
        Ok(())
    } else {
        Err(format!(
            "value changed: want {channel} {expected:?}, the step gave {got:?}"
        ))
    }
}

// ---------------------------------------------------------------------------------------
// The table stays complete
// ---------------------------------------------------------------------------------------

/// Paths of the free-text strings of a JSON schema (no `enum`/`const`), in the table's
/// notation.
fn schema_strings(schema: &Value) -> BTreeSet<String> {
    fn walk(
        node: &Value,
        defs: &Value,
        path: &str,
        seen: &mut Vec<String>,
        out: &mut BTreeSet<String>,
    ) {
        if let Some(r) = node.get("$ref").and_then(Value::as_str) {
            let name = r.rsplit('/').next().unwrap().to_string();
            if seen.contains(&name) {
                return;
            }
            seen.push(name.clone());
            walk(&defs[&name], defs, path, seen, out);
            seen.pop();
            return;
        }
        for k in ["anyOf", "oneOf", "allOf"] {
            for n in node.get(k).and_then(Value::as_array).into_iter().flatten() {
                walk(n, defs, path, seen, out);
            }
        }
        let types: Vec<&str> = match node.get("type") {
            Some(Value::String(t)) => vec![t.as_str()],
            Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).collect(),
            _ => vec![],
        };
        let join = |k: &str| {
            if path.is_empty() {
                k.to_string()
            } else {
                format!("{path}.{k}")
            }
        };
        if types.contains(&"string") && node.get("enum").is_none() && node.get("const").is_none() {
            out.insert(path.to_string());
        }
        if types.contains(&"object") {
            for (k, v) in node
                .get("properties")
                .and_then(Value::as_object)
                .into_iter()
                .flatten()
            {
                walk(v, defs, &join(k), seen, out);
            }
            if let Some(ap) = node.get("additionalProperties").filter(|a| a.is_object()) {
                out.insert(join("<key>"));
                walk(ap, defs, &join("*"), seen, out);
            }
        }
        if types.contains(&"array")
            && let Some(items) = node.get("items")
        {
            walk(items, defs, &format!("{path}[]"), seen, out);
        }
    }
    let mut out = BTreeSet::new();
    walk(schema, &schema["$defs"], "", &mut Vec::new(), &mut out);
    out
}

#[test]
fn every_free_text_field_of_the_schema_is_in_the_table() {
    let out = assert_cmd::Command::cargo_bin("obsgen")
        .unwrap()
        .arg("schema")
        .output()
        .unwrap();
    assert!(out.status.success());
    let schema: Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut in_schema = schema_strings(&schema);
    // Not hostile-tested, by design: a custom alert's test compares its expected labels
    // with what the rule really returns, so any value but the true one fails the user's
    // own promtool test (that is the test working); obsgen checks the keys are label
    // names and writes the values through the YAML escaping every scalar takes.
    for exempt in [
        "alerts.custom[].test.expect[].*",
        "alerts.custom[].test.expect[].<key>",
    ] {
        in_schema.remove(exempt);
    }
    assert!(
        in_schema.len() > 80,
        "the schema walk found only {in_schema:?}"
    );
    let in_table: BTreeSet<String> = FIELDS.iter().map(|f| f.path.to_string()).collect();
    let missing: Vec<&String> = in_schema.difference(&in_table).collect();
    let stale: Vec<&String> = in_table.difference(&in_schema).collect();
    assert!(
        missing.is_empty() && stale.is_empty(),
        "the hostile-text table (tests/integration/hostile.rs FIELDS) is out of date:\n  not in the table: {missing:?}\n  not in the schema: {stale:?}"
    );
    // Every slot of BASE has a row, every row a slot.
    let slots: BTreeSet<&str> = BASE.split('@').skip(1).step_by(2).collect();
    let rows: BTreeSet<&str> = FIELDS.iter().map(|f| f.slot).collect();
    assert_eq!(slots, rows, "slots of BASE and rows of FIELDS differ");
    for line in BASE.lines() {
        assert!(
            line.matches('@').count() <= 2,
            "one slot per line of BASE: {line}"
        );
    }
}

#[test]
fn the_decoders_read_what_their_consumers_read() {
    assert_eq!(go_template("a {{ \"{{\" }} b").unwrap(), "a {{ b");
    assert_eq!(go_template("x {{`}}`}}").unwrap(), "x }}");
    assert!(go_template("{{ $labels.job }}").is_err());
    assert_eq!(go_template("}} and $x").unwrap(), "}} and $x");
    assert_eq!(matcher("team=\"a\\\"b\"").unwrap(), "team=a\"b");
    assert_eq!(matcher("service=~\"api|web\"").unwrap(), "service=~api|web");
    assert!(
        matcher("a=\"x\\q\"").is_err(),
        "0.25 and 0.28 disagree on \\q"
    );
    assert_eq!(fn_sub("http://${Ip}/a${!b}"), "http://⟨Ip⟩/a${b}");
    assert_eq!(gha("a${{ '${{' }}b").unwrap(), "a${{b");
    assert!(gha("${{ github.token }}").is_err());
    assert!(glob("!main").is_err() && glob("a*").is_err());
    assert_eq!(glob("feat\\*x").unwrap(), "feat*x");
    assert_eq!(
        interpolated("${A}-${B:-x}-$C-$$-${"),
        "ci-placeholder-ci-placeholder-$C-$$-${"
    );
    let (text, lines) = manifest(&BTreeMap::from([("env_name", "q\"a".to_string())]));
    assert_eq!(lines["env_name"].len(), 3, "{text}");
    assert!(text.contains("[environment.\"q\\\"a\"]"), "{text}");
    assert!(
        text.contains("[kubernetes.environment.\"q\\\"a\"]"),
        "{text}"
    );
    assert_eq!(
        yaml_text("a: [1e3, yes, 'x']\nb: {c: null}\n").unwrap(),
        serde_json::json!({"a": ["1e3", "yes", "x"], "b": {"c": "null"}})
    );
}

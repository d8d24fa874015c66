//! AWS deployment (`[deploy.aws]`): a CloudFormation stack for one EC2 host running the
//! production (or staging) Compose stack, the script that writes `.env` and the secret
//! files from SSM Parameter Store, and a deployment guide written for this manifest.
//!
//! Decisions, all made here:
//! - **Access** goes over SSM (Session Manager, Run Command): the security group opens
//!   exactly the ports the environment publishes on an address that is not loopback
//!   (the production environment's published ports in the stack), and no SSH port. Monitoring UIs stay on the
//!   host's loopback; reach them with SSM port forwarding.
//! - **Sizing** ([`Sizing`]): memory ≥ the sum of the production memory limits of the app
//!   replicas plus a stated allowance for every container without limits (databases,
//!   monitoring, exporters) and the OS; vCPUs ≥ half the sum of the CPU limits and
//!   allowances (limits are ceilings that are rarely all reached at once). The smallest
//!   instance of [`INSTANCES`] that fits is recommended; the manifest's
//!   `instance_type` wins when set.
//! - **Secrets** live in SSM Parameter Store under `/<project>/<environment>/`
//!   (SecureString); `deploy/aws/secrets.sh` writes `.env` and `secrets/*` from them on the
//!   host, at boot (user data) and on every deploy.
//! - **Quoting** ([`crate::quote`]): every value the secrets script and the user data
//!   pass to a shell is a single-quoted word; manifest text in an `Fn::Sub` string (a
//!   health path in the outputs) has its `${` written `${!`; the repository URL, which
//!   `Fn::Sub` pastes into the user data, is held to URL characters by `AllowedPattern`.

use serde::Serialize;

use crate::manifest::Manifest;
use crate::model::Artifact;
use crate::model::{Model, Role};
use crate::quote::{ShellWord, cfn_sub, sh};

/// Instance types obsgen sizes among: (type, vCPUs, memory GiB, USD per hour on demand,
/// Linux, us-east-1 list price).
pub const INSTANCES: &[(&str, u32, u32, f64)] = &[
    ("t3.small", 2, 2, 0.0208),
    ("t3.medium", 2, 4, 0.0416),
    ("t3.large", 2, 8, 0.0832),
    ("t3.xlarge", 4, 16, 0.1664),
    ("t3.2xlarge", 8, 32, 0.3328),
    ("m6i.4xlarge", 16, 64, 0.768),
    ("m6i.8xlarge", 32, 128, 1.536),
];
/// Hours per month used in cost estimates.
const HOURS: f64 = 730.0;
/// gp3 storage, USD per GB-month (us-east-1).
const GP3: f64 = 0.08;
/// A public IPv4 address (the Elastic IP), USD per hour.
const IPV4: f64 = 0.005;

#[derive(Debug, Clone, Serialize)]
pub struct Aws {
    pub region: String,
    /// The instance type the stack uses (the manifest's, else [`Sizing::recommended`]).
    pub instance_type: String,
    /// `x86_64` or `arm64` (Graviton types), for the AMI.
    pub arch: String,
    /// SSM public parameter of the Amazon Linux 2023 AMI for `arch`.
    pub ami_parameter: String,
    pub domain: Option<String>,
    /// Environments the stack can run (`staging` when the manifest has it, `production`).
    pub environments: Vec<String>,
    /// Project folder on the host.
    pub host_dir: String,
    /// The region as a shell word (the secrets script).
    pub sh_region: ShellWord,
    /// `/<project>/` as a shell word: the SSM parameter prefix before the environment.
    pub sh_prefix: ShellWord,
    pub sizing: Sizing,
    /// Root volume (GiB): 20 for the OS, images and logs, plus Prometheus' retention size,
    /// plus 10 per database.
    pub volume_gb: u32,
    pub volume_arithmetic: String,
    /// Security-group ingress: exactly the non-loopback published ports of production.
    pub ingress: Vec<Ingress>,
    /// Monitoring UIs on the host's loopback (reach them over SSM port forwarding).
    pub loopback: Vec<Ingress>,
    /// Outputs: one URL per public service.
    pub urls: Vec<Url>,
    /// The EC2 user data (inside `Fn::Sub`: `${RepositoryUrl}`, `${Environment}`).
    pub user_data: Vec<String>,
    /// SSM parameters the host reads.
    pub parameters: Vec<Parameter>,
    /// Named volumes to back up, as Docker names them (`<project>_<volume>`).
    pub volumes: Vec<String>,
    pub costs: Vec<Cost>,
    pub cost_total: String,
    pub compose_plugin: String,
    pub diagram: Vec<String>,
    /// Every file of the generated output the guide names (checked by a test).
    pub files: Vec<String>,
    /// Troubleshooting entries (service, symptom, what to run).
    pub troubleshooting: Vec<Trouble>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Sizing {
    /// One line per item: what, count, CPUs, MiB, where the figure comes from.
    pub rows: Vec<SizeRow>,
    pub cpus: f64,
    pub memory_mib: u64,
    /// vCPUs needed: ceil(cpus / 2), at least 2.
    pub vcpus_needed: u32,
    pub recommended: String,
    /// Set when the manifest's type is smaller than the recommendation.
    pub warning: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SizeRow {
    pub what: String,
    pub count: u32,
    pub cpus: f64,
    pub memory_mib: u64,
    pub source: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Ingress {
    pub port: u16,
    pub cidr: String,
    pub service: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Url {
    /// CloudFormation output name (`GatewayUrl`).
    pub output: String,
    pub service: String,
    pub port: u16,
    pub path: String,
    /// The URL as an `Fn::Sub` string: the Elastic IP substituted, the path literal.
    pub sub: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Parameter {
    /// Name below `/<project>/<environment>/` (`GRAFANA_ADMIN_PASSWORD`, `secrets/x`).
    pub name: String,
    /// `.env` variable it becomes, or none for a secret file.
    pub var: Option<String>,
    /// Secret file it becomes (`secrets/slack_webhook_url`).
    pub file: Option<String>,
    pub secret: bool,
    /// Used when the parameter does not exist (non-secret settings only).
    pub default: Option<String>,
    pub description: String,
    /// `name`, `var`, `file` and `default` as shell words (the secrets script).
    pub sh: ParameterWords,
}

/// A parameter's fields as shell words.
#[derive(Debug, Clone, Serialize)]
pub struct ParameterWords {
    pub name: ShellWord,
    pub var: Option<ShellWord>,
    pub file: Option<ShellWord>,
    pub default: Option<ShellWord>,
}

impl Parameter {
    fn new(
        name: String,
        var: Option<String>,
        file: Option<String>,
        secret: bool,
        default: Option<String>,
        description: String,
    ) -> Parameter {
        let sh = ParameterWords {
            name: sh(&name),
            var: var.as_deref().map(sh),
            file: file.as_deref().map(sh),
            default: default.as_deref().map(sh),
        };
        Parameter {
            name,
            var,
            file,
            secret,
            default,
            description,
            sh,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Cost {
    pub item: String,
    pub monthly: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Trouble {
    pub service: String,
    pub symptom: String,
    pub check: String,
}

/// Allowance (CPUs, MiB) of a container the stack runs without limits.
fn allowance(model: &Model, name: &str, role: Role) -> (f64, u64, String) {
    match role {
        Role::Database => {
            let kind = model
                .databases
                .iter()
                .find(|d| d.name == name)
                .map_or("", |d| d.kind.as_str());
            match kind {
                "redis" => (0.25, 256, "allowance for redis".into()),
                "elasticsearch" => (1.0, 1536, "allowance: 512 MiB heap + off-heap".into()),
                k => (1.0, 1024, format!("allowance for {k}")),
            }
        }
        Role::Exporter => (0.1, 128, "allowance per exporter".into()),
        _ if name == model.prometheus.name => (0.5, 1024, "allowance for Prometheus".into()),
        _ if name == crate::components::logs::ELASTICSEARCH => {
            (1.0, 2048, "allowance: 1 GiB heap + off-heap".into())
        }
        _ if matches!(
            name,
            "kibana" | "loki" | "tempo" | "jaeger" | "glitchtip" | "glitchtip-worker"
        ) =>
        {
            (0.5, 1024, format!("allowance for {name}"))
        }
        _ => (0.25, 256, format!("allowance for {name}")),
    }
}

fn mib(memory: &str) -> u64 {
    crate::units::parse_memory(memory).unwrap_or(0) / (1024 * 1024)
}

fn sizing(model: &Model, manifest_type: Option<&str>) -> Sizing {
    let prod = model
        .environments
        .iter()
        .find(|e| e.name == "production")
        .or(model.environments.last());
    let mut rows: Vec<SizeRow> = Vec::new();
    for c in &model.compose {
        let limits = prod
            .and_then(|e| e.services.iter().find(|s| s.name == c.name))
            .and_then(|s| s.limits.clone());
        let (cpus, memory, source) = match limits {
            Some(l) => (
                l.cpus.parse().unwrap_or(1.0),
                mib(&l.memory),
                format!("production limit ({} CPUs, {})", l.cpus, l.memory),
            ),
            None => allowance(model, &c.name, c.role),
        };
        // Replicas share one row.
        let base = model
            .services
            .iter()
            .find(|s| s.replicas.contains(&c.name))
            .map_or(c.name.clone(), |s| s.name.clone());
        if let Some(r) = rows.iter_mut().find(|r| r.what == base) {
            r.count += 1;
        } else {
            rows.push(SizeRow {
                what: base,
                count: 1,
                cpus,
                memory_mib: memory,
                source,
            });
        }
    }
    rows.push(SizeRow {
        what: "OS, Docker, page cache".into(),
        count: 1,
        cpus: 0.5,
        memory_mib: 512,
        source: "allowance".into(),
    });
    let cpus: f64 = rows.iter().map(|r| r.cpus * r.count as f64).sum();
    let cpus = (cpus * 100.0).round() / 100.0;
    let memory_mib: u64 = rows.iter().map(|r| r.memory_mib * r.count as u64).sum();
    let vcpus_needed = ((cpus / 2.0).ceil() as u32).max(2);
    let fits = |(_, v, g, _): &&(&str, u32, u32, f64)| {
        *v >= vcpus_needed && u64::from(*g) * 1024 >= memory_mib
    };
    let recommended = INSTANCES
        .iter()
        .find(fits)
        .unwrap_or(INSTANCES.last().expect("table"))
        .0
        .to_string();
    let warning = manifest_type.and_then(|t| {
        let chosen = INSTANCES.iter().position(|i| i.0 == t)?;
        let rec = INSTANCES.iter().position(|i| i.0 == recommended)?;
        (chosen < rec).then(|| {
            format!("`deploy.aws.instance_type = \"{t}\"` is smaller than the {recommended} this sizing asks for: expect memory pressure when every limit is reached")
        })
    });
    Sizing {
        rows,
        cpus,
        memory_mib,
        vcpus_needed,
        recommended,
        warning,
    }
}

/// Graviton families (`t4g`, `m7g`, `c6gn` …) run arm64.
fn arch_of(instance_type: &str) -> &'static str {
    let family = instance_type.split('.').next().unwrap_or("");
    let after_digit = family
        .trim_start_matches(|c: char| c.is_ascii_alphabetic())
        .trim_start_matches(|c: char| c.is_ascii_digit());
    if after_digit.starts_with('g') {
        "arm64"
    } else {
        "x86_64"
    }
}

/// Size in GB of a Prometheus retention size (`20GB` → 20), rounded up.
fn retention_gb(size: &str) -> u32 {
    let digits = size
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(size.len());
    let n: u64 = size[..digits].parse().unwrap_or(0);
    let gb = match &size[digits..] {
        "TB" => n * 1000,
        "PB" | "EB" => n * 1_000_000,
        "GB" => n,
        _ => n.div_ceil(1000),
    };
    gb.max(1) as u32
}

/// Resolves `[deploy.aws]`.
pub fn build(m: &Manifest, model: &Model, ci: Option<&crate::ci::Ci>) -> Option<Aws> {
    let aws = m.deploy.aws.as_ref()?;
    let pins = crate::ci::Pins::load(&model.templates);
    let sizing = sizing(model, aws.instance_type.as_deref());
    let instance_type = aws
        .instance_type
        .clone()
        .unwrap_or_else(|| sizing.recommended.clone());
    let arch = arch_of(&instance_type);
    let environments = crate::ci::deploy_environments(m);
    let host_dir = crate::ci::host_dir(&model.project);
    let prod = model.environments.iter().find(|e| e.name == "production");
    let retention = prod.map_or("20GB".to_string(), |e| e.retention_size.clone());
    let ret_gb = retention_gb(&retention);
    let dbs = model.databases.len() as u32;
    let volume_gb = 20 + ret_gb + 10 * dbs;
    let volume_arithmetic = format!(
        "20 GiB (OS, images, logs) + {ret_gb} GiB (Prometheus retention size {retention}) + {dbs} × 10 GiB (databases) = {volume_gb} GiB"
    );
    let mut ingress = Vec::new();
    let mut loopback = Vec::new();
    for (compose, p) in model.environment("production").published() {
        let i = Ingress {
            port: p.host_port,
            cidr: if p.address == "0.0.0.0" || p.address.is_empty() {
                "0.0.0.0/0".into()
            } else {
                format!("{}/32", p.address)
            },
            service: compose.to_string(),
        };
        if p.is_loopback() {
            loopback.push(i);
        } else {
            ingress.push(i);
        }
    }
    let urls = crate::ci::smoke_tests(model, "production")
        .into_iter()
        .map(|s| Url {
            output: format!("{}Url", crate::units::camel_of(&s.service)),
            sub: format!(
                "http://${{ElasticIp.PublicIp}}:{}{}",
                s.port,
                cfn_sub(&s.path)
            ),
            service: s.service,
            port: s.port,
            path: s.path,
        })
        .collect();
    let compose_plugin = pins.tool("compose-plugin").to_string();
    let compose_arch = if arch == "arm64" { "aarch64" } else { "x86_64" };
    let user_data = vec![
        "#!/bin/bash".to_string(),
        "set -euo pipefail".into(),
        "dnf install -y docker git".into(),
        "mkdir -p /usr/local/lib/docker/cli-plugins".into(),
        format!(
            "curl -fsSL -o /usr/local/lib/docker/cli-plugins/docker-compose https://github.com/docker/compose/releases/download/{compose_plugin}/docker-compose-linux-{compose_arch}"
        ),
        "chmod 0755 /usr/local/lib/docker/cli-plugins/docker-compose".into(),
        "systemctl enable --now docker".into(),
        // RepositoryUrl: URL characters only (`AllowedPattern`), so quoting holds.
        format!(
            "git clone '${{RepositoryUrl}}' {}",
            cfn_sub(sh(&host_dir).as_str())
        ),
        format!("cd {}", cfn_sub(sh(&host_dir).as_str())),
        "sh deploy/aws/secrets.sh ${Environment}".into(),
        "docker compose -f compose.yaml -f compose.${Environment}.yaml up -d --build".into(),
    ];
    for l in &user_data {
        let rest = l
            .replace("${RepositoryUrl}", "")
            .replace("${Environment}", "");
        assert!(
            !rest.contains("${"),
            "bug: user data line outside Fn::Sub: {l}"
        );
    }
    let mut parameters: Vec<Parameter> = model
        .env_vars
        .iter()
        .map(|v| {
            Parameter::new(
                v.name.clone(),
                Some(v.name.clone()),
                None,
                v.secret,
                (!v.secret && !v.value.is_empty()).then(|| v.value.clone()),
                v.description.clone(),
            )
        })
        .collect();
    for s in &model.secrets {
        let file = s.file.trim_start_matches("./").to_string();
        parameters.push(Parameter::new(
            file.clone(),
            None,
            Some(file),
            true,
            None,
            s.description.clone(),
        ));
    }
    // env_file of services: written whole from one SecureString parameter each (app
    // settings may hold secrets); Compose fails without them.
    for f in model.env_files.iter().map(|f| f.trim_start_matches("./")) {
        parameters.push(Parameter::new(
            format!("env_file/{f}"),
            None,
            Some(f.to_string()),
            true,
            None,
            "env_file of a service: the whole file".into(),
        ));
    }
    let volumes = model
        .volumes
        .iter()
        .map(|v| format!("{}_{v}", model.project))
        .collect();
    let (price, priced) = INSTANCES
        .iter()
        .find(|i| i.0 == instance_type)
        .map_or((0.0, false), |i| (i.3, true));
    let n_envs = environments.len() as f64;
    let mut costs = Vec::new();
    let mut total = 0.0;
    let per_host = |what: &str, usd: f64| Cost {
        item: what.into(),
        monthly: format!("{usd:.2}"),
    };
    if priced {
        let c = price * HOURS;
        total += c * n_envs;
        costs.push(per_host(
            &format!("EC2 {instance_type} on demand ({price} USD/h × {HOURS} h)"),
            c,
        ));
    } else {
        costs.push(Cost {
            item: format!("EC2 {instance_type} on demand"),
            monthly: "see aws.amazon.com/ec2/pricing".into(),
        });
    }
    let ebs = volume_gb as f64 * GP3;
    total += ebs * n_envs;
    costs.push(per_host(
        &format!("EBS gp3 {volume_gb} GiB ({GP3} USD/GiB-month)"),
        ebs,
    ));
    let ip = IPV4 * HOURS;
    total += ip * n_envs;
    costs.push(per_host(
        &format!("Elastic IP, public IPv4 ({IPV4} USD/h)"),
        ip,
    ));
    let params = 0.0;
    costs.push(per_host(
        "SSM Parameter Store standard parameters, Session Manager",
        params,
    ));
    let cost_total = if priced {
        format!("{total:.2}")
    } else {
        format!("{total:.2} + the instance")
    };
    let files = guide_files(model, ci);
    Some(Aws {
        region: aws.region.clone(),
        arch: arch.into(),
        ami_parameter: format!(
            "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-{arch}"
        ),
        instance_type,
        domain: aws.domain.clone(),
        environments,
        sh_region: sh(&aws.region),
        sh_prefix: sh(&format!("/{}/", model.project)),
        host_dir,
        sizing,
        volume_gb,
        volume_arithmetic,
        ingress,
        loopback,
        urls,
        user_data,
        parameters,
        volumes,
        costs,
        cost_total,
        compose_plugin,
        diagram: diagram(model),
        files,
        troubleshooting: troubleshooting(model),
    })
}

fn node_id(name: &str) -> String {
    name.replace('-', "_")
}

/// Mermaid flowchart lines: the internet, the app services, databases and monitoring.
fn diagram(model: &Model) -> Vec<String> {
    let mut out = vec!["flowchart LR".to_string(), "  internet((Internet))".into()];
    out.push("  subgraph app[App network]".into());
    for s in &model.services {
        let label = if s.replicas.len() > 1 {
            format!("{}<br/>{} replicas", s.name, s.replicas.len())
        } else {
            s.name.clone()
        };
        out.push(format!("    {}[\"{label}\"]", node_id(&s.name)));
    }
    for d in &model.databases {
        out.push(format!("    {}[(\"{}\")]", node_id(&d.name), d.name));
    }
    // Stores of the optional components (MinIO, GlitchTip's Postgres and Redis).
    for c in model
        .compose
        .iter()
        .filter(|c| c.role == Role::Database && !model.databases.iter().any(|d| d.name == c.name))
    {
        out.push(format!("    {}[(\"{}\")]", node_id(&c.name), c.name));
    }
    out.push("  end".into());
    out.push("  subgraph monitoring[Monitoring]".into());
    for c in model
        .compose
        .iter()
        .filter(|c| matches!(c.role, Role::Monitoring | Role::Exporter))
    {
        out.push(format!("    {}[\"{}\"]", node_id(&c.name), c.name));
    }
    out.push("  end".into());
    for s in model.services.iter().filter(|s| s.public) {
        out.push(format!("  internet -->|:{}| {}", s.port, node_id(&s.name)));
    }
    for s in &model.services {
        for d in &s.depends_on {
            let target = model
                .services
                .iter()
                .find(|x| x.replicas.contains(&d.name))
                .map_or(d.name.clone(), |x| x.name.clone());
            let edge = format!("  {} --> {}", node_id(&s.name), node_id(&target));
            if !out.contains(&edge) {
                out.push(edge);
            }
        }
    }
    let prom = node_id(&model.prometheus.name);
    for s in model.services.iter().filter(|s| s.metrics.is_some()) {
        out.push(format!("  {prom} -. scrapes .-> {}", node_id(&s.name)));
    }
    for c in model.compose.iter().filter(|c| c.role == Role::Exporter) {
        out.push(format!("  {prom} -. scrapes .-> {}", node_id(&c.name)));
    }
    if let Some(g) = &model.grafana {
        out.push(format!("  {} --> {prom}", node_id(&g.name)));
    }
    if let Some(am) = &model.alertmanager {
        out.push(format!("  {prom} -->|alerts| {}", node_id(&am.name)));
    }
    out
}

/// Files of the generated output the guide names.
fn guide_files(model: &Model, ci: Option<&crate::ci::Ci>) -> Vec<String> {
    let mut files = vec![
        "compose.yaml".to_string(),
        ".env.example".into(),
        "deploy/aws/cloudformation.yaml".into(),
        "deploy/aws/secrets.sh".into(),
        "monitoring/prometheus/web.yml".into(),
    ];
    for e in &model.environments {
        files.push(e.compose_file.clone());
        files.push(format!("monitoring/prometheus/{}", e.prometheus_file));
    }
    if model.alertmanager.is_some() {
        files.push("monitoring/alertmanager/routes.test.sh".into());
    }
    if ci.is_some_and(|c| c.workflows.iter().any(|w| w.file == "deploy.yml")) {
        files.push(".github/workflows/deploy.yml".into());
    }
    files
}

fn troubleshooting(model: &Model) -> Vec<Trouble> {
    let mut out = Vec::new();
    for s in &model.services {
        let first = s
            .replicas
            .first()
            .cloned()
            .unwrap_or_else(|| s.name.clone());
        let health = s.health.clone().unwrap_or_else(|| "/".into());
        out.push(Trouble {
            service: s.name.clone(),
            symptom: if s.public {
                format!("smoke test of `{health}` fails")
            } else {
                "target down in Prometheus".into()
            },
            check: format!(
                "`docker compose -f compose.yaml -f compose.production.yaml logs --tail 100 {first}`; `docker compose -f compose.yaml -f compose.production.yaml exec {first} wget -qO- {}`",
                // A command to copy into a shell: the path is a quoted word.
                sh(&format!("http://localhost:{}{health}", s.port))
            ),
        });
    }
    for d in &model.databases {
        out.push(Trouble {
            service: d.name.clone(),
            symptom: "unhealthy, dependants do not start".into(),
            check: format!(
                "`docker inspect --format '{{{{json .State.Health}}}}' {}-{}-1` (the health check's last output); a wrong password in `.env` after the volume was first created keeps the old one",
                model.project, d.name
            ),
        });
    }
    out.push(Trouble {
        service: model.prometheus.name.clone(),
        symptom: "401 from the API, or the deploy's targets check fails".into(),
        check: "`PROMETHEUS_PASSWORD` in `.env` and `secrets/prometheus_password` must hold the same password that `monitoring/prometheus/web.yml` was generated with; re-run `obsgen generate` after changing it".into(),
    });
    if let Some(am) = &model.alertmanager {
        out.push(Trouble {
            service: am.name.clone(),
            symptom: "no notifications".into(),
            check: "secret files under `secrets/` readable by uid 65534 (`deploy/aws/secrets.sh` sets group 65534, mode 0640); `sh monitoring/alertmanager/routes.test.sh` on the host".into(),
        });
    }
    out
}

/// The CloudFormation template, the secrets script and the guide.
pub fn artifacts(aws: Option<&Aws>) -> Vec<Artifact> {
    if aws.is_none() {
        return Vec::new();
    }
    vec![
        Artifact::new(
            "deploy/aws/cloudformation.yaml",
            "aws/cloudformation.yaml.j2",
        ),
        Artifact::new("deploy/aws/secrets.sh", "aws/secrets.sh.j2"),
        Artifact::new("docs/deploy/aws.md", "aws/aws.md.j2"),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn graviton_types_are_arm() {
        assert_eq!(arch_of("t4g.large"), "arm64");
        assert_eq!(arch_of("c6gn.xlarge"), "arm64");
        assert_eq!(arch_of("t3.large"), "x86_64");
        assert_eq!(arch_of("m6i.4xlarge"), "x86_64");
    }

    #[test]
    fn retention_sizes_round_up_to_gb() {
        assert_eq!(retention_gb("20GB"), 20);
        assert_eq!(retention_gb("1TB"), 1000);
        assert_eq!(retention_gb("500MB"), 1);
    }
}

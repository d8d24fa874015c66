//! The assembler: folds the contributions of the enabled components
//! ([`crate::components::REGISTRY`]) into the stack, in registry order, and puts each
//! list in the order of the document it ends up in:
//!
//! - Compose services by role (apps, databases, the monitoring stack, exporters), in
//!   registry order within a role;
//! - `.env` variables and Compose secrets by [`Section`] (project, database logins, UI
//!   logins, external services, receivers, the monitoring login, the optional
//!   components, the services' own references), each name once;
//! - volumes, scrape jobs, target files and configuration files in registry order;
//! - rules files: each component's own in registry order, then the files several
//!   components write parts of (`rules/monitoring.yml`), merged by
//!   [`crate::model::rules::merge`].
//!
//! It also does what gathers from every component: the blackbox exporter's `probe` job
//! over every component's probes, `PrometheusTargetMissing` over the scrape jobs no
//! component alerts on itself, the `.env` files Compose reads, and the networks.
//! - Grafana's datasources in registry order, its dashboards by kind ([`DASHBOARD_KINDS`]),
//!   in registry order within a kind.
//!
//! It also does what gathers from every component: the blackbox exporter's `probe` job
//! over every component's probes, Grafana's provisioning over every component's
//! dashboards and datasources (when Grafana runs), the `.env` files Compose reads, and
//! the networks.

use crate::components::{REGISTRY, alertmanager, blackbox, prometheus};
use crate::model::*;

/// The whole model of a validated manifest: settled, assembled, with its environments.
pub fn model(m: &crate::manifest::Manifest, manifest_file: &str) -> Model {
    let mut model = assemble(crate::resolve::settle(m, manifest_file));
    model.environments = crate::environments::build(m, &model);
    model
}

/// The stack of a settled input. Environments and Grafana's provisioning are still
/// added afterwards by [`crate::resolve`].
/// The stack of a settled input. Rules and environments are still added afterwards by
/// [`crate::resolve`].
pub fn assemble(settled: Settled) -> Model {
    let mut model = Model {
        settled,
        environments: Vec::new(),
        env_vars: Vec::new(),
        volumes: Vec::new(),
        compose: Vec::new(),
        networks: Vec::new(),
        scrape_jobs: Vec::new(),
        target_files: Vec::new(),
        rules: Vec::new(),
        has_rules: false,
        secrets: Vec::new(),
        env_files: Vec::new(),
        alertmanager: None,
        blackbox_modules: Vec::new(),
        provisioning: None,
        files: Vec::new(),
    };
    if model.settled.grafana.is_some() {
        model.provisioning = Some(Grafana {
            datasources: Vec::new(),
            dashboards: Vec::new(),
            dashboards_dir: crate::grafana::DASHBOARDS_DIR.into(),
        });
    }
    model.env_vars.push(EnvVar {
        name: "COMPOSE_PROJECT_NAME".into(),
        description: "Compose project name (prefix of container, network and volume names)".into(),
        how: "keep as generated".into(),
        secret: false,
        value: model.settled.project.clone(),
        random: false,
        section: Section::Project,
    });
    let (mut rule_parts, mut watched) = (Vec::new(), Vec::new());
    for component in REGISTRY {
        if component.enabled(&model.settled) {
            let mut contribution = component.contribute(&model.settled);
            rule_parts.append(&mut contribution.rule_parts);
            watched.append(&mut contribution.watched_jobs);
            fold(&mut model, contribution);
        }
    }
    // Fold step: a receiver that names a service of the stack (webhook `url`, email
    // `smarthost`) is reachable only if Alertmanager shares a network with it.
    alertmanager::join_receiver_networks(&mut model);
    // Fold step: `PrometheusTargetMissing` watches the scrape jobs that have no down
    // alert of their own; only the assembled jobs say which those are.
    let others: Vec<&str> = model
        .scrape_jobs
        .iter()
        .map(|j| j.name.as_str())
        .filter(|j| !watched.iter().any(|w| w == j))
        .collect();
    rule_parts.extend(prometheus::rules::target_missing(&others));
    model.rules.extend(rules::merge(rule_parts));
    model.has_rules = !model.rules.is_empty();
    model.compose.sort_by_key(|c| match c.role {
        Role::App => 0,
        Role::Database => 1,
        Role::Monitoring => 2,
        Role::Exporter => 3,
    });
    model.env_vars.sort_by_key(|v| v.section);
    let mut seen = std::collections::BTreeSet::new();
    model.env_vars.retain(|v| seen.insert(v.name.clone()));
    model.secrets.sort_by_key(|s| s.section);
    if let Some(g) = &mut model.provisioning {
        g.dashboards.sort_by_key(|d| {
            DASHBOARD_KINDS
                .iter()
                .position(|k| *k == d.kind)
                .unwrap_or(DASHBOARD_KINDS.len())
        });
    }
    let mut env_files: Vec<String> = model
        .compose
        .iter()
        .flat_map(|c| c.env_file.iter().cloned())
        .collect();
    env_files.sort();
    env_files.dedup();
    model.env_files = env_files;
    model.networks = ["app", "monitoring", "edge"]
        .into_iter()
        .map(|name| Network {
            name: name.into(),
            internal: false,
        })
        .collect();
    model
}

/// The order of Grafana's dashboards, by kind (another kind comes last).
pub const DASHBOARD_KINDS: &[&str] = &[
    "overview",
    "service",
    "host",
    "containers",
    "database",
    "slo",
    "monitoring",
];

/// Adds one contribution to the stack.
fn fold(model: &mut Model, c: Contribution) {
    model.compose.extend(c.compose);
    model.volumes.extend(c.volumes);
    model.secrets.extend(c.secrets);
    model.env_vars.extend(c.env_vars);
    model.scrape_jobs.extend(c.scrape_jobs);
    model.target_files.extend(c.target_files);
    if !c.probes.is_empty() {
        // The `probe` job appears with the first probes, and gathers all later ones.
        match model
            .target_files
            .iter_mut()
            .find(|t| t.path == blackbox::PROBE_TARGETS)
        {
            Some(t) => t.groups.extend(c.probes),
            None => {
                let (job, file) = blackbox::probe_job(c.probes);
                model.scrape_jobs.push(job);
                model.target_files.push(file);
            }
        }
    }
    model.rules.extend(c.rules);
    if let Some(g) = &mut model.provisioning {
        g.datasources.extend(c.datasources);
        g.dashboards.extend(c.dashboards);
    }
    model.files.extend(c.files);
    if c.alertmanager.is_some() {
        model.alertmanager = c.alertmanager;
    }
    model.blackbox_modules.extend(c.blackbox_modules);
}

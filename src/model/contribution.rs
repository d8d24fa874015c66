//! What one component adds to the stack. The assembler folds every enabled
//! component's contribution into the [`super::Model`], in registry order, then puts
//! each list in the order of the document it ends up in.

use std::collections::BTreeMap;

use serde::Serialize;

use super::addons::ConfigFile;
use super::alerting::Alertmanager;
use super::compose::{ComposeService, Secret};
use super::dashboards::{Dashboard, Datasource};
use super::env::{EnvVar, Section};
use super::rules::{RuleFile, RulePart};
use super::scrape::{ScrapeJob, TargetFile, TargetGroup};

/// One component's part of the stack. Lists are in the component's own order.
#[derive(Debug, Clone, Default)]
pub struct Contribution {
    /// Containers of the base Compose file.
    pub compose: Vec<ComposeService>,
    /// Named volumes.
    pub volumes: Vec<String>,
    /// Docker secrets (top-level `secrets:`).
    pub secrets: Vec<Secret>,
    /// Variables read from `.env` (listed in `.env.example`).
    pub env_vars: Vec<EnvVar>,
    /// Scrape jobs, each with its file-SD target file in `target_files`.
    pub scrape_jobs: Vec<ScrapeJob>,
    pub target_files: Vec<TargetFile>,
    /// Health URLs for the blackbox exporter's `probe` job (one group per service).
    pub probes: Vec<TargetGroup>,
    /// Alert and recording rules with their tests: files of its own, and parts of files
    /// several components write to (`rules/monitoring.yml`), merged by the assembler.
    pub rules: Vec<RuleFile>,
    pub rule_parts: Vec<RulePart>,
    /// Its scrape jobs that have a down alert of their own in its rules;
    /// `PrometheusTargetMissing` watches every other job.
    pub watched_jobs: Vec<String>,
    /// Dashboards and datasources, gathered by Grafana's provisioning.
    pub dashboards: Vec<Dashboard>,
    pub datasources: Vec<Datasource>,
    /// Configuration files rendered one each.
    pub files: Vec<ConfigFile>,
    /// Alertmanager's routing tree (only the Alertmanager component).
    pub alertmanager: Option<Alertmanager>,
    /// Blackbox-exporter modules (only the blackbox component).
    pub blackbox_modules: Vec<String>,
}

impl Contribution {
    /// A scrape job whose targets live in `targets/<name>.yml`, and that file; returns the
    /// job for further settings (basic auth, relabelling).
    pub fn add_job(
        &mut self,
        name: &str,
        metrics_path: &str,
        about: &str,
        groups: Vec<TargetGroup>,
    ) -> &mut ScrapeJob {
        let file = format!("targets/{name}.yml");
        self.target_files.push(TargetFile {
            path: file.clone(),
            about: about.into(),
            groups,
        });
        self.scrape_jobs.push(ScrapeJob {
            name: name.into(),
            metrics_path: metrics_path.into(),
            file,
            params: BTreeMap::new(),
            relabel: Vec::new(),
            basic_auth: None,
        });
        self.scrape_jobs.last_mut().expect("just pushed")
    }

    /// Adds a variable to `.env.example` (once).
    pub fn add_var(&mut self, var: EnvVar) {
        if !self.env_vars.iter().any(|v| v.name == var.name) {
            self.env_vars.push(var);
        }
    }

    /// Adds a secret variable to `.env.example` (once); `obsgen secrets` makes a value
    /// when `how` is the openssl recipe the user would run.
    pub fn secret_var(&mut self, section: Section, name: &str, description: &str, how: &str) {
        self.add_var(EnvVar {
            name: name.into(),
            description: description.into(),
            how: how.into(),
            secret: true,
            value: String::new(),
            random: how.contains("openssl rand"),
            section,
        });
    }

    /// Adds a non-secret setting to `.env.example` (once), with its default value.
    pub fn setting_var(
        &mut self,
        section: Section,
        name: &str,
        description: &str,
        how: &str,
        value: &str,
    ) {
        self.add_var(EnvVar {
            name: name.into(),
            description: description.into(),
            how: how.into(),
            secret: false,
            value: value.into(),
            random: false,
            section,
        });
    }

    /// Adds a configuration file rendered from `template` with `item`.
    pub fn add_file(&mut self, path: &str, template: &str, item: &impl Serialize) {
        self.files.push(ConfigFile {
            path: path.into(),
            template: template.into(),
            item: serde_json::to_value(item).expect("config items serialize"),
        });
    }
}

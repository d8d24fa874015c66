//! Integration tests: obsgen as a user runs it, through the binary.
//! One test binary; each module covers one area.

mod support;

mod alert_levels;
mod alerting;
mod bad_input;
mod ci;
mod ci_gates;
mod cli;
mod components;
mod compose;
mod container_names;
mod detect;
mod dialect;
mod drift;
mod engine;
mod examples;
mod explain;
mod exporters;
mod grafana;
mod hostile;
mod init;
mod install;
mod inventory;
mod kubernetes;
mod live;
mod live_databases;
mod lockfile;
mod pins;
mod production_alerts;
mod quoting;
mod receiver_networks;
mod repository;
mod robustness;
mod rules;
mod safety;
mod secrets;
mod validators;
mod wizard;

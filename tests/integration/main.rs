//! Integration tests: obsgen as a user runs it, through the binary.
//! One test binary; each module covers one area.

mod support;

mod alerting;
mod bad_input;
mod ci;
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
mod inventory;
mod kubernetes;
mod live;
mod lockfile;
mod quoting;
mod receiver_networks;
mod repository;
mod robustness;
mod rules;
mod safety;
mod secrets;
mod validators;
mod wizard;

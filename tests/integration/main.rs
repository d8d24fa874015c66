//! Integration tests: obsgen as a user runs it, through the binary.
//! One test binary; each module covers one area.

mod support;

mod alerting;
mod bad_input;
mod cli;
mod drift;
mod examples;
mod exporters;
mod grafana;
mod init;
mod quoting;
mod rules;
mod safety;
mod validators;

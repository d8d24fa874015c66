//! obsgen: one manifest (`obsgen.toml`) → a verified observability and delivery stack.
//!
//! Data flows one way (see ARCHITECTURE.md):
//! [`load`] → [`validate`] → [`resolve`] (with [`settings`] layered from the embedded
//! profiles) → [`model::Model`] → [`plan`] → [`render`] → [`verify`] →
//! [`project`] (write, check, diff) with [`lock`].

#![warn(clippy::print_stderr)]

pub mod assemble;
pub mod assets;
pub mod aws;
pub mod ci;
pub mod cli;
pub mod components;
pub use components::alertmanager;
pub mod delivery;
pub mod detect;
pub mod diag;
pub mod dialect;
pub mod environments;
pub mod explain;
pub mod fsx;
pub mod gitignore;
pub mod grafana;
pub mod init;
pub mod kubernetes;
pub mod layers;
pub mod load;
pub mod lock;
pub mod manifest;
pub mod metrics;
pub mod model;
pub mod parallel;
pub mod plan;
pub mod project;
pub mod quote;
pub mod render;
pub mod resolve;
pub mod rules;
pub mod secrets;
pub mod settings;
pub mod signals;
pub mod units;
pub mod validate;
pub mod validators;
pub mod verify;
pub mod wizard;

//! `[[database]]`: credential variables that clash with another's, host port and version.

use super::Checker;
use crate::layers;
use crate::manifest::Manifest;

pub(super) fn check_databases(c: &mut Checker, m: &Manifest) {
    let taken = crate::components::env_vars(m);
    for (i, d) in m.databases.iter().enumerate() {
        let var = crate::units::env_name_of(&d.name);
        let mut vars = vec![format!("{var}_PASSWORD")];
        if crate::components::databases::kind(d.kind).has_user() {
            vars.insert(0, format!("{var}_USER"));
        }
        let clashes: Vec<String> = vars
            .iter()
            .filter_map(|v| {
                let (_, owner) = taken.iter().find(|(t, _)| t == v)?;
                Some(format!("`{v}` ({owner})"))
            })
            .collect();
        if !clashes.is_empty() {
            c.at(
                &format!("database[{i}].name"),
                format!(
                    "database `{}` would read its credentials from variables that are already taken: {}",
                    d.name,
                    clashes.join(", ")
                ),
                "rename the database: one variable must not hold two secrets",
            );
        }
        if d.host_port == Some(0) {
            c.at(
                &format!("database[{i}].host_port"),
                "host_port 0 is not a port",
                "use 1-65535",
            );
        }
        if let Some(v) = &d.version {
            let ok = !v.is_empty()
                && v != "latest"
                && v.chars()
                    .all(|ch| ch.is_ascii_alphanumeric() || matches!(ch, '.' | '-' | '_'))
                && v.starts_with(|ch: char| ch.is_ascii_digit());
            if !ok {
                c.at(
                    &format!("database[{i}].version"),
                    format!("database version `{v}` is not a version"),
                    format!(
                        "write a version tag such as `{}`",
                        layers::default_db_tag(d.kind)
                    ),
                );
            }
        }
    }
}

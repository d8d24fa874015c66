//! `obsgen explain`: where a service, an alert or a generated file comes from.

use std::path::Path;

use anyhow::Result;

use crate::project::Project;

pub fn explain(_project: &Project, _overlay: Option<&Path>, _what: &[String]) -> Result<String> {
    anyhow::bail!("not yet")
}

//! Delivery: the CI workflows (`[ci]`) and the AWS deployment (`[deploy.aws]`), built
//! after the stack is assembled. They read the stack and the manifest's delivery
//! sections; nothing in the stack depends on them.

use serde::Serialize;

use crate::aws::Aws;
use crate::ci::Ci;
use crate::manifest::Manifest;
use crate::model::Artifact;
use crate::model::Model;

/// What is delivered beside the stack: workflows and the AWS files' contexts.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Delivery {
    /// CI workflows, when `[ci]` asks for them.
    pub ci: Option<Ci>,
    /// The AWS deployment, when `[deploy.aws]` is set.
    pub aws: Option<Aws>,
    /// The Kubernetes files, when `[kubernetes]` is set (rendered as built, not seen by
    /// templates).
    #[serde(skip)]
    pub kubernetes: Option<crate::kubernetes::Cluster>,
}

impl Delivery {
    /// Builds the delivery of an assembled stack.
    pub fn build(m: &Manifest, model: &Model) -> Delivery {
        let ci = crate::ci::build(m, model);
        let aws = crate::aws::build(m, model, ci.as_ref());
        let kubernetes = crate::kubernetes::build(m.kubernetes.as_ref(), model);
        Delivery {
            ci,
            aws,
            kubernetes,
        }
    }

    /// The workflow files, the CloudFormation template, the secrets script and the guide.
    pub fn artifacts(&self) -> Vec<Artifact> {
        let mut out = crate::ci::artifacts(self.ci.as_ref());
        out.extend(crate::aws::artifacts(self.aws.as_ref()));
        out.extend(crate::kubernetes::artifacts(self.kubernetes.as_ref()));
        out
    }
}

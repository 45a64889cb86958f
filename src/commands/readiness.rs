//! `aml-failover readiness`: wiring only; the checks live in `crate::readiness`.

use crate::settings::{print_json, OutputFormat, Settings};
use crate::error::{Error, Exit, Result};
use crate::readiness::{self, Options};
use crate::workspace::Context;

pub async fn run(s: &Settings, o: &Options) -> Result<Exit> {
    let from = s.from.clone().ok_or_else(|| Error::usage("readiness needs --from (the primary workspace)"))?;
    let to = s.to.clone().ok_or_else(|| Error::usage("readiness needs --to (the failover workspace)"))?;
    if from == to {
        return Err(Error::usage("--from and --to name the same workspace"));
    }
    let ctx = Context::connect(&s.connect)?;
    let report = readiness::check(&ctx, &from, &to, o).await?;
    if s.printer.format() == OutputFormat::Json {
        print_json(&report);
    } else if s.printer.quiet() {
        let not_pass = report.checks.iter().filter(|c| c.status != readiness::Status::Pass);
        let mut quiet = report.clone();
        quiet.checks = not_pass.cloned().collect();
        print!("{}", quiet.human());
    } else {
        print!("{}", report.human());
    }
    Ok(report.exit())
}

//! `aml-failover copy` and `plan`: every asset kind from one workspace to another, in
//! dependency order. Options → [`crate::execute::copy`] (plan, then run it unless a dry run) →
//! render.

use crate::settings::{OutputFormat, Settings};
use crate::error::{Exit, Result};
use crate::report::Report;

use crate::plan::CopyOptions;

pub async fn run(s: &Settings, o: &CopyOptions) -> Result<Exit> {
    let report = crate::execute::copy(s, o, "copy").await?;
    render(s, &report, o.show_all_items || o.dry_run);
    Ok(report.exit_with(o.data.accept_warnings))
}

/// `plan`: the plan `copy` would run, printed, nothing written.
pub async fn plan(s: &Settings, o: &CopyOptions) -> Result<Exit> {
    let o = CopyOptions { dry_run: true, ..o.clone() };
    let report = crate::execute::copy(s, &o, "plan").await?;
    render(s, &report, true);
    Ok(report.exit_with(o.data.accept_warnings))
}

fn render(s: &Settings, report: &Report, all: bool) {
    match s.printer.format() {
        OutputFormat::Json => crate::settings::print_json(report),
        OutputFormat::Human => print!("{}", report.human(all)),
    }
}

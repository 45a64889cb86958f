//! `aml-failover verify --from A --to B`: drift between two workspaces ([`crate::drift`]);
//! `verify BUNDLE [--to B]`: a snapshot bundle, alone or against a workspace. Options →
//! library → render. Exit 0 in sync, 7 drifted, 1 when some item could not be checked.

use crate::drift::report;
use crate::error::{Exit, Result};
use crate::plan::VerifyOptions;
use crate::settings::{OutputFormat, Settings};

pub async fn run(s: &Settings, o: &VerifyOptions) -> Result<Exit> {
    let report = report(s, o).await?;
    match s.printer.format() {
        OutputFormat::Json => crate::settings::print_json(&report),
        OutputFormat::Human => print!("{}", report.human(o.show_all_items)),
    }
    Ok(report.exit())
}


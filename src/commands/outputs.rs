//! `aml-failover outputs list|copy`: options → [`crate::outputs`] → render.

use crate::error::{Exit, Result};
use crate::outputs::{Listing, OutputsOptions};
use crate::report::human_bytes;
use crate::settings::Settings;
use std::collections::BTreeMap;

pub async fn list(s: &Settings, o: &OutputsOptions) -> Result<Exit> {
    let l = crate::outputs::list(s, o).await?;
    match s.printer.is_json() {
        true => s.printer.json(&l),
        false => print!("{}", list_human(&l)),
    }
    Ok(Exit::Ok)
}

fn list_human(l: &Listing) -> String {
    let mut out = format!("source: {} ({})\n", l.source, l.access);
    let mut by_job: BTreeMap<&str, Vec<_>> = BTreeMap::new();
    for p in &l.parts {
        by_job.entry(&p.job).or_default().push(p);
    }
    for (job, parts) in by_job {
        out.push_str(&format!("{job}\n"));
        for p in parts {
            let what = p.output.as_deref().map(|o| format!("output {o}")).unwrap_or_else(|| "logs and artifacts".into());
            out.push_str(&format!("  {what:<28} {:>5} files  {}\n", p.files, human_bytes(p.bytes)));
        }
    }
    out
}

pub async fn copy(s: &Settings, o: &OutputsOptions) -> Result<Exit> {
    let (mut report, way) = crate::outputs::copy(s, o).await?;
    match s.printer.is_json() {
        true => {
            // stdout only: the manifest was written without it.
            report.access = Some(way);
            s.printer.json(&report);
        }
        false => {
            println!("source reached through {way}");
            print!("{}", report.human(o.show_all_items || o.dry_run));
        }
    }
    Ok(report.exit())
}

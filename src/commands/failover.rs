//! `aml-failover failover --from A --to B`: options → [`crate::failover::run`] → render.

use crate::error::{Exit, Result};
use crate::failover::{FailoverOptions, FailoverReport};
use crate::settings::Settings;

pub async fn run(s: &Settings, o: &FailoverOptions) -> Result<Exit> {
    let r = crate::failover::run(s, o).await?;
    match s.printer.is_json() {
        true => s.printer.json(&r),
        false => print!("{}", human(&r)),
    }
    Ok(r.exit)
}

fn human(r: &FailoverReport) -> String {
    let mut out = String::new();
    for c in &r.checks {
        out.push_str(&format!("check: {c}\n"));
    }
    out.push_str(&crate::readiness::rpo::lines(&r.rpo));
    for st in &r.steps {
        out.push_str(&format!("{:<10} {:<8} {}\n", st.name, st.outcome, st.detail));
    }
    if !r.manual_steps.is_empty() {
        out.push_str("manual steps left:\n");
        for (i, m) in r.manual_steps.iter().enumerate() {
            out.push_str(&format!("  {}. {m}\n", i + 1));
        }
    }
    out.push_str(&format!("report: {}\n", r.path.display()));
    out
}

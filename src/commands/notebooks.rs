//! `aml-failover notebooks list|recover|copy`: options → [`crate::notebooks`] → render.

use crate::error::{Exit, Result};
use crate::notebooks::{NotebooksOptions, Recovered, Shares};
use crate::report::{human_bytes, Report};
use crate::settings::Settings;

pub async fn list(s: &Settings, o: &NotebooksOptions) -> Result<Exit> {
    let shares = crate::notebooks::list(s, o).await?;
    print_shares(s, &shares);
    Ok(Exit::Ok)
}

fn print_shares(s: &Settings, l: &Shares) {
    if s.printer.is_json() {
        return s.printer.json(l);
    }
    println!("notebook shares in storage account {}:", l.storage_account);
    for c in &l.shares {
        let what = match &c.workspace_id {
            Some(id) => format!("workspace {id} (older layout)"),
            None => "working directory (current layout)".into(),
        };
        let snap = c.snapshot.as_deref().map(|x| format!("  snapshot {x}")).unwrap_or_default();
        println!(
            "  {:<46} {:>6} files {:>10}  last modified {}  {what}{snap}",
            c.share,
            c.files,
            human_bytes(c.bytes),
            c.last_modified.as_deref().unwrap_or("-"),
        );
    }
    println!("pick one: --workspace-id <id> (from azureml-filestore-<id>) or --share <name>, and --snapshot <time> for a snapshot");
}

pub async fn recover(s: &Settings, o: &NotebooksOptions) -> Result<Exit> {
    match crate::notebooks::recover(s, o).await? {
        Recovered::Choose(shares) => {
            print_shares(s, &shares);
            eprintln!("error: give --workspace-id or --share to pick the share to recover (candidates above)");
            Ok(Exit::Usage)
        }
        Recovered::Done(report) => {
            print_report(s, o, &report);
            Ok(report.exit())
        }
    }
}

pub async fn copy(s: &Settings, o: &NotebooksOptions) -> Result<Exit> {
    let report = crate::notebooks::copy(s, o).await?;
    print_report(s, o, &report);
    Ok(report.exit())
}

fn print_report(s: &Settings, o: &NotebooksOptions, report: &Report) {
    match s.printer.is_json() {
        true => s.printer.json(report),
        false => print!("{}", report.human(o.show_all_items || o.dry_run)),
    }
}

//! `aml-failover snapshot export|restore|list|prune`: options → [`crate::bundle`] → render.

use crate::bundle::{self, ExportOptions, ExportReport, ListReport, PruneOptions, PruneReport, RestoreCommand};
use crate::error::{Exit, Result};
use crate::report::human_bytes;
use crate::settings::Settings;
use crate::workspace::Context;

pub async fn export(s: &Settings, o: &ExportOptions) -> Result<Exit> {
    let from = s.read_workspace("snapshot export")?;
    let r = bundle::export(s, &from, o).await?;
    match s.printer.is_json() {
        true => s.printer.json(&r),
        false => print!("{}", export_human(&r, s.printer.show_all_items())),
    }
    Ok(if r.summary.failed > 0 { Exit::Partial } else { Exit::Ok })
}

fn export_human(r: &ExportReport, verbose: bool) -> String {
    let mut out = String::new();
    if verbose || r.summary.failed > 0 {
        for it in &r.items {
            let what = match &it.job {
                Some(job) => format!("job {job} (definition {}:{})", it.name, it.version),
                None => format!("{} {}:{}", it.kind, it.name, it.version),
            };
            match &it.error {
                None => out.push_str(&format!("exported {what} ({} files)\n", it.files)),
                Some(e) if it.status == "skipped" => out.push_str(&format!("skipped  {what}  {e}\n")),
                Some(e) => out.push_str(&format!("FAILED   {what}  {e}\n")),
            }
        }
    }
    let s = &r.summary;
    match &r.snapshot {
        Some(id) => out.push_str(&format!(
            "snapshot {id} in {}: {} asset versions, {} definitions, {} distinct files; {} new objects written ({}), {} files hashed\n",
            r.bundle,
            s.assets,
            r.definitions,
            s.objects,
            s.objects_written,
            human_bytes(s.bytes_written),
            s.files_read
        )),
        None => out.push_str(&format!(
            "no snapshot written: {} of {} asset versions failed (the objects already stored stay; rerun to resume)\n",
            s.failed, s.assets
        )),
    }
    out
}

pub async fn restore(s: &Settings, o: &RestoreCommand) -> Result<Exit> {
    let to = s.write_workspace("snapshot restore")?;
    let ctx = Context::connect(&s.connect)?;
    let r = bundle::restore(s, &ctx, &to, &o.restore, &o.data).await?;
    match s.printer.is_json() {
        true => s.printer.json(&r),
        false => print!("{}", r.human(s.printer.show_all_items())),
    }
    Ok(r.exit)
}

pub async fn list(s: &Settings, raw: &str) -> Result<Exit> {
    let r = bundle::list(&s.connect, raw).await?;
    match s.printer.is_json() {
        true => s.printer.json(&r),
        false => print!("{}", list_human(&r)),
    }
    Ok(Exit::Ok)
}

fn list_human(r: &ListReport) -> String {
    let mut out = format!("{:<22}  {:<25}  {:>6}  {:>7}  {:>10}  SOURCE\n", "SNAPSHOT", "CREATED", "ASSETS", "FILES", "SIZE");
    for row in &r.snapshots {
        let src = row.source.rsplit('/').next().unwrap_or(&row.source);
        out.push_str(&format!("{:<22}  {:<25}  {:>6}  {:>7}  {:>10}  {src}\n", row.id, row.created_at, row.assets, row.objects, human_bytes(row.bytes)));
    }
    out.push_str(&format!("{} snapshots in {}; {} objects stored once, {}\n", r.snapshots.len(), r.bundle, r.objects, human_bytes(r.bytes)));
    out
}

pub async fn prune(s: &Settings, o: &PruneOptions) -> Result<Exit> {
    let r = bundle::prune(&s.connect, o).await?;
    match s.printer.is_json() {
        true => s.printer.json(&r),
        false => print!("{}", prune_human(&r)),
    }
    Ok(Exit::Ok)
}

fn prune_human(r: &PruneReport) -> String {
    let verb = if r.dry_run { "would delete" } else { "deleted" };
    let mut out: String = r.deleted_snapshots.iter().map(|id| format!("{verb} snapshot {id}\n")).collect();
    out.push_str(&format!(
        "{verb} {} snapshots and {} objects ({}); kept {} snapshots and {} objects\n",
        r.deleted_snapshots.len(),
        r.deleted_objects.len(),
        human_bytes(r.bytes_freed),
        r.kept_snapshots.len(),
        r.kept_objects
    ));
    out
}

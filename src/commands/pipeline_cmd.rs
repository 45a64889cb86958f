//! `aml-failover job|pipeline get|create`: options → [`crate::folder::job`] → render.

use crate::assets::options::{CreateOptions, GetOptions};
use crate::error::{Exit, Result};
use crate::settings::Settings;
use crate::workspace::Context;

pub async fn get(s: &Settings, o: &GetOptions) -> Result<Exit> {
    let ws = s.read_workspace(o.command)?;
    let ctx = Context::connect(&s.connect)?;
    let r = crate::folder::job::get(&ctx, &ws, &s.printer, o).await?;
    match s.printer.is_json() {
        true => s.printer.json(&r),
        false => println!(
            "{} {} -> {} ({} components, {} code files, sha256 verified; {})",
            r.r#type,
            r.name,
            r.yaml,
            r.components.len(),
            r.files.len(),
            r.note
        ),
    }
    Ok(Exit::Ok)
}

pub async fn create(s: &Settings, o: &CreateOptions) -> Result<Exit> {
    let ws = s.write_workspace(o.command)?;
    let ctx = Context::connect(&s.connect)?;
    let r = crate::folder::job::create(&ctx, &ws, &s.printer, o).await?;
    if s.printer.is_json() {
        s.printer.json(&r);
        return Ok(Exit::Ok);
    }
    println!(
        "{} {} in {} ({}){}{}",
        r.label,
        r.status,
        r.workspace_name,
        if r.submitted { "job created: a new run".to_string() } else { format!("definition: component {}, not run", r.definition_ref) },
        if r.registered.is_empty() { String::new() } else { format!("; registered {}", r.registered.join(", ")) },
        if r.pinned.is_empty() { String::new() } else { format!("; pinned {}", r.pinned.join(", ")) }
    );
    for u in &r.uploaded {
        println!("  uploaded {u}");
    }
    Ok(Exit::Ok)
}

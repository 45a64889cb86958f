//! `aml-failover component download|register` and `data download|register` (their `list` is
//! `assets_cmd::list`): options → [`crate::folder::component`] /
//! [`crate::folder::data`] → render.

use crate::folder::{component, data};
use crate::assets::options::{DownloadOptions, RegisterOptions};
use crate::error::{Exit, Result};
use crate::settings::Settings;
use crate::workspace::Context;

pub async fn component_download(s: &Settings, o: &DownloadOptions) -> Result<Exit> {
    let ws = s.read_workspace("component download")?;
    let ctx = Context::connect(&s.connect)?;
    let r = component::download(&ctx, &ws, &s.printer, o).await?;
    match s.printer.is_json() {
        true => s.printer.json(&r),
        false => println!("downloaded component {}:{} -> {} ({} code files, sha256 verified)", r.name, r.version, r.yaml, r.files.len()),
    }
    Ok(Exit::Ok)
}

pub async fn component_register(s: &Settings, o: &RegisterOptions) -> Result<Exit> {
    let ws = s.write_workspace("component register")?;
    let ctx = Context::connect(&s.connect)?;
    let r = component::register(&ctx, &ws, &s.printer, o).await?;
    match s.printer.is_json() {
        true => s.printer.json(&r),
        false => println!("{} component {}:{} in {}", r.status, r.name, r.version, ws.workspace_name),
    }
    Ok(Exit::Ok)
}

pub async fn data_download(s: &Settings, o: &DownloadOptions) -> Result<Exit> {
    let ws = s.read_workspace("data download")?;
    let ctx = Context::connect(&s.connect)?;
    let r = data::download(&ctx, &ws, &s.printer, o).await?;
    match s.printer.is_json() {
        true => s.printer.json(&r),
        false => println!("downloaded data {}:{} -> {} ({} files; {})", r.name, r.version, r.yaml, r.files.len(), r.note),
    }
    Ok(Exit::Ok)
}

pub async fn data_register(s: &Settings, o: &RegisterOptions) -> Result<Exit> {
    let ws = s.write_workspace("data register")?;
    let r = data::register(&ws, &s.connect, &s.printer, o).await?;
    if s.printer.is_json() {
        s.printer.json(&r);
        return Ok(Exit::Ok);
    }
    let how = match (r.local, r.check_paths) {
        (true, _) => format!("{} files uploaded and verified", r.files),
        (false, true) => format!("path registered as given; --check-paths found {} files there", r.files),
        (false, false) => "path registered as given, not read (--check-paths reads it)".into(),
    };
    println!("{} {} in {} ({how})", r.status, r.label, r.workspace_name);
    Ok(Exit::Ok)
}

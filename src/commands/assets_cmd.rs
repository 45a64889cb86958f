//! `aml-failover <kind> list` and `model|environment download|register`: options →
//! [`crate::folder`] (`listing`, `download`, `register`) → render.

use crate::folder;
use crate::folder::listing::ListedItem;
use crate::folder::register::RegisterReport;
use crate::assets::options::{DownloadOptions, ListOptions, RegisterOptions};
use crate::assets::{yaml, Kind};
use crate::error::{Exit, Result};
use crate::settings::Settings;
use crate::transfer::Method;
use crate::workspace::Context;

pub async fn list(s: &Settings, o: &ListOptions) -> Result<Exit> {
    let ws = s.read_workspace(&format!("{} list", o.kind))?;
    let ctx = Context::connect(&s.connect)?;
    let r = folder::listing::list(&ctx, &ws, o).await?;
    match s.printer.is_json() {
        true => s.printer.json(&r),
        false => print!("{}", list_table(o.kind, &r.items)),
    }
    Ok(Exit::Ok)
}

fn list_table(kind: Kind, rows: &[ListedItem]) -> String {
    let header: Vec<&str> = match kind {
        Kind::Model => vec!["NAME", "VERSION", "TYPE", "STAGE", "DESCRIPTION"],
        Kind::Component => vec!["NAME", "VERSION", "TYPE", "DESCRIPTION"],
        Kind::Data => vec!["NAME", "VERSION", "TYPE", "PATH"],
        _ => vec!["NAME", "VERSION", "SOURCE", "DESCRIPTION"],
    };
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            let desc = one_line(r.description.as_deref().unwrap_or(""), 60);
            match kind {
                Kind::Model => vec![
                    r.name.clone(),
                    r.version.clone(),
                    r.r#type.clone().unwrap_or_default(),
                    r.stage.clone().unwrap_or_else(|| "-".into()),
                    desc,
                ],
                Kind::Component => vec![r.name.clone(), r.version.clone(), r.r#type.clone().unwrap_or_default(), desc],
                Kind::Data => vec![r.name.clone(), r.version.clone(), r.r#type.clone().unwrap_or_default(), r.location.clone().unwrap_or_default()],
                _ => vec![
                    r.name.clone(),
                    r.version.clone(),
                    r.image.clone().map(|i| format!("image {i}")).unwrap_or_else(|| "build context".into()),
                    desc,
                ],
            }
        })
        .collect();
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for row in &cells {
        for (w, c) in widths.iter_mut().zip(row) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |cols: Vec<&str>| {
        let n = cols.len();
        let mut out = String::new();
        for (i, c) in cols.into_iter().enumerate() {
            if i + 1 == n {
                out.push_str(c);
            } else {
                out.push_str(&format!("{c:<w$}  ", w = widths[i]));
            }
        }
        out.trim_end().to_string() + "\n"
    };
    let mut out = line(header.clone());
    for row in &cells {
        out.push_str(&line(row.iter().map(String::as_str).collect()));
    }
    out.push_str(&format!("{} {kind} version{}\n", rows.len(), if rows.len() == 1 { "" } else { "s" }));
    out
}

fn one_line(s: &str, max: usize) -> String {
    let flat: String = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() <= max {
        flat
    } else {
        flat.chars().take(max - 1).collect::<String>() + "…"
    }
}

pub async fn download(s: &Settings, o: &DownloadOptions) -> Result<Exit> {
    let ws = s.read_workspace(&format!("{} download", o.kind))?;
    let ctx = Context::connect(&s.connect)?;
    let report = folder::download::download(&ctx, &ws, &s.printer, o).await?;
    if s.printer.is_json() {
        s.printer.json(&report);
    } else {
        {
            for r in &report.items {
                let bytes: u64 = r.files.iter().map(|f| f.size).sum();
                match &r.error {
                    None => println!(
                        "downloaded {} {}:{} -> {} ({} files, {}, sha256 verified)",
                        o.kind,
                        r.name,
                        r.version,
                        r.yaml.as_deref().unwrap_or(""),
                        r.files.len(),
                        crate::report::human_bytes(bytes)
                    ),
                    Some(e) => println!("FAILED     {} {}:{}  {e}", o.kind, r.name, r.version),
                }
                for f in r.files.iter().filter(|f| f.error.is_some()) {
                    println!("           file {}: {}", f.path, f.error.as_deref().unwrap_or(""));
                }
            }
        }
    }
    Ok(if report.failed() > 0 { Exit::Partial } else { Exit::Ok })
}

pub async fn register(s: &Settings, o: &RegisterOptions) -> Result<Exit> {
    let parsed = yaml::parse_file(&o.file, o.kind)?;
    for w in &parsed.warnings {
        tracing::warn!("{w}");
    }
    let ws = s.write_workspace(&format!("{} register", o.kind))?;
    let ctx = Context::connect(&s.connect)?;
    let r = folder::register::register(&ctx, &ws, &s.printer, s.state_dir.as_deref(), &parsed, o).await?;
    match s.printer.is_json() {
        true => s.printer.json(&r),
        false => register_human(&r),
    }
    Ok(Exit::Ok)
}

fn register_human(r: &RegisterReport) {
    let uploaded = r.files.iter().filter(|f| matches!(f.method, Some(Method::Streamed | Method::ServerSide))).count();
    let bytes: u64 = r.files.iter().map(|f| f.size).sum();
    let verb = if r.status == "unchanged" { "unchanged " } else { "registered" };
    println!("{verb} {} {}:{} in {}: {}", r.kind, r.name, r.version, short_ws(&r.workspace), r.reason);
    if !r.files.is_empty() {
        println!(
            "           {} files, {}: {} uploaded, {} already there",
            r.files.len(),
            crate::report::human_bytes(bytes),
            uploaded,
            r.files.len() - uploaded
        );
    }
}

fn short_ws(arm_id: &str) -> &str {
    arm_id.rsplit('/').next().unwrap_or(arm_id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_aligns_and_counts() {
        let rows = vec![
            ListedItem {
                kind: Kind::Model,
                name: "a-long-model-name".into(),
                version: "1".into(),
                r#type: Some("custom_model".into()),
                image: None,
                stage: None,
                description: Some("first\nline".into()),
                location: None,
                properties: serde_json::Value::Null,
            },
            ListedItem {
                kind: Kind::Model,
                name: "m".into(),
                version: "10".into(),
                r#type: Some("mlflow_model".into()),
                image: None,
                stage: Some("Production".into()),
                description: None,
                location: None,
                properties: serde_json::Value::Null,
            },
        ];
        let t = list_table(Kind::Model, &rows);
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines[0], "NAME               VERSION  TYPE          STAGE       DESCRIPTION");
        assert_eq!(lines[1], "a-long-model-name  1        custom_model  -           first line");
        assert_eq!(lines[2], "m                  10       mlflow_model  Production");
        assert_eq!(lines[3], "2 model versions");
    }
}

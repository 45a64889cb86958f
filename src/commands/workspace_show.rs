//! `aml-failover workspace show`: [`crate::workspace_show`] → render.

use crate::error::{Error, Exit, Result};
use crate::settings::Settings;
use crate::workspace_show::{self as show, Details};

pub async fn run(s: &Settings) -> Result<Exit> {
    let shown = show::show(s).await?;
    let exit = shown
        .iter()
        .filter_map(|x| x.outcome.as_ref().err())
        .map(Error::exit)
        .next()
        .unwrap_or(Exit::Ok);
    if s.printer.is_json() {
        s.printer.json(&show::document(&shown));
    } else {
        for (i, x) in shown.iter().enumerate() {
            if i > 0 {
                println!();
            }
            match &x.outcome {
                Ok(d) => print_human(x.role, d),
                Err(_) => println!("{} workspace {}: unavailable (see error below)", x.role, x.reference),
            }
        }
    }
    for x in &shown {
        if let Err(e) = &x.outcome {
            eprintln!("error: {} workspace {}: {e}", x.role, x.reference);
        }
    }
    Ok(exit)
}

fn print_human(role: &str, d: &Details) {
    let w = &d.ws;
    println!("{role} workspace {}", w.name);
    println!("  id              {}", w.id);
    println!("  region          {}", w.location);
    println!("  workspace id    {}", w.workspace_id.as_deref().unwrap_or("-"));
    println!(
        "  storage account {} ({})",
        w.storage_account_name().unwrap_or("-"),
        w.storage_account.as_deref().unwrap_or("-")
    );
    if let Some(u) = &w.discovery_url {
        println!("  discovery url   {u}");
    }
    println!("  datastores");
    let width = d.datastores.iter().map(|x| x.name.len()).max().unwrap_or(0);
    for ds in &d.datastores {
        println!(
            "    {:<width$}  {:<10} {}{}",
            ds.name,
            ds.datastore_type,
            ds.location(),
            if ds.is_default { "  (default)" } else { "" }
        );
    }
    println!("  assets");
    for (kind, n) in &d.counts {
        println!("    {kind:<13} {n}");
    }
    let st = &d.storage;
    println!(
        "  storage         {} {}/{}: {}",
        if st.reachable { "reachable" } else { "UNREACHABLE" },
        st.endpoint.trim_end_matches('/'),
        st.container,
        st.detail
    );
}

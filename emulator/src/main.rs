//! `aml-emulator`: serve, seed, or bring up the standard test bed (Azurite + emulator).

use std::path::PathBuf;

use anyhow::{anyhow, Context};
use clap::{Parser, Subcommand};

use aml_emulator::config::{EmulatorConfig, ServicePrincipal, StorageAccount, WorkspaceSpec};

#[derive(Parser)]
#[command(name = "aml-emulator", version, about = "Local Azure Resource Manager + Azure ML v2 control plane for aml-failover's tests and demos.")]
struct Cli {
    /// Log filter (RUST_LOG syntax); quiet by default.
    #[arg(long, global = true, env = "AML_EMULATOR_LOG", default_value = "warn")]
    log: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the emulator with the given configuration until SIGINT/SIGTERM.
    Serve(ServeArgs),
    /// Load a folder of `az ml` YAML files into a workspace of a running emulator's data folder
    /// (starts the emulator on that folder, seeds, and exits).
    Seed(SeedArgs),
    /// Start Azurite and the emulator with the standard two-region test bed.
    Up(UpArgs),
}

#[derive(clap::Args)]
struct ServeArgs {
    /// JSON file with an EmulatorConfig (flags override it).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Port on 127.0.0.1 (0: free port).
    #[arg(long)]
    port: Option<u16>,
    /// Serve plain HTTP instead of HTTPS.
    #[arg(long)]
    plain_http: bool,
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Static bearer token (also the admin API's token).
    #[arg(long, env = "AML_EMULATOR_TOKEN")]
    token: Option<String>,
    /// Service principal `tenant:client:secret` (repeatable).
    #[arg(long = "service-principal")]
    service_principals: Vec<String>,
    #[arg(long)]
    page_size: Option<usize>,
    /// Azurite blob endpoint, e.g. http://127.0.0.1:10000
    #[arg(long)]
    blob_endpoint: Option<String>,
    /// Storage account `name:base64key` (repeatable).
    #[arg(long = "storage-account")]
    storage_accounts: Vec<String>,
    /// Workspace `subscription/resourceGroup/name/location/storageAccount` (repeatable).
    #[arg(long = "workspace")]
    workspaces: Vec<String>,
}

#[derive(clap::Args)]
struct SeedArgs {
    #[command(flatten)]
    serve: ServeArgs,
    /// Workspace ARM id to load into.
    #[arg(long)]
    workspace_id: String,
    /// Folder of az ml YAML files.
    folder: PathBuf,
}

#[derive(clap::Args)]
struct UpArgs {
    /// Seed the primary workspace from this folder.
    #[arg(long)]
    seed: Option<PathBuf>,
    /// Write every connection fact as JSON here.
    #[arg(long)]
    state_file: Option<PathBuf>,
    /// Write shell KEY=VALUE lines here.
    #[arg(long)]
    env_file: Option<PathBuf>,
    #[arg(long)]
    page_size: Option<usize>,
    /// Keep the emulator's state here (a temporary folder otherwise).
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Put a fault-injecting storage proxy in front of Azurite and point the tool at it
    /// (AML_FAILOVER_BLOB_ENDPOINT); faults through /_emulator/storage-faults.
    #[arg(long)]
    storage_proxy: bool,
    /// Also start the Azure Files service for both storage accounts, with each workspace's
    /// default shares (AML_FAILOVER_FILE_ENDPOINT).
    #[arg(long)]
    files: bool,
    /// Largest page of the Files lists (default 5000).
    #[arg(long, requires = "files")]
    files_page_size: Option<usize>,
    /// Copy this folder (a `Users/<name>/...` notebooks tree) into the primary workspace's
    /// working-directory share (needs --files).
    #[arg(long, requires = "files", value_name = "DIR")]
    seed_notebooks: Option<PathBuf>,
    /// Benchmarks: also create N asset versions (1% environments, the rest models) from a few
    /// shared blobs; every even version also exists in the failover workspace as a copy would
    /// leave it, those numbered a multiple of 100 differ there (see emulator/src/seed/bulk.rs).
    /// Prints `bulk-seeded {...}` (counts and the plan's expected copy/skip/conflict) on stderr.
    #[arg(long, value_name = "N")]
    bulk: Option<usize>,
    /// Versions per container of --bulk.
    #[arg(long, requires = "bulk", default_value_t = 100, value_name = "N")]
    bulk_per_container: usize,
}

fn build_config(a: &ServeArgs) -> anyhow::Result<EmulatorConfig> {
    let mut c: EmulatorConfig = match &a.config {
        Some(p) => serde_json::from_slice(&std::fs::read(p).with_context(|| format!("reading {}", p.display()))?)?,
        None => EmulatorConfig::default(),
    };
    if let Some(p) = a.port {
        c.port = p;
    }
    if a.plain_http {
        c.tls = false;
    }
    if let Some(d) = &a.data_dir {
        c.data_dir = Some(d.clone());
    }
    if let Some(t) = &a.token {
        c.static_token = t.clone();
    }
    for sp in &a.service_principals {
        let mut it = sp.splitn(3, ':');
        let (Some(t), Some(id), Some(s)) = (it.next(), it.next(), it.next()) else {
            return Err(anyhow!("--service-principal wants tenant:client:secret"));
        };
        c.service_principals.push(ServicePrincipal { tenant_id: t.into(), client_id: id.into(), client_secret: s.into() });
    }
    if let Some(p) = a.page_size {
        c.page_size = p;
    }
    if let Some(b) = &a.blob_endpoint {
        c.blob_endpoint = Some(b.clone());
    }
    for sa in &a.storage_accounts {
        let (n, k) = sa.split_once(':').ok_or_else(|| anyhow!("--storage-account wants name:key"))?;
        c.storage_accounts.push(StorageAccount { name: n.into(), key: k.into() });
    }
    for w in &a.workspaces {
        let p: Vec<&str> = w.split('/').collect();
        let [sub, rg, name, loc, sa] = p.as_slice() else {
            return Err(anyhow!("--workspace wants subscription/resourceGroup/name/location/storageAccount"));
        };
        c.workspaces.push(WorkspaceSpec { subscription_id: sub.to_string(), resource_group: rg.to_string(), name: name.to_string(), location: loc.to_string(), storage_account: sa.to_string() });
    }
    Ok(c)
}

async fn wait_for_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).expect("SIGTERM handler");
        tokio::select! { _ = ctrl_c => {}, _ = term.recv() => {} }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}

fn write_private(path: &PathBuf, contents: &str) -> anyhow::Result<()> {
    std::fs::write(path, contents).with_context(|| format!("writing {}", path.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    }
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_new(&cli.log).unwrap_or_else(|_| "warn".into()))
        .with_writer(std::io::stderr)
        .init();
    match cli.command {
        Command::Serve(a) => {
            let emu = aml_emulator::start(build_config(&a)?).await?;
            let ca = emu.ca_pem_path().map(|p| format!(" ca={}", p.display())).unwrap_or_default();
            println!("aml-emulator ready: {}{ca} data={}", emu.base_url(), emu.data_dir().display());
            wait_for_signal().await;
            emu.shutdown().await;
        }
        Command::Seed(a) => {
            let emu = aml_emulator::start(build_config(&a.serve)?).await?;
            let report = aml_emulator::seed::seed_workspace(emu.app(), &a.workspace_id, &a.folder).await?;
            println!("{}", serde_json::to_string_pretty(&report)?);
            emu.shutdown().await;
        }
        Command::Up(a) => {
            let (azurite, pk, fk) = tokio::task::spawn_blocking(aml_emulator::testbed::start_azurite).await??;
            let config = aml_emulator::testbed::standard_config(&azurite.blob_endpoint(), a.page_size, a.data_dir.clone(), &pk, &fk);
            let emu = aml_emulator::start(config).await?;
            aml_emulator::testbed::standard_estate(emu.app())?;
            let mut facts = aml_emulator::testbed::facts(&emu)?;
            let proxy = if a.storage_proxy {
                let p = aml_emulator::StorageProxy::start(&azurite.blob_endpoint())?;
                aml_emulator::storage_proxy::attach(emu.app(), p.faults());
                facts.use_storage_proxy(p.blob_endpoint());
                Some(p)
            } else {
                None
            };
            let files = if a.files {
                let opts = aml_emulator::testbed::FilesBedOptions { page_size: a.files_page_size };
                Some(aml_emulator::testbed::start_files(&mut facts, a.data_dir.as_ref().map(|d| d.join("files")), &opts)?)
            } else {
                None
            };
            if let Some(folder) = &a.seed {
                let r = aml_emulator::seed::seed_workspace(emu.app(), &facts.primary.arm_id(), folder).await?;
                eprintln!("seeded {} assets ({} files) into {}", r.created.len(), r.uploaded_files, facts.primary.name);
            }
            if let Some(n) = a.bulk {
                let opts = aml_emulator::seed::bulk::BulkOptions { versions: n, per_container: a.bulk_per_container, tool_blob_endpoint_template: facts.blob_endpoint_template.clone() };
                let r = aml_emulator::seed::bulk::seed_bulk(emu.app(), &facts.primary.arm_id(), &facts.failover.arm_id(), &opts).await?;
                eprintln!("bulk-seeded {}", serde_json::to_string(&r)?);
            }
            if let (Some(folder), Some(f)) = (&a.seed_notebooks, &files) {
                let n = f.seed_share(&facts.primary.storage_account, aml_emulator::files::CODE_SHARE, folder)?;
                eprintln!("seeded {n} notebook files into {}'s working-directory share", facts.primary.name);
            }
            if let Some(p) = &a.state_file {
                write_private(p, &serde_json::to_string_pretty(&facts)?)?;
            }
            if let Some(p) = &a.env_file {
                write_private(p, &facts.env_file())?;
            }
            let via = if proxy.is_some() { format!(" (storage proxy in front of {})", facts.azurite_blob_endpoint) } else { String::new() };
            let files_note = facts.files_endpoint.as_ref().map(|f| format!(" files={f}")).unwrap_or_default();
            println!("aml-emulator ready: arm={} blob={}{via}{files_note} primary={} failover={}", facts.arm_url, facts.blob_endpoint, facts.primary.name, facts.failover.name);
            wait_for_signal().await;
            emu.shutdown().await;
            if let Some(p) = proxy {
                tokio::task::spawn_blocking(move || drop(p)).await?;
            }
            if let Some(f) = files {
                tokio::task::spawn_blocking(move || drop(f)).await?;
            }
            drop(azurite);
        }
    }
    Ok(())
}

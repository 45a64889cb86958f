//! Every schema in `docs/schemas/` is generated from its document's type (`src/wire/` says
//! which), and the committed files are the generated ones: a change to a document's type that
//! is not reflected in its committed schema fails here, and so does a schema file no type
//! generates. `SCHEMAS_BLESS=1 cargo test --test schemas` rewrites them (review the diff: a
//! removed or renamed field is a breaking change, see docs/json.md).

use aml_failover::wire::{document, SchemaFile};
use std::path::PathBuf;

/// Every document whose schema is generated from its type.
fn documents() -> Vec<SchemaFile> {
    vec![
        document::<aml_failover::report::Report>(
            "copy-report",
            aml_failover::report::SCHEMA_VERSION,
            "aml-failover copy report and manifest",
            "The Report of src/report.rs: stdout of `copy`, `outputs copy`, `notebooks copy` and `notebooks recover` with -o json, and the manifest file each writes (--manifest). `access` appears only on the stdout of `outputs copy`.",
        ),
        document::<aml_failover::wire::ErrorDocument>(
            "error",
            aml_failover::wire::ERROR_SCHEMA_VERSION,
            "aml-failover error document",
            "stdout of any command run with -o json that stops on an error (src/main.rs). It has no `command`. Argument errors found by the parser (unknown option, missing value) print clap's text on stderr and no JSON.",
        ),
        document::<aml_failover::bundle::manifest::Manifest>(
            "bundle-manifest",
            aml_failover::bundle::manifest::MANIFEST_SCHEMA_VERSION,
            "aml-failover snapshot bundle manifest",
            "snapshots/<id>/manifest.json in a snapshot bundle (Manifest in src/bundle/manifest.rs). Not a command output: no `command`. Models, environments and code (the assets with files) are in `kinds`/`assets`; components, pipeline definitions and data assets in the optional `specKinds`/`specAssets`, which a reader of the first version ignores. Tolerant of added fields (the reader ignores unknown ones).",
        ),
        document::<aml_failover::journal::Record>(
            "journal-record",
            aml_failover::journal::FORMAT_VERSION as u32,
            "aml-failover copy journal record",
            "One line of <state dir>/<target>-<hash>/journal.jsonl (and last-complete.jsonl) written by `copy` (src/journal.rs): JSON Lines, one record per line. The header's `version` is the journal format version (FORMAT_VERSION).",
        ),
        document::<aml_failover::readiness::Report>(
            "readiness",
            aml_failover::readiness::SCHEMA_VERSION,
            "aml-failover readiness report",
            "stdout of `readiness -o json` (src/readiness/): one entry per check with its status, evidence and fix, the RPO of the pair and the verdict (ready: exit 0, warnings: 1, not-ready: 7).",
        ),
        document::<aml_failover::drift::VerifyReport>(
            "verify",
            aml_failover::drift::SCHEMA_VERSION,
            "aml-failover verify report",
            "stdout of `verify -o json` (and `verify BUNDLE`), and the same document written to --manifest FILE (VerifyReport in src/drift.rs). Tolerant of added fields at the top level.",
        ),
        document::<aml_failover::workspace_show::Document>(
            "workspace-show",
            aml_failover::workspace_show::SCHEMA_VERSION,
            "aml-failover workspace show",
            "stdout of `workspace show -o json` (Document in src/workspace_show.rs): one entry per workspace given (--from/-w, --to).",
        ),
        document::<aml_failover::bundle::list::ListReport>(
            "snapshot-list",
            aml_failover::bundle::SCHEMA_VERSION,
            "aml-failover snapshot list",
            "stdout of `snapshot list -o json` (ListReport in src/bundle/list.rs). Tolerant of added fields.",
        ),
        document::<aml_failover::bundle::list::PruneReport>(
            "snapshot-prune",
            aml_failover::bundle::SCHEMA_VERSION,
            "aml-failover snapshot prune",
            "stdout of `snapshot prune -o json` (PruneReport in src/bundle/list.rs). Tolerant of added fields.",
        ),
        document::<aml_failover::bundle::export::ExportReport>(
            "snapshot-export",
            aml_failover::bundle::SCHEMA_VERSION,
            "aml-failover snapshot export",
            "stdout of `snapshot export -o json` (ExportReport in src/bundle/export.rs). Tolerant of added fields.",
        ),
        document::<aml_failover::failover::FailoverReport>(
            "failover-report",
            aml_failover::failover::SCHEMA_VERSION,
            "aml-failover failover report",
            "stdout of `failover -o json` and <out-dir>/failover-report.json (FailoverReport in src/failover.rs). Tolerant of added fields (additionalProperties true).",
        ),
        document::<aml_failover::bundle::RestoreReport>(
            "snapshot-restore",
            aml_failover::bundle::SCHEMA_VERSION,
            "aml-failover snapshot restore",
            "stdout of `snapshot restore -o json`, and <out-dir>/failover-snapshot-restore.json of `failover --snapshot` with the primary down (RestoreReport in src/bundle/restore.rs). Tolerant of added fields.",
        ),
        document::<aml_failover::folder::listing::ListReport>(
            "asset-list",
            aml_failover::folder::SCHEMA_VERSION,
            "aml-failover model|environment|component|data list",
            "stdout of `model list`, `environment list`, `component list`, `data list` with -o json (ListReport in src/folder/listing.rs).",
        ),
        document::<aml_failover::folder::download::DownloadReport>(
            "asset-download",
            aml_failover::folder::SCHEMA_VERSION,
            "aml-failover model|environment download",
            "stdout of `model download` and `environment download` with -o json (DownloadReport in src/folder/download.rs).",
        ),
        document::<aml_failover::folder::register::RegisterReport>(
            "asset-register",
            aml_failover::folder::SCHEMA_VERSION,
            "aml-failover model|environment register",
            "stdout of `model register` and `environment register` with -o json (RegisterReport in src/folder/register.rs).",
        ),
        document::<aml_failover::folder::component::DownloadReport>(
            "component-download",
            aml_failover::folder::SCHEMA_VERSION,
            "aml-failover component download",
            "stdout of `component download -o json` (DownloadReport in src/folder/component.rs).",
        ),
        document::<aml_failover::folder::component::RegisterReport>(
            "component-register",
            aml_failover::folder::SCHEMA_VERSION,
            "aml-failover component register",
            "stdout of `component register -o json` (RegisterReport in src/folder/component.rs).",
        ),
        document::<aml_failover::folder::data::DownloadReport>(
            "data-download",
            aml_failover::folder::SCHEMA_VERSION,
            "aml-failover data download",
            "stdout of `data download -o json` (DownloadReport in src/folder/data.rs).",
        ),
        document::<aml_failover::folder::data::RegisterReport>(
            "data-register",
            aml_failover::folder::SCHEMA_VERSION,
            "aml-failover data register",
            "stdout of `data register -o json` (RegisterReport in src/folder/data.rs).",
        ),
        document::<aml_failover::folder::job::CreateReport>(
            "pipeline-create",
            aml_failover::folder::SCHEMA_VERSION,
            "aml-failover job create / pipeline create",
            "stdout of `job create -o json` and `pipeline create -o json` (CreateReport in src/folder/job.rs).",
        ),
        document::<aml_failover::folder::job::GetReport>(
            "pipeline-get",
            aml_failover::folder::SCHEMA_VERSION,
            "aml-failover job get / pipeline get",
            "stdout of `job get -o json` and `pipeline get -o json` (GetReport in src/folder/job.rs).",
        ),
        document::<aml_failover::outputs::Listing>(
            "outputs-list",
            aml_failover::outputs::SCHEMA_VERSION,
            "aml-failover outputs list",
            "stdout of `outputs list -o json` (Listing in src/outputs.rs). `outputs copy` prints a copy-report.",
        ),
        document::<aml_failover::notebooks::Shares>(
            "notebooks-list",
            aml_failover::notebooks::SCHEMA_VERSION,
            "aml-failover notebooks list",
            "stdout of `notebooks list -o json`, and of `notebooks recover` given no --workspace-id/--share (then with exit code 2) (Shares in src/notebooks.rs).",
        ),
    ]
}

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("docs/schemas")
}

#[test]
fn committed_schemas_are_the_generated_ones() {
    let bless = std::env::var_os("SCHEMAS_BLESS").is_some_and(|v| !v.is_empty() && v != "0");
    let mut stale = Vec::new();
    for doc in documents() {
        let path = dir().join(&doc.file);
        let text = serde_json::to_string_pretty(&doc.schema).unwrap() + "\n";
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        if committed != text {
            if bless {
                std::fs::write(&path, &text).unwrap();
                eprintln!("blessed {}", path.display());
            } else {
                stale.push(doc.file.clone());
            }
        }
    }
    assert!(
        stale.is_empty(),
        "docs/schemas differs from the schemas generated from the wire types: {stale:?}; \
         if the change is intended, run `SCHEMAS_BLESS=1 cargo test --test schemas` and review the diff"
    );
}

#[test]
fn every_generated_schema_names_its_file() {
    for doc in documents() {
        let stem = doc.file.trim_end_matches(".schema.json");
        let (name, version) = stem.rsplit_once(".v").unwrap();
        assert_eq!(doc.schema["$id"], format!("urn:aml-failover:schema:{name}:v{version}"), "{}", doc.file);
        assert_eq!(doc.schema["$schema"], "https://json-schema.org/draft/2020-12/schema", "{}", doc.file);
    }
}

#[test]
fn every_schema_file_is_generated() {
    let generated: std::collections::BTreeSet<String> = documents().into_iter().map(|d| d.file).collect();
    let mut by_hand = Vec::new();
    for entry in std::fs::read_dir(dir()).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        if name.ends_with(".schema.json") && !generated.contains(&name) {
            by_hand.push(name);
        }
    }
    assert!(by_hand.is_empty(), "docs/schemas has files no wire type generates (add the type to documents()): {by_hand:?}");
}

//! The target guard of every writing command, through the built binary (issue 12 items 4, 5, 6,
//! 8, 9, 10): `--to` equal to `--from` refused before anything is written, the target's lock
//! taken by every command that writes, one output layout whichever way the source was reached,
//! bad input refused before the first write, symlinks in local folders. The target is checked
//! with the test bed's own clients, never through the tool.

mod common;

use aml_emulator::faults::Fault;
use aml_emulator::testbed::WorkspaceInfo;
use common::*;
use std::path::Path;

const WORKING_DIR: &str = SEEDED_WORKING_DIR;

fn bed() -> TestBed {
    seeded_testbed_with_notebooks()
}

/// One Shared Key request to Azurite (bypassing any proxy), for checks and for holding a lease.
fn blob_request(tb: &TestBed, ws: &WorkspaceInfo, method: &str, path_and_query: &str, extra: &[(&str, &str)]) -> (u16, String) {
    let url = url::Url::parse(&format!("{}/{}/{}/{path_and_query}", tb.azurite_blob_endpoint(), ws.storage_account, ws.default_container())).unwrap();
    let key = azure_sharedkey::SharedKey::new(&ws.storage_account, &ws.storage_key).unwrap();
    let date = aml_emulator::blob::httpdate_now();
    let mut headers: Vec<(&str, String)> = vec![("x-ms-date", date), ("x-ms-version", aml_emulator::blob::X_MS_VERSION.to_string()), ("content-length", "0".into())];
    headers.extend(extra.iter().map(|(k, v)| (*k, v.to_string())));
    let auth = key.authorization(method, &url, headers.iter().map(|(k, v)| (*k, v.as_str())));
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let mut req = reqwest::Client::new().request(reqwest::Method::from_bytes(method.as_bytes()).unwrap(), url).header("authorization", auth);
        for (k, v) in &headers {
            req = req.header(*k, v);
        }
        let r = req.send().await.unwrap();
        (r.status().as_u16(), r.text().await.unwrap_or_default())
    })
}

/// Names of the blobs under `prefix` in a workspace's default container.
fn blobs_under(tb: &TestBed, ws: &WorkspaceInfo, prefix: &str) -> Vec<String> {
    let (status, xml) = blob_request(tb, ws, "GET", &format!("?restype=container&comp=list&prefix={prefix}"), &[]);
    assert_eq!(status, 200, "{xml}");
    xml.split("<Name>").skip(1).map(|s| s.split("</Name>").next().unwrap().to_string()).collect()
}

const FOREIGN_LEASE: &str = "0f0f0f0f-1111-2222-3333-444444444444";

/// Another machine's run holding the target's lock: the lock blob, its holder and a lease.
fn hold_lock(tb: &TestBed, ws: &WorkspaceInfo) {
    let d = Direct::new(tb);
    d.put_blob(ws, ".aml-failover/lock", b"");
    let (s, t) = blob_request(tb, ws, "PUT", ".aml-failover/lock?comp=metadata", &[("x-ms-meta-pid", "4242"), ("x-ms-meta-host", "other-host"), ("x-ms-meta-startedat", "2026-01-01T00:00:00Z")]);
    assert!(s < 300, "{s} {t}");
    let (s, t) = blob_request(tb, ws, "PUT", ".aml-failover/lock?comp=lease", &[("x-ms-lease-action", "acquire"), ("x-ms-lease-duration", "-1"), ("x-ms-proposed-lease-id", FOREIGN_LEASE)]);
    assert_eq!(s, 201, "{t}");
}

fn release_lock(tb: &TestBed, ws: &WorkspaceInfo) {
    let (s, t) = blob_request(tb, ws, "PUT", ".aml-failover/lock?comp=lease", &[("x-ms-lease-action", "release"), ("x-ms-lease-id", FOREIGN_LEASE)]);
    assert_eq!(s, 200, "{t}");
}

/// A usage error: exit 2, one line on stderr naming `what`, nothing on stdout.
fn refused(r: &Run, what: &str) {
    r.expect_code(2);
    let lines: Vec<&str> = r.stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "not one line on stderr:\n{}", r.stderr);
    assert!(lines[0].contains(what), "{}", lines[0]);
    assert!(r.stdout.trim().is_empty(), "the error went to stdout:\n{}", r.stdout);
}

#[test]
fn to_equal_to_from_is_refused_by_every_writing_command_before_anything_is_written() {
    let tb = bed();
    let p = tb.primary().clone();
    let from = p.arm_id();
    let dir = tempfile::tempdir().unwrap();
    let m = dir.path().join("m.json").display().to_string();
    let before = blobs_under(&tb, &p, "").len();

    let r = run(command(&tb), &["failover", "--from", &from, "--to", &from, "--out-dir", dir.path().join("run").to_str().unwrap()]);
    refused(&r, "--from and --to name the same workspace");
    let r = run(command(&tb), &["outputs", "copy", "--from", &from, "--to", &from, "--manifest", &m]);
    refused(&r, "--from and --to name the same workspace");
    let r = run(command(&tb), &["notebooks", "copy", "--from", &from, "--to", &from, "--manifest", &m]);
    refused(&r, "--from and --to name the same workspace");
    // The same storage container reached another way: storage only, into the workspace itself.
    let mut c = command(&tb);
    c.env("AML_FAILOVER_SOURCE_ACCOUNT_KEY", &p.storage_key);
    let r = run(c, &["outputs", "copy", "--storage-account", &p.storage_account, "--workspace-id", &p.workspace_id, "--to", &from, "--manifest", &m]);
    refused(&r, "the destination is the source itself");
    // The same share: the notebooks of the account, recovered into the workspace they are in.
    let mut c = command(&tb);
    c.env("AML_FAILOVER_SOURCE_ACCOUNT_KEY", &p.storage_key);
    let r = run(c, &["notebooks", "recover", "--storage-account", &p.storage_account, "--share", WORKING_DIR, "--to", &from, "--manifest", &m]);
    refused(&r, "the destination is the source itself");

    assert_eq!(blobs_under(&tb, &p, "failover-outputs/"), Vec::<String>::new(), "outputs were written into the primary");
    assert_eq!(blobs_under(&tb, &p, "").len(), before, "something was written into the primary's container");
    assert!(!Path::new(&m).exists(), "a refused run wrote a manifest");
}

#[test]
fn every_writing_command_waits_for_the_target_lock_held_by_another_machine() {
    let tb = bed();
    let (p, f) = (tb.primary().clone(), tb.failover().clone());
    let (from, to) = (p.arm_id(), f.arm_id());
    let dir = tempfile::tempdir().unwrap();
    let m = dir.path().join("m.json").display().to_string();
    let model = dir.path().join("model");
    std::fs::create_dir_all(model.join("files")).unwrap();
    std::fs::write(model.join("files/weights.bin"), b"weights").unwrap();
    std::fs::write(model.join("model.yml"), "name: guarded\nversion: 1\npath: files\n").unwrap();
    let bundle = dir.path().join("bundle");
    run(command(&tb), &["snapshot", "export", "--from", &from, "--to", bundle.to_str().unwrap(), "--kinds", "model", "-q"]).expect_code(0);

    hold_lock(&tb, &f);
    let held = |r: &Run| {
        r.expect_code(6);
        assert!(r.stderr.contains("another aml-failover run is writing to this target: process 4242 on other-host"), "{}", r.stderr);
    };
    held(&run(command(&tb), &["outputs", "copy", "--from", &from, "--to", &to, "--manifest", &m]));
    held(&run(command(&tb), &["notebooks", "copy", "--from", &from, "--to", &to, "--manifest", &m]));
    held(&run(command(&tb), &["model", "register", "-f", model.join("model.yml").to_str().unwrap(), "--to", &to]));
    held(&run(command(&tb), &["snapshot", "restore", bundle.to_str().unwrap(), "--to", &to]));
    assert_eq!(blobs_under(&tb, &f, "failover-outputs/"), Vec::<String>::new(), "outputs were written under another run's lock");
    assert!(blobs_under(&tb, &f, "LocalUpload/").is_empty(), "a model was uploaded under another run's lock");
    assert!(Direct::new(&tb).get(&format!("{to}/models/guarded/versions/1")).is_none());
    assert!(tb.files().unwrap().store().file(&f.storage_account, WORKING_DIR, None, "Users/alice/train.ipynb").is_err(), "a notebook was written under another run's lock");

    // Once that run lets go, the same commands proceed (and let the lock go themselves).
    release_lock(&tb, &f);
    run(command(&tb), &["outputs", "copy", "--from", &from, "--to", &to, "--manifest", &m]).expect_code(0);
    run(command(&tb), &["notebooks", "copy", "--from", &from, "--to", &to, "--manifest", &m]).expect_code(0);
    run(command(&tb), &["model", "register", "-f", model.join("model.yml").to_str().unwrap(), "--to", &to]).expect_code(0);
    assert!(Direct::new(&tb).get(&format!("{to}/models/guarded/versions/1")).is_some());
    let (s, t) = blob_request(&tb, &f, "PUT", ".aml-failover/lock?comp=lease", &[("x-ms-lease-action", "acquire"), ("x-ms-lease-duration", "15"), ("x-ms-proposed-lease-id", FOREIGN_LEASE)]);
    assert_eq!(s, 201, "the commands left the target's lock held: {t}");
}

#[test]
fn outputs_land_in_one_layout_whether_the_source_is_reached_through_the_control_plane_or_storage_only() {
    let tb = seeded_testbed(true);
    let (p, f) = (tb.primary().clone(), tb.failover().clone());
    let (from, to) = (p.arm_id(), f.arm_id());
    let dir = tempfile::tempdir().unwrap();
    let m = dir.path().join("m.json").display().to_string();
    let r = run(command(&tb), &["outputs", "copy", "--from", &from, "--to", &to, "--manifest", &m, "-o", "json"]);
    r.expect_code(0);
    assert_eq!(r.json()["summary"]["copied"], 4, "{}", r.stdout);
    let first = blobs_under(&tb, &f, "failover-outputs/");
    assert!(!first.is_empty() && first.iter().all(|b| b.starts_with(&format!("failover-outputs/{}/", p.workspace_id))), "{first:?}");
    assert!(r.json()["source"].as_str().unwrap().contains(&p.name), "the report does not name the workspace: {}", r.stdout);

    // The primary region goes down: the same outputs, through its storage alone.
    tb.set_fault(Fault::region_down("eastus"));
    let mut c = command(&tb);
    c.env("AML_FAILOVER_SOURCE_ACCOUNT_KEY", &p.storage_key);
    let r = run(c, &["outputs", "copy", "--storage-account", &p.storage_account, "--source-endpoint", "secondary", "--to", &to, "--manifest", &m, "-o", "json"]);
    r.expect_code(0);
    let v = r.json();
    assert_eq!((v["summary"]["copied"].as_u64(), v["summary"]["skipped"].as_u64()), (Some(0), Some(4)), "{}", v["summary"]);
    assert_eq!(v["summary"]["bytesTransferred"], 0);
    assert_eq!(blobs_under(&tb, &f, "failover-outputs/"), first, "the storage-only run wrote another copy");
}

#[test]
fn bad_input_is_refused_before_the_first_write() {
    let tb = bed();
    let (p, f) = (tb.primary().clone(), tb.failover().clone());
    let (from, to) = (p.arm_id(), f.arm_id());
    let dir = tempfile::tempdir().unwrap();
    let d = Direct::new(&tb);

    // An unwritable manifest is found at the start, not after the registrations.
    let m = dir.path().join("no-such-folder/m.json");
    let r = run(command(&tb), &["copy", "--from", &from, "--to", &to, "--kinds", "model", "--manifest", m.to_str().unwrap()]);
    refused(&r, "--manifest");
    assert!(d.list(&format!("{to}/models")).is_empty(), "models were registered before the bad --manifest was found");
    assert!(blobs_under(&tb, &f, "").is_empty(), "files were copied before the bad --manifest was found");
    let file = dir.path().join("a-file");
    std::fs::write(&file, b"x").unwrap();
    let r = run(command(&tb), &["copy", "--from", &from, "--to", &to, "--kinds", "model", "--data-output-dir", file.join("data").to_str().unwrap()]);
    refused(&r, "--data-output-dir");
    let r = run(command(&tb), &["outputs", "copy", "--from", &from, "--to-dir", file.join("out").to_str().unwrap()]);
    refused(&r, "--to-dir");

    // Names and ids.
    let mut c = command(&tb);
    c.env("AML_FAILOVER_SOURCE_ACCOUNT_KEY", &p.storage_key);
    let r = run(c, &["outputs", "copy", "--storage-account", &p.storage_account, "--workspace-id", "not-a-guid", "--to", &to]);
    refused(&r, "--workspace-id 'not-a-guid' is not a workspace id");
    for args in [
        vec!["outputs", "copy", "--storage-account", "Bad_Name/..", "--to", &to],
        vec!["notebooks", "recover", "--storage-account", "Bad_Name/..", "--workspace-id", &p.workspace_id, "--to", &to],
        vec!["failover", "--from", &from, "--to", &to, "--storage-account", "Bad_Name/..", "--out-dir", dir.path().join("run").to_str().unwrap()],
    ] {
        let r = run(command(&tb), &args);
        refused(&r, "--storage-account 'Bad_Name/..' is not a storage account name: 3-24 lowercase letters and digits");
    }
    assert!(blobs_under(&tb, &f, "").is_empty(), "something was written into the failover workspace");
    assert!(d.list(&format!("{to}/models")).is_empty());
}

#[cfg(unix)]
#[test]
fn symlinks_in_a_local_folder_are_followed_inside_it_and_refused_when_they_leave_it() {
    use std::os::unix::fs::symlink;
    let tb = testbed(None, false);
    let f = tb.failover().clone();
    let to = f.arm_id();
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("model");
    std::fs::create_dir_all(model.join("files/weights")).unwrap();
    std::fs::write(model.join("files/config.json"), b"{\"layers\": 2}").unwrap();
    std::fs::write(model.join("files/weights/real.bin"), b"the weights").unwrap();
    symlink("weights/real.bin", model.join("files/model.safetensors")).unwrap();
    std::fs::write(model.join("model.yml"), "name: linked\nversion: 1\npath: files\n").unwrap();

    let r = run(command(&tb), &["model", "register", "-f", model.join("model.yml").to_str().unwrap(), "--to", &to, "-o", "json"]);
    r.expect_code(0);
    let v = r.json();
    assert_eq!(v["files"].as_array().map(Vec::len), Some(3), "{v}");
    let uploaded = blobs_under(&tb, &f, "LocalUpload/");
    assert_eq!(uploaded.len(), 3, "{uploaded:?}");
    let link = uploaded.iter().find(|b| b.ends_with("/model.safetensors")).unwrap_or_else(|| panic!("the linked file was not uploaded: {uploaded:?}"));
    assert_eq!(Direct::new(&tb).blob(&f, link).unwrap(), b"the weights");

    // A link out of the folder: refused, naming it, before any upload.
    std::fs::write(dir.path().join("secret.bin"), b"not part of the model").unwrap();
    symlink("../../secret.bin", model.join("files/extra.bin")).unwrap();
    std::fs::write(model.join("model.yml"), "name: linked\nversion: 2\npath: files\n").unwrap();
    let r = run(command(&tb), &["model", "register", "-f", model.join("model.yml").to_str().unwrap(), "--to", &to]);
    r.expect_code(2);
    assert!(r.stderr.contains(&format!("symbolic link {}", model.join("files/extra.bin").display())) && r.stderr.contains("points outside the folder"), "{}", r.stderr);
    assert_eq!(blobs_under(&tb, &f, "LocalUpload/"), uploaded, "something was uploaded");
    assert!(Direct::new(&tb).get(&format!("{to}/models/linked/versions/2")).is_none());
    // A loop: refused too.
    std::fs::remove_file(model.join("files/extra.bin")).unwrap();
    symlink("..", model.join("files/weights/up")).unwrap();
    let r = run(command(&tb), &["model", "register", "-f", model.join("model.yml").to_str().unwrap(), "--to", &to]);
    r.expect_code(2);
    assert!(r.stderr.contains("files/weights/up") && r.stderr.contains("loops"), "{}", r.stderr);
}

#[test]
fn new_version_numbers_never_collide_and_a_resumed_run_checks_what_a_number_holds() {
    use serde_json::json;
    let tb = seeded_testbed(false);
    let d = Direct::new(&tb);
    let (p, f) = (tb.primary().clone(), tb.failover().clone());
    let (from, to) = (p.arm_id(), f.arm_id());
    let name = "local-file-example";
    // The failover already holds versions 1 and 2 with the same specification and other bytes.
    let put_other = |version: &str, bytes: &[u8], blob: &str| {
        let src = d.get(&format!("{from}/models/{name}/versions/{}", if version == "1" || version == "2" { version } else { "1" })).unwrap();
        d.put_blob(&f, blob, bytes);
        let mut props = src["properties"].clone();
        props["modelUri"] = json!(format!("azureml://subscriptions/{}/resourcegroups/{}/workspaces/{}/datastores/workspaceblobstore/paths/{blob}", f.subscription_id, f.resource_group, f.name));
        props.as_object_mut().unwrap().remove("provisioningState");
        assert!(d.put(&format!("{to}/models/{name}"), &json!({"properties": {}})) < 300);
        assert!(d.put(&format!("{to}/models/{name}/versions/{version}"), &json!({"properties": props})) < 300);
    };
    let src_bytes = |v: &str| {
        let src = d.get(&format!("{from}/models/{name}/versions/{v}")).unwrap();
        d.blob(&p, &datastore_path(src["properties"]["modelUri"].as_str().unwrap())).unwrap()
    };
    let tgt_bytes = |v: &str| {
        let t = d.get(&format!("{to}/models/{name}/versions/{v}")).unwrap_or_else(|| panic!("no version {v} in the target"));
        d.blob(&f, &datastore_path(t["properties"]["modelUri"].as_str().unwrap())).unwrap()
    };
    for v in ["1", "2"] {
        let mut other = src_bytes(v);
        other[0] ^= 0xff;
        put_other(v, &other, &format!("elsewhere/{v}/model.pkl"));
    }
    let dir = tempfile::tempdir().unwrap();
    let m = dir.path().join("m.json").display().to_string();
    let args = ["copy", "--from", &from, "--to", &to, "--kinds", "models", "--name", name, "--on-conflict", "new-version", "--manifest", &m, "-o", "json"];

    // The registration of the second new version fails: the run ends partial, its journal open.
    // (The tool percent-encodes the name in the path; only this model is copied.)
    tb.set_fault(Fault::throttle(400, 0, 100).on("PUT", "/versions/4"));
    let r = run(command(&tb), &args);
    r.expect_code(1);
    let v = r.json();
    let numbers: Vec<(&str, &str)> = v["items"].as_array().unwrap().iter().map(|i| (i["version"].as_str().unwrap(), i["targetVersion"].as_str().unwrap())).collect();
    assert_eq!(numbers, [("1", "3"), ("2", "4")], "two conflicting versions, two new numbers: {v}");
    assert_eq!(tgt_bytes("3"), src_bytes("1"));
    tb.clear_faults();

    // Meanwhile someone else registers other content as version 4.
    put_other("4", b"somebody else's model", "elsewhere/4/model.pkl");
    let r = run(command(&tb), &args);
    r.expect_code(0);
    let v = r.json();
    let two = v["items"].as_array().unwrap().iter().find(|i| i["version"] == "2").unwrap();
    assert_eq!((two["status"].as_str(), two["targetVersion"].as_str()), (Some("copied"), Some("5")), "{two}");
    assert!(!two["reason"].as_str().unwrap().contains("already registered"), "{two}");
    assert_eq!(tgt_bytes("5"), src_bytes("2"), "version 5 does not hold the source's version 2");
    assert_eq!(tgt_bytes("4"), b"somebody else's model", "version 4 was changed");
    assert_eq!(tgt_bytes("3"), src_bytes("1"));
}

#[test]
fn output_blobs_with_unsafe_names_are_reported_as_skipped_and_make_the_exit_1() {
    let tb = seeded_testbed(false);
    let (p, f) = (tb.primary().clone(), tb.failover().clone());
    let (from, to) = (p.arm_id(), f.arm_id());
    // A blob whose name has an empty segment: no safe place in a folder or a container path.
    let odd = "azureml/train_run_0042/model_output//odd.bin";
    Direct::new(&tb).put_blob(&p, odd, b"odd");
    assert!(blobs_under(&tb, &p, "azureml/train_run_0042/").iter().any(|b| b == odd), "the bed did not keep the name");
    let dir = tempfile::tempdir().unwrap();
    let m = dir.path().join("m.json").display().to_string();
    let r = run(command(&tb), &["outputs", "copy", "--from", &from, "--to", &to, "--manifest", &m, "-o", "json"]);
    r.expect_code(1);
    let v = r.json();
    let skipped: Vec<&serde_json::Value> = v["items"].as_array().unwrap().iter().filter(|i| i["reason"].as_str().unwrap().contains("skipped blob")).collect();
    assert_eq!(skipped.len(), 1, "{v}");
    assert_eq!(skipped[0]["status"], "failed");
    assert!(skipped[0]["reason"].as_str().unwrap().contains(&format!("{}/{odd}", p.default_container())), "{}", skipped[0]);
    assert_eq!(v["summary"]["copied"], 4, "{}", v["summary"]);
    let manifest: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&m).unwrap()).unwrap();
    assert!(manifest["items"].as_array().unwrap().iter().any(|i| i["reason"].as_str().unwrap().contains(odd)), "not in the manifest");
    assert!(blobs_under(&tb, &f, "failover-outputs/").iter().all(|b| !b.ends_with("odd.bin")), "the odd blob was copied");

    // Storage only: the same.
    let mut c = command(&tb);
    c.env("AML_FAILOVER_SOURCE_ACCOUNT_KEY", &p.storage_key);
    let r = run(c, &["outputs", "copy", "--storage-account", &p.storage_account, "--to", &to, "--manifest", &m, "-o", "json"]);
    r.expect_code(1);
    let v = r.json();
    assert_eq!(v["items"].as_array().unwrap().iter().filter(|i| i["reason"].as_str().unwrap().contains("skipped blob")).count(), 1, "{v}");
    assert_eq!(v["summary"]["skipped"], 4, "{}", v["summary"]);
}

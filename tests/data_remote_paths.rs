//! `aml-failover data register` of remote paths through the built binary (issue 11 item 5):
//! a `uri_file`/`uri_folder` whose path is an `azureml://datastores/<ds>/paths/...` URI, an https
//! or a wasbs blob URL is registered as given without reading it, as `az ml data create` does;
//! `--check-paths` reads it through the workspace's datastores and refuses it (exit 2, nothing
//! registered) when no files are there. `copy` re-registers a URL outside the workspace's storage
//! with the same path, unread, and copies an MLTable folder with `--copy-data`. Checked with
//! direct ARM and storage reads, independent of the tool.

mod common;

use common::*;
use std::path::Path;

fn write(dir: &Path, file: &str, yaml: &str) -> String {
    let p = dir.join(file);
    std::fs::write(&p, yaml).unwrap();
    p.to_str().unwrap().to_string()
}

#[test]
fn remote_data_paths_register_unread_and_check_paths_reads_them() {
    let tb = seeded_testbed(false);
    let d = Direct::new(&tb);
    let (p, f) = (tb.primary().arm_id(), tb.failover().arm_id());
    let dir = tempfile::tempdir().unwrap();

    // Accepted as given, nothing read: a datastore path with no files behind it (yet), an https
    // URL and a wasbs URI of a public account no datastore of the workspace is on.
    for (name, ty, path) in [
        ("remote-datastore-folder", "uri_folder", "azureml://datastores/workspaceblobstore/paths/not-there-yet/"),
        ("remote-https-file", "uri_file", "https://azuremlexamples.blob.core.windows.net/datasets/iris.csv"),
        ("remote-wasbs-file", "uri_file", "wasbs://datasets@azuremlexamples.blob.core.windows.net/titanic.csv"),
    ] {
        let y = write(dir.path(), &format!("{name}.yml"), &format!("name: {name}\nversion: '1'\ntype: {ty}\npath: {path}\ndescription: remote\n"));
        let r = run(command(&tb), &["data", "register", "-f", &y, "--to", &f, "-o", "json"]);
        r.expect_code(0);
        assert_eq!((r.json()["status"].as_str(), r.json()["files"].as_u64()), (Some("registered"), Some(0)), "{name}");
        let v = d.get(&format!("{f}/data/{name}/versions/1")).unwrap_or_else(|| panic!("{name} registered"));
        assert_eq!(v["properties"]["dataUri"], path, "{name}: the path as given");
        assert_eq!(v["properties"]["dataType"], ty, "{name}");
        // A second run finds the same version: unchanged.
        let r = run(command(&tb), &["data", "register", "-f", &y, "--to", &f, "-o", "json"]);
        r.expect_code(0);
        assert_eq!(r.json()["status"], "unchanged", "{name}");
    }

    // --check-paths on the empty datastore path: exit 2, one line naming the path, nothing registered.
    let y = write(
        dir.path(),
        "checked-empty.yml",
        "name: checked-empty\nversion: '1'\ntype: uri_folder\npath: azureml://datastores/workspaceblobstore/paths/not-there-yet/\n",
    );
    let r = run(command(&tb), &["data", "register", "-f", &y, "--to", &f, "--check-paths"]);
    r.expect_code(2);
    assert!(r.stderr.contains("not-there-yet") && r.stderr.contains("no files"), "{}", r.stderr);
    assert!(d.get(&format!("{f}/data/checked-empty/versions/1")).is_none(), "nothing registered");

    // --check-paths on paths that hold a file (the seeded titanic.csv of the primary): the
    // datastore form and the same blob as a wasbs URI; a uri_file naming a folder is refused.
    let seeded = d.get(&format!("{p}/data/local-file-example-titanic/versions/1")).expect("seeded data asset");
    let blob_path = datastore_path(seeded["properties"]["dataUri"].as_str().unwrap());
    let container = tb.primary().default_container();
    let account = &tb.primary().storage_account;
    let folder = blob_path.rsplit_once('/').unwrap().0.to_string();
    for (name, ty, path) in [
        ("checked-datastore-file", "uri_file", format!("azureml://datastores/workspaceblobstore/paths/{blob_path}")),
        ("checked-wasbs-file", "uri_file", format!("wasbs://{container}@{account}.blob.core.windows.net/{blob_path}")),
        ("checked-datastore-folder", "uri_folder", format!("azureml://datastores/workspaceblobstore/paths/{folder}/")),
    ] {
        let y = write(dir.path(), &format!("{name}.yml"), &format!("name: {name}\nversion: '1'\ntype: {ty}\npath: {path}\n"));
        let r = run(command(&tb), &["data", "register", "-f", &y, "--to", &p, "--check-paths", "-o", "json"]);
        r.expect_code(0);
        assert_eq!((r.json()["status"].as_str(), r.json()["files"].as_u64()), (Some("registered"), Some(1)), "{name}");
        assert_eq!(d.get(&format!("{p}/data/{name}/versions/1")).unwrap()["properties"]["dataUri"], path.as_str(), "{name}");
        assert_no_secrets(&tb, &r);
    }
    let y = write(
        dir.path(),
        "file-is-folder.yml",
        &format!("name: file-is-folder\nversion: '1'\ntype: uri_file\npath: azureml://datastores/workspaceblobstore/paths/{folder}/\n"),
    );
    let r = run(command(&tb), &["data", "register", "-f", &y, "--to", &p, "--check-paths"]);
    r.expect_code(2);
    assert!(r.stderr.contains("use type uri_folder"), "{}", r.stderr);
    assert!(d.get(&format!("{p}/data/file-is-folder/versions/1")).is_none(), "nothing registered");

    // A long-form path in another workspace (the primary's datastore, registered into the
    // failover workspace) is refused before anything is read or written: it would fail with the primary.
    let y = write(dir.path(), "primary-path.yml", &format!("name: primary-path\nversion: '1'\ntype: uri_file\npath: {}\n", seeded["properties"]["dataUri"].as_str().unwrap()));
    let r = run(command(&tb), &["data", "register", "-f", &y, "--to", &f]);
    r.expect_code(2);
    assert!(r.stderr.contains(&format!("is in workspace {}", tb.primary().name)), "{}", r.stderr);
    assert!(d.get(&format!("{f}/data/primary-path/versions/1")).is_none(), "nothing registered");

    // --check-paths belongs to data register only: other verbs do not know it (nor show it in help).
    let r = run(command(&tb), &["model", "register", "-f", &y, "--to", &f, "--check-paths"]);
    r.expect_code(2);
    assert!(r.stderr.contains("--check-paths"), "{}", r.stderr);
    for verb in ["model", "environment", "component"] {
        let h = run(command(&tb), &[verb, "register", "--help"]);
        h.expect_code(0);
        assert!(!h.stdout.contains("--check-paths"), "{verb} register --help: {}", h.stdout);
    }
}

#[test]
fn copy_re_registers_remote_urls_unread_and_copies_mltable_folders_with_copy_data() {
    let tb = seeded_testbed(false);
    let d = Direct::new(&tb);
    let (p, f) = (tb.primary().arm_id(), tb.failover().arm_id());
    let dir = tempfile::tempdir().unwrap();
    // In the primary: an https file and a wasbs folder outside the workspace's storage (nothing
    // there to read), and a local MLTable folder (uploaded to the primary's storage).
    let remote = [
        ("remote-https-file", "uri_file", "https://account-name.blob.core.windows.net/container-name/example-data/titanic.csv"),
        ("remote-wasbs-folder", "uri_folder", "wasbs://container-name@account-name.blob.core.windows.net/example-data/"),
    ];
    for (name, ty, path) in remote {
        let y = write(dir.path(), &format!("{name}.yml"), &format!("name: {name}\nversion: '1'\ntype: {ty}\npath: {path}\n"));
        run(command(&tb), &["data", "register", "-f", &y, "--to", &p, "-o", "json"]).expect_code(0);
    }
    let mlt = dir.path().join("titanic-mltable");
    std::fs::create_dir_all(&mlt).unwrap();
    std::fs::write(mlt.join("MLTable"), "paths:\n  - file: ./titanic.csv\ntransformations:\n  - read_delimited:\n      delimiter: ','\n").unwrap();
    std::fs::write(mlt.join("titanic.csv"), "PassengerId,Survived\n1,0\n2,1\n").unwrap();
    let y = write(dir.path(), "mltable.yml", "name: titanic-mltable\nversion: '1'\ntype: mltable\npath: ./titanic-mltable\n");
    run(command(&tb), &["data", "register", "-f", &y, "--to", &p, "-o", "json"]).expect_code(0);

    // Without --copy-data: the URLs are re-registered as they are; the mltable on workspace
    // storage needs a person (its YAML is written).
    let (man, data_dir) = (dir.path().join("m.json"), dir.path().join("data"));
    let r = run(command(&tb), &["copy", "--from", &p, "--to", &f, "--kinds", "data", "--name", "*-*", "--manifest", man.to_str().unwrap(), "--data-output-dir", data_dir.to_str().unwrap(), "-o", "json"]);
    r.expect_code(1);
    let v = r.json();
    let item = |name: &str| v["items"].as_array().unwrap().iter().find(|i| i["name"] == name).unwrap_or_else(|| panic!("{name}: {v}")).clone();
    for (name, ty, path) in remote {
        let i = item(name);
        assert_eq!((i["action"].as_str(), i["status"].as_str()), (Some("reregister"), Some("copied")), "{i}");
        let there = d.get(&format!("{f}/data/{name}/versions/1")).unwrap_or_else(|| panic!("{name} in the failover"));
        assert_eq!(there["properties"]["dataUri"], path, "{name}: the same path");
        assert_eq!(there["properties"]["dataType"], ty);
    }
    assert_eq!(item("titanic-mltable")["status"], "needs-manual-reregistration", "{v}");
    assert!(d.get(&format!("{f}/data/titanic-mltable/versions/1")).is_none());

    // --copy-data copies the MLTable folder, verified, and registers it on the failover's storage.
    let r = run(command(&tb), &["copy", "--from", &p, "--to", &f, "--kinds", "data", "--name", "titanic-mltable", "--copy-data", "--manifest", man.to_str().unwrap(), "-o", "json"]);
    r.expect_code(0);
    let there = d.get(&format!("{f}/data/titanic-mltable/versions/1")).expect("mltable copied");
    assert_eq!(there["properties"]["dataType"], "mltable");
    let uri = there["properties"]["dataUri"].as_str().unwrap();
    assert!(uri.contains(&format!("/workspaces/{}/datastores/", tb.failover().name)), "{uri}");
    let files = datastore_path(uri);
    let mltable = d.blob(tb.failover(), &format!("{files}/MLTable")).expect("the MLTable file in the failover's storage");
    assert_eq!(mltable, std::fs::read(mlt.join("MLTable")).unwrap());
    assert_eq!(d.blob(tb.failover(), &format!("{files}/titanic.csv")).unwrap(), std::fs::read(mlt.join("titanic.csv")).unwrap());
}

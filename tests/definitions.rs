//! az ml definitions through the built binary: a component with an inline conda environment, a
//! command job, a sweep job and a pipeline with literal and data inputs each round-trip
//! (register → copy → download/get → register elsewhere), checked directly against the
//! emulator, and every YAML the tool writes loads and validates in Microsoft's azure-ai-ml
//! (`load_component`/`load_job` of the pinned SDK in .venv-sdk).

mod common;

use common::*;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn examples() -> PathBuf {
    let dir = std::env::var_os("AML_TESTDATA_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/testdata"))
        .join("azureml-examples/cli");
    assert!(dir.is_dir(), "shared test data missing at {} (set AML_TESTDATA_DIR)", dir.display());
    dir
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dst = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &dst);
        } else {
            std::fs::copy(e.path(), dst).unwrap();
        }
    }
}

fn yaml(p: &Path) -> Value {
    serde_norway::from_str(&std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))).unwrap()
}

/// Loads a YAML the tool wrote with azure-ai-ml and validates it, as `az ml` would before use.
fn sdk_loads(what: &str, path: &Path) {
    let py = Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv-sdk/bin/python");
    assert!(py.exists(), "{} missing: run scripts/setup.sh", py.display());
    let script = format!(
        "import sys\nfrom azure.ai.ml import {what}\nx = {what}(sys.argv[1])\nv = getattr(x, '_validate', None)\nr = v() if v else None\nassert r is None or r.passed, r.error_messages\nprint(type(x).__name__)"
    );
    let out = std::process::Command::new(py).arg("-c").arg(script).arg(path).output().unwrap();
    assert!(out.status.success(), "azure-ai-ml {what} refuses {}:\n{}\n{}", path.display(), String::from_utf8_lossy(&out.stderr), std::fs::read_to_string(path).unwrap_or_default());
}

/// azure-ai-ml reads back (`ml.<kind>.get`) each `kind:name:version` in the bed's primary and
/// failover workspace.
fn sdk_gets(tb: &TestBed, primary: &[&str], failover: &[&str]) {
    let specs = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    sdk_reads_back(tb, &tb.primary().name, &specs(primary));
    sdk_reads_back(tb, &tb.failover().name, &specs(failover));
}

fn copy_args<'a>(p: &'a str, f: &'a str, kinds: &'a str, name: &'a str, man: &'a str) -> Vec<&'a str> {
    vec!["copy", "--from", p, "--to", f, "--kinds", kinds, "--name", name, "--manifest", man, "-o", "json"]
}

#[test]
fn a_component_with_an_inline_conda_environment_round_trips() {
    let tb = testbed(None, false);
    let d = Direct::new(&tb);
    let (p, f) = (tb.primary().arm_id(), tb.failover().arm_id());
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    copy_dir(&examples().join("jobs/pipelines-with-components/basics/5c_env_conda_file"), &src);
    let conda = yaml(&src.join("conda.yaml"));

    run(command(&tb), &["component", "register", "-f", s(&src.join("component.yml")), "--to", &p, "-o", "json"]).expect_code(0);
    let v1 = d.get(&format!("{p}/components/hello_python_world/versions/1")).expect("registered");
    assert_eq!(v1["properties"]["componentSpec"]["environment"]["conda_file"], conda, "conda content inlined, not a local path");

    let man = dir.path().join("m.json");
    run(command(&tb), &copy_args(&p, &f, "components", "hello_python_world", s(&man))).expect_code(0);
    let out = dir.path().join("out");
    run(command(&tb), &["component", "download", "-n", "hello_python_world", "--from", &f, "-p", s(&out)]).expect_code(0);
    let cyml = out.join("hello_python_world/component.yml");
    assert_eq!(yaml(&cyml)["environment"]["conda_file"], "./conda.yaml");
    assert_eq!(yaml(&out.join("hello_python_world/conda.yaml")), conda, "the conda file its YAML names is written");
    assert!(out.join("hello_python_world/code/hello.py").is_file());
    sdk_loads("load_component", &cyml);

    // Registered elsewhere (a new version in the primary): the same conda content.
    run(command(&tb), &["component", "register", "-f", s(&cyml), "--to", &p, "--version", "2", "-o", "json"]).expect_code(0);
    let v2 = d.get(&format!("{p}/components/hello_python_world/versions/2")).expect("registered again");
    assert_eq!(v2["properties"]["componentSpec"]["environment"], v1["properties"]["componentSpec"]["environment"]);
    assert_eq!(v2["properties"]["componentSpec"]["command"], v1["properties"]["componentSpec"]["command"]);
    sdk_gets(&tb, &["component:hello_python_world:1", "component:hello_python_world:2"], &["component:hello_python_world:1"]);
}

#[test]
fn a_command_job_becomes_a_command_component_and_round_trips_as_a_job() {
    let tb = testbed(None, false);
    let d = Direct::new(&tb);
    let (p, f) = (tb.primary().arm_id(), tb.failover().arm_id());
    let dir = tempfile::tempdir().unwrap();
    let basics = examples().join("jobs/basics");
    let src = dir.path().join("hello-iris");
    copy_dir(&basics.join("src"), &src.join("src"));
    std::fs::copy(basics.join("hello-iris-file.yml"), src.join("job.yml")).unwrap();
    let original = yaml(&src.join("job.yml"));

    // Default: its definition, a command component named after the job; nothing runs.
    let r = run(command(&tb), &["job", "create", "-f", s(&src.join("job.yml")), "--to", &p, "--name", "hello-iris", "-o", "json"]);
    r.expect_code(0);
    assert_eq!(r.json()["type"], "command");
    assert!(d.get(&format!("{p}/jobs/hello-iris")).is_none(), "not submitted");
    let def = d.get(&format!("{p}/components/hello_iris/versions/1")).expect("definition");
    let spec = &def["properties"]["componentSpec"];
    assert_eq!(spec["type"], "command");
    assert_eq!(spec["command"], original["command"]);
    assert_eq!(spec["environment"], original["environment"]);
    assert!(spec["code"].as_str().unwrap().to_ascii_lowercase().starts_with(&format!("azureml:{}/codes/code-", p.to_ascii_lowercase())), "{spec}");
    assert_eq!(spec["inputs"]["iris_csv"], json!({"type": "uri_file"}));
    let kept: Value = serde_json::from_str(def["properties"]["properties"]["aml-failover.job"].as_str().unwrap()).unwrap();
    assert_eq!(kept["inputs"]["iris_csv"]["uri"], original["inputs"]["iris_csv"]["path"]);

    // The definition copies to the failover with its code, and downloads as a component the SDK loads.
    let man = dir.path().join("m.json");
    run(command(&tb), &copy_args(&p, &f, "components", "hello_iris", s(&man))).expect_code(0);
    let out = dir.path().join("def");
    run(command(&tb), &["component", "download", "-n", "hello_iris", "--from", &f, "-p", s(&out)]).expect_code(0);
    assert_eq!(std::fs::read(out.join("hello_iris/code/hello-iris.py")).unwrap(), std::fs::read(basics.join("src/hello-iris.py")).unwrap());
    sdk_loads("load_component", &out.join("hello_iris/component.yml"));

    // --submit: the job itself; `job get` writes az ml YAML that creates the same job elsewhere.
    run(command(&tb), &["job", "create", "-f", s(&src.join("job.yml")), "--to", &p, "--name", "hello-iris", "--submit", "-o", "json"]).expect_code(0);
    let job = d.get(&format!("{p}/jobs/hello-iris")).expect("job created");
    assert_eq!(job["properties"]["jobType"], "Command");
    assert_eq!(job["properties"]["inputs"]["iris_csv"], json!({"jobInputType": "uri_file", "uri": original["inputs"]["iris_csv"]["path"]}));
    let got = dir.path().join("got");
    run(command(&tb), &["job", "get", "-n", "hello-iris", "--from", &p, "-p", s(&got)]).expect_code(0);
    let jyml = got.join("hello-iris/job.yml");
    let y = yaml(&jyml);
    assert_eq!(y["type"], "command");
    assert_eq!(y["code"], "./code");
    assert_eq!(y["inputs"], original["inputs"]);
    assert!(got.join("hello-iris/code/hello-iris.py").is_file());
    sdk_loads("load_job", &jyml);
    run(command(&tb), &["job", "create", "-f", s(&jyml), "--to", &f, "--submit", "-o", "json"]).expect_code(0);
    let there = d.get(&format!("{f}/jobs/hello-iris")).expect("job created in the failover");
    for k in ["jobType", "command", "environmentId", "inputs"] {
        assert_eq!(there["properties"][k], job["properties"][k], "{k}");
    }
    sdk_gets(&tb, &["component:hello_iris:1", "job:hello-iris:-"], &["component:hello_iris:1", "job:hello-iris:-"]);
}

#[test]
fn a_sweep_job_round_trips_with_its_search_space_and_latest_pinned() {
    let tb = testbed(None, false);
    let d = Direct::new(&tb);
    let (p, f) = (tb.primary().arm_id(), tb.failover().arm_id());
    let dir = tempfile::tempdir().unwrap();
    let basics = examples().join("jobs/basics");
    let src = dir.path().join("sweep");
    copy_dir(&basics.join("src"), &src.join("src"));
    std::fs::copy(basics.join("hello-sweep.yml"), src.join("job.yml")).unwrap();
    // The environment the example names (azureml:AzureML-sklearn-1.5@latest) is a curated
    // one, which every workspace answers (as Azure does): pinned to its latest version.
    let latest = d.get(&format!("{p}/environments/AzureML-sklearn-1.5")).expect("curated environment")["properties"]["latestVersion"].as_str().unwrap().to_string();

    let r = run(command(&tb), &["job", "create", "-f", s(&src.join("job.yml")), "--to", &p, "--name", "hello-sweep", "-o", "json"]);
    r.expect_code(0);
    assert_eq!(r.json()["pinned"], json!([format!("environment AzureML-sklearn-1.5@latest → AzureML-sklearn-1.5:{latest}")]));
    let def = d.get(&format!("{p}/components/hello_sweep/versions/1")).expect("the trial as a command component");
    assert_eq!(def["properties"]["componentSpec"]["type"], "command");
    assert!(def["properties"]["componentSpec"]["environment"].as_str().unwrap().ends_with(&format!("/environments/AzureML-sklearn-1.5/versions/{latest}")));
    // The definition copies (its curated environment is not copied: the failover has it) and
    // downloads as a component azure-ai-ml loads: the search space is read as its inputs.
    let man = dir.path().join("m.json");
    let c = run(command(&tb), &copy_args(&p, &f, "components", "hello_sweep", s(&man)));
    c.expect_code(0);
    assert!(c.json()["items"].as_array().unwrap().iter().all(|i| i["kind"] != "environment"), "{}", c.stdout);
    let out = dir.path().join("def");
    run(command(&tb), &["component", "download", "-n", "hello_sweep", "--from", &f, "-p", s(&out)]).expect_code(0);
    let cy = yaml(&out.join("hello_sweep/component.yml"));
    assert!(cy["command"].as_str().unwrap().contains("--B ${{inputs.B}}"), "{cy:?}");
    sdk_loads("load_component", &out.join("hello_sweep/component.yml"));

    run(command(&tb), &["job", "create", "-f", s(&src.join("job.yml")), "--to", &p, "--name", "hello-sweep", "--submit", "-o", "json"]).expect_code(0);
    let job = d.get(&format!("{p}/jobs/hello-sweep")).expect("sweep job");
    let props = &job["properties"];
    assert_eq!(props["jobType"], "Sweep");
    assert_eq!(props["searchSpace"]["B"], json!(["choice", [["hello", "world", "hello_world"]]]));
    assert_eq!(props["searchSpace"]["C"], json!(["uniform", [0.1, 1.0]]));
    assert_eq!(props["objective"], json!({"goal": "Minimize", "primaryMetric": "random_metric"}));
    assert_eq!(props["samplingAlgorithm"], json!({"samplingAlgorithmType": "Random"}));
    assert_eq!(props["limits"]["maxTotalTrials"], 4);

    let got = dir.path().join("got");
    run(command(&tb), &["job", "get", "-n", "hello-sweep", "--from", &p, "-p", s(&got)]).expect_code(0);
    let jyml = got.join("hello-sweep/job.yml");
    let y = yaml(&jyml);
    let original = yaml(&src.join("job.yml"));
    for k in ["search_space", "objective", "sampling_algorithm", "limits", "inputs"] {
        assert_eq!(y[k], original[k], "{k}");
    }
    assert_eq!(y["trial"]["environment"], format!("azureml:AzureML-sklearn-1.5:{latest}"));
    sdk_loads("load_job", &jyml);

    // In the failover (which has the curated environment too): the same sweep.
    run(command(&tb), &["job", "create", "-f", s(&jyml), "--to", &f, "--submit", "-o", "json"]).expect_code(0);
    let there = d.get(&format!("{f}/jobs/hello-sweep")).expect("sweep in the failover");
    for k in ["jobType", "searchSpace", "objective", "samplingAlgorithm", "limits", "inputs"] {
        assert_eq!(there["properties"][k], props[k], "{k}");
    }
    assert_eq!(there["properties"]["trial"]["command"], props["trial"]["command"]);
    sdk_gets(&tb, &["component:hello_sweep:1", "job:hello-sweep:-"], &["component:hello_sweep:1", "job:hello-sweep:-"]);
}

#[test]
fn a_pipeline_with_literal_and_data_inputs_becomes_a_definition_the_sdk_loads() {
    let tb = testbed(None, false);
    let d = Direct::new(&tb);
    let (p, f) = (tb.primary().arm_id(), tb.failover().arm_id());
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("4c");
    copy_dir(&examples().join("jobs/pipelines-with-components/basics/4c_web_url_input"), &src);
    std::fs::write(
        src.join("pipeline.yml"),
        r#"$schema: https://azuremlschemas.azureedge.net/latest/pipelineJob.schema.json
type: pipeline
display_name: literal_and_data
inputs:
  greeting: Hello_Pipeline_World
  epochs: 3
  rate: 0.25
  titanic:
    type: uri_file
    path: https://dprepdata.blob.core.windows.net/demo/Titanic.csv
outputs:
  result:
jobs:
  hello:
    type: command
    component: ./component.yml
    inputs:
      sample_input_data: ${{parent.inputs.titanic}}
      sample_input_string: ${{parent.inputs.greeting}}
    outputs:
      sample_output_data: ${{parent.outputs.result}}
"#,
    )
    .unwrap();
    let r = run(command(&tb), &["pipeline", "create", "-f", s(&src.join("pipeline.yml")), "--to", &p, "--name", "4c-literals", "-o", "json"]);
    r.expect_code(0);
    let def = d.get(&format!("{p}/components/job_4c_literals/versions/1")).expect("definition, its name made valid");
    let spec = &def["properties"]["componentSpec"];
    assert_eq!(spec["inputs"]["greeting"], json!({"type": "string", "default": "Hello_Pipeline_World"}));
    assert_eq!(spec["inputs"]["epochs"], json!({"type": "integer", "default": 3}));
    assert_eq!(spec["inputs"]["rate"], json!({"type": "number", "default": 0.25}));
    assert_eq!(spec["inputs"]["titanic"], json!({"type": "uri_file"}), "no default on a data input");

    let man = dir.path().join("m.json");
    run(command(&tb), &copy_args(&p, &f, "components", "job_4c_literals", s(&man))).expect_code(0);
    let out = dir.path().join("out");
    run(command(&tb), &["component", "download", "-n", "job_4c_literals", "--from", &f, "-p", s(&out)]).expect_code(0);
    let cyml = out.join("job_4c_literals/component.yml");
    sdk_loads("load_component", &cyml);
    run(command(&tb), &["component", "register", "-f", s(&cyml), "--to", &p, "--version", "2", "-o", "json"]).expect_code(0);
    let again = d.get(&format!("{p}/components/job_4c_literals/versions/2")).expect("registered elsewhere");
    assert_eq!(again["properties"]["componentSpec"]["inputs"], spec["inputs"]);
    sdk_gets(&tb, &["component:job_4c_literals:1", "component:job_4c_literals:2"], &["component:job_4c_literals:1"]);
}

#[test]
fn invalid_names_and_placeholder_versions_are_refused_before_any_write() {
    let tb = testbed(None, false);
    let d = Direct::new(&tb);
    let p = tb.primary().arm_id();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::write(data.join("x.csv"), "a,b\n1,2\n").unwrap();
    std::fs::write(dir.path().join("data.yml"), "name: sample\nversion: <VERSION>\ntype: uri_folder\npath: ./data\n").unwrap();
    let r = run(command(&tb), &["data", "register", "-f", s(&dir.path().join("data.yml")), "--to", &p]);
    r.expect_code(2);
    assert!(r.stderr.contains("version '<VERSION>' is not valid") && r.stderr.lines().count() == 1, "{}", r.stderr);
    std::fs::write(dir.path().join("bad.yml"), "name: _bad\ntype: uri_folder\npath: ./data\n").unwrap();
    let r = run(command(&tb), &["data", "register", "-f", s(&dir.path().join("bad.yml")), "--to", &p]);
    r.expect_code(2);
    assert!(r.stderr.contains("name '_bad' is not valid"), "{}", r.stderr);
    assert!(d.list(&format!("{p}/data")).iter().all(|c| c["name"] != "sample"), "nothing registered");
    let blobs = d.list(&format!("{p}/codes"));
    assert!(blobs.is_empty(), "nothing uploaded or registered: {blobs:?}");

    // A job whose name comes from a folder that starts with a digit: a valid definition name.
    let job = dir.path().join("4d_data_input");
    std::fs::create_dir_all(&job).unwrap();
    std::fs::write(job.join("job.yml"), "command: echo hi\nenvironment: azureml://registries/azureml/environments/sklearn-1.5/labels/latest\n").unwrap();
    let r = run(command(&tb), &["job", "create", "-f", s(&job.join("job.yml")), "--to", &p, "-o", "json"]);
    r.expect_code(0);
    assert_eq!(r.json()["name"], "4d_data_input");
    assert!(d.get(&format!("{p}/components/job_4d_data_input/versions/1")).is_some());
}

#[test]
fn a_pipeline_job_of_a_pipeline_component_file_registers_that_component() {
    let tb = testbed(None, false);
    let d = Direct::new(&tb);
    let (p, f) = (tb.primary().arm_id(), tb.failover().arm_id());
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("pc");
    copy_dir(&examples().join("jobs/pipelines-with-components/basics/4c_web_url_input"), &src.join("hello"));
    std::fs::write(
        src.join("pipeline_component.yml"),
        "$schema: https://azuremlschemas.azureedge.net/latest/pipelineComponent.schema.json\ntype: pipeline\nname: hello_graph\nversion: 1\n\
inputs:\n  data: {type: uri_file}\n  greeting: {type: string, default: hi}\noutputs:\n  result: {type: uri_folder}\n\
jobs:\n  hello:\n    type: command\n    component: ./hello/component.yml\n    inputs:\n      sample_input_data: ${{parent.inputs.data}}\n      sample_input_string: ${{parent.inputs.greeting}}\n    outputs:\n      sample_output_data: ${{parent.outputs.result}}\n",
    )
    .unwrap();
    std::fs::write(
        src.join("pipeline.yml"),
        "$schema: https://azuremlschemas.azureedge.net/latest/pipelineJob.schema.json\ntype: pipeline\ndisplay_name: of_a_component_file\ncomponent: ./pipeline_component.yml\n\
inputs:\n  data: {type: uri_file, path: https://dprepdata.blob.core.windows.net/demo/Titanic.csv}\n",
    )
    .unwrap();
    let r = run(command(&tb), &["job", "create", "-f", s(&src.join("pipeline.yml")), "--to", &p, "--name", "graph-job", "-o", "json"]);
    r.expect_code(0);
    assert_eq!(r.json()["definition"], "hello_graph");
    // The step's component file is registered anonymously, as az ml does.
    let reg = r.json()["registered"].clone();
    assert!(reg[0].as_str().unwrap().starts_with("component azureml_anonymous:") && reg[1] == "component hello_graph:1" && reg.as_array().unwrap().len() == 2, "{reg}");
    let pc = d.get(&format!("{p}/components/hello_graph/versions/1")).expect("the pipeline component file, registered");
    let spec = &pc["properties"]["componentSpec"];
    assert_eq!(spec["type"], "pipeline");
    let step = spec["jobs"]["hello"]["component"].as_str().unwrap().to_ascii_lowercase();
    assert!(step.starts_with(&format!("azureml:{}/components/azureml_anonymous/versions/", p.to_ascii_lowercase())), "its step by id, not a local path: {step}");
    assert!(d.get(&format!("{p}/components/graph_job/versions/1")).is_none(), "no empty definition besides it");

    let man = dir.path().join("m.json");
    run(command(&tb), &copy_args(&p, &f, "components", "hello_graph", s(&man))).expect_code(0);
    let out = dir.path().join("out");
    run(command(&tb), &["component", "download", "-n", "hello_graph", "--from", &f, "-p", s(&out)]).expect_code(0);
    let cyml = out.join("hello_graph/component.yml");
    sdk_loads("load_component", &cyml);
    run(command(&tb), &["component", "register", "-f", s(&cyml), "--to", &p, "--version", "2", "-o", "json"]).expect_code(0);
    let again = d.get(&format!("{p}/components/hello_graph/versions/2")).expect("registered elsewhere");
    let step2 = again["properties"]["componentSpec"]["jobs"]["hello"]["component"].as_str().unwrap().to_ascii_lowercase();
    assert!(step2 == step || step2 == "azureml:hello_python_world:1", "{step2}");

    // --submit: the job refers to the component by id.
    run(command(&tb), &["job", "create", "-f", s(&src.join("pipeline.yml")), "--to", &p, "--name", "graph-job", "--submit", "-o", "json"]).expect_code(0);
    let job = d.get(&format!("{p}/jobs/graph-job")).expect("job");
    assert_eq!(job["properties"]["componentId"].as_str().unwrap().to_ascii_lowercase(), format!("{}/components/hello_graph/versions/1", p.to_ascii_lowercase()));
    sdk_gets(&tb, &["component:hello_graph:1", "component:hello_graph:2", "job:graph-job:-"], &["component:hello_graph:1"]);
}

#[test]
fn a_job_whose_inline_environment_is_a_docker_build_context_registers_it_like_az_ml_and_round_trips() {
    let tb = testbed(None, false);
    let d = Direct::new(&tb);
    let (p, f) = (tb.primary().arm_id(), tb.failover().arm_id());
    let dir = tempfile::tempdir().unwrap();
    let iris = examples().join("jobs/single-step/scikit-learn/iris");
    let src = dir.path().join("iris");
    copy_dir(&iris, &src);
    let dockerfile = std::fs::read(iris.join("docker-context/Dockerfile")).unwrap();

    // The build context is uploaded like code and registered as az ml's anonymous environment
    // with build.contextUri naming the upload; the definition names that environment by id.
    let r = run(command(&tb), &["job", "create", "-f", s(&src.join("job-docker-context.yml")), "--to", &p, "--name", "iris-docker", "-o", "json"]);
    r.expect_code(0);
    let def = d.get(&format!("{p}/components/iris_docker/versions/1")).expect("definition");
    let env = def["properties"]["componentSpec"]["environment"].as_str().unwrap_or_else(|| panic!("an environment id, not a local path: {def}")).to_string();
    let prefix = format!("azureml:{}/environments/cliv2anonymousenvironment/versions/", p.to_ascii_lowercase());
    assert!(env.to_ascii_lowercase().starts_with(&prefix), "{env}");
    let version = env.rsplit('/').next().unwrap().to_string();
    assert!(r.json()["registered"].as_array().unwrap().iter().any(|x| x == &json!(format!("environment CliV2AnonymousEnvironment:{version}"))), "{}", r.stdout);
    let e = d.get(env.trim_start_matches("azureml:")).expect("the anonymous environment");
    let ctx = e["properties"]["build"]["contextUri"].as_str().unwrap();
    assert!(ctx.contains("/LocalUpload/") && ctx.ends_with("/docker-context/"), "{ctx}");
    assert_eq!(e["properties"]["build"]["dockerfilePath"], "Dockerfile");
    let blob = ctx.split("/LocalUpload/").nth(1).unwrap();
    assert_eq!(d.blob(tb.primary(), &format!("LocalUpload/{blob}Dockerfile")).as_deref(), Some(&dockerfile[..]), "the context's files are on the default datastore");

    // Copied with its environment; downloaded, the context folder is written back beside the
    // YAML that names it, and the SDK loads it; registered again, the same environment.
    let man = dir.path().join("m.json");
    run(command(&tb), &copy_args(&p, &f, "components", "iris_docker", s(&man))).expect_code(0);
    let out = dir.path().join("out");
    run(command(&tb), &["component", "download", "-n", "iris_docker", "--from", &f, "-p", s(&out)]).expect_code(0);
    let cyml = out.join("iris_docker/component.yml");
    assert_eq!(yaml(&cyml)["environment"], json!({"build": {"path": "./docker-context", "dockerfile_path": "Dockerfile"}}));
    assert_eq!(std::fs::read(out.join("iris_docker/docker-context/Dockerfile")).unwrap(), dockerfile);
    sdk_loads("load_component", &cyml);
    run(command(&tb), &["component", "register", "-f", s(&cyml), "--to", &p, "--version", "2", "-o", "json"]).expect_code(0);
    let again = d.get(&format!("{p}/components/iris_docker/versions/2")).expect("registered elsewhere");
    assert_eq!(again["properties"]["componentSpec"]["environment"], json!(env), "the same files: the same anonymous environment");
    let anon = format!("environment:CliV2AnonymousEnvironment:{version}");
    sdk_gets(&tb, &["component:iris_docker:1", "component:iris_docker:2", &anon], &["component:iris_docker:1", &anon]);
}

#[test]
fn a_pipeline_sweep_steps_trial_file_is_registered_and_named_by_id() {
    let tb = testbed(None, false);
    let d = Direct::new(&tb);
    let (p, f) = (tb.primary().arm_id(), tb.failover().arm_id());
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("sweep");
    copy_dir(&examples().join("jobs/pipelines-with-components/pipeline_with_hyperparameter_sweep"), &src);

    let r = run(command(&tb), &["pipeline", "create", "-f", s(&src.join("pipeline.yml")), "--to", &p, "--name", "pipe-sweep", "-o", "json"]);
    r.expect_code(0);
    let def = d.get(&format!("{p}/components/pipe_sweep/versions/1")).expect("definition");
    let trial = def["properties"]["componentSpec"]["jobs"]["sweep_step"]["trial"].as_str().unwrap_or_default().to_ascii_lowercase();
    assert!(trial.starts_with(&format!("azureml:{}/components/azureml_anonymous/versions/", p.to_ascii_lowercase())), "the trial by id, not ./train.yml: {trial}");
    let tc = d.get(trial.trim_start_matches("azureml:")).expect("the trial's component");
    assert_eq!(tc["properties"]["componentSpec"]["display_name"], "train_model", "{tc}");

    let man = dir.path().join("m.json");
    run(command(&tb), &copy_args(&p, &f, "components", "pipe_sweep", s(&man))).expect_code(0);
    let out = dir.path().join("out");
    run(command(&tb), &["component", "download", "-n", "pipe_sweep", "--from", &f, "-p", s(&out)]).expect_code(0);
    let cyml = out.join("pipe_sweep/component.yml");
    assert!(yaml(&cyml)["jobs"]["sweep_step"]["trial"].as_str().unwrap().starts_with("azureml:azureml_anonymous:"), "{}", std::fs::read_to_string(&cyml).unwrap());
    sdk_loads("load_component", &cyml);
    run(command(&tb), &["component", "register", "-f", s(&cyml), "--to", &p, "--version", "2", "-o", "json"]).expect_code(0);
    sdk_gets(&tb, &["component:pipe_sweep:1", "component:pipe_sweep:2"], &["component:pipe_sweep:1"]);
}

#[test]
fn local_inputs_inline_steps_and_step_component_files_are_resolved_like_az_ml() {
    let tb = testbed(None, false);
    let d = Direct::new(&tb);
    let (p, f) = (tb.primary().arm_id(), tb.failover().arm_id());
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("local");
    copy_dir(&examples().join("jobs/pipelines-with-components/basics/4c_web_url_input"), &src.join("hello"));
    std::fs::create_dir_all(src.join("data")).unwrap();
    std::fs::write(src.join("data/rows.csv"), "a,b\n1,2\n").unwrap();
    std::fs::create_dir_all(src.join("prep_src")).unwrap();
    std::fs::write(src.join("prep_src/prep.py"), "print('prep')\n").unwrap();
    std::fs::write(
        src.join("pipeline.yml"),
        r#"$schema: https://azuremlschemas.azureedge.net/latest/pipelineJob.schema.json
type: pipeline
display_name: local_references
inputs:
  raw:
    type: uri_folder
    path: ./data
  epochs: 3
jobs:
  prep:
    type: command
    command: python prep.py --raw ${{inputs.raw}} --epochs ${{inputs.epochs}} --out ${{outputs.prepped}}
    code: ./prep_src
    environment: azureml://registries/azureml/environments/sklearn-1.5/labels/latest
    inputs:
      raw: ${{parent.inputs.raw}}
      epochs: ${{parent.inputs.epochs}}
    outputs:
      prepped:
        type: uri_folder
  hello:
    type: command
    component: ./hello/component.yml
    inputs:
      sample_input_data: ${{parent.jobs.prep.outputs.prepped}}
      sample_input_string: hi
"#,
    )
    .unwrap();

    // The local folder is uploaded (verified) where az ml puts it, and the input names it there.
    let r = run(command(&tb), &["job", "create", "-f", s(&src.join("pipeline.yml")), "--to", &p, "--name", "local-refs", "-o", "json"]);
    r.expect_code(0);
    let uploaded = r.json()["uploaded"].as_array().cloned().unwrap_or_default();
    assert_eq!(uploaded.len(), 1, "{}", r.stdout);
    let uri = uploaded[0].as_str().unwrap().split(" → ").nth(1).unwrap().to_string();
    assert!(uri.starts_with("azureml://datastores/workspaceblobstore/paths/LocalUpload/") && uri.ends_with("/data/"), "{uri}");
    assert_eq!(d.blob(tb.primary(), &format!("{}/rows.csv", datastore_path(&uri))).as_deref(), Some(&b"a,b\n1,2\n"[..]), "the file is on the default datastore");
    let def = d.get(&format!("{p}/components/local_refs/versions/1")).expect("definition");
    let kept: Value = serde_json::from_str(def["properties"]["properties"]["aml-failover.job"].as_str().unwrap()).unwrap();
    assert_eq!(kept["inputs"]["raw"]["uri"], uri.as_str(), "the job's input names the uploaded folder");
    let spec = &def["properties"]["componentSpec"];
    // The inline step has a component (az ml's anonymous one) with its code uploaded.
    let prep = &spec["jobs"]["prep"]["component"];
    assert_eq!(prep["type"], "command", "{spec}");
    assert!(prep["code"].as_str().unwrap().to_ascii_lowercase().starts_with(&format!("azureml:{}/codes/code-", p.to_ascii_lowercase())), "{prep}");
    assert_eq!(prep["inputs"]["epochs"], json!({"type": "integer"}));
    let hello = spec["jobs"]["hello"]["component"].as_str().unwrap().to_ascii_lowercase();
    assert!(hello.starts_with(&format!("azureml:{}/components/azureml_anonymous/versions/", p.to_ascii_lowercase())), "registered anonymously: {hello}");

    // Copied, downloaded: the definition loads in the SDK, its inline step's code written.
    let man = dir.path().join("m.json");
    run(command(&tb), &copy_args(&p, &f, "components", "local_refs", s(&man))).expect_code(0);
    let out = dir.path().join("out");
    run(command(&tb), &["component", "download", "-n", "local_refs", "--from", &f, "-p", s(&out)]).expect_code(0);
    sdk_loads("load_component", &out.join("local_refs/component.yml"));

    // A pipeline component whose step names a component file, registered on its own: that
    // file is registered first and the step names it by id (not a local path).
    std::fs::write(
        src.join("graph.yml"),
        "$schema: https://azuremlschemas.azureedge.net/latest/pipelineComponent.schema.json\ntype: pipeline\nname: local_graph\nversion: 1\n\
inputs:\n  data: {type: uri_file}\njobs:\n  hello:\n    type: command\n    component: ./hello/component.yml\n    inputs:\n      sample_input_data: ${{parent.inputs.data}}\n      sample_input_string: hi\n",
    )
    .unwrap();
    run(command(&tb), &["component", "register", "-f", s(&src.join("graph.yml")), "--to", &p, "-o", "json"]).expect_code(0);
    let g = d.get(&format!("{p}/components/local_graph/versions/1")).expect("registered");
    assert_eq!(g["properties"]["componentSpec"]["jobs"]["hello"]["component"].as_str().unwrap().to_ascii_lowercase(), hello);
    let out = dir.path().join("graph");
    run(command(&tb), &["component", "download", "-n", "local_graph", "--from", &p, "-p", s(&out)]).expect_code(0);
    sdk_loads("load_component", &out.join("local_graph/component.yml"));
}

#[test]
fn jobs_of_every_type_are_a_kind_that_copy_and_verify_handle() {
    let tb = seeded_testbed(false);
    let d = Direct::new(&tb);
    let (p, f) = (tb.primary().arm_id(), tb.failover().arm_id());
    let dir = tempfile::tempdir().unwrap();
    // The primary holds the seeded command jobs (workspace show counts them) and an AutoML job.
    let automl = json!({"properties": {"jobType": "AutoML", "experimentName": "automl", "computeId": "azureml:cpu-cluster",
        "taskDetails": {"taskType": "Classification", "targetColumnName": "y",
            "trainingData": {"jobInputType": "mltable", "uri": "https://example.com/train/"}}}});
    assert!(d.put(&format!("{p}/jobs/automl-1"), &automl) < 300);

    // Without --submit the AutoML job fails (no definition form) and the command jobs become
    // command components with their environment copied first; nothing runs.
    let man = dir.path().join("m.json");
    let r = run(command(&tb), &["copy", "--from", &p, "--to", &f, "--kinds", "jobs", "--manifest", s(&man), "-o", "json"]);
    r.expect_code(1);
    let v = r.json();
    let items = v["items"].as_array().unwrap();
    let item = |kind: &str, name: &str| items.iter().find(|i| i["kind"] == kind && i["name"] == name).unwrap_or_else(|| panic!("{kind} {name}: {v}")).clone();
    let a = item("job", "automl-1");
    assert_eq!(a["status"], "failed");
    assert!(a["reason"].as_str().unwrap().contains("automl job has no definition form") && a["reason"].as_str().unwrap().contains("--submit"), "{a}");
    for job in ["train_run_0042", "hello_outputs_1714"] {
        assert_eq!(item("job", job)["status"], "copied", "{v}");
        let def = d.get(&format!("{f}/components/{job}/versions/1")).unwrap_or_else(|| panic!("definition of {job}"));
        let spec = &def["properties"]["componentSpec"];
        assert_eq!(spec["type"], "command");
        let src = d.get(&format!("{p}/jobs/{job}")).unwrap();
        assert_eq!(spec["command"], src["properties"]["command"]);
        let env = spec["environment"].as_str().unwrap().to_ascii_lowercase();
        assert!(env.starts_with(&format!("azureml:{}/environments/cliv2anonymousenvironment/versions/", f.to_ascii_lowercase())), "{env}");
        assert!(d.get(env.trim_start_matches("azureml:")).is_some(), "its environment is in the failover");
        assert_eq!(def["properties"]["properties"]["aml-failover.jobType"], "Command");
        assert!(d.get(&format!("{f}/jobs/{job}")).is_none(), "not submitted");
    }
    assert_eq!(item("environment", "CliV2AnonymousEnvironment")["status"], "copied", "the jobs' inline environment comes along");

    // The definitions download as components azure-ai-ml loads.
    let out = dir.path().join("out");
    run(command(&tb), &["component", "download", "-n", "train_run_0042", "--from", &f, "-p", s(&out)]).expect_code(0);
    sdk_loads("load_component", &out.join("train_run_0042/component.yml"));

    // verify: the command jobs are in sync (by their definition); `pipelines` is the old name.
    let vr = run(command(&tb), &["verify", "--from", &p, "--to", &f, "--kinds", "pipelines", "--name", "*_*", "-o", "json"]);
    vr.expect_code(0);
    let vv = vr.json();
    let synced: Vec<&str> = vv["items"].as_array().unwrap().iter().filter(|i| i["kind"] == "job" && i["state"] == "in-sync").map(|i| i["name"].as_str().unwrap()).collect();
    assert_eq!(synced.len(), 2, "{vv}");

    // --submit recreates the AutoML job itself in the failover.
    let man2 = dir.path().join("m2.json");
    run(command(&tb), &["copy", "--from", &p, "--to", &f, "--kinds", "jobs", "--name", "automl-1", "--submit", "--manifest", s(&man2), "-o", "json"]).expect_code(0);
    let there = d.get(&format!("{f}/jobs/automl-1")).expect("AutoML job created in the failover");
    assert_eq!(there["properties"]["taskDetails"], automl["properties"]["taskDetails"]);
}

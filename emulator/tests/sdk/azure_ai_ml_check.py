"""Microsoft's azure-ai-ml SDK against aml-emulator.

Run by emulator/tests/sdk_azure_ai_ml.rs with .venv-sdk/bin/python (scripts/setup.sh installs it)
and the test bed's variables (TestBedFacts::env). Builds MLClient for a custom cloud whose every
endpoint is the emulator, once with a static-token credential and once with azure-identity's
ClientSecretCredential against the emulator's token endpoint, reads the seeded primary workspace
(testdata/seed/primary) and compares what the SDK returns with the seed, creates a model version,
an environment version and a command job and reads them back, and submits a pipeline job through
ClientSecretCredential (azure-ai-ml then asks for a token of the workspace audience and compares
its `aud` with the cloud's aml_resource_id before the PUT). Any network connection to a host other than
loopback fails the run. Exits 0 when every check passed, 1 with the failures otherwise.
"""

import sys
import time
import traceback
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

REPO = Path(__file__).resolve().parents[3]
SEED = REPO / "testdata" / "seed" / "primary"


from emulator_client import (  # noqa: E402  (sets the CA and the loopback guard on import)
    AUTHORITY, CLIENT_ID, CLIENT_SECRET, OUTSIDE, RG, SUB, TENANT, TOKEN, WS, StaticTokenCredential, ml_client,
)
from azure.ai.ml import Input, command  # noqa: E402
from azure.ai.ml.dsl import pipeline  # noqa: E402
from azure.ai.ml.entities import Environment, Model  # noqa: E402
from azure.identity import ClientSecretCredential  # noqa: E402
import yaml  # noqa: E402  (PyYAML, an azure-ai-ml dependency)


# --- What the seed folder holds (az ml YAML; defaults as az ml applies them) ----------------------


def load_seed():
    seed = {"model": {}, "environment": {}, "component": {}, "data": {}}
    jobs = {}
    for f in sorted((SEED / "jobs").glob("*.y*ml")):
        doc = yaml.safe_load(f.read_text())
        if isinstance(doc, dict) and "name" in doc:
            jobs[doc["name"]] = doc
    for kind in seed:
        for f in sorted((SEED / kind).glob("*.y*ml")):
            doc = yaml.safe_load(f.read_text())
            if not isinstance(doc, dict) or "name" not in doc:
                continue
            version = str(doc.get("version", "1"))
            seed[kind].setdefault(doc["name"], {})[version] = doc
    seed["job"] = jobs
    return seed


# --- Checks -------------------------------------------------------------------------------------
FAILURES = []
PASSED = []


def check(label, fn):
    try:
        fn()
        PASSED.append(label)
        print(f"ok   {label}", flush=True)
    except Exception as e:  # noqa: BLE001 - every failure is reported, the run goes on
        FAILURES.append(label)
        print(f"FAIL {label}: {type(e).__name__}: {e}", flush=True)
        traceback.print_exc(limit=-6, file=sys.stdout)


def eq(actual, expected, what):
    if actual != expected:
        raise AssertionError(f"{what}: expected {expected!r}, got {actual!r}")


def run(ml, label, seed, created):
    ws_arm = f"/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.MachineLearningServices/workspaces/{WS}"

    def workspaces_get():
        w = ml.workspaces.get(WS)
        eq(w.name, WS, "workspace name")
        eq(w.location, "eastus", "workspace location")
        eq(w.resource_group, RG, "workspace resource group")
        eq((w.id or "").lower(), ws_arm.lower(), "workspace id")
        if not (w.storage_account or "").lower().endswith("/storageaccounts/amlprimarysa"):
            raise AssertionError(f"workspace storage_account: {w.storage_account!r}")

    def datastores():
        listed = {d.name: d for d in ml.datastores.list()}
        eq(sorted(listed), sorted(["workspaceblobstore", "workspaceartifactstore", "workspacefilestore", "workspaceworkingdirectory"]), "datastore names")
        eq(listed["workspaceblobstore"].type, "AzureBlob", "workspaceblobstore type")
        eq(listed["workspacefilestore"].type, "AzureFile", "workspacefilestore type")
        blob = ml.datastores.get("workspaceblobstore")
        eq(blob.account_name, "amlprimarysa", "workspaceblobstore account")
        if not blob.container_name.startswith("azureml-blobstore-"):
            raise AssertionError(f"workspaceblobstore container {blob.container_name!r}")
        eq(blob.protocol, "https", "workspaceblobstore protocol")
        eq(blob.endpoint, "core.windows.net", "workspaceblobstore endpoint")
        default = ml.datastores.get_default()
        eq(default.name, "workspaceblobstore", "default datastore")

    def models():
        names = sorted(m.name for m in ml.models.list())
        expected = sorted(set(seed["model"]) | set(created.get("model", {})))
        eq(names, expected, "model container names")
        for name, versions in seed["model"].items():
            listed = [m.version for m in ml.models.list(name=name)]
            eq(sorted(listed), sorted(versions), f"versions of model {name}")
            for version, doc in versions.items():
                m = ml.models.get(name, version)
                eq((m.name, m.version), (name, version), "model name/version")
                eq(m.type, doc.get("type", "custom_model"), f"type of model {name}:{version}")
                eq(m.description, doc.get("description"), f"description of model {name}:{version}")
                eq(dict(m.tags or {}), {k: str(v) for k, v in (doc.get("tags") or {}).items()}, f"tags of model {name}:{version}")
                for k, v in (doc.get("properties") or {}).items():
                    eq((m.properties or {}).get(k), str(v), f"property {k} of model {name}:{version}")
                if doc.get("stage"):
                    eq(m.stage, doc["stage"], f"stage of model {name}:{version}")
                if not str(m.path).startswith("azureml://"):
                    raise AssertionError(f"model {name}:{version} path {m.path!r} is not an azureml:// URI")
        # The seed's local-file-example has versions 1 and 2: the latest is 2.
        eq(ml.models.get("local-file-example", label="latest").version, "2", "latest version of local-file-example")

    def environments():
        names = sorted(e.name for e in ml.environments.list())
        expected = sorted(set(seed["environment"]) | set(created.get("environment", {})))
        eq(names, expected, "environment container names")
        for name, versions in seed["environment"].items():
            listed = [e.version for e in ml.environments.list(name=name)]
            eq(sorted(listed), sorted(versions), f"versions of environment {name}")
            for version, doc in versions.items():
                e = ml.environments.get(name, version)
                eq((e.name, e.version), (name, version), "environment name/version")
                eq(e.description, doc.get("description"), f"description of environment {name}:{version}")
                if "image" in doc:
                    eq(e.image, doc["image"], f"image of environment {name}:{version}")
                if "conda_file" in doc:
                    want = yaml.safe_load((SEED / "environment" / doc["conda_file"]).read_text())
                    eq(e.conda_file, want, f"conda file of environment {name}:{version}")
                if "build" in doc:
                    if e.build is None or not str(e.build.path).startswith("https://"):
                        raise AssertionError(f"environment {name}:{version} build context {getattr(e.build, 'path', None)!r}")

    def components():
        names = sorted(c.name for c in ml.components.list())
        # A submitted pipeline's inline steps are registered as anonymous components (azureml_anonymous).
        eq(names, sorted(set(seed["component"]) | set(created.get("component", {}))), "component container names")
        for name, versions in seed["component"].items():
            listed = [c.version for c in ml.components.list(name=name)]
            eq(sorted(listed), sorted(versions), f"versions of component {name}")
            for version, doc in versions.items():
                c = ml.components.get(name, version)
                eq((c.name, c.version), (name, version), "component name/version")
                eq(c.type, doc.get("type", "command"), f"type of component {name}:{version}")
                eq(c.display_name, doc.get("display_name"), f"display name of component {name}:{version}")
                eq(c.description, doc.get("description"), f"description of component {name}:{version}")
                eq(dict(c.tags or {}), {k: str(v) for k, v in (doc.get("tags") or {}).items()}, f"tags of component {name}:{version}")
                eq(sorted(c.inputs), sorted(doc.get("inputs") or {}), f"inputs of component {name}:{version}")
                eq(sorted(c.outputs), sorted(doc.get("outputs") or {}), f"outputs of component {name}:{version}")
                for iname, idoc in (doc.get("inputs") or {}).items():
                    eq(c.inputs[iname].type, idoc["type"], f"type of input {iname} of component {name}")
                eq(" ".join(c.command.split()), " ".join(doc["command"].split()), f"command of component {name}:{version}")

    def data():
        names = sorted(d.name for d in ml.data.list())
        eq(names, sorted(seed["data"]), "data container names")
        for name, versions in seed["data"].items():
            listed = [d.version for d in ml.data.list(name=name)]
            eq(sorted(listed), sorted(versions), f"versions of data {name}")
            for version, doc in versions.items():
                d = ml.data.get(name, version)
                eq((d.name, d.version), (name, version), "data name/version")
                eq(d.type, doc["type"], f"type of data {name}:{version}")
                eq(d.description, doc.get("description"), f"description of data {name}:{version}")
                if not str(d.path).startswith("azureml://"):
                    raise AssertionError(f"data {name}:{version} path {d.path!r}")

    def jobs():
        # The list holds the seeded (completed) jobs and exactly the job create() submitted.
        listed = {j.name: j for j in ml.jobs.list()}
        eq(sorted(listed), sorted(list(seed["job"]) + list(created.get("job", {}))), "job names")
        for name, doc in seed["job"].items():
            j = ml.jobs.get(name)
            eq((j.display_name, j.experiment_name), (doc.get("display_name"), doc.get("experiment_name")), f"display name, experiment of seeded job {name}")
            eq(j.status, "Completed", f"status of seeded job {name}")
            for out in (doc.get("outputs") or {}):
                path = str(j.outputs[out].path)
                eq(path, f"azureml://datastores/workspaceblobstore/paths/azureml/{name}/{out}/", f"output {out} of seeded job {name}")
        for name, (kind, want) in created.get("job", {}).items():
            eq(listed[name].type, kind, f"type of job {name}")
            j = ml.jobs.get(name)
            eq((j.display_name, j.experiment_name, dict(j.tags)), want, f"display name, experiment, tags of job {name}")
            eq(j.status, "NotStarted", f"status of job {name}")
            if kind == "pipeline":
                eq(sorted(j.jobs), ["greet", "repeat"], f"steps of pipeline job {name}")
                eq(j.jobs["greet"].type, "command", f"type of step greet of pipeline job {name}")

    for name, fn in [
        ("workspaces.get", workspaces_get),
        ("datastores.list/get/get_default", datastores),
        ("models.list/list(name)/get", models),
        ("environments.list/list(name)/get", environments),
        ("components.list/list(name)/get", components),
        ("data.list/list(name)/get", data),
        ("jobs.list/get", jobs),
    ]:
        check(f"[{label}] {name}", fn)


def create(ml, label, created):
    suffix = uuid.uuid4().hex[:8]

    def model():
        # A path already in the default datastore: no upload (see the test's module docs).
        seed_model = ml.models.get("local-file-example", "1")
        name = f"sdk-model-{suffix}"
        m = Model(
            name=name,
            version="1",
            path=seed_model.path,
            type="custom_model",
            description="Created by azure-ai-ml against aml-emulator.",
            tags={"source": "azure-ai-ml", "run": suffix},
            properties={"origin": "sdk-check"},
        )
        out = ml.models.create_or_update(m)
        eq((out.name, out.version), (name, "1"), "created model name/version")
        back = ml.models.get(name, "1")
        eq(back.type, "custom_model", "created model type")
        eq(dict(back.tags), {"source": "azure-ai-ml", "run": suffix}, "created model tags")
        eq(back.properties.get("origin"), "sdk-check", "created model property")
        eq(back.path, seed_model.path, "created model path")
        eq(back.description, "Created by azure-ai-ml against aml-emulator.", "created model description")
        # A second version without an explicit version number: the service's nextVersion.
        out2 = ml.models.create_or_update(Model(name=name, path=seed_model.path, type="custom_model"))
        eq(out2.version, "2", "auto-numbered model version")
        eq(sorted(v.version for v in ml.models.list(name=name)), ["1", "2"], "versions of the created model")
        # label="latest" is ModelVersions_List with $orderBy=createdtime desc and $top=1.
        eq(ml.models.get(name, label="latest").version, "2", "latest version of the created model")
        created.setdefault("model", {})[name] = ["1", "2"]

    def environment():
        name = f"sdk-env-{suffix}"
        conda = {
            "name": "sdk-env",
            "channels": ["conda-forge"],
            "dependencies": ["python=3.10", "pip", {"pip": ["numpy==1.26.4"]}],
        }
        e = Environment(
            name=name,
            version="1",
            image="mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu20.04:latest",
            conda_file=conda,
            description="Image + inline conda, created by azure-ai-ml.",
            tags={"source": "azure-ai-ml"},
        )
        out = ml.environments.create_or_update(e)
        eq((out.name, out.version), (name, "1"), "created environment name/version")
        back = ml.environments.get(name, "1")
        eq(back.image, "mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu20.04:latest", "created environment image")
        eq(back.conda_file, conda, "created environment conda file")
        eq(dict(back.tags), {"source": "azure-ai-ml"}, "created environment tags")
        eq(back.description, "Image + inline conda, created by azure-ai-ml.", "created environment description")
        created.setdefault("environment", {})[name] = ["1"]

    def job():
        j = command(
            command="echo hello from azure-ai-ml",
            environment="docker-image-plus-conda-example:1",
            compute="cpu-cluster",
            display_name=f"sdk-job-{suffix}",
            experiment_name="sdk-check",
            tags={"source": "azure-ai-ml"},
        )
        out = ml.jobs.create_or_update(j)
        eq((out.type, out.display_name, out.experiment_name), ("command", f"sdk-job-{suffix}", "sdk-check"), "submitted job")
        eq(out.status, "NotStarted", "status of the submitted job")
        created.setdefault("job", {})[out.name] = ("command", (f"sdk-job-{suffix}", "sdk-check", {"source": "azure-ai-ml"}))

    check(f"[{label}] models.create_or_update (azureml:// path)", model)
    check(f"[{label}] environments.create_or_update (image + inline conda)", environment)
    check(f"[{label}] jobs.create_or_update (command job)", job)


def submit_pipeline(ml, label, created):
    """A two-step pipeline job (inline command steps, a literal and a data input) submitted through
    `ml` (ClientSecretCredential): the SDK registers each step as an anonymous component, then
    checks the workspace-audience token and PUTs the job."""
    suffix = uuid.uuid4().hex[:8]

    def pipeline_job():
        step = command(
            command="echo ${{inputs.greeting}} && ls ${{inputs.data}}",
            inputs={"greeting": "hello", "data": Input(type="uri_folder")},
            environment="docker-image-plus-conda-example:1",
        )

        @pipeline(default_compute="cpu-cluster", display_name=f"sdk-pipeline-{suffix}", experiment_name="sdk-check")
        def two_steps(data):
            step(greeting="hello", data=data).name = "greet"
            step(greeting="again", data=data).name = "repeat"

        data = Input(type="uri_folder", path="azureml://datastores/workspaceblobstore/paths/sdk-check/")
        job = two_steps(data=data)
        job.tags = {"source": "azure-ai-ml", "kind": "pipeline"}
        out = ml.jobs.create_or_update(job)
        eq((out.type, out.display_name, out.experiment_name), ("pipeline", f"sdk-pipeline-{suffix}", "sdk-check"), "submitted pipeline job")
        eq(out.status, "NotStarted", "status of the submitted pipeline job")
        versions = [c.version for c in ml.components.list(name="azureml_anonymous")]
        if not versions:
            raise AssertionError("the pipeline's steps were not registered as anonymous components")
        for v in versions:
            eq(ml.components.get("azureml_anonymous", v).type, "command", f"type of anonymous component {v}")
        created.setdefault("component", {})["azureml_anonymous"] = versions
        created.setdefault("job", {})[out.name] = ("pipeline", (f"sdk-pipeline-{suffix}", "sdk-check", {"source": "azure-ai-ml", "kind": "pipeline"}))

    check(f"[{label}] jobs.create_or_update (pipeline job)", pipeline_job)


def main():
    started = time.monotonic()
    seed = load_seed()
    created = {}

    static = StaticTokenCredential(TOKEN)
    ml = ml_client(static)
    create(ml, "static token", created)
    run(ml, "static token", seed, created)
    check("[static token] the credential was used", lambda: static.calls > 0 or (_ for _ in ()).throw(AssertionError("get_token never called")))

    sp = ClientSecretCredential(TENANT, CLIENT_ID, CLIENT_SECRET, authority=AUTHORITY, disable_instance_discovery=True)
    ml_sp = ml_client(sp)
    submit_pipeline(ml_sp, "client secret", created)
    run(ml_sp, "client secret", seed, created)

    check("no connection outside loopback", lambda: eq(sorted(set(OUTSIDE)), [], "non-local hosts the SDK tried to reach"))
    print(f"azure_ai_ml_check: {len(PASSED)} passed, {len(FAILURES)} failed in {time.monotonic() - started:.1f} s", flush=True)
    if FAILURES:
        print("azure_ai_ml_check: FAILED: " + "; ".join(FAILURES), flush=True)
        sys.exit(1)


if __name__ == "__main__":
    main()

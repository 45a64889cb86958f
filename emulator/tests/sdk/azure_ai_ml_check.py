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


def load_estate():
    """The estate YAML (testdata/seed/primary/estate) by $schema file name."""
    estate = {}
    for f in sorted((SEED / "estate").glob("*.y*ml")):
        doc = yaml.safe_load(f.read_text())
        kind = doc["$schema"].rsplit("/", 1)[-1].split(".")[0]
        estate.setdefault(kind, {})[doc["name"]] = doc
    return estate


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
    # az ml registers a job's inline environment before it creates the job, as an anonymous
    # environment named CliV2AnonymousEnvironment (the seeder does as az ml does).
    seed["anonymous_environment"] = any(isinstance(j.get("environment"), dict) for j in jobs.values())
    seed["estate"] = load_estate()
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


def run(ml, label, seed, created):  # noqa: C901 - one check per SDK family
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
        seeded = [n for k in ("azureBlob", "azureFile", "azureDataLakeGen2", "azureDataLakeGen1", "oneLake") for n in seed["estate"].get(k, {})]
        defaults = ["workspaceblobstore", "workspaceartifactstore", "workspacefilestore", "workspaceworkingdirectory"]
        eq(sorted(listed), sorted(defaults + seeded + list(created.get("datastore", {}))), "datastore names")
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
        expected = set(seed["environment"]) | set(created.get("environment", {}))
        if seed["anonymous_environment"]:
            expected.add("CliV2AnonymousEnvironment")
        expected = sorted(expected)
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

    def estate_datastores():
        for name, doc in seed["estate"].get("azureBlob", {}).items():
            d = ml.datastores.get(name)
            eq((d.type, d.account_name, d.container_name), ("AzureBlob", doc["account_name"], doc["container_name"]), f"datastore {name}")
            eq(type(d.credentials).__name__, "AccountKeyConfiguration", f"credentials of datastore {name}")
            eq(getattr(d.credentials, "account_key", None), None, f"account key of datastore {name} without include_secrets")
            with_secret = ml.datastores.get(name, include_secrets=True)
            eq(with_secret.credentials.account_key, doc["credentials"]["account_key"], f"account key of datastore {name} (listSecrets)")
        for name, doc in seed["estate"].get("azureDataLakeGen2", {}).items():
            d = ml.datastores.get(name)
            eq((d.type, d.account_name, d.filesystem), ("AzureDataLakeGen2", doc["account_name"], doc["filesystem"]), f"datastore {name}")
            eq(type(d.credentials).__name__, "NoneCredentialConfiguration", f"credentials of identity-based datastore {name}")

    def connections():
        listed = {c.name: c for c in ml.connections.list()}
        want = seed["estate"].get("workspaceConnection", {})
        eq(sorted(listed), sorted(set(want) | set(created.get("connection", {}))), "connection names")
        for name, doc in want.items():
            c = ml.connections.get(name)
            eq((c.type, c.target), (doc["type"], doc["target"]), f"type/target of connection {name}")
            eq(getattr(c.credentials, "pat", None), None, f"PAT of connection {name} on get")
            # populate_secrets fills API keys only; the PAT through the SDK's generated client (listsecrets).
            raw = ml.connections._operation.list_secrets(connection_name=name, resource_group_name=RG, workspace_name=WS)
            eq(raw.properties.credentials.pat, doc["credentials"]["pat"], f"PAT of connection {name} (listsecrets)")

    def computes():
        listed = {c.name: c for c in ml.compute.list()}
        want = seed["estate"].get("amlCompute", {})
        eq(sorted(listed), sorted(set(want) | set(created.get("compute", {}))), "compute names")
        for name, doc in want.items():
            c = ml.compute.get(name)
            eq((c.type, c.size, c.min_instances, c.max_instances, c.idle_time_before_scale_down), ("amlcompute", doc["size"], doc["min_instances"], doc["max_instances"], doc["idle_time_before_scale_down"]), f"compute {name}")
            eq(c.provisioning_state, "Succeeded", f"provisioning state of compute {name}")
            eq(c.identity.type, "system_assigned", f"identity of compute {name}")
        sizes = {s.name: s for s in ml.compute.list_sizes(location="westus")}
        if "Standard_DS3_v2" not in sizes:
            raise AssertionError(f"list_sizes(westus): {sorted(sizes)}")
        usage = {(u.name["value"] if isinstance(u.name, dict) else u.name.value): u for u in ml.compute.list_usage(location="eastus")}
        # azure-ai-ml 1.35's Usage keeps the wire names of the REST model (currentValue), its
        # current_value attribute stays None, against Azure as here.
        u = vars(usage["standardDSv2Family"])
        eq((u["currentValue"], u["limit"]), (4, 100), "DSv2 vCPUs in use / limit in eastus (one DS3_v2 node of cpu-cluster)")

    def online():
        for name, doc in seed["estate"].get("managedOnlineEndpoint", {}).items():
            ep = ml.online_endpoints.get(name)
            eq((ep.auth_mode, dict(ep.traffic)), (doc["auth_mode"], doc["traffic"]), f"auth mode and traffic of online endpoint {name}")
            eq(ep.provisioning_state, "Succeeded", f"provisioning state of online endpoint {name}")
            if not ep.scoring_uri.startswith("https://"):
                raise AssertionError(f"scoring uri of {name}: {ep.scoring_uri!r}")
            deps = {d.name: d for d in ml.online_deployments.list(endpoint_name=name)}
            want = {n: d for n, d in seed["estate"].get("managedOnlineDeployment", {}).items() if d["endpoint_name"] == name}
            eq(sorted(deps), sorted(want), f"deployments of online endpoint {name}")
            for dname, ddoc in want.items():
                d = ml.online_deployments.get(dname, endpoint_name=name)
                eq((d.instance_type, d.instance_count), (ddoc["instance_type"], ddoc["instance_count"]), f"instance type/count of {name}/{dname}")
                model_name, model_version = ddoc["model"].removeprefix("azureml:").split(":")
                if not str(d.model).endswith(f"/models/{model_name}/versions/{model_version}"):
                    raise AssertionError(f"model of {name}/{dname}: {d.model!r}")
                if "code_configuration" in ddoc:
                    eq(d.code_configuration.scoring_script, ddoc["code_configuration"]["scoring_script"], f"scoring script of {name}/{dname}")
        listed = sorted(e.name for e in ml.online_endpoints.list())
        eq(listed, sorted(set(seed["estate"].get("managedOnlineEndpoint", {})) | set(created.get("online_endpoint", {}))), "online endpoint names")

    def batch():
        for name, doc in seed["estate"].get("batchEndpoint", {}).items():
            ep = ml.batch_endpoints.get(name)
            eq(ep.defaults.deployment_name, doc["defaults"]["deployment_name"], f"default deployment of batch endpoint {name}")
            eq(ep.provisioning_state, "Succeeded", f"provisioning state of batch endpoint {name}")
            deps = {d.name: d for d in ml.batch_deployments.list(endpoint_name=name)}
            want = {n: d for n, d in seed["estate"].get("modelBatchDeployment", {}).items() if d["endpoint_name"] == name}
            eq(sorted(deps), sorted(want), f"deployments of batch endpoint {name}")
            for dname, ddoc in want.items():
                d = ml.batch_deployments.get(dname, endpoint_name=name)
                if not str(d.compute).endswith("/computes/" + ddoc["compute"].removeprefix("azureml:")):
                    raise AssertionError(f"compute of {name}/{dname}: {d.compute!r}")
                eq(d.resources.instance_count, ddoc["resources"]["instance_count"], f"instance count of {name}/{dname}")
        listed = sorted(e.name for e in ml.batch_endpoints.list())
        eq(listed, sorted(set(seed["estate"].get("batchEndpoint", {})) | set(created.get("batch_endpoint", {}))), "batch endpoint names")

    def schedules():
        from azure.ai.ml._restclient.arm_ml_service.models import ScheduleListViewType
        want = seed["estate"].get("schedule", {})
        enabled = sorted(s.name for s in ml.schedules.list())
        every = sorted(s.name for s in ml.schedules.list(list_view_type=ScheduleListViewType.ALL))
        eq(every, sorted(set(want) | set(created.get("schedule", {}))), "schedule names (all)")
        eq(enabled, sorted(set(want) | {n for n, on in created.get("schedule", {}).items() if on}), "enabled schedule names")
        for name, doc in want.items():
            sc = ml.schedules.get(name)
            eq((sc.is_enabled, sc.trigger.expression, sc.display_name), (True, doc["trigger"]["expression"], doc["display_name"]), f"schedule {name}")
            eq(sc.create_job.type, "command", f"job type of schedule {name}")

    for name, fn in [
        ("workspaces.get", workspaces_get),
        ("datastores.get (account key, identity) / include_secrets", estate_datastores),
        ("connections.list/get/populate_secrets", connections),
        ("compute.list/get/list_sizes/list_usage", computes),
        ("online_endpoints.list/get, online_deployments.list/get", online),
        ("batch_endpoints.list/get, batch_deployments.list/get", batch),
        ("schedules.list/get", schedules),
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

    def datastore():
        from azure.ai.ml.entities import AccountKeyConfiguration, AzureBlobDatastore
        name = f"sdk_blob_{suffix}"
        ml.datastores.create_or_update(AzureBlobDatastore(name=name, account_name="amlprimarysa", container_name="sdk-check",
                                                          credentials=AccountKeyConfiguration(account_key="c2RrLWtleQ==")))
        back = ml.datastores.get(name, include_secrets=True)
        eq((back.container_name, back.credentials.account_key), ("sdk-check", "c2RrLWtleQ=="), "created datastore")
        created.setdefault("datastore", {})[name] = True

    def connection():
        from azure.ai.ml.entities import AzureOpenAIConnection
        name = f"sdk-aoai-{suffix}"
        ml.connections.create_or_update(AzureOpenAIConnection(name=name, azure_endpoint="https://contoso.openai.azure.com/", api_key="sdk-api-key", api_version="2024-02-01"))
        plain = ml.connections.get(name)
        eq((plain.type, plain.target, plain.credentials.key), ("azure_open_ai", "https://contoso.openai.azure.com/", None), "created connection (no secret on get)")
        eq(ml.connections.get(name, populate_secrets=True).credentials.key, "sdk-api-key", "created connection's key (populate_secrets)")
        created.setdefault("connection", {})[name] = True

    def compute():
        from azure.ai.ml.entities import AmlCompute
        name = f"sdk-{suffix}"
        out = ml.compute.begin_create_or_update(AmlCompute(name=name, size="Standard_F4s_v2", min_instances=0, max_instances=2, idle_time_before_scale_down=600)).result()
        eq((out.name, out.provisioning_state), (name, "Succeeded"), "created compute")
        back = ml.compute.get(name)
        eq((back.size, back.max_instances, back.idle_time_before_scale_down), ("Standard_F4s_v2", 2, 600), "created compute read back")
        created.setdefault("compute", {})[name] = True

    def online_endpoint():
        from azure.ai.ml.entities import ManagedOnlineDeployment, ManagedOnlineEndpoint
        name = f"sdk-online-{suffix}"
        ep = ml.online_endpoints.begin_create_or_update(ManagedOnlineEndpoint(name=name, auth_mode="key", tags={"source": "azure-ai-ml"})).result()
        eq((ep.name, ep.provisioning_state), (name, "Succeeded"), "created online endpoint")
        created.setdefault("online_endpoint", {})[name] = True
        d = ml.online_deployments.begin_create_or_update(ManagedOnlineDeployment(
            name="blue", endpoint_name=name, model="azureml:local-mlflow-example:1", instance_type="Standard_DS3_v2", instance_count=1)).result()
        eq((d.name, d.provisioning_state), ("blue", "Succeeded"), "created online deployment")
        ep = ml.online_endpoints.get(name)
        ep.traffic = {"blue": 100}
        ml.online_endpoints.begin_create_or_update(ep).result()
        eq(dict(ml.online_endpoints.get(name).traffic), {"blue": 100}, "traffic of the created endpoint")
        keys = ml.online_endpoints.get_keys(name)
        if not keys.primary_key:
            raise AssertionError("get_keys: no primary key")

    def batch_endpoint():
        from azure.ai.ml.entities import BatchEndpoint, ModelBatchDeployment, ModelBatchDeploymentSettings
        name = f"sdk-batch-{suffix}"
        ep = ml.batch_endpoints.begin_create_or_update(BatchEndpoint(name=name, description="sdk batch")).result()
        eq((ep.name, ep.provisioning_state), (name, "Succeeded"), "created batch endpoint")
        created.setdefault("batch_endpoint", {})[name] = True
        d = ml.batch_deployments.begin_create_or_update(ModelBatchDeployment(
            name="v1", endpoint_name=name, model="azureml:local-mlflow-example:1", compute="cpu-cluster",
            settings=ModelBatchDeploymentSettings(mini_batch_size=5, instance_count=1))).result()
        eq((d.name, d.provisioning_state), ("v1", "Succeeded"), "created batch deployment")
        eq(ml.batch_deployments.get("v1", endpoint_name=name).mini_batch_size, 5, "mini batch size of the created batch deployment")

    def schedule():
        from azure.ai.ml.entities import CronTrigger, JobSchedule
        name = f"sdk-schedule-{suffix}"
        # The SDK schedules pipeline jobs (a job's ARM id becomes a pipeline job definition with sourceJobId).
        source = ml.jobs.get("hello_outputs_1714").id
        out = ml.schedules.begin_create_or_update(JobSchedule(name=name, trigger=CronTrigger(expression="15 4 * * *"), create_job=source)).result()
        eq((out.name, out.is_enabled, out.provisioning_state), (name, True, "Succeeded"), "created schedule")
        off = ml.schedules.begin_disable(name).result()
        eq(off.is_enabled, False, "disabled schedule")
        created.setdefault("schedule", {})[name] = False

    check(f"[{label}] datastores.create_or_update (account key)", datastore)
    check(f"[{label}] connections.create_or_update (Azure OpenAI, API key)", connection)
    check(f"[{label}] compute.begin_create_or_update (AmlCompute)", compute)
    check(f"[{label}] online_endpoints/online_deployments.begin_create_or_update + traffic", online_endpoint)
    check(f"[{label}] batch_endpoints/batch_deployments.begin_create_or_update", batch_endpoint)
    check(f"[{label}] schedules.begin_create_or_update (job id)/begin_disable", schedule)
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

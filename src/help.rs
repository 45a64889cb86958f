//! The long `--help` texts of the definition commands (`job`, `pipeline`, `component`,
//! `data`): what each reads, what it writes, its defaults and what it refuses.

pub const JOB_CREATE: &str = "\
Register an az ml v2 job YAML (command, pipeline, sweep, automl or spark; a YAML with command:
and no type: is a command job) in the workspace given by --to.

Reads: the YAML, the local code folder it names (code:), the conda file of an inline environment
(environment: {image:, conda_file: ./conda.yaml}, read and inlined as its content, as az ml does),
the local component YAML files of a pipeline's steps (jobs.<step>.component: ./x.yml, and the
steps of those when they are pipeline components), and local data inputs (inputs.<x>.path:
./data, of the job or of a step). A pipeline job whose graph is a pipeline component file
(component: ./pipeline.yml) registers that component (its steps' component files first) and it
is the job's definition; --submit refers to it by id. A sweep step's trial: ./x.yml is
registered like a step's component file. An inline command or parallel step (command:/task: and
no component:) gets an inline component, as az ml makes an anonymous one. An inline environment
built from a local Docker context (environment: {build: {path: ./ctx}}) has its context uploaded
(verified) and is registered as CliV2AnonymousEnvironment with build.contextUri naming the
upload, as az ml does; the job names it by id.

Writes, in this order, each only after the one before it succeeded: local data inputs uploaded
to the default blob datastore under LocalUpload/<hash>/<name> (each file sha256-verified; the
input then names azureml://datastores/<datastore>/paths/LocalUpload/<hash>/<name>, as az ml
writes it, listed in the report as uploaded); local code (the job's and inline steps') uploaded
the same way and registered as code `code-<fingerprint>`; the pipeline's local components
(dependency order, then referenced by id); then the job.

By default a job becomes its definition, since creating a job runs it: a command job a command
component, a pipeline job a pipeline component, a sweep job a command component of its trial,
each named after the job (lower-case, `_` for other characters, `job_` in front when the name
does not start with a letter), version 1. What a component has no field for (data inputs' paths,
a sweep's search space and objective, limits, compute, experiment) is kept in its properties
(aml-failover.job, aml-failover.computeId, ...). Data and model inputs have no default in the
definition (azure-ai-ml refuses one); literal inputs become integer/number/boolean/string inputs
with the job's value as default. With --submit the job itself is created (PUT jobs/<name>),
which queues a new run; an inline environment is then registered first as
CliV2AnonymousEnvironment, as az ml does. AutoML and spark jobs have no definition form: give
--submit.

Name: --name, else the YAML's name:, else the folder's name made valid (characters other than
letters, digits, '-' and '_' become '_', leading '_'/'-' dropped).

References: azureml:<name>:<version> and azureml:<name>@latest of this workspace are checked
before anything is written; @latest is pinned to the version it resolves to, and the pins are
listed in the report (pinned). Registry references and URLs are kept as given.

Refused before any write (exit 2, one line): an unknown type, an invalid job name, a local
input or code path that does not exist, a component or environment missing in --to, a prompt
flow as a step's component (az ml makes a promptflow_parallel component of it, which azure-ai-ml
cannot read back),
a component YAML whose name az ml would refuse (lower-case letters, digits, '_', starting with a
letter) or whose version is a placeholder such as <VERSION>, a definition that already exists
with other content.";

pub const JOB_GET: &str = "\
Write a job of --from (or -w) as an az ml v2 folder that `job create` (or `az ml job create -f`)
reads back:

  <download-path>/<name>/job.yml                      command, sweep, automl, spark job
  <download-path>/<name>/pipeline.yml                 pipeline job
  <download-path>/<name>/code/                        the job's code (a sweep: its trial's)
  <download-path>/<name>/components/<c>_<v>.yml       each component a pipeline step uses
  <download-path>/<name>/components/<c>_<v>_code/     its code
  <download-path>/<name>/components/<c>_<v>_conda.yaml  its inline environment's conda file

REST fields become az ml YAML keys (jobInputType/uri/ReadOnlyMount → type/path/ro_mount, ISO
durations → seconds, search spaces → type/values...); fields without a YAML key are written as
they are. References into the workspace become azureml:<name>:<version> (computes
azureml:<name>); registry references and URLs stay. Every file is sha256-verified before any
YAML is written. Status, history, metrics and outputs of the run are not written.";

pub const PIPELINE_CREATE: &str = "\
The same command as `job create` (see its --help), for pipeline jobs: a pipeline.yml whose steps
name components by relative YAML path (registered first, code uploaded and verified) or by
azureml: reference. By default the pipeline is registered as its definition: a pipeline
component named after the job (lower-case, `_` for other characters), version 1, whose inputs
are the job's (data inputs without default, literal inputs typed, as azure-ai-ml requires);
with --submit the job itself is created (a new run). Local data inputs are uploaded (verified)
to the default blob datastore as az ml uploads them. Other job types are accepted too.";

pub const PIPELINE_GET: &str = "\
Write a pipeline job as pipeline.yml, components/<c>_<v>.yml and each component's code and
conda file, sha256-verified (see `job get --help`; other job types: use `job get`).";

pub const COMPONENT_REGISTER: &str = "\
Register an az ml v2 component YAML (command, pipeline, parallel or spark component) in the
workspace given by --to.

Reads: the YAML, its local code: folder, and an inline environment's conda_file (read and
inlined as its content, as az ml does, so the registered component needs no local file) or
local Docker build context (build.path: uploaded, verified, and registered first as
CliV2AnonymousEnvironment, which the component then names by id, as az ml does). A
pipeline component's steps: component files (jobs.<step>.component: ./x.yml) are registered
first and named by id; inline components' local code is uploaded and registered as code;
azureml:<name>@latest is pinned to the version found.
Checks before any write: the name (lower-case letters, digits and '_', starting with a letter,
as az ml requires), the version (a placeholder such as <VERSION> is refused: give --version),
the type, and that a referenced environment (azureml:<name>:<version> or @latest, pinned to the
version found) exists in --to.

Writes: the code uploaded to the default blob datastore under LocalUpload/<fingerprint>/ (each
file sha256-verified) and registered as code `code-<fingerprint>`, then the component version
(--version, else the YAML's version:, else 1). If that version exists with the same
specification and code files (sha256), nothing changes (unchanged); if it differs, nothing is
written (exit 2): registered versions are immutable.";

pub const COMPONENT_DOWNLOAD: &str = "\
Download a component version (the latest unless --version) as an az ml v2 folder that
`component register` (or `az ml component create -f`) reads back:

  <download-path>/<name>/component.yml    the component; code: ./code
  <download-path>/<name>/code/            its code, every file sha256-verified
  <download-path>/<name>/conda.yaml       an inline environment's conda file, when it has one
  <download-path>/<name>/docker-context/  an inline environment's Docker build context, when
                                          it has one (build: path: ./docker-context)

References into the workspace become azureml:<name>:<version>; registry references stay. The
YAML is written only after every file is verified.";

pub const DATA_REGISTER: &str = "\
Register an az ml v2 data YAML (uri_file, uri_folder or mltable) in the workspace given by --to.

A local path: is uploaded to the default blob datastore under LocalUpload/<fingerprint>/ (each
file sha256-verified) and registered only after every file is verified. A remote path
(azureml://datastores/<name>/paths/..., https or wasbs) is registered as given without reading
it, as `az ml data create` does; --check-paths reads it first (through the workspace's
datastores) and refuses it (exit 2) when no files are there. A path in another workspace is
refused. Version: --version, else the YAML's version:, else the next free number. The name and
version are checked against the service's rules before anything is uploaded (a placeholder such
as <VERSION> is refused, exit 2). An existing version with the same type, description, tags and
path is left unchanged; with other content nothing is written (exit 2).";

pub const DATA_DOWNLOAD: &str = "\
Download a data asset version (the latest unless --version) as an az ml v2 folder:

  <download-path>/<name>/data.yml     the data asset; path: names the local copy
  <download-path>/<name>/<files>      its files, when they are on this workspace's storage

Data elsewhere (URLs, other storage) is not downloaded: data.yml keeps the path it had.";

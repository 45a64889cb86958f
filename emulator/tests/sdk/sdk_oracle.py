"""Microsoft's azure-ai-ml as the judge of what aml-failover registered and wrote.

Two checks, each usable alone or through one long-lived process:

  sdk_oracle.py get WORKSPACE KIND:NAME:VERSION ...
      `ml.<kind>.get(name, version)` in WORKSPACE (of the bed's subscription and resource group)
      for each item; kind is model, environment, data, component or job (`ml.jobs.get(name)`),
      or a definition (version ignored): datastore, connection, compute, online_endpoint,
      batch_endpoint, schedule, and online_deployment / batch_deployment named ENDPOINT/NAME.
  sdk_oracle.py load KIND:FILE ...
      `load_<kind>(FILE)` for each YAML the tool wrote, then the SDK's local validation
      (`ml.components.validate` for components; the schema load for the other kinds).
  sdk_oracle.py serve
      One request per stdin line, one answer per stdout line (JSON), so a test pays the SDK's
      import once: {"op": "get", "workspace": W, "items": [[kind, name, version], ...]} or
      {"op": "load", "files": [[kind, path], ...]} -> {"results": [{"ok": bool, "error": str}, ...]}
      in the order asked.

`get` and `load` print one line per item (`ok` or `FAIL ... : error`) and exit 1 when any failed.
Environment: the test bed's variables (emulator_client.py); the static token is the credential.
"""

import json
import re
import sys
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from emulator_client import WS, StaticTokenCredential, ml_client  # noqa: E402  (CA + loopback guard)
from azure.ai.ml import load_component, load_data, load_environment, load_job, load_model  # noqa: E402

_CREDENTIAL = StaticTokenCredential()
_CLIENTS = {}
LOADERS = {"model": load_model, "environment": load_environment, "data": load_data, "component": load_component, "job": load_job}


def client(workspace):
    if workspace not in _CLIENTS:
        _CLIENTS[workspace] = ml_client(_CREDENTIAL, workspace)
    return _CLIENTS[workspace]


_MESSAGE = re.compile(r'"message": "((?:[^"\\]|\\.)*)"')


def _error(e):
    """The error on one line: for the SDK's schema errors, just their messages (the data they
    echo and the help text around them would bury what failed)."""
    text = " ".join(f"{e}".split())
    messages = list(dict.fromkeys(m.replace("\\n", " ").strip() for m in _MESSAGE.findall(text)))
    if messages:
        text = " | ".join(messages)
    text = f"{type(e).__name__}: {text}"
    return text if len(text) <= 1000 else text[:1000] + " …"


def get_one(workspace, kind, name, version):
    ml = client(workspace)
    ops = {"model": ml.models, "environment": ml.environments, "data": ml.data, "component": ml.components}
    definitions = {
        "datastore": lambda n: ml.datastores.get(n),
        "connection": lambda n: ml.connections.get(n),
        "compute": lambda n: ml.compute.get(n),
        "online_endpoint": lambda n: ml.online_endpoints.get(n),
        "batch_endpoint": lambda n: ml.batch_endpoints.get(n),
        "schedule": lambda n: ml.schedules.get(n),
        "online_deployment": lambda n: ml.online_deployments.get(n.split("/", 1)[1], endpoint_name=n.split("/", 1)[0]),
        "batch_deployment": lambda n: ml.batch_deployments.get(n.split("/", 1)[1], endpoint_name=n.split("/", 1)[0]),
    }
    try:
        if kind in definitions:
            got = definitions[kind](name)
            if got.name != name.rsplit("/", 1)[-1]:
                raise AssertionError(f"asked {kind} {name}, got {got.name}")
        elif kind == "job":
            got = ml.jobs.get(name)
            if got.name != name:
                raise AssertionError(f"asked job {name}, got {got.name}")
        elif kind in ops:
            got = ops[kind].get(name, version=version)
            if (got.name, str(got.version)) != (name, str(version)):
                raise AssertionError(f"asked {name}:{version}, got {got.name}:{got.version}")
        else:
            raise ValueError(f"unknown kind {kind!r}")
        return {"ok": True, "error": ""}
    except Exception as e:  # noqa: BLE001 - every failure is an answer
        return {"ok": False, "error": _error(e)}


def load_one(kind, path):
    try:
        loader = LOADERS.get(kind)
        if loader is None:
            raise ValueError(f"unknown kind {kind!r}")
        entity = loader(source=path)
        if kind == "component":
            result = client(WS).components.validate(entity, raise_on_failure=False)
            if not result.passed:
                raise AssertionError(f"validation: {result.error_messages}")
        return {"ok": True, "error": ""}
    except Exception as e:  # noqa: BLE001
        return {"ok": False, "error": _error(e)}


def serve():
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            req = json.loads(line)
            if req["op"] == "get":
                results = [get_one(req["workspace"], k, n, v) for k, n, v in req["items"]]
            elif req["op"] == "load":
                results = [load_one(k, p) for k, p in req["files"]]
            else:
                raise ValueError(f"unknown op {req['op']!r}")
            answer = {"results": results}
        except Exception as e:  # noqa: BLE001 - a bad request is answered, the process goes on
            traceback.print_exc(file=sys.stderr)
            answer = {"error": _error(e)}
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()


def main(argv):
    if argv[:1] == ["serve"] and len(argv) == 1:
        serve()
        return 0
    if len(argv) >= 2 and argv[0] == "get":
        ws, specs = argv[1], argv[2:]
        asked = [(s, get_one(ws, *s.split(":", 2))) for s in specs]
    elif len(argv) >= 1 and argv[0] == "load":
        asked = [(s, load_one(*s.split(":", 1))) for s in argv[1:]]
    else:
        print(__doc__, file=sys.stderr)
        return 2
    failed = 0
    for spec, r in asked:
        print(f"ok   {spec}" if r["ok"] else f"FAIL {spec}: {r['error']}", flush=True)
        failed += not r["ok"]
    print(f"sdk_oracle: {len(asked) - failed} ok, {failed} failed", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

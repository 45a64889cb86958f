"""MLClient for aml-emulator, shared by the SDK scripts of this folder.

Reads the test bed's variables (aml_emulator::testbed::TestBed::env): the emulator's ARM and
authority URLs, its CA, the static token, the service principal and the workspaces. Importing
this module points every requests-based client at the emulator's CA and refuses any DNS lookup
of a host other than loopback (OUTSIDE lists the ones the SDK tried), so nothing leaves the
machine: the SDK must find every endpoint in the cloud metadata.
"""

import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

SCRIPT = Path(sys.argv[0]).name if sys.argv and sys.argv[0] else "sdk"


def env(name):
    value = os.environ.get(name)
    if not value:
        sys.exit(f"{SCRIPT}: environment variable {name} is not set (run it with the test bed's variables, TestBed::env)")
    return value


ARM = env("AML_FAILOVER_RESOURCE_MANAGER").rstrip("/")
AUTHORITY = env("AML_FAILOVER_AUTHORITY_HOST").rstrip("/")
CA = env("AML_FAILOVER_CA_CERT")
if not Path(CA).is_file():
    sys.exit(f"{SCRIPT}: AML_FAILOVER_CA_CERT={CA} is not a file (is the emulator running?)")
TOKEN = env("AML_FAILOVER_ACCESS_TOKEN")
SUB = env("EMU_SUBSCRIPTION")
RG = env("EMU_RESOURCE_GROUP")
WS = env("EMU_PRIMARY_WORKSPACE")
TENANT = env("EMU_TENANT_ID")
CLIENT_ID = env("EMU_CLIENT_ID")
CLIENT_SECRET = env("EMU_CLIENT_SECRET")

# The emulator's CA for every requests-based client (azure-core's transport, MSAL through azure-identity).
os.environ["REQUESTS_CA_BUNDLE"] = CA
os.environ.pop("CURL_CA_BUNDLE", None)

from loopback_guard import OUTSIDE  # noqa: E402,F401  (installs the guard; re-exported)
from azure.ai.ml import MLClient  # noqa: E402
from azure.core.credentials import AccessToken  # noqa: E402


class StaticTokenCredential:
    """azure-core TokenCredential returning the emulator's static bearer token."""

    def __init__(self, token=TOKEN):
        self.token = token
        self.calls = 0

    def get_token(self, *scopes, claims=None, tenant_id=None, enable_cae=False, **kwargs):
        self.calls += 1
        return AccessToken(self.token, int(time.time()) + 3600)


CLOUD = "AmlEmulator"
CLOUD_METADATA = {
    "azure_portal": ARM + "/",
    "resource_manager": ARM + "/",
    "active_directory": AUTHORITY + "/",
    "aml_resource_id": ARM + "/",
    "storage_endpoint": "core.windows.net",
    "registry_discovery_endpoint": ARM + "/",
}


def ml_client(credential, workspace=WS):
    return MLClient(
        credential,
        subscription_id=SUB,
        resource_group_name=RG,
        workspace_name=workspace,
        cloud=CLOUD,
        cloud_metadata=CLOUD_METADATA,
        enable_telemetry=False,
        show_progress=False,
    )

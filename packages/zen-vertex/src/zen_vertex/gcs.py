"""The ``gcs`` artifact store: zen's fsspec store on a Cloud Storage bucket (gcsfs).

It works with every orchestrator flavor. The client opens the bucket with the
credentials the config names; steps running elsewhere (a Vertex job, a pod, a
container) open the same ``gs://`` URL with *their* environment's credentials:
on Vertex, the job's service account.

``STORAGE_EMULATOR_HOST`` (honoured by gcsfs) points the store at a local emulator.
"""

from __future__ import annotations

import json
import os
from typing import Any

from zen_core.artifacts.store import ArtifactStore
from zen_core.errors import StackError

from .config import GcsArtifactStoreConfig

#: gcsfs's experimental zonal/hierarchical-namespace layer asks the Storage Control API
#: about every new bucket; where that API does not answer (emulators, restricted
#: networks) each bucket stalls for 60 s. zen needs none of it: off unless set otherwise.
HNS_ENV = "GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT"
SCOPE = "https://www.googleapis.com/auth/devstorage.full_control"


def storage_options(config: GcsArtifactStoreConfig) -> dict[str, Any]:
    """gcsfs options for ``config``; credentials from a file path, the environment or ADC."""
    options: dict[str, Any] = {}
    if config.project:
        options["project"] = config.project
    if config.token_env:
        value = os.environ.get(config.token_env)
        if not value:
            raise StackError(
                f"gcs artifact store: environment variable {config.token_env} (token_env) is not set"
            )
        if value.lstrip().startswith("{"):
            try:
                options["token"] = json.loads(value)  # a service account key's JSON
            except ValueError:
                raise StackError(
                    f"gcs artifact store: {config.token_env} holds neither an access token nor JSON"
                ) from None
        else:
            from google.oauth2.credentials import Credentials

            options["token"] = Credentials(token=value.strip())
    elif config.credentials == "anonymous":
        options["token"] = "anon"  # noqa: S105 - gcsfs's name for anonymous access
    elif config.credentials == "default":
        options["token"] = default_credentials()
    else:
        path = os.path.expanduser(config.credentials)
        if not os.path.isfile(path):
            raise StackError(f"gcs artifact store: credentials file {path} does not exist")
        options["token"] = path
    return options


def default_credentials() -> Any:
    """Application Default Credentials, loaded here rather than by gcsfs.

    gcsfs's own 'google_default' refuses a ``project`` other than the credentials' own, and
    its automatic mode falls back to anonymous access when ADC is missing, which would
    surface later as puzzling permission errors.
    """
    import google.auth
    import google.auth.exceptions

    try:
        credentials, _ = google.auth.default(scopes=[SCOPE])
    except google.auth.exceptions.DefaultCredentialsError as exc:
        raise StackError(
            f"gcs artifact store: no Application Default Credentials ({exc}). Run 'gcloud auth "
            "application-default login', or set the store's 'credentials' or 'token_env'"
        ) from None
    return credentials


def gcs_store(name: str, config: GcsArtifactStoreConfig, stack: Any) -> ArtifactStore:
    os.environ.setdefault(HNS_ENV, "false")  # read once, when gcsfs is first imported
    return ArtifactStore(config.path, **storage_options(config))

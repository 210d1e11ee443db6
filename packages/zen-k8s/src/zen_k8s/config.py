"""Configuration of the ``kubernetes`` orchestrator (pydantic only: cheap to import)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from .names import is_dns1123_label, is_dns1123_subdomain
from .settings import ImagePullPolicy, KubernetesSettings


class KubernetesOrchestratorConfig(BaseModel):
    """Where and how runs are submitted (``zen orchestrator register NAME --flavor kubernetes -c ...``)."""

    model_config = ConfigDict(extra="forbid")

    # -- the cluster ----------------------------------------------------------------
    kubeconfig: str | None = Field(
        default=None,
        description="Path of the kubeconfig file the client uses; default $KUBECONFIG, else ~/.kube/config.",
    )
    context: str | None = Field(default=None, description="kubeconfig context; default: its current one.")
    in_cluster: bool = Field(
        default=False,
        description="The client itself runs in a pod: use its service account, not a kubeconfig.",
    )
    namespace: str = Field(default="default", description="Namespace of every Job, pod and CronJob.")
    service_account: str = Field(
        default="zen-orchestrator",
        description="Service account of the orchestrator Job. It needs a Role allowing jobs "
        "(create/get/list/watch/delete), pods (get/list/watch/delete) and pods/log (get) in the "
        "namespace: `zen k8s rbac --apply` creates it.",
    )
    step_service_account: str | None = Field(
        default=None,
        description="Service account of step pods (default: the namespace's 'default'); a step's "
        "`service_account` setting wins.",
    )
    # -- how runs are driven --------------------------------------------------------
    mode: Literal["cluster", "client"] = Field(
        default="cluster",
        description="'cluster': an orchestrator Job in the cluster walks the DAG and creates one "
        "Job per step (the run goes on without the client). 'client': this process walks the "
        "DAG and creates the step Jobs itself; the run ends when the client stops (for debugging).",
    )
    wait: bool = Field(
        default=True,
        description="Wait for the run to end, showing progress. False submits the run and returns "
        "at once (cluster mode only); follow it with `zen run show`.",
    )
    max_parallelism: int = Field(default=8, ge=1, le=1000, description="Most step Jobs running at once.")
    fail_fast: bool = Field(
        default=False, description="Start no new step once one fails (running ones finish)."
    )
    pending_timeout: float = Field(
        default=300,
        gt=0,
        description="Seconds a pod may stay unschedulable or unable to start its container "
        "(ErrImagePull, ImagePullBackOff, CreateContainerConfigError, ...) before its step fails "
        "with that reason. Steps can override it.",
    )
    poll_interval: float = Field(
        default=2.0,
        ge=0.1,
        le=60,
        description="Longest wait between two looks at the run's Jobs and pods (the loop starts "
        "faster and slows down to this while nothing changes).",
    )
    # -- images ---------------------------------------------------------------------
    image: str | None = Field(
        default=None,
        description="A prebuilt image for every step and the orchestrator Job: nothing is built. It "
        "must contain zen-core, zen-k8s and the step code. Default: images from the installed "
        "image builder (zen-docker).",
    )
    orchestrator_image: str | None = Field(
        default=None,
        description="Image of the orchestrator Job; default `image`, else the first step's image "
        "(every built image holds the stack's zen packages).",
    )
    image_pull_policy: ImagePullPolicy = Field(
        default="IfNotPresent", description="Pull policy of every container; steps can override it."
    )
    # -- the orchestrator Job's pod -------------------------------------------------
    orchestrator_pod: KubernetesSettings = Field(
        default_factory=KubernetesSettings,
        description="Pod settings of the orchestrator Job (resources, node selector, env, "
        "pod_spec_overrides, ...), in the form of the per-step settings.",
    )
    ttl_seconds_after_finished: int | None = Field(
        default=86400,
        ge=0,
        description="Delete the orchestrator Job (and with it the step Jobs it owns) this long after "
        "it finished; None keeps them. In client mode it applies to the step Jobs.",
    )
    run_timeout: int | None = Field(
        default=None,
        gt=0,
        description="Seconds a whole run may take: the orchestrator Job's activeDeadlineSeconds.",
    )
    # -- the client's output ----------------------------------------------------------
    progress: Literal["auto", "rich", "plain", "off"] = Field(
        default="auto", description="Live progress while waiting: a table on a terminal, lines otherwise."
    )
    echo_logs: bool = Field(default=True, description="Show each step's captured output when it ends.")

    @field_validator("namespace")
    @classmethod
    def _namespace(cls, value: str) -> str:
        if not is_dns1123_label(value):
            raise ValueError(f"{value!r} is not a namespace name (DNS-1123 label)")
        return value

    @field_validator("service_account", "step_service_account")
    @classmethod
    def _account(cls, value: str | None) -> str | None:
        if value is not None and not is_dns1123_subdomain(value):
            raise ValueError(f"{value!r} is not a service account name (DNS-1123 subdomain)")
        return value

    @model_validator(mode="after")
    def _modes(self) -> KubernetesOrchestratorConfig:
        if self.mode == "client" and not self.wait:
            raise ValueError("mode 'client' walks the DAG in this process, so it cannot detach (wait=false)")
        if self.in_cluster and (self.kubeconfig or self.context):
            raise ValueError("set either in_cluster or kubeconfig/context, not both")
        return self

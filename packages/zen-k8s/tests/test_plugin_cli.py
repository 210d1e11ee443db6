"""Registration stays light; the ``zen k8s`` commands and ``zen pipeline compile --flavor kubernetes``."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import yaml

from zen_core import plugins


def zen(*args: str, cwd: Path, env_dir: Path) -> subprocess.CompletedProcess[str]:
    script = shutil.which("zen", path=str(Path(sys.executable).parent))
    cmd = [script] if script else [sys.executable, "-m", "zen_core.cli.main"]
    env = {"PATH": str(Path(sys.executable).parent), "ZEN_CONFIG_DIR": str(env_dir), "COLUMNS": "200"}
    return subprocess.run([*cmd, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


def test_flavor_is_registered_by_zen_k8s():
    plugins.reset()
    flavor = plugins.flavor_registry().get("orchestrator", "kubernetes")
    assert flavor.package == "zen-k8s"
    assert flavor.load_settings_class().__name__ == "KubernetesSettings"


def test_starting_zen_does_not_import_kubernetes():
    code = (
        "import sys; from zen_core import plugins; plugins.flavor_registry(); plugins.cli_registry();"
        "import zen_k8s.plugin; print('kubernetes' in sys.modules, 'zen_k8s.orchestrator' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]


def test_zen_help_lists_k8s_and_rbac_prints_manifests(k8s_env):
    cfg = k8s_env.root / "zen-config"
    help_out = zen("--help", cwd=k8s_env.root, env_dir=cfg)
    assert help_out.returncode == 0 and "k8s" in help_out.stdout
    sub = zen("k8s", "schedule", "--help", cwd=k8s_env.root, env_dir=cfg)
    assert sub.returncode == 0 and "create" in sub.stdout and "trigger" in sub.stdout
    out = zen("k8s", "rbac", cwd=k8s_env.root, env_dir=cfg)
    assert out.returncode == 0, out.stderr
    objects = list(yaml.safe_load_all(out.stdout))
    assert [o["kind"] for o in objects] == ["ServiceAccount", "Role", "RoleBinding"]
    assert {o["metadata"]["namespace"] for o in objects} == {"zen-test"}


def test_compile_flavor_kubernetes(k8s_env):
    out = zen(
        "pipeline",
        "compile",
        "zen_core.testing.pipelines:diamond",
        "--flavor",
        "kubernetes",
        cwd=k8s_env.root,
        env_dir=k8s_env.root / "zen-config",
    )
    assert out.returncode == 0, out.stderr
    kinds = [o["kind"] for o in yaml.safe_load_all(out.stdout)]
    assert kinds == ["Job"] * 5


def test_k8s_commands_need_a_kubernetes_stack(tmp_path):
    out = zen("k8s", "rbac", cwd=tmp_path, env_dir=tmp_path / "cfg")
    assert out.returncode == 1
    assert "not a kubernetes one" in out.stderr

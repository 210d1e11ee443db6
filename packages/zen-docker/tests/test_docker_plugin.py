"""Registration: flavors, CLI groups, and no heavy import at start-up."""

from __future__ import annotations

import subprocess
import sys

from click.testing import CliRunner

from zen_core.flavors import KNOWN_PACKAGES
from zen_core.plugins import flavor_registry


def test_flavors_are_registered_by_zen_docker():
    registry = flavor_registry()
    for ctype, name in (
        ("orchestrator", "local_docker"),
        ("image_builder", "docker"),
        ("container_registry", "default"),
    ):
        flavor = registry.get(ctype, name)
        assert flavor.package == "zen-docker"
        assert KNOWN_PACKAGES[(ctype, name)] == "zen-docker"
        assert flavor.load_config_class().model_json_schema()
        assert callable(flavor.load_implementation())
    assert registry.get("image_builder", "docker").load_settings_class().__name__ == "DockerSettings"


def test_plugin_import_stays_light():
    code = (
        "import sys, zen_docker.plugin\n"
        "from zen_core.plugins import flavor_registry\n"
        "flavor_registry()\n"
        "heavy = [m for m in ('docker', 'requests', 'urllib3') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_cli_groups_for_the_new_component_types(tmp_path):
    from zen_core.cli.main import cli

    runner = CliRunner()
    result = runner.invoke(cli, ["container-registry", "flavor", "list"])
    assert result.exit_code == 0, result.output
    assert "default" in result.output and "zen-docker" in result.output
    result = runner.invoke(
        cli,
        [
            "container-registry",
            "register",
            "local",
            "-f",
            "default",
            "-c",
            "uri=127.0.0.1:5000",
            "-c",
            "insecure=true",
        ],
    )
    assert result.exit_code == 0, result.output
    result = runner.invoke(cli, ["image-builder", "flavor", "list"])
    assert result.exit_code == 0 and "docker" in result.output

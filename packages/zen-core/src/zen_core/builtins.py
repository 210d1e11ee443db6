"""zen-core's own plugin: the built-in artifact stores and materializers.

Registered through the ``zen`` entry-point group like any third-party plugin.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .flavors import Flavor
from .hookspecs import hookimpl

if TYPE_CHECKING:
    from .plugins import FlavorRegistrar, MaterializerRegistrar


@hookimpl
def zen_register_flavors(registrar: FlavorRegistrar) -> None:
    registrar.add(
        Flavor(
            name="local",
            type="artifact_store",
            config="zen_core.artifacts.components:LocalArtifactStoreConfig",
            implementation="zen_core.artifacts.components:local_store",
            description="A folder on this machine (or a shared mount).",
        )
    )
    registrar.add(
        Flavor(
            name="fsspec",
            type="artifact_store",
            config="zen_core.artifacts.components:FsspecArtifactStoreConfig",
            implementation="zen_core.artifacts.components:fsspec_store",
            description="Any fsspec URL (s3://, gs://, az://, ...); install the fsspec backend.",
        )
    )


@hookimpl
def zen_register_materializers(registrar: MaterializerRegistrar) -> None:
    m = "zen_core.materializers"
    registrar.add(
        f"{m}:JsonMaterializer",
        [
            "builtins.int",
            "builtins.float",
            "builtins.str",
            "builtins.bool",
            "builtins.NoneType",
            "builtins.list",
            "builtins.dict",
            "builtins.tuple",
        ],
    )
    registrar.add(f"{m}:BytesMaterializer", ["builtins.bytes", "builtins.bytearray"])
    registrar.add(f"{m}:PydanticMaterializer", ["pydantic.main.BaseModel"])
    registrar.add(f"{m}:NumpyMaterializer", ["numpy.ndarray"])
    # pandas 3 reports DataFrame.__module__ as "pandas", older releases as pandas.core.frame
    registrar.add(f"{m}:PandasMaterializer", ["pandas.core.frame.DataFrame", "pandas.DataFrame"])

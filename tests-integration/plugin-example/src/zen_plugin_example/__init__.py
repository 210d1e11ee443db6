"""zen-plugin-example: an example third-party zen plugin.

Nothing is imported here: zen loads :mod:`zen_plugin_example.plugin` through the
``zen`` entry-point group, and everything else only when it is used.
"""

__version__ = "0.1.0"

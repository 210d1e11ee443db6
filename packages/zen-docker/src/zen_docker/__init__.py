"""zen-docker: the image builder every containerised flavor shares, and ``local_docker``.

Importing this package is cheap: the ``docker`` SDK is imported only when an image
is built or a container is run.
"""

__version__ = "0.1.0"

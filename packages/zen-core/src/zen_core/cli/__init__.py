"""The ``zen`` command line. Sub-command modules are imported only when used."""

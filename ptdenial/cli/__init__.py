"""The ``ptdenial`` command line: thin wrappers over the library.

Exit codes, for every command (ARCHITECTURE.md, CLI contract):

* **0** everything processed;
* **3** done, but some rows were quarantined (or some files could not be
  read; the others were);
* **2** nothing processed: bad arguments, unusable input (e.g. a required
  column missing), a model file refused.

Messages go to stderr and name the file, the column and the fix. Logs never
carry patient identifiers or note text.

Layout: ``_main`` (the parser and :func:`main`), ``_common`` (exit codes and
what several commands share), and one module per command (``_sample``,
``_validate``, ``_train``, ``_evaluate``, ``_ingest``, ``_rules``,
``_monitor``, ``_score``, ``_refresh``, ``_demo``), each an ``add(sub)`` / ``run(args)``
pair. Nothing in ptdenial imports this package.
"""

from ptdenial.cli._common import EXIT_OK, EXIT_QUARANTINED, EXIT_UNUSABLE
from ptdenial.cli._main import build_parser, main

__all__ = ["main", "build_parser", "EXIT_OK", "EXIT_QUARANTINED", "EXIT_UNUSABLE"]

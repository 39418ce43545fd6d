"""One module per ``outlayer`` sub-command (see :mod:`outlayer.cli`)."""

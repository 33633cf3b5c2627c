"""The parts of ``dual-log capture``; ``dual_log.capture`` is their public face.

``_nats`` speaks the protocol and ``_subscriber`` runs the connections; ``_lines`` makes
each message's line (with ``_apps`` reading the app's own line, ``_shapes`` the
platform's body when msgspec is there, ``_times`` and ``_levels`` the shared names);
``_filters``, ``_machines`` (silent machines), ``_files``, ``_sync`` (fsync) and
``_health`` do one thing each; ``_options`` reads the command line.
"""

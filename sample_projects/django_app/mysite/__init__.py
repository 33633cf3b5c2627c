"""A small Django site whose every log record goes to stdout and to /logs/app.log."""

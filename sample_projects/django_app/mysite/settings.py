"""Settings of the sample: no database, three views, and dual_log's LOGGING.

Everything that differs between a laptop and Fly.io comes from the environment
(fly.toml's [env] section): DJANGO_DEBUG, DJANGO_SECRET_KEY, DJANGO_ALLOWED_HOSTS and
dual_log's own DUAL_LOG_* variables, DUAL_LOG_PATH above all.
"""

from __future__ import annotations

import os

import dual_log.django

DEBUG = os.environ.get("DJANGO_DEBUG", "") == "1"
# Set a real one with `fly secrets set DJANGO_SECRET_KEY=...`.
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "sample-only-not-secret")
ALLOWED_HOSTS = os.environ.get("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1,.fly.dev").split(",")

INSTALLED_APPS: list[str] = []
MIDDLEWARE = [
    # First, so every record of a request carries its request_id (X-Request-Id or Fly.io's
    # Fly-Request-Id header, else a new one), which goes back in the X-Request-Id header.
    "dual_log.django.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.common.CommonMiddleware",
    "mysite.middleware.log_requests",
]
ROOT_URLCONF = "mysite.urls"
WSGI_APPLICATION = "mysite.wsgi.application"
DATABASES: dict[str, dict[str, str]] = {}
USE_TZ = True
# Django's default is America/Chicago, and Django sets the process's local time to it.
# dual_log writes UTC on both sinks anyway; UTC here keeps Django's own dates the same.
TIME_ZONE = "UTC"

# Every record, Django's own included, to stdout (text) and to DUAL_LOG_PATH (JSON lines,
# rotated). Options come from DUAL_LOG_* variables; keywords here would win over them.
LOGGING = dual_log.django.logging_config()

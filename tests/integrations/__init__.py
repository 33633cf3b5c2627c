"""Tests of the integrations: Django, Flask, ASGI, the files in integrations/, recipes."""

"""The sample's views: a greeting, an order lookup, a slow one, and one that fails."""

from __future__ import annotations

import logging
import time

from django.http import HttpRequest, HttpResponse, JsonResponse

logger = logging.getLogger("mysite.orders")

ORDERS = {"A-17": {"item": "teapot", "paid": True}, "B-42": {"item": "kettle", "paid": False}}


def index(request: HttpRequest) -> HttpResponse:
    """Say hello, echoing the ``id`` query parameter when there is one."""
    return HttpResponse(f"hello {request.GET.get('id', '')}".strip(), content_type="text/plain")


def order(request: HttpRequest, order_id: str) -> HttpResponse:
    """One order as JSON, or 404 (logged by Django on ``django.request``)."""
    found = ORDERS.get(order_id)
    if found is None:
        logger.warning("order %s not found", order_id)
        return JsonResponse({"error": "not found"}, status=404)
    return JsonResponse({"id": order_id, **found})


def slow(request: HttpRequest) -> HttpResponse:
    """Sleep ``seconds`` (default 1): past gunicorn's --timeout, gunicorn logs "WORKER TIMEOUT"."""
    seconds = float(request.GET.get("seconds", "1"))
    time.sleep(seconds)
    return HttpResponse(f"slept {seconds:g}s", content_type="text/plain")


def boom(request: HttpRequest) -> HttpResponse:
    """Fail: Django logs the traceback on ``django.request`` and answers 500."""
    raise RuntimeError("the sample's deliberate failure")

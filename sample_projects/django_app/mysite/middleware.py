"""One INFO line per request: method, path with its query string, status."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

    from django.http import HttpRequest, HttpResponse

logger = logging.getLogger("mysite.requests")


def log_requests(
    get_response: Callable[[HttpRequest], HttpResponse],
) -> Callable[..., HttpResponse]:
    """Log each request once it has its response (a view that raised has a 500 by then)."""

    def middleware(request: HttpRequest) -> HttpResponse:
        response = get_response(request)
        logger.info("%s %s %s", request.method, request.get_full_path(), response.status_code)
        return response

    return middleware

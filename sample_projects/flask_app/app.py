"""A small Flask app whose every log record goes to stdout and to /logs/app.log.

Built by an application factory, as gunicorn serves it: ``gunicorn 'app:create_app()'``.
dual_log's options come from ``DUAL_LOG_*`` keys in ``app.config`` (here loaded from
``FLASK_DUAL_LOG_*`` variables) or from the ``DUAL_LOG_*`` variables themselves.
"""

from __future__ import annotations

import logging
import time

from flask import Flask, Response, jsonify, request

from dual_log.flask import DualLogExtension

dual_log_ext = DualLogExtension()
logger = logging.getLogger("flask_app.orders")

ORDERS = {"A-17": {"item": "teapot", "paid": True}, "B-42": {"item": "kettle", "paid": False}}


def create_app() -> Flask:
    """Build the app: its routes, its request log line, and dual_log on the root logger."""
    app = Flask(__name__)
    app.config.from_prefixed_env()
    dual_log_ext.init_app(app)

    @app.after_request
    def log_request(response: Response) -> Response:
        # One INFO line per request, with the query string: also for a view that raised,
        # whose 500 response passes here too.
        query = request.query_string.decode("latin-1")
        path = f"{request.path}?{query}" if query else request.path
        app.logger.info("%s %s %s", request.method, path, response.status_code)
        return response

    @app.get("/")
    def index() -> str:
        return f"hello {request.args.get('id', '')}".strip()

    @app.get("/orders/<order_id>")
    def order(order_id: str) -> tuple[Response, int]:
        found = ORDERS.get(order_id)
        if found is None:
            logger.warning("order %s not found", order_id)
            return jsonify(error="not found"), 404
        return jsonify(id=order_id, **found), 200

    @app.get("/slow")
    def slow() -> str:
        # Sleeps past gunicorn's --timeout (30 s by default) when asked to: gunicorn then
        # logs "WORKER TIMEOUT" and replaces the worker, and both sinks keep that record.
        seconds = float(request.args.get("seconds", "1"))
        time.sleep(seconds)
        return f"slept {seconds:g}s"

    @app.get("/boom")
    def boom() -> str:
        # Flask logs the traceback on app.logger ("Exception on /boom [GET]") and answers 500.
        raise RuntimeError("the sample's deliberate failure")

    return app

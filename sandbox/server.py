"""The sandbox's account as a local AWS endpoint on 127.0.0.1 (``Sandbox(port=...)``; ``python -m sandbox serve``).

The AWS CLI, boto3 and the project's scripts talk to it with ``--endpoint-url`` (or
``AWS_ENDPOINT_URL``). It is moto's server app; the deployed handlers run in this process and reach
the same endpoint (the sandbox sets ``AWS_ENDPOINT_URL`` in their environment and ``MOTO_PORT`` for
the Step Functions interpreter). One route is the sandbox's own:

    POST /_sandbox/clock/advance?seconds=259200   let time pass (e.g. a payment review times out)
    GET  /_sandbox/status                          outputs, clock offset, deliveries so far
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Iterable
from typing import Any
from unittest.mock import patch
from urllib.parse import parse_qs

from werkzeug.serving import BaseWSGIServer, make_server

CONTROL_PREFIX = "/_sandbox/"
StartResponse = Callable[..., Any]


class SandboxServer:
    """moto's WSGI app on a werkzeug server thread, plus the /_sandbox/ control routes."""

    def __init__(self, port: int, config: dict[str, Any], control: Callable[[str, dict[str, list[str]]], Any]) -> None:
        self.port = port
        self._config = patch.dict("moto.core.config.default_user_config", config)
        self._control = control
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None
        self.mounts: dict[str, Callable[..., Iterable[bytes]]] = {}  # path prefix -> WSGI app (the API)

    def start(self) -> None:
        from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app

        self._config.start()
        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no line per request
        moto_app = DomainDispatcherApplication(create_backend_app)

        def app(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
            path = environ.get("PATH_INFO", "")
            mounted = next((app for prefix, app in self.mounts.items() if path.startswith(prefix)), None)
            if mounted is not None:
                return mounted(environ, start_response)
            if not path.startswith(CONTROL_PREFIX):
                return moto_app(environ, start_response)
            try:
                body = json.dumps(self._control(path.removeprefix(CONTROL_PREFIX), parse_qs(environ["QUERY_STRING"])))
                status = "200 OK"
            except (KeyError, ValueError) as error:
                body, status = json.dumps({"error": str(error)}), "400 Bad Request"
            start_response(status, [("Content-Type", "application/json")])
            return [body.encode()]

        self._server = make_server("127.0.0.1", self.port, app, threaded=True, request_handler=MotoRequestHandler)
        self._thread = threading.Thread(target=self._server.serve_forever, name="sandbox-server", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
        if self._thread:
            self._thread.join()
        self._config.stop()


def start_server(port: int, config: dict[str, Any], control: Callable[..., Any]) -> SandboxServer:
    server = SandboxServer(port, config, control)
    server.start()
    return server

"""moto's service dispatch, with its per-request routing work done once per host.

moto's server picks the Flask app of a request's service in ``DomainDispatcherApplication``:
``get_backend_for_host`` lists moto's package directory (``os.listdir`` and one ``stat`` per
entry, about 180 of them) and tries the backends' URL patterns, twice per request, under one
lock that every request of every thread takes. Profiled with 2,000 small S3 requests, that was a
third of the emulator's CPU per request, and it serialised the threads.

The answer depends only on the host name it is given (moto's directory and its URL patterns do
not change while the emulator runs), so ``CachedDispatcherApplication`` remembers it per host
(a bounded table: the hosts are the services and regions clients name in their SigV4 scope).
Which app serves which request is exactly moto's choice: the first lookup of a host is moto's own
code, and so is everything after the backend is known.

Two per-request costs of moto's service apps go too (about 15 % of a small S3 request):

- Flask's debug mode, which moto turns on (``create_backend_app``: ``debug = True``) and which
  wraps every request's form data in a helper that explains upload mistakes to a developer. An
  exception in a handler is still answered 500 and logged (Flask, instead of the server).
- moto's global CORS layer (flask-cors on every app), which adds ``Access-Control-Allow-Origin:
  *`` to any response of a request with an ``Origin``. S3 sends CORS headers only when the
  bucket's CORS configuration matches the request (https://docs.aws.amazon.com/AmazonS3/latest/
  userguide/cors.html, "How does Amazon S3 evaluate the CORS configuration on a bucket?"), as
  moto's S3 does by itself; without the global layer the emulator answers as S3 does.
"""

from __future__ import annotations

from typing import Any

import moto.moto_server.werkzeug_app as werkzeug_app
from moto.moto_server.werkzeug_app import DomainDispatcherApplication

MAX_HOSTS = 4096


class CachedDispatcherApplication(DomainDispatcherApplication):
    """``DomainDispatcherApplication`` that answers ``get_backend_for_host`` from a table."""

    def __init__(self, create_app: Any) -> None:
        super().__init__(self._without_debug(create_app))
        self._backend_of_host: dict[str, Any] = {}
        # read by create_backend_app for each app it makes
        setattr(werkzeug_app, "DISABLE_GLOBAL_CORS", True)  # noqa: B010

    @staticmethod
    def _without_debug(create_app: Any) -> Any:
        def create(service: Any) -> Any:
            app = create_app(service)
            app.debug = False
            return app

        return create

    def get_backend_for_host(self, host: str | None) -> Any:
        if host is None:
            return None
        try:
            return self._backend_of_host[host]
        except KeyError:
            pass
        backend = super().get_backend_for_host(host)
        if len(self._backend_of_host) < MAX_HOSTS:
            self._backend_of_host[host] = backend
        return backend

"""Serve HTTP and WebSocket from one daphne process, with the embedded worker inside it."""

import faulthandler
import os
import signal
import sys

from daphne.endpoints import build_endpoint_description_strings
from daphne.server import Server
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from annotator.embedded_worker import start_embedded_worker
from projects import services


class Command(BaseCommand):
    help = "Serve the app (HTTP + WebSocket) and, in embedded mode, its Celery worker."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--no-bootstrap", action="store_true", help="skip admin/demo setup")
        parser.add_argument(
            "--proxy-headers", action="store_true", help="trust X-Forwarded-* from a proxy"
        )

    def handle(self, *args, host: str, port: int, no_bootstrap: bool, proxy_headers: bool, **_):
        if not no_bootstrap:
            services.admin_ensure(stdout=self.stdout)
            if settings.ANNOTATOR_DEMO_PROJECT:
                admin = get_user_model().objects.filter(is_superuser=True).first()
                if services.demo_project_create(owner=admin):
                    self.stdout.write("Created the demo project with sample photographs.")
        if settings.ANNOTATOR_EMBEDDED_WORKER:
            start_embedded_worker()
        if faulthandler.is_enabled():
            # `kill -USR1` prints every thread's stack: what a stuck server is waiting on.
            faulthandler.register(signal.SIGUSR1, all_threads=True)
        from annotator.asgi import application

        self.stdout.write(f"Serving on http://{host}:{port}/ (Ctrl+C to stop)", ending="\n")
        self.stdout.flush()
        Server(
            application=application,
            endpoints=build_endpoint_description_strings(host=host, port=port),
            http_timeout=None,
            websocket_handshake_timeout=10,
            proxy_forwarded_address_header="X-Forwarded-For" if proxy_headers else None,
            proxy_forwarded_port_header="X-Forwarded-Port" if proxy_headers else None,
            proxy_forwarded_proto_header="X-Forwarded-Proto" if proxy_headers else None,
            verbosity=0,
        ).run()
        # Daphne has closed every connection. Request threads still waiting on its stopped
        # event loop would block the interpreter's exit forever; writes are transactions and
        # interrupted jobs are queued again at the next start, so leave now.
        self.stdout.write("Stopped.")
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)

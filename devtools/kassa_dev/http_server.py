"""The local HTTP front door: a threaded HTTP/1.1 server that hands every request to the LocalGateway."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from kassa_dev import docs_site
from kassa_dev.gateway import LocalGateway

# API Gateway refuses payloads over 10 MB.
MAX_BODY = 10 * 1024 * 1024


def make_server(gateway: LocalGateway, host: str = "127.0.0.1", port: int = 3000) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as providers use it
        # Headers and body go out as separate writes; with Nagle on, the body waits ~40 ms for an ACK.
        disable_nagle_algorithm = True

        def _serve(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            if length > MAX_BODY:
                self.send_error(413)
                return
            body = self.rfile.read(length) if length else b""
            url = urlsplit(self.path)
            # Swagger UI and the OpenAPI document first (the local server's own pages), then the API.
            response = docs_site.answer(self.command, url.path) or gateway.handle(
                self.command, url.path, url.query, dict(self.headers.items()), body
            )
            self.send_response(response.status)
            for name, value in response.headers.items():
                if name not in ("content-length", "connection"):
                    self.send_header(name, value)
            for cookie in response.cookies:
                self.send_header("set-cookie", cookie)
            self.send_header("content-length", str(len(response.body)))
            self.end_headers()
            self.wfile.write(response.body)

        # Every method goes to the gateway, which answers 404 for a method no route declares (as API
        # Gateway does) instead of http.server's 501.
        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_HEAD = _serve
        do_TRACE = do_CONNECT = do_QUERY = _serve

        def log_message(self, format: str, *args: object) -> None:
            # Silent: the request line carries One Wallet's authToken in its query string.
            return

    class Server(ThreadingHTTPServer):
        request_queue_size = 128  # bursts of new connections (the default backlog of 5 resets them)

    server = Server((host, port), Handler)
    server.daemon_threads = True
    return server


def serve_in_thread(server: ThreadingHTTPServer) -> threading.Thread:
    thread = threading.Thread(target=server.serve_forever, name="kassa-http", daemon=True)
    thread.start()
    return thread

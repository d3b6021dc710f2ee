"""A real HTTP server on 127.0.0.1 serving files with Range support, for download tests.

It can stop a response part way (as a dropped connection does) and hold a response until
the test lets it go on (to cancel mid-download).
"""

import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

CHUNK = 64 * 1024


class FileServer:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.ranges: list[str | None] = []
        self.drop_after: int | None = None  # bytes of the body sent before hanging up
        self.hold = threading.Event()
        self.hold.set()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                path = (server.root / self.path.lstrip("/")).resolve()
                if not path.is_file() or not path.is_relative_to(server.root):
                    self.send_error(404)
                    return
                data = path.read_bytes()
                header = self.headers.get("Range")
                server.ranges.append(header)
                start = 0
                if header:
                    start = int(re.match(r"bytes=(\d+)-", header).group(1))
                    if start >= len(data):
                        self.send_response(416)
                        self.send_header("Content-Range", f"bytes */{len(data)}")
                        self.end_headers()
                        return
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
                else:
                    self.send_response(200)
                self.send_header("Content-Length", str(len(data) - start))
                self.end_headers()
                body = data[start:]
                if server.drop_after is not None:
                    body = body[: server.drop_after]
                for offset in range(0, len(body), CHUNK):
                    self.wfile.write(body[offset : offset + CHUNK])
                    self.wfile.flush()
                    server.hold.wait(10)
                if server.drop_after is not None:
                    self.close_connection = True

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def stop(self) -> None:
        self.hold.set()
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(5)

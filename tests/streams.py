"""A live stream for the tests, served on 127.0.0.1 only: a clip remuxed into MPEG-TS and sent over HTTP at
the pace it plays (as a camera would), which can stall (keep the connection, send nothing) or disconnect."""

from __future__ import annotations

import io
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import av


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def as_mpegts(clip: Path) -> tuple[bytes, float]:
    """The clip's video, copied into MPEG-TS (no re-encoding), and its duration in seconds."""
    buf = io.BytesIO()
    with av.open(str(clip)) as src, av.open(buf, "w", format="mpegts") as dst:
        vin = src.streams.video[0]
        vout = dst.add_stream_from_template(vin)
        duration = float(vin.duration * vin.time_base) if vin.duration else float(src.duration / 1e6)
        for packet in src.demux(vin):
            if packet.dts is None:
                continue
            packet.stream = vout
            dst.mux(packet)
    return buf.getvalue(), duration


class StreamServer:
    """`url` serves the clip paced to play in real time. `stall_after`/`drop_after`: a fraction of the bytes
    after which the server stops sending (connection kept open) or closes the connection; later requests
    (a reconnect) get the whole clip. `refuse_for`: for this many seconds after the first request ends, the
    server answers 503 at once (a camera restarting), so reopening must try again later."""

    def __init__(self, clip: Path, stall_after: float | None = None, drop_after: float | None = None,
                 speed: float = 1.0, refuse_for: float = 0.0):
        data, duration = as_mpegts(clip)
        self.requests = 0
        self.refused = 0
        self.first_ended: float | None = None
        server = self
        stop = self.stop = threading.Event()

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"

            def log_message(self, *args):
                pass

            def do_GET(self):
                if server.first_ended is not None and time.monotonic() - server.first_ended < refuse_for:
                    server.refused += 1
                    self.send_error(503, "restarting")
                    return
                server.requests += 1
                first = server.requests == 1
                self.send_response(200)
                self.send_header("Content-Type", "video/mp2t")
                self.end_headers()
                limit = len(data)
                if first and stall_after is not None:
                    limit = int(len(data) * stall_after)
                if first and drop_after is not None:
                    limit = int(len(data) * drop_after)
                chunk = 4096
                per_second = len(data) / max(duration, 1e-3) * speed
                t0 = time.monotonic()
                try:
                    for start in range(0, limit, chunk):
                        if stop.is_set():
                            return
                        self.wfile.write(data[start:min(start + chunk, limit)])
                        ahead = (start + chunk) / per_second - (time.monotonic() - t0)
                        if ahead > 0:
                            time.sleep(ahead)
                    if first and stall_after is not None:
                        stop.wait(30)  # a stalled camera: the connection stays, no data comes
                except (BrokenPipeError, ConnectionResetError):
                    return
                finally:
                    if first:
                        server.first_ended = time.monotonic()

        self.httpd = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/live.ts"
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> "StreamServer":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        self.httpd.shutdown()
        self.httpd.server_close()

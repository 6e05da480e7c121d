"""The live view of `tamgu watch --serve PORT`: a page on 127.0.0.1 with the annotated stream (MJPEG), the
current class and the alerts. tamgu's OpenCV is headless, so there is no desktop window; a page also works from
another machine through an SSH tunnel (`ssh -L PORT:127.0.0.1:PORT host`)."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import cv2
import numpy as np

PAGE = """<!doctype html><html lang="ko"><head><meta charset="utf-8"><title>tamgu watch</title>
<style>body{font-family:'Nanum Gothic',sans-serif;background:#111;color:#eee;margin:16px}
#frame{max-width:100%;border:1px solid #444}#status{font-size:20px;margin:8px 0}
#alerts{color:#ff6b6b}</style></head><body>
<h1 style="font-size:18px">tamgu watch · <span id="source"></span></h1>
<div id="status">…</div><img id="frame" src="/stream.mjpg" alt="annotated stream"><ul id="alerts"></ul>
<script>
async function poll(){try{const r=await fetch('/status.json',{cache:'no-store'});const s=await r.json();
document.getElementById('source').textContent=s.source;
document.getElementById('status').textContent=s.label?`${s.label_text} · p ${s.prob.toFixed(2)} · ${s.processed} frames · ${s.fps.toFixed(1)} fps`+(s.alarm?' · ALERT':''):'waiting for frames';
document.getElementById('alerts').innerHTML=s.alerts.map(a=>`<li>${a}</li>`).join('');}catch(e){}
setTimeout(poll,500);} poll();
</script></body></html>"""


class LiveView:
    """Holds the newest annotated frame and status; serves them until `close()`."""

    def __init__(self, port: int, source: str, host: str = "127.0.0.1"):
        self.status = {"source": source, "label": None, "label_text": "", "prob": 0.0, "processed": 0, "fps": 0.0,
                       "alarm": False, "alerts": [], "done": False}
        self._jpeg: bytes | None = None
        self._seq = 0
        self._cond = threading.Condition()
        view = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet: the watch prints its own status line
                pass

            def do_GET(self):
                if self.path in ("/", "/index.html"):
                    self._send(PAGE.encode(), "text/html; charset=utf-8")
                elif self.path.startswith("/status.json"):
                    self._send(json.dumps(view.status, ensure_ascii=False).encode(), "application/json")
                elif self.path.startswith("/stream.mjpg"):
                    self._stream()
                else:
                    self.send_error(404)

            def _send(self, body: bytes, kind: str) -> None:
                self.send_response(200)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                self.wfile.write(body)

            def _stream(self) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "multipart/x-mixed-replace; boundary=frame")
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                seen = -1
                try:
                    while True:
                        with view._cond:
                            view._cond.wait_for(lambda: view._seq != seen or view.status["done"], timeout=1.0)
                            jpeg, seen, done = view._jpeg, view._seq, view.status["done"]
                        if jpeg is not None:
                            self.wfile.write(b"--frame\r\nContent-Type: image/jpeg\r\nContent-Length: "
                                             + str(len(jpeg)).encode() + b"\r\n\r\n" + jpeg + b"\r\n")
                        if done:
                            return
                except (BrokenPipeError, ConnectionResetError):
                    return

        self.server = ThreadingHTTPServer((host, port), Handler)
        self.server.daemon_threads = True
        self.url = f"http://{host}:{self.server.server_address[1]}/"
        self._thread = threading.Thread(target=self.server.serve_forever, name="tamgu-live-view", daemon=True)
        self._thread.start()
        self._last = 0.0

    def publish(self, rgb: np.ndarray, **status) -> None:
        """The newest frame (RGB) and status; frames are encoded at most 15 times a second."""
        self.status.update(status)
        now = time.monotonic()
        if now - self._last < 1 / 15:
            return
        self._last = now
        ok, buf = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 80])
        if ok:
            with self._cond:
                self._jpeg, self._seq = buf.tobytes(), self._seq + 1
                self._cond.notify_all()

    def close(self) -> None:
        with self._cond:
            self.status["done"] = True
            self._cond.notify_all()
        self.server.shutdown()
        self.server.server_close()

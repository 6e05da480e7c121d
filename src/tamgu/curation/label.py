"""`tamgu label VIDEO... --out LABELS.csv`: label stretches of videos on a local page, with the keyboard.

    Space  play / pause            ← →  one frame        Shift+← →  one second      ↑ ↓  five seconds
    1..9 0 start a segment of that class here (ending the open one)      E  end the open segment here
    X      delete the segment here  Z  undo              N / P  next / previous video    V  next suggestion

The timeline shows the segments; drag a boundary to move it, click to seek. Every change is written to
LABELS.csv at once (atomically: video,start,end,label, the file `tamgu frames --segments` reads), so closing the
browser or stopping the server loses nothing, and running the command again continues where it stopped.
`--from RUN` fills videos without labels with what the run sees in them (`watch`'s segments, uncertain moments
left out), so a person corrects a model instead of starting from nothing; `--visit NEXT.csv` (`tamgu suggest`)
lists the moments to look at first.

Frames are decoded by tamgu (`video.reader.Scrubber`) and sent as JPEG pictures, so any video FFmpeg reads plays,
whatever codecs the browser has. The page is served on 127.0.0.1 unless `--host` says otherwise.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import cv2
import pandas as pd

from ..errors import InputError
from ..files import write_csv
from ..video.segments import COLUMNS, check_label, check_segments, read_segments, video_key

PORT = 8765
SHOWN = 640  # longest side of the pictures sent to the page
KAGGLE = [f"c{i}" for i in range(10)]

PAGE_FILE = Path(__file__).with_name("label_page.html")


class LabelServer:
    """The labelling page and its files; `close()` stops it (the labels are already on disk)."""

    def __init__(self, videos: list[Path], out: Path, classes: list[str], prefill: dict[str, list] | None = None,
                 visits: list[dict] | None = None, host: str = "127.0.0.1", port: int = PORT):
        from ..video.reader import Scrubber

        self.videos, self.out, self.classes = videos, Path(out), classes
        self.scrubbers = [Scrubber(v) for v in videos]
        self.locks = [threading.Lock() for _ in videos]
        self.segments: dict[str, list] = {v.name: [] for v in videos}
        if self.out.is_file() and self.out.stat().st_size > 0:  # reopening continues
            for r in read_segments(self.out).itertuples():
                self.segments.setdefault(r.video, []).append([r.start, r.end, r.label])
        for name, segs in (prefill or {}).items():
            if not self.segments.get(name):
                self.segments[name] = segs
        self.visits = visits or []
        self.save_lock = threading.Lock()
        self.server = ThreadingHTTPServer((host, port), self._handler())
        self.server.daemon_threads = True
        self.url = f"http://{host}:{self.server.server_address[1]}/"
        self._thread = threading.Thread(target=self.server.serve_forever, name="tamgu-label", daemon=True)
        self._thread.start()
        if any(self.segments.values()):
            self.save()

    def state(self) -> dict:
        return {"videos": [{"name": v.name, "duration": s.info["duration"] or 0.0, "fps": s.info["fps"]}
                           for v, s in zip(self.videos, self.scrubbers)],
                "classes": self.classes, "keys": keys(self.classes), "segments": self.segments,
                "visits": self.visits, "out": str(self.out)}

    def set_segments(self, name: str, segs: list) -> None:
        """Check one video's segments (as `frames --segments` will) and write every video's to the file."""
        if name not in self.segments:
            raise InputError(f"{name} is not one of this page's videos")
        rows = pd.DataFrame([(name, float(s), float(e), check_label(lbl, name)) for s, e, lbl in segs],
                            columns=COLUMNS)
        unknown = sorted(set(rows["label"]) - set(self.classes))
        if unknown:
            raise InputError(f"{name}: {unknown} are not classes of this page")
        check_segments(rows, name)
        self.segments[name] = [[round(s, 3), round(e, 3), lbl] for s, e, lbl in
                               sorted((float(s), float(e), lbl) for s, e, lbl in segs)]
        self.save()

    def save(self) -> None:
        rows = [(v, s, e, lbl) for v, segs in self.segments.items() for s, e, lbl in segs]
        with self.save_lock:
            write_csv(pd.DataFrame(rows, columns=COLUMNS), self.out)

    def frame(self, i: int, t: float) -> tuple[float, bytes]:
        with self.locks[i]:
            shown, rgb = self.scrubbers[i].at(t, "bgr24")
        h, w = rgb.shape[:2]
        if max(h, w) > SHOWN:
            f = SHOWN / max(h, w)
            rgb = cv2.resize(rgb, (round(w * f), round(h * f)), interpolation=cv2.INTER_AREA)
        ok, buf = cv2.imencode(".jpg", rgb, [cv2.IMWRITE_JPEG_QUALITY, 85])
        return shown, buf.tobytes()

    def _handler(self):
        page = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet: the command prints the address once
                pass

            def do_GET(self):
                url = urlparse(self.path)
                if url.path in ("/", "/index.html"):
                    self._send(PAGE_FILE.read_bytes(), "text/html; charset=utf-8")
                elif url.path == "/state.json":
                    self._send(json.dumps(page.state(), ensure_ascii=False).encode(), "application/json")
                elif url.path == "/frame.jpg":
                    q = parse_qs(url.query)
                    try:
                        shown, jpeg = page.frame(int(q["v"][0]), float(q["t"][0]))
                    except (KeyError, ValueError, IndexError) as e:
                        self.send_error(400, str(e))
                        return
                    self._send(jpeg, "image/jpeg", {"X-Frame-Time": f"{shown:.3f}"})
                else:
                    self.send_error(404)

            def do_POST(self):
                if urlparse(self.path).path != "/segments":
                    self.send_error(404)
                    return
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
                try:
                    page.set_segments(body["video"], body["segments"])
                    answer, code = {"ok": True, "saved": str(page.out)}, 200
                except (InputError, KeyError, TypeError, ValueError) as e:
                    answer, code = {"ok": False, "error": str(e)}, 400
                self._send(json.dumps(answer, ensure_ascii=False).encode(), "application/json", code=code)

            def _send(self, body: bytes, kind: str, headers: dict | None = None, code: int = 200) -> None:
                self.send_response(code)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Cache-Control", "no-store")
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(body)

        return Handler

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        for s in self.scrubbers:
            s.close()


def keys(classes: list[str]) -> dict[str, str]:
    """Key -> class: 1..9 then 0 in order; the chapter's c0..c9 keep their own digit."""
    if classes == KAGGLE:
        return {str(i): c for i, c in enumerate(classes)}
    return {str((i + 1) % 10): c for i, c in enumerate(classes[:10])}


def model_segments(run: str | Path, videos: list[Path]) -> dict[str, list]:
    """What the run sees in each video (`watch`'s segments, uncertain stretches left out)."""
    import tempfile

    from ..live.watch import watch

    found = {}
    with tempfile.TemporaryDirectory(prefix="tamgu-label-") as tmp:
        for i, v in enumerate(videos):
            watch(run, str(v), Path(tmp) / str(i), video=False, progress=False).wait()
            segs = pd.read_csv(Path(tmp) / str(i) / "segments.csv")
            found[v.name] = [[round(r.start_s, 3), round(r.end_s, 3), r.label] for r in segs.itertuples()
                             if r.label != "uncertain" and r.end_s > r.start_s]
    return found


def read_visits(path: str | Path, videos: list[Path]) -> list[dict]:
    """The moments of `tamgu suggest`'s CSV (source,time_s,...) that lie in these videos, in its order."""
    table = pd.read_csv(path)
    if not {"source", "time_s"} <= set(table.columns):
        raise InputError(f"{path}: a visit list needs the columns source,time_s (tamgu suggest writes one)")
    index = {v.name: i for i, v in enumerate(videos)}
    return [{"video": index[video_key(r.source)], "t": float(r.time_s)} for r in table.itertuples()
            if video_key(r.source) in index and r.time_s == r.time_s]


def label(videos: list[str | Path], out: str | Path, classes: str | None = None, from_run: str | None = None,
          visit: str | None = None, host: str = "127.0.0.1", port: int = PORT) -> dict:
    """Serve the labelling page until Ctrl-C; every change is already in `out`. Returns what was labelled.

    Args:
        videos: video files or folders of them
        out: the labels CSV (video,start,end,label); an existing one is continued
        classes: comma-separated classes, keys 1..9 then 0 (default: those already in OUT, or the run's)
        from_run: a trained run: videos without labels start with what it sees in them
        visit: a CSV from tamgu suggest: the moments to look at first (key V)
        host: address to serve on (127.0.0.1: this machine only)
        port: port of the page (0: any free one)
    """
    from ..video.frames import _video_files

    files = _video_files([videos] if isinstance(videos, (str, Path)) else list(videos))
    out = Path(out)
    names = [c.strip() for c in classes.split(",") if c.strip()] if classes else []
    if not names and out.is_file() and out.stat().st_size > 0:
        names = sorted(set(read_segments(out)["label"]))
    if not names and from_run:
        from ..pipeline import runfolder

        names = runfolder.Run(from_run).classes
    if not names:
        raise InputError("no classes: give --classes walk,stop,crouch (keys 1, 2, 3...), an --out file that has "
                         "labels, or --from RUN")
    for c in names:
        check_label(c, "--classes")
    if len(names) > 10:
        raise InputError(f"--classes: {len(names)} classes, but keys 1..9 and 0 reach 10; label in two passes.")
    prefill = model_segments(from_run, files) if from_run else None
    visits = read_visits(visit, files) if visit else None
    server = LabelServer(files, out, names, prefill, visits, host, port)
    print(f"labelling page: {server.url} (Ctrl-C to stop; every change is saved to {out})", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()
    return {"out": str(out), "videos": len(files),
            "segments": sum(len(s) for s in server.segments.values()), "classes": names}

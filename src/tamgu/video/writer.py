"""The one video writer: H.264 (yuv420p, MP4), written atomically, so an interrupted run leaves either a playable
file or none. A file's frames go at its own rate; a live source's at their capture times."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np

from ..files import atomic_path


# containers by file suffix (the temporary file of an atomic write keeps the suffix, but say it all the same)
FORMATS = {".mp4": "mp4", ".m4v": "mp4", ".mov": "mov", ".mkv": "matroska", ".webm": "webm", ".avi": "avi",
           ".ts": "mpegts"}


class VideoOut:
    """`write(rgb, t)` frame by frame, then `close()`; nothing is created before the first frame. Every video
    tamgu writes goes through here: the tools' H.264 outputs (libx264, veryfast, `crf`), generated clips
    (`codec`, `gop`, display `rotate`, `faststart`, each frame at its own time `t`)."""

    def __init__(self, path: str | Path, rate=None, crf: int = 23, codec: str = "libx264", gop: int | None = None,
                 rotate: int = 0, faststart: bool = False, options: dict | None = None):
        self.path, self.rate, self.frames, self.crf = Path(path), rate, 0, crf
        self.codec, self.gop, self.rotate, self.faststart = codec, gop, rotate, faststart
        # x264 at veryfast (0: lossless, for test clips); `options` replaces that (a codec's own defaults: {})
        self.options = options if options is not None else (
            {"preset": "veryfast", "crf": str(crf)} if codec == "libx264" else {})
        self._ctx = self._out = self._stream = None
        self._pts = -1

    def write(self, rgb: np.ndarray, t: float | None = None) -> None:
        import av

        if self._out is None:
            self._ctx = atomic_path(self.path)
            tmp = self._ctx.__enter__()
            self._out = av.open(str(tmp), "w", format=FORMATS.get(self.path.suffix.lower(), "mp4"),
                                options={"movflags": "faststart"} if self.faststart else None)
            h, w = rgb.shape[:2]
            self._stream = self._out.add_stream(self.codec, rate=self.rate or 30)
            self._stream.width, self._stream.height, self._stream.pix_fmt = w // 2 * 2, h // 2 * 2, "yuv420p"
            self._stream.options = self.options
            if t is not None:
                self._stream.time_base = Fraction(1, 1000)
                self._stream.codec_context.time_base = Fraction(1, 1000)
            if self.gop:
                self._stream.codec_context.gop_size = self.gop
            if self.rotate:
                self._stream.set_display_rotation(self.rotate)
        if rgb.ndim == 2:
            rgb = np.repeat(rgb[..., None], 3, axis=2)
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb[: self._stream.height, : self._stream.width, :3]),
                                           format="rgb24")
        if t is not None:  # presentation time in ms, strictly increasing
            self._pts = max(int(round(t * 1000)), self._pts + 1)
            frame.pts, frame.time_base = self._pts, self._stream.codec_context.time_base
        for pkt in self._stream.encode(frame):
            self._out.mux(pkt)
        self.frames += 1

    def close(self) -> None:
        if self._out is None:
            return
        for pkt in self._stream.encode():
            self._out.mux(pkt)
        self._out.close()
        self._ctx.__exit__(None, None, None)
        self._out = None

    def __enter__(self) -> "VideoOut":
        return self

    def __exit__(self, kind, *exc) -> None:
        if kind is None:
            self.close()
        elif self._out is not None:  # a failed write leaves no half file: the temporary one is removed
            self._out.close()
            self._ctx.__exit__(kind, *exc)
            self._out = None


def add_audio(video: str | Path, source: str | Path) -> str | None:
    """Copy `source`'s first audio track into `video` (written by VideoOut from its frames), without re-encoding.
    Returns None when the source has no sound, "kept", or "dropped: why" when MP4 cannot carry it as it is."""
    import av

    video, source = Path(video), Path(source)
    try:
        with av.open(str(source)) as src:
            if not src.streams.audio:
                return None
    except (av.error.FFmpegError, OSError):
        return None
    try:
        with atomic_path(video) as tmp, av.open(str(video)) as vin, av.open(str(source)) as ain, \
                av.open(str(tmp), "w", format="mp4") as out:
            v_in, a_in = vin.streams.video[0], ain.streams.audio[0]
            v_out = out.add_stream_from_template(v_in)
            a_out = out.add_stream_from_template(a_in)
            end = 0.0
            for packet in vin.demux(v_in):
                if packet.dts is not None:
                    end = max(end, float((packet.pts + (packet.duration or 0)) * packet.time_base))
                    packet.stream = v_out
                    out.mux(packet)
            for packet in ain.demux(a_in):  # as long as the video (which may stop early: --seconds, Ctrl-C)
                if packet.dts is not None and packet.pts is not None and float(packet.pts * packet.time_base) < end:
                    packet.stream = a_out
                    out.mux(packet)
        return "kept"
    except (av.error.FFmpegError, OSError, ValueError) as e:
        return f"dropped: MP4 cannot carry {source.name}'s audio as it is ({e})"

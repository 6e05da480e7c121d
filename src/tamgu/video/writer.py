"""The one video writer: H.264 (yuv420p, MP4), written atomically, so an interrupted run leaves either a playable
file or none. A file's frames go at its own rate; a live source's at their capture times."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np

from ..io import atomic_path


class VideoOut:
    """`write(rgb, t)` frame by frame, then `close()`; nothing is created before the first frame."""

    def __init__(self, path: str | Path, rate=None, crf: int = 23):
        self.path, self.rate, self.frames, self.crf = Path(path), rate, 0, crf
        self._ctx = self._out = self._stream = None
        self._pts = -1

    def write(self, rgb: np.ndarray, t: float | None = None) -> None:
        import av

        if self._out is None:
            self._ctx = atomic_path(self.path)
            tmp = self._ctx.__enter__()
            self._out = av.open(str(tmp), "w", format="mp4")
            h, w = rgb.shape[:2]
            self._stream = self._out.add_stream("libx264", rate=self.rate or 30)
            self._stream.width, self._stream.height, self._stream.pix_fmt = w // 2 * 2, h // 2 * 2, "yuv420p"
            self._stream.options = {"preset": "veryfast", "crf": str(self.crf)}  # 0: lossless (test clips)
            if t is not None:
                self._stream.codec_context.time_base = Fraction(1, 1000)
        if rgb.ndim == 2:
            rgb = np.repeat(rgb[..., None], 3, axis=2)
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb[: self._stream.height, : self._stream.width, :3]),
                                           format="rgb24")
        if t is not None:  # capture time in ms, strictly increasing
            self._pts = max(int(t * 1000), self._pts + 1)
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

"""Cameras and streams: the newest frame of a live source, read by a thread of its own, reconnecting with
back-off. Opened through `video.reader.open_source`, like every video tamgu reads."""

from __future__ import annotations

from collections.abc import Iterator

from .reader import Frame, Source, VideoError, open_source, to_image


def backoff(attempt: int) -> float:
    """Seconds to wait before reconnection attempt 1, 2, 3...: 0.5, 1, 2, 4, then 8 at most."""
    return min(8.0, 0.25 * 2 ** attempt)


class LiveFrames:
    """The newest frame of a live source, read by a thread of its own: a slow consumer gets the latest frame and
    the count of frames it never saw (dropped), never a queue that grows. A stream that stalls for `timeout`
    seconds or ends is reopened, `reconnect` times in all, then the frames end (`error` says why)."""

    def __init__(self, src: Source, fmt: str = "rgb24", timeout: float = 5.0, reconnect: int = 0):
        import threading

        self.src, self.fmt, self.timeout, self.reconnect = src, fmt, timeout, reconnect
        self._cond = threading.Condition()
        self._latest: Frame | None = None
        self._taken = -1
        self._done = False
        self._stop = threading.Event()
        self.read = 0           # frames decoded from the source
        self.dropped = 0        # frames overwritten before anyone took them
        self.reconnects = 0
        self.error: str | None = None
        self.rate: float | None = None
        self._thread = threading.Thread(target=self._run, name="tamgu-live-reader", daemon=True)
        self._container = open_source(src, timeout)  # fail at once, before work starts, on a bad address
        self._thread.start()

    def _run(self) -> None:
        import time as _time

        import av

        container, t0 = self._container, _time.monotonic()
        while not self._stop.is_set():
            try:
                stream = container.streams.video[0]
                stream.thread_type = "AUTO"
                self.rate = float(stream.average_rate or stream.guessed_rate or 0) or None
                for f in container.decode(stream):
                    if self._stop.is_set():
                        break
                    # a live frame's time is when it arrived: what the model's latency is measured against
                    now = _time.monotonic()
                    frame = Frame(self.read, now - t0, to_image(f, self.fmt), now)
                    with self._cond:
                        if self._latest is not None and self._latest.index != self._taken:
                            self.dropped += 1
                        self._latest = frame
                        self.read += 1
                        self._cond.notify_all()
                why = "the stream ended"
            except (av.error.FFmpegError, OSError) as e:
                why = f"the stream stopped ({e})"
            container.close()
            container = None
            # `reconnect` tries in all, each after a longer wait (0.5 s, 1 s, 2 s ... 8 s): a server that is
            # restarting refuses the first tries, and a refused try counts as one
            while container is None and not self._stop.is_set() and self.reconnects < self.reconnect:
                self.reconnects += 1
                if self._stop.wait(backoff(self.reconnects)):
                    break
                try:
                    container = open_source(self.src, self.timeout)
                except VideoError as e:
                    why = str(e)
            if container is None:
                self.error = None if self._stop.is_set() else why
                break
        with self._cond:
            self._done = True
            self._cond.notify_all()

    def next(self) -> Frame | None:
        """The newest frame not yet taken (waits for one); None when the source has ended."""
        with self._cond:
            while not self._done and (self._latest is None or self._latest.index == self._taken):
                self._cond.wait(0.5)
            if self._latest is None or self._latest.index == self._taken:
                return None
            self._taken = self._latest.index
            return self._latest

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=self.timeout + 2)

    def __iter__(self) -> Iterator[Frame]:
        while (frame := self.next()) is not None:
            yield frame

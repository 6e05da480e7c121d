"""Models on video as it plays: `watch` (a trained run on a file, a camera or a stream: a timeline of what the
driver does, segments, alerts, an annotated video, a live page), with `timeline` (smoothing, segments and
alerts as pure functions), `annotate` (the drawn panel) and `serve` (the page on localhost)."""

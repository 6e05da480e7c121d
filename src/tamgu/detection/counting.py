"""What crosses a line and what stays in a zone, counted on confirmed tracks only (`tracking.Tracks`).

    --line x1,y1,x2,y2      crossings.csv: time_s, track, label, direction, line; one row per object per crossing.
                            An object crosses when its box centre, beside the segment, moves to the other side
                            (farther than MARGIN of its box from the line: a walker standing on it never counts)
                            and is seen there CROSS_FRAMES times; the time is where its path met the line. A
                            track remembers its side while it lives, so an object the detector misses right at
                            the line still counts (supervision's LineZone forgets a side after 3 unseen frames:
                            on the generated street it lost a walker missed for 7 frames at the line).
                            `direction` is the way it moved in the image: right/left across a mostly vertical
                            line, down/up across a mostly horizontal one.
    --zone x,y,x,y,x,y,...  zones.csv: track, label, zone, enter_s, exit_s, seconds. The anchor is the bottom
                            centre of the box (where an object stands on the ground, for a camera looking down);
                            an object that leaves the zone or the picture for less than ZONE_GAP seconds stays.

Lines and zones are in the video's pixels; one outside the picture is refused before the video is read.
"""

from __future__ import annotations

import numpy as np

from ..errors import InputError

CROSS_FRAMES = 2   # frames on the new side before a crossing counts (a box wobbling on the line counts once)
MARGIN = 0.15      # a centre nearer the line than this share of the box (across the line) is on neither side
ZONE_GAP = 0.5     # seconds out of a zone (or unseen) before a visit ends
LINE_COLOURS = [(0, 200, 255), (255, 160, 0), (200, 0, 255), (0, 255, 120)]


def parse_line(text: str | tuple) -> tuple[int, int, int, int]:
    """`x1,y1,x2,y2` in pixels (a tuple of 4 numbers too)."""
    vals = _numbers(text, "--line", "x1,y1,x2,y2, e.g. --line 320,0,320,480")
    if len(vals) != 4:
        raise InputError(f"--line {text!r}: give 4 numbers x1,y1,x2,y2 (e.g. --line 320,0,320,480)")
    if vals[:2] == vals[2:]:
        raise InputError(f"--line {text!r}: its two ends are the same point; give two different points")
    return tuple(vals)  # type: ignore[return-value]


def parse_zone(text: str | tuple) -> list[tuple[int, int]]:
    """`x,y,x,y,x,y,...`: at least three corners."""
    vals = _numbers(text, "--zone", "x,y pairs, e.g. --zone 100,300,500,300,500,470,100,470")
    if len(vals) % 2 or len(vals) < 6:
        raise InputError(f"--zone {text!r}: give at least three corners as x,y pairs "
                         "(e.g. --zone 100,300,500,300,500,470,100,470)")
    pts = list(zip(vals[0::2], vals[1::2]))
    if abs(_area(pts)) < 1:
        raise InputError(f"--zone {text!r}: its corners lie on one line; the zone has no area")
    return pts


def _numbers(text, flag: str, form: str) -> list[int]:
    parts = text.split(",") if isinstance(text, str) else [v for p in text for v in (p if isinstance(p, (tuple, list))
                                                                                    else [p])]
    try:
        return [int(round(float(p))) for p in parts]
    except (TypeError, ValueError):
        raise InputError(f"{flag} {text!r}: give {form}") from None


def _area(pts) -> float:
    x, y = np.array(pts, float).T
    return 0.5 * float(np.dot(x, np.roll(y, 1)) - np.dot(y, np.roll(x, 1)))


def check_inside(lines, zones, width: int, height: int, where: str) -> None:
    """Every line end and zone corner inside a width x height picture, else a refusal naming it."""
    for name, pts in [(f"--line {i + 1}", [ln[:2], ln[2:]]) for i, ln in enumerate(lines)] + \
                     [(f"--zone {i + 1}", z) for i, z in enumerate(zones)]:
        for x, y in pts:
            if not (0 <= x <= width and 0 <= y <= height):
                raise InputError(f"{name}: the point {x},{y} is outside {where} ({width}x{height}); give points "
                                 "in the video's pixels, 0,0 at the top left")


class Counter:
    """Line crossings and zone visits of one video's confirmed tracks."""

    def __init__(self, lines=(), zones=()):
        import supervision as sv

        self.lines, self.zones = [parse_line(x) for x in lines], [parse_zone(z) for z in zones]
        self._zones = [sv.PolygonZone(np.array(z, np.int32), triggering_anchors=(sv.Position.BOTTOM_CENTER,))
                       for z in self.zones]
        self._ways = [self._ways_of(ln) for ln in self.lines]
        self._sides: dict[tuple[int, int], dict] = {}   # (line, track) -> side, last sighting, run on the new side
        self.crossings: list[dict] = []
        self.visits: list[dict] = []
        self._open: dict[tuple[int, int], dict] = {}   # (track, zone) -> visit so far

    @staticmethod
    def _ways_of(line) -> tuple[str, str]:
        """(the name of a move to the positive side of the line, of a move to the negative side)."""
        x1, y1, x2, y2 = line
        vx, vy = x2 - x1, y2 - y1
        vertical = abs(vy) >= abs(vx)
        ax, ay = (1, 0) if vertical else (0, 1)          # moving right (or down)...
        forward, back = ("right", "left") if vertical else ("down", "up")
        return (forward, back) if vx * ay - vy * ax > 0 else (back, forward)  # ...goes to the positive side?

    @staticmethod
    def _side(line, px: float, py: float) -> tuple[float, bool]:
        """Signed distance of the point from the line (positive: left of start->end in image axes) and whether
        it lies beside the segment (its projection falls between the ends)."""
        x1, y1, x2, y2 = line
        vx, vy = x2 - x1, y2 - y1
        norm = float(np.hypot(vx, vy))
        along = ((px - x1) * vx + (py - y1) * vy) / norm ** 2
        return (vx * (py - y1) - vy * (px - x1)) / norm, 0.0 <= along <= 1.0

    def update(self, dets: list, time_s: float) -> None:
        tracked = [d for d in dets if d.track is not None]
        for n, line in enumerate(self.lines):
            for d in tracked:
                dist, beside = self._side(line, d.x + d.w / 2, d.y + d.h / 2)
                x1, y1, x2, y2 = line
                across = (abs(y2 - y1) * d.w + abs(x2 - x1) * d.h) / float(np.hypot(x2 - x1, y2 - y1))
                if not beside or abs(dist) <= MARGIN * across:  # on the line: a standing walker does not count
                    continue
                side = dist > 0
                st = self._sides.setdefault((n, d.track), {"side": side, "run": 0})
                if side == st["side"]:
                    st.update(run=0, t=time_s, dist=abs(dist))
                    continue
                if st["run"] == 0:
                    st["first"] = (time_s, abs(dist))
                st["run"] += 1
                if st["run"] >= CROSS_FRAMES:
                    t0, d0 = st.get("t", st["first"][0]), st.get("dist", 0.0)
                    t1, d1 = st["first"]
                    at = t0 + (t1 - t0) * d0 / max(d0 + d1, 1e-9)  # where the path met the line
                    self.crossings.append({"time_s": round(float(at), 3), "track": d.track, "label": d.label,
                                           "direction": self._ways[n][0 if side else 1], "line": n + 1})
                    st.update(side=side, run=0, t=time_s, dist=abs(dist))
        if self._zones:
            import supervision as sv

            found = sv.Detections(xyxy=np.array([[d.x, d.y, d.x + d.w, d.y + d.h] for d in tracked], float)
                                  .reshape(-1, 4))
        for n, zone in enumerate(self._zones):
            inside = zone.trigger(found) if len(tracked) else np.zeros(0, bool)
            for d, here in zip(tracked, inside):
                if here:
                    v = self._open.setdefault((d.track, n), {"track": d.track, "label": d.label, "zone": n + 1,
                                                             "enter_s": round(float(time_s), 3)})
                    v["last"] = float(time_s)
        for key, v in list(self._open.items()):
            if time_s - v["last"] > ZONE_GAP:
                self._close(key)

    def _close(self, key) -> None:
        v = self._open.pop(key)
        exit_s = round(v.pop("last"), 3)
        self.visits.append({**v, "exit_s": exit_s, "seconds": round(exit_s - v["enter_s"], 3)})

    def finish(self) -> dict:
        """Visits still open end at their last sighting; the totals for summary.json."""
        for key in list(self._open):
            self._close(key)
        self.visits.sort(key=lambda v: (v["enter_s"], v["track"]))
        out: dict = {}
        if self.lines:
            per: dict = {}
            for c in self.crossings:
                per.setdefault(f"line {c['line']}", {}).setdefault(c["label"], {}).setdefault(c["direction"], 0)
                per[f"line {c['line']}"][c["label"]][c["direction"]] += 1
            out["crossings"] = per
        if self.zones:
            per = {}
            for v in self.visits:
                per.setdefault(f"zone {v['zone']}", {}).setdefault(v["label"], 0)
                per[f"zone {v['zone']}"][v["label"]] += 1
            out["zone_visits"] = per
        return out

    def status(self) -> str:
        """The running counts in a few words, for the live status line."""
        parts = [f"line {n + 1}: " + " ".join(f"{d} {sum(c['line'] == n + 1 and c['direction'] == d for c in self.crossings)}"
                                             for d in self._ways[n]) for n in range(len(self.lines))]
        parts += [f"zone {n + 1}: {sum(1 for (_, zn) in self._open if zn == n)} now" for n in range(len(self.zones))]
        return ", ".join(parts)

    def draw(self, img: np.ndarray) -> np.ndarray:
        """The lines and zones with their running counts, on `img` (in place)."""
        import cv2

        for n, (x1, y1, x2, y2) in enumerate(self.lines):
            colour = LINE_COLOURS[n % len(LINE_COLOURS)]
            cv2.line(img, (x1, y1), (x2, y2), colour, 2, cv2.LINE_AA)
            mine = [c for c in self.crossings if c["line"] == n + 1]
            text = f"line {n + 1}: " + " ".join(f"{d} {sum(c['direction'] == d for c in mine)}"
                                                   for d in self._ways[n])
            cv2.putText(img, text, (min(x1, x2) + 4, max(14, min(y1, y2) + 16)), cv2.FONT_HERSHEY_SIMPLEX, 0.5,
                        colour, 1, cv2.LINE_AA)
        for n, z in enumerate(self.zones):
            colour = LINE_COLOURS[(n + 2) % len(LINE_COLOURS)]
            cv2.polylines(img, [np.int32(z)], True, colour, 2, cv2.LINE_AA)
            now = sum(1 for (_, zn) in self._open if zn == n)
            cv2.putText(img, f"zone {n + 1}: {now} now", (z[0][0] + 4, z[0][1] + 16), cv2.FONT_HERSHEY_SIMPLEX, 0.5,
                        colour, 1, cv2.LINE_AA)
        return img

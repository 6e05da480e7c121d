"""What a crack mask says, in numbers: each crack's length, width, orientation and box, and how well a
predicted mask matches a true one.

    measure(mask, mm_per_px)        one row per crack (8-connected piece of the mask)
    skeleton_match(pred, true, tol) skeleton pixels matched within `tol` pixels, both ways (precision, recall)
    match_scores(counts)            precision, recall and F1 from summed counts
    pooled_scores(pairs, tol)       the same pooled over (predicted, true) mask pairs, with false alarms

Length runs along the skeleton, each pixel weighted by its local direction (`step_weights`), and each end gets
back what thinning took off (the distance to the edge there, less the end pixel itself). The largest width
is twice the distance transform at the skeleton (less the centre pixel); the mean width is the area over the
length, which is exact for a crack of even width where the distance transform would be half a pixel short.
"""

from __future__ import annotations

import cv2
import numpy as np

ORIENTATION_SIGMA = 3.0  # px over which a skeleton's local direction is taken
TOLERANCE_PX = 2  # a predicted skeleton pixel this close to a true one counts (the crack literature's usual 2 px)
MIN_LENGTH_PX = 24.0  # a crack is at least this long; shorter dark pieces are texture (both methods, the tables)
DIRECTIONS = ((22.5, "horizontal"), (67.5, "diagonal"), (112.5, "vertical"), (157.5, "diagonal"), (180.1, "horizontal"))


def skeleton(mask: np.ndarray) -> np.ndarray:
    """One-pixel-wide centre lines of a binary mask (bool)."""
    from skimage.morphology import skeletonize

    return skeletonize(mask > 0)


def step_weights(skel: np.ndarray) -> np.ndarray:
    """Per skeleton pixel, the length it stands for: a thin digital line at angle a has one pixel per step along
    its major axis, so each pixel stands for 1 / max(|cos a|, |sin a|) px. The local angle comes from the
    skeleton's structure tensor (Gaussian-smoothed gradients). Within 2% on straight lines at any angle, where
    counting 1 and sqrt(2) per step is up to 8% long at 22.5 degrees."""
    f = cv2.GaussianBlur(skel.astype(np.float32), (0, 0), 1.0)
    gx, gy = cv2.Sobel(f, cv2.CV_32F, 1, 0), cv2.Sobel(f, cv2.CV_32F, 0, 1)
    jxx, jyy, jxy = (cv2.GaussianBlur(a, (0, 0), ORIENTATION_SIGMA) for a in (gx * gx, gy * gy, gx * gy))
    along = 0.5 * np.arctan2(2 * jxy, jxx - jyy) + np.pi / 2  # the gradient's direction, turned onto the line
    return 1.0 / np.maximum(np.abs(np.cos(along)), np.abs(np.sin(along)))


def path_length(skel: np.ndarray, weights: np.ndarray | None = None) -> float:
    """Length of a skeleton in pixels (see `step_weights`)."""
    skel = skel.astype(bool)
    return float((step_weights(skel) if weights is None else weights)[skel].sum())


def _ends(skel: np.ndarray) -> np.ndarray:
    k = np.ones((3, 3), np.float32)
    nb = cv2.filter2D(skel.astype(np.float32), -1, k, borderType=cv2.BORDER_CONSTANT) - skel
    return skel & (nb == 1)


def direction(angle: float) -> str:
    return next(name for limit, name in DIRECTIONS if angle < limit)


def measure(mask: np.ndarray, mm_per_px: float | None = None, min_length: float = 0.0) -> list[dict]:
    """One dict per crack of a binary mask (255 or True = crack): crack id (1, 2, ... by length, longest
    first), length, mean and max width (px, and mm with `mm_per_px`), orientation (degrees, 0 = horizontal,
    90 = vertical) and its direction word, and the bounding box x, y, w, h."""
    binary = (np.asarray(mask) > 0).astype(np.uint8)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(binary, connectivity=8)
    dist = cv2.distanceTransform(binary, cv2.DIST_L2, 5)
    skel = skeleton(binary)
    weights = step_weights(skel)
    ends = _ends(skel)
    rows = []
    for k in range(1, n):
        part = labels == k
        sk = skel & part
        if not sk.any():
            continue
        length = max(1.0, path_length(sk, weights) + float(np.maximum(dist[ends & part] - 1, 0).sum()))
        if length < min_length:
            continue
        d = dist[sk]
        ys, xs = np.nonzero(sk)
        if len(xs) > 1:
            cov = np.cov(np.stack([xs, ys]).astype(np.float64))
            w, v = np.linalg.eigh(cov)
            vx, vy = v[:, -1]
            angle = float(np.degrees(np.arctan2(-vy, vx)) % 180)  # image y points down: angle counter-clockwise
        else:
            angle = 0.0
        x, y, bw, bh, area = (int(v) for v in stats[k])
        row = {"length_px": round(length, 1), "mean_width_px": round(area / length, 2),
               "max_width_px": round(float(2 * d.max() - 1), 2), "orientation_deg": round(angle, 1),
               "direction": direction(angle), "x": x, "y": y, "w": bw, "h": bh, "area_px": area}
        if mm_per_px:
            row.update(length_mm=round(length * mm_per_px, 2), mean_width_mm=round(area / length * mm_per_px, 3),
                       max_width_mm=round(float(2 * d.max() - 1) * mm_per_px, 3))
        rows.append(row)
    rows.sort(key=lambda r: -r["length_px"])
    for i, r in enumerate(rows, 1):
        r["crack"] = i
    return rows


def skeleton_match(pred: np.ndarray, true: np.ndarray, tol: float = TOLERANCE_PX) -> dict:
    """Counts for precision and recall between the skeletons of two masks: predicted skeleton pixels within
    `tol` of the true skeleton, and true skeleton pixels within `tol` of the predicted one."""
    ps, ts = skeleton(pred), skeleton(true)

    def near(skel: np.ndarray) -> np.ndarray:  # distance from every pixel to the nearest skeleton pixel
        if not skel.any():
            return np.full(skel.shape, np.inf, np.float32)
        return cv2.distanceTransform((~skel).astype(np.uint8), cv2.DIST_L2, 5)

    return {"pred_px": int(ps.sum()), "pred_hit": int((near(ts)[ps] <= tol).sum()),
            "true_px": int(ts.sum()), "true_hit": int((near(ps)[ts] <= tol).sum())}


def match_scores(c: dict) -> dict:
    """Precision, recall and F1 from (summed) skeleton_match counts; an empty side counts as perfect only when
    both are empty."""
    p = c["pred_hit"] / c["pred_px"] if c["pred_px"] else float(c["true_px"] == 0)
    r = c["true_hit"] / c["true_px"] if c["true_px"] else float(c["pred_px"] == 0)
    return {"precision": p, "recall": r, "f1": 2 * p * r / (p + r) if p + r else 0.0}


def pooled_scores(pairs, tol: float = TOLERANCE_PX) -> dict:
    """Precision, recall and F1 pooled over (predicted, true) mask pairs, and on the crack-free ones how many
    got any report: `false_alarms` of `crack_free`."""
    tot = {"pred_px": 0, "pred_hit": 0, "true_px": 0, "true_hit": 0}
    alarms = free = 0
    for pred, true in pairs:
        for k, v in skeleton_match(pred, true, tol).items():
            tot[k] += v
        if not true.any():
            free += 1
            alarms += bool(np.asarray(pred).any())
    return {**match_scores(tot), "false_alarms": alarms, "crack_free": free}

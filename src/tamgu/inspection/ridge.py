"""Cracks without training: dark thin ridges at several scales, kept by hysteresis, then cleaned of what is
not a crack (long straight joints, round holes and bolts, stains, texture).

    ridge_response(bgr)   Sato's multi-scale ridge filter (scikit-image) on the image divided by its own smooth
                          background, in units of the image's typical response (so rough textures are judged
                          against their own roughness)
    ridge_mask(bgr)       hysteresis thresholds on that response, each piece cut to its width at half depth,
                          then `clean`
    clean(mask)           drops straight lines longer than a joint (Hough), pieces shorter than a crack, round or
                          fat pieces (holes, stains) and rings (bolts' rims)
    clean_learned(mask)   the U-Net's mask: joints, and cracks too short or too straight when their pieces are
                          taken together

The numbers below were chosen on generated surfaces of the training textures (gravel, grass, plaster;
`benchmarks/cracks.py --tune-ridge` prints the grid) and judged on the held-out ones (brick, moon).
"""

from __future__ import annotations

import cv2
import numpy as np

from .measure import MIN_LENGTH_PX, path_length, skeleton, step_weights

SIGMAS = (1.0, 1.5, 2.0, 3.0)   # ridge scales, px: hairlines to cracks about 6 px wide
BACKGROUND_SIGMA = 12.0         # the smooth background the image is divided by (uneven light, stains)
HIGH = 6.0                      # a crack's strongest pixels: this many typical responses
LOW = 3.0                       # ... and it grows along pixels above this
FLOOR = 0.02                    # least relative darkness response on very smooth surfaces (no texture to judge by)
ROUND = 4.0                     # a piece shorter than this many times its widest is a hole, bolt or stain
CURL = 2.2                      # a piece this many times longer than its box is a ring (a bolt's rim), not a crack
JOINT_LENGTH = 0.6              # straight lines longer than this share of the shorter side are joints
JOINT_GAP = 6                   # px a joint's line may break and still be one line
STRAIGHT_PX = 1.2               # a piece whose skeleton strays less than this from its axis, and is long, is a joint
# the learned model's cleaning (`clean_learned`), chosen on training-texture surfaces (benchmarks/cracks.py --tune-unet)
GROUP_REACH = 8                 # pieces less than twice this apart are one crack, broken where it is faint, px
GROUP_LENGTH = 64.0             # a crack (its pieces together) is at least this long, unless the frame cuts it, px
EDGE_PX = 4                     # a crack this close to the image's edge may go on beyond it, px ...
EDGE_LENGTH = 32.0              # ... and needs only this length, px
STRAIGHT_LENGTH = 64.0          # a straight crack this long is a joint or a course of bricks seen in part, px


def darkness(bgr: np.ndarray) -> np.ndarray:
    """How much darker each pixel is than its smooth surroundings, as a share of them (0 on the surface)."""
    grey = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY).astype(np.float32) / 255.0 if bgr.ndim == 3 else \
        bgr.astype(np.float32) / 255.0
    background = cv2.GaussianBlur(grey, (0, 0), BACKGROUND_SIGMA)
    return 1.0 - grey / np.maximum(background, 1e-3)


def ridge_response(bgr: np.ndarray, sigmas=SIGMAS, dark: np.ndarray | None = None) -> np.ndarray:
    """Dark-ridge strength per pixel, in multiples of the image's typical (median absolute) response."""
    from skimage.filters import sato

    dark = darkness(bgr) if dark is None else dark
    r = sato(-dark, sigmas=sigmas, black_ridges=True, mode="reflect").astype(np.float32)
    typical = float(np.median(r)) + 1.4826 * float(np.median(np.abs(r - np.median(r))))
    return r / max(typical, FLOOR / HIGH)


def half_depth(mask: np.ndarray, dark: np.ndarray) -> np.ndarray:
    """Each piece of a ridge mask cut back to the pixels at least half as dark as its centre line: the ridge
    filter's answer is as wide as its scale, a crack as wide as it is dark (its width at half depth)."""
    from scipy import ndimage

    m = mask > 0
    n, labels = cv2.connectedComponents(m.astype(np.uint8), connectivity=8)
    if n < 2:
        return m.astype(np.uint8) * 255
    centre = skeleton(m)
    depth = ndimage.median(dark, labels=np.where(centre, labels, 0), index=np.arange(1, n))
    cut = np.concatenate([[np.inf], 0.5 * np.asarray(depth, np.float32)])
    keep = m & (dark >= cut[labels])
    return (keep | centre).astype(np.uint8) * 255  # the centre line stays: a piece is never split by the cut


def remove_joints(mask: np.ndarray) -> np.ndarray:
    """The mask without straight lines longer than JOINT_LENGTH of the shorter side (construction joints, panel
    edges): Hough segments, erased with a margin, so a crack crossing a joint loses only the crossing. Both
    methods use it: a patch-sized view cannot tell a joint's stretch from a straight stretch of crack."""
    m = (np.asarray(mask) > 0).astype(np.uint8)
    h, w = m.shape
    lines = cv2.HoughLinesP(m * 255, 1, np.pi / 360, threshold=int(JOINT_LENGTH * min(h, w) * 0.8),
                            minLineLength=int(JOINT_LENGTH * min(h, w)), maxLineGap=JOINT_GAP)
    if lines is not None:
        joint = np.zeros_like(m)
        for x1, y1, x2, y2 in lines[:, 0]:
            cv2.line(joint, (int(x1), int(y1)), (int(x2), int(y2)), 1, 3)
        m[cv2.dilate(joint, np.ones((5, 5), np.uint8)) > 0] = 0
    return m * 255


def straight(ys: np.ndarray, xs: np.ndarray) -> bool:
    """Whether skeleton pixels lie along one line: they stray less than STRAIGHT_PX from their main axis."""
    if len(xs) <= 2:
        return False
    spread = np.linalg.eigvalsh(np.cov(np.stack([xs, ys]).astype(np.float64)))[0]
    return bool(np.sqrt(max(spread, 0)) < STRAIGHT_PX)


def clean(mask: np.ndarray, min_length: float = MIN_LENGTH_PX) -> np.ndarray:
    """A candidate mask without joints, holes, bolts, stains and specks (uint8, 255 = crack)."""
    m = (remove_joints(mask) > 0).astype(np.uint8)
    h, w = m.shape
    n, labels, stats, _ = cv2.connectedComponentsWithStats(m, connectivity=8)
    dist = cv2.distanceTransform(m, cv2.DIST_L2, 3)
    skel = skeleton(m)
    weights = step_weights(skel)
    keep = np.zeros(n, bool)
    for k in range(1, n):
        x, y, bw, bh, area = stats[k]
        if max(bw, bh) < min_length * 0.7:
            continue
        box = (slice(y, y + bh), slice(x, x + bw))
        part = labels[box] == k
        sk = skel[box] & part
        length = path_length(sk, weights[box])
        widest = 2 * float(dist[box][part].max())
        if length < min_length or length < ROUND * widest or length > CURL * max(bw, bh):
            continue
        if length > JOINT_LENGTH * min(h, w) * 0.5 and straight(*np.nonzero(sk)):
            continue
        keep[k] = True
    return np.where(keep[labels], 255, 0).astype(np.uint8)


def ridge_mask(bgr: np.ndarray, high: float = HIGH, low: float = LOW, min_length: float = MIN_LENGTH_PX) -> np.ndarray:
    """The ridge method's crack mask of one BGR image (uint8, 255 = crack)."""
    from skimage.filters import apply_hysteresis_threshold

    dark = darkness(bgr)
    found = apply_hysteresis_threshold(ridge_response(bgr, dark=dark), low, high)
    return clean(half_depth(found, dark), min_length)


def clean_learned(mask: np.ndarray, min_length: float = MIN_LENGTH_PX, reach: int = GROUP_REACH,
                  group_length: float = GROUP_LENGTH, edge_length: float = EDGE_LENGTH,
                  straight_length: float = STRAIGHT_LENGTH) -> np.ndarray:
    """A learned model's thresholded mask cleaned of what a patch-sized view cannot judge (uint8, 255 = crack):
    long straight joints (`remove_joints`), pieces shorter than `min_length`, and then, taking pieces less
    than 2 x `reach` px apart as one crack broken where it is faint: cracks shorter than `group_length` in all
    (a grass blade, a pore's edge), or than `edge_length` where they touch the image's edge (a crack the
    frame cuts), and straight ones longer than `straight_length` (a joint or a brick course the model saw
    only in part)."""
    m = (remove_joints(mask) > 0).astype(np.uint8)
    n, labels = cv2.connectedComponents(m, connectivity=8)
    if n < 2:
        return m * 255
    skel = skeleton(m)
    weights = step_weights(skel)
    pieces = np.bincount(labels[skel], weights=weights[skel], minlength=n) >= min_length
    pieces[0] = False
    ring = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * reach + 1, 2 * reach + 1))
    # groups are formed with the specks still in: where a crack is faint, they are what is left of it
    g, groups = cv2.connectedComponents(cv2.dilate(m, ring), connectivity=8)
    m = pieces[labels]
    skel &= m
    length = np.bincount(groups[skel], weights=weights[skel], minlength=g)
    edge = np.zeros(g, bool)
    e = EDGE_PX
    for band in (np.s_[:e], np.s_[-e:], np.s_[:, :e], np.s_[:, -e:]):
        edge[groups[band][m[band]]] = True
    keep = (length >= group_length) | (edge & (length >= edge_length))
    ys, xs = np.nonzero(skel)
    of = groups[ys, xs]
    for k in np.nonzero(keep & (length >= straight_length))[0]:
        if straight(ys[of == k], xs[of == k]):
            keep[k] = False
    keep[0] = False
    return np.where(m & keep[groups], 255, 0).astype(np.uint8)

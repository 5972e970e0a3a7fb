"""Labels for every marker of a map that overlap neither each other nor any marker.

:func:`place_labels` works in the figure's display coordinates (pixels at the figure's dpi): it
measures each label's box, then places the labels one by one, the most crowded marker first, at
the first of a ring of candidate positions (nearest first; right, then above, left, below and
the diagonals) whose box stays inside the axes and clear of every marker, of every label placed
so far and of the areas to avoid (e.g. the legend), and whose leader line crosses no placed
label. A label away from its marker gets a thin leader line to the marker's edge. The figure's
axes must have their final position and limits when it is called.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.text import Annotation

GAP_PX = 2.0  # between a marker's edge and its label, and between two labels
STEPS_PX = (0, 5, 11, 18, 27, 38, 51, 66, 84, 105, 130, 160, 195)  # beyond the marker's edge
ANGLES_DEG = (0, 45, -45, 90, -90, 180, 135, -135, 22.5, -22.5, 157.5, -157.5,
              67.5, -67.5, 112.5, -112.5)  # right first, then above/below, left, diagonals
LEADER_PX = 1.5  # a label further than this from its marker's edge gets a leader line
BOX = {"boxstyle": "round,pad=0.2", "facecolor": "white", "edgecolor": "none", "alpha": 0.85}


def _circle_hits(boxes: np.ndarray, centres: np.ndarray, radii: np.ndarray) -> np.ndarray:
    """For each box (rows x0, y0, x1, y1), how many circles (centre, radius + ``GAP_PX``) it
    comes within."""
    nearest = np.clip(centres[None, :, :], boxes[:, None, :2], boxes[:, None, 2:])
    distance = np.hypot(*(centres[None, :, :] - nearest).transpose(2, 0, 1))
    return (distance < radii[None, :] + GAP_PX).sum(axis=1)


def _box_hits(boxes: np.ndarray, others: np.ndarray) -> np.ndarray:
    """For each box, how many of ``others`` it comes within ``GAP_PX`` of."""
    if not len(others):
        return np.zeros(len(boxes), dtype=int)
    a, b = boxes[:, None, :], others[None, :, :]
    return ((a[..., 0] < b[..., 2] + GAP_PX) & (b[..., 0] < a[..., 2] + GAP_PX)
            & (a[..., 1] < b[..., 3] + GAP_PX) & (b[..., 1] < a[..., 3] + GAP_PX)).sum(axis=1)


def _segment_hits(a: np.ndarray, b: np.ndarray, boxes: np.ndarray, samples: int = 24) -> bool:
    """Whether the segment a-b passes through any of ``boxes`` (sampled along its length)."""
    if not len(boxes):
        return False
    t = np.linspace(0.0, 1.0, samples)[:, None]
    points = a + t * (b - a)
    inside = ((points[:, None, 0] > boxes[None, :, 0]) & (points[:, None, 0] < boxes[None, :, 2])
              & (points[:, None, 1] > boxes[None, :, 1]) & (points[:, None, 1] < boxes[None, :, 3]))
    return bool(inside.any())


def _candidates(centre: np.ndarray, radius: float, size: np.ndarray) -> np.ndarray:
    """Candidate boxes (rows x0, y0, x1, y1) around a marker, nearest first: the side (or
    corner) of each box facing the marker lies ``STEPS_PX`` beyond its edge, in each direction
    of ``ANGLES_DEG``."""
    angle = np.radians(np.array(ANGLES_DEG))
    step = np.array(STEPS_PX, dtype=float)[:, None]
    c, s = np.cos(angle)[None, :], np.sin(angle)[None, :]
    reach = radius + GAP_PX + step
    cx = centre[0] + reach * c + np.where(np.abs(c) > 0.3, size[0] / 2 * np.sign(c), 0.0)
    cy = centre[1] + reach * s + np.where(np.abs(s) > 0.3, size[1] / 2 * np.sign(s), 0.0)
    cx, cy = np.broadcast_arrays(cx, cy)
    return np.stack([cx - size[0] / 2, cy - size[1] / 2, cx + size[0] / 2, cy + size[1] / 2],
                    axis=-1).reshape(-1, 4)


def place_labels(ax: Axes, xy: np.ndarray, radius_pt: np.ndarray, texts: Sequence[str],
                 fontsize: float = 7.0, avoid: Sequence[Artist] = (),
                 colour: str = "#222222") -> list[Annotation]:
    """Label every marker of ``ax``, clear of each other and of every marker.

    Args:
        ax: the axes, with its final position and limits.
        xy: marker centres in data coordinates, shape (n, 2).
        radius_pt: each marker's radius in points (its edge included).
        texts: each marker's label.
        fontsize: points.
        avoid: artists no label may cover (e.g. the legend).
        colour: the labels' text colour.

    Returns:
        the labels (annotations), in the order of ``texts``.
    """
    fig = ax.get_figure(root=True)
    assert fig is not None
    canvas = fig.canvas if isinstance(fig.canvas, FigureCanvasAgg) else FigureCanvasAgg(fig)
    renderer = canvas.get_renderer()
    px_per_pt = fig.dpi / 72.0
    centres = ax.transData.transform(np.asarray(xy, dtype=float))
    radii = np.asarray(radius_pt, dtype=float) * px_per_pt
    frame = ax.get_window_extent(renderer)
    inside = np.array([frame.x0, frame.y0, frame.x1, frame.y1])
    blocked = np.array([a.get_window_extent(renderer).extents for a in avoid]).reshape(-1, 4)

    pad_px = 0.2 * fontsize * px_per_pt  # the box's pad (BOX)
    sizes = []
    for t in texts:  # each label's box: its text measured as drawn, plus the pad
        probe = ax.text(0.0, 0.0, t, fontsize=fontsize)
        extent = probe.get_window_extent(renderer)
        probe.remove()
        sizes.append(np.array([extent.width, extent.height]) + 2 * pad_px + 1.0)
    # the most crowded marker first: it has the fewest free places
    near = (np.hypot(*(centres[:, None, :] - centres[None, :, :]).transpose(2, 0, 1))
            < 60.0 + radii[:, None] + radii[None, :]).sum(axis=1)
    order = sorted(range(len(texts)), key=lambda i: (-near[i], -radii[i]))
    placed = np.zeros((0, 4))
    boxes: dict[int, np.ndarray] = {}
    for i in order:
        options = _candidates(centres[i], radii[i], sizes[i])
        cost = (_circle_hits(options, centres, radii) + _box_hits(options, placed)
                + _box_hits(options, blocked)
                + (options[:, 0] < inside[0]) + (options[:, 1] < inside[1])
                + (options[:, 2] > inside[2]) + (options[:, 3] > inside[3]))
        best = options[int(np.argmin(cost))]  # the least bad, if no place is free
        for box in options[cost == 0]:  # free places, nearest first
            if not _segment_hits(_edge_point(centres[i], radii[i], box),
                                 _nearest(box, centres[i]), placed):
                best = box
                break
        placed = np.vstack([placed, best])
        boxes[i] = best
    return [_label(ax, t, xy[i], centres[i], radii[i], boxes[i], px_per_pt, fontsize, colour)
            for i, t in enumerate(texts)]


def _nearest(box: np.ndarray, point: np.ndarray) -> np.ndarray:
    return np.clip(point, box[:2], box[2:])


def _edge_point(centre: np.ndarray, radius: float, box: np.ndarray) -> np.ndarray:
    """The point of the marker's edge that faces the box."""
    towards = _nearest(box, centre) - centre
    norm = float(np.hypot(*towards))
    return centre + (towards / norm * radius if norm else 0.0)


def _label(ax: Axes, text: str, xy: np.ndarray, centre: np.ndarray, radius: float,
           box: np.ndarray, px_per_pt: float, fontsize: float, colour: str) -> Annotation:
    """The label ``text`` centred in ``box`` (display pixels), with a leader line to the
    marker's edge if it stands off the marker."""
    middle = (box[:2] + box[2:]) / 2
    gap = float(np.hypot(*(_nearest(box, centre) - centre))) - radius
    leader = ({"arrowstyle": "-", "color": "#333333", "lw": 0.8, "shrinkA": 0,
               "shrinkB": radius / px_per_pt} if gap > LEADER_PX else None)
    return ax.annotate(text, (float(xy[0]), float(xy[1])),
                       xytext=tuple((middle - centre) / px_per_pt), textcoords="offset points",
                       fontsize=fontsize, color=colour, ha="center", va="center", bbox=BOX,
                       arrowprops=leader, zorder=6, annotation_clip=False)

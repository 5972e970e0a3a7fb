"""Curtailment-enabled headroom: the constant new load a zone can host under its peak if that
load accepts curtailment of a share of its annual energy (the Duke method of Norris et al.,
2025, "Rethinking Load Growth", Appendix C), and the same when the load may instead run in
other zones (relocation) or later (deferral). Pure numpy on hourly arrays; docs/headroom.md.

A zone has an hourly background load ``bg_h`` (MW) and an hourly threshold ``T_h`` (MW): the
peak the system is planned for (the season's historical peak, or the year's). A constant new
load ``L`` runs at ``L`` in every hour; what would take the zone above its threshold is
curtailed:

    curtailed_h(L) = min(L, max(0, bg_h + L - T_h)) = max(0, L - cap_h),  cap_h = max(0, T_h - bg_h)

(the ``min(L, .)`` keeps the new load from being charged with background load already above a
threshold; where ``bg_h <= T_h``, as under the annual peak, it is Duke's formula unchanged). The
**headroom** at curtailment share ``s`` is the largest ``L`` with

    sum_h curtailed_h(L) <= s * L * H        (H: the hours of the series)

``C(L) = sum_h max(0, L - cap_h)`` is convex and piecewise linear with ``C(0) = 0``, so the
loads meeting the budget are an interval ``[0, L*]`` and ``L*`` is solved exactly by sorting the
caps (:func:`headroom_mw`).

**Relocation** (:func:`pooled_cap_mw`): in an hour where the zone is short, the new load may run
in other zones within the latency budget, in the room they have under their own thresholds
with no new load of their own; that is the zone's cap plus the others' caps, and the same
solve applies. **Deferral** (:func:`deferral`, :func:`deferred_headroom_mw`): each hour's
work (``L`` MWh) may run in its own hour or up to ``d`` hours later, in the zone's room under its
threshold; work not run by then is curtailed. For a given ``L`` the least curtailment is found
by earliest-deadline-first (every window has the same length, so first-in-first-out), exact for
this transport problem; the headroom is the largest root of the convex ``C_d(L) - s L H``,
found by secant steps from above, which stay above the root and end on its linear piece.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: months (1-12) whose peak sets each season's threshold, and the months the threshold holds
#: in (Norris et al. 2025, "Peak Thresholds and Seasonal Differentiation"), northern hemisphere
SUMMER_PEAK_MONTHS = (6, 7, 8)
WINTER_PEAK_MONTHS = (12, 1, 2)
SUMMER_MONTHS = (4, 5, 6, 7, 8, 9, 10)
PEAK_RULES = ("annual", "seasonal")  # the first is the default
REL_TOL = 1e-10  # secant steps stop when |C_d(L) - s L H| <= REL_TOL * s L H


def _check(background_mw: np.ndarray, threshold_mw: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    bg = np.asarray(background_mw, dtype=float)
    th = np.asarray(threshold_mw, dtype=float)
    if bg.ndim != 1 or th.shape != bg.shape or not len(bg):
        raise ValueError(f"background and threshold must be equal, non-empty 1-D arrays, got "
                         f"shapes {bg.shape} and {th.shape}")
    if not (np.isfinite(bg).all() and np.isfinite(th).all()):
        raise ValueError("background and threshold must be finite")
    return bg, th


def _share(share: float) -> float:
    s = float(share)
    if not 0 < s < 1:
        raise ValueError(f"the curtailment share must be in (0, 1), got {share!r}")
    return s


def cap_mw(background_mw: np.ndarray, threshold_mw: np.ndarray) -> np.ndarray:
    """(H,) room under the threshold each hour, MW: ``max(0, threshold - background)``."""
    bg, th = _check(background_mw, threshold_mw)
    return np.maximum(th - bg, 0.0)


def threshold_mw(background_mw: np.ndarray, months: np.ndarray, rule: str = "annual",
                 southern: bool = False) -> np.ndarray:
    """(H,) the peak threshold of each hour, MW.

    Args:
        background_mw: (H,) the zone's hourly background load.
        months: (H,) the month (1-12) of each hour.
        rule: ``"seasonal"`` (Norris et al. 2025): the highest load of June-August holds from
            April to October, the highest of December-February from November to March;
            ``"annual"``: the highest load of the series holds in every hour.
        southern: the zone is south of the equator: the seasons move by six months.
    """
    bg = np.asarray(background_mw, dtype=float)
    if rule == "annual":
        return np.full(bg.shape, bg.max())
    if rule != "seasonal":
        raise ValueError(f"peak rule {rule!r}: expected one of {', '.join(PEAK_RULES)}")
    summer, winter = peak_seasons(months, southern)
    if not summer.any() or not winter.any():
        raise ValueError("the seasonal rule needs hours in both peak seasons (June-August and "
                         "December-February, or their southern months); use the annual rule")
    return np.where(summer_season(months, southern), bg[summer].max(), bg[winter].max())


def _northern(months: np.ndarray, southern: bool) -> np.ndarray:
    """The months as the seasons go in the north (six months on south of the equator)."""
    return (np.asarray(months) - 1 + (6 if southern else 0)) % 12 + 1


def peak_seasons(months: np.ndarray, southern: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """(H,) masks of the hours whose peaks set the summer and the winter thresholds:
    June-August and December-February in the north, the other way round in the south."""
    local = _northern(months, southern)
    return np.isin(local, SUMMER_PEAK_MONTHS), np.isin(local, WINTER_PEAK_MONTHS)


def summer_season(months: np.ndarray, southern: bool = False) -> np.ndarray:
    """(H,) the hours the summer threshold holds in: April-October in the north, October-April
    in the south."""
    return np.isin(_northern(months, southern), SUMMER_MONTHS)


def curtailed_mwh(cap: np.ndarray, load_mw: float) -> float:
    """Energy of a constant ``load_mw`` curtailed over the hours with room ``cap`` (MW), MWh:
    ``sum_h max(0, L - cap_h)``."""
    return float(np.maximum(load_mw - np.asarray(cap, dtype=float), 0.0).sum())


def headroom_mw(cap: np.ndarray, share: float) -> float:
    """The largest constant load (MW) whose curtailment, over hours with room ``cap`` (MW), is
    at most ``share`` of its energy: the largest L with ``sum_h max(0, L - cap_h) <= s L H``.

    Exact: with the caps sorted, ``c_1 <= ... <= c_H`` and ``S_k = c_1 + ... + c_k``, the budget
    ``F(L) = C(L) - s H L`` is ``(k - s H) L - S_k`` on ``[c_k, c_k+1)``; ``F(c_k) <= 0`` up to a
    last ``K`` (F is convex and ``F(0) = 0``), and ``L* = S_K / (K - s H)`` on that piece.
    """
    s = _share(share)
    c = np.sort(np.asarray(cap, dtype=float))
    if (c < 0).any():
        raise ValueError("room under the threshold must be >= 0")
    k = np.arange(1, len(c) + 1)
    prefix = np.cumsum(c)
    budget = s * len(c)
    # F(c_k) <= 0 for k = 1 always (it is -s H c_1); K, the last such k, is 1-based
    last = int(np.flatnonzero((k - budget) * c - prefix <= 0.0)[-1]) + 1
    return float(prefix[last - 1] / (last - budget))  # last > s H: F rises past c_last


def pooled_cap_mw(cap: np.ndarray, others_cap: np.ndarray) -> np.ndarray:
    """(H,) room for a zone's new load when it may also run in other zones: its own room plus
    the others' (``others_cap`` (N, H), each zone's room under its own threshold with no new
    load of its own; N may be 0)."""
    others = np.asarray(others_cap, dtype=float).reshape(-1, len(cap))
    return np.asarray(cap, dtype=float) + others.sum(axis=0)


@dataclass(frozen=True)
class Deferral:
    """What a constant load does over hours with room ``cap`` when each hour's work may run up
    to ``defer_h`` hours later, earliest deadline first.

    Attributes:
        curtailed_mwh: work not run by its deadline (or by the end of the series).
        deferred_mwh: work run after its own hour.
        draw_mw: (H,) what the load draws from the grid each hour (<= cap).
    """

    curtailed_mwh: float
    deferred_mwh: float
    draw_mw: np.ndarray


def _clamp_scan(shift: np.ndarray, upper: np.ndarray) -> np.ndarray:
    """(H,) ``v_k = clip(v_k-1 + shift_k, 0, upper_k)`` from ``v_-1 = 0``, by a prefix scan:
    maps ``v -> clip(v + a, lo, hi)`` compose into maps of the same form (``g(f(v))`` is
    ``clip(v + a_f + a_g, clip(lo_f + a_g, lo_g, hi_g), clip(hi_f + a_g, lo_g, hi_g))``), so
    log2(H) vectorised steps compose every prefix."""
    a = np.asarray(shift, dtype=float).copy()
    lo = np.zeros_like(a)
    hi = np.asarray(upper, dtype=float).copy()
    step = 1
    while step < len(a):
        # prefix ending at k = (block k-step+1..k) after (prefix ending at k-step); lo <= hi
        # always, so min(max(., lo), hi) is the clip (np.clip is slower at these sizes)
        tail_a, tail_lo, tail_hi = a[step:], lo[step:], hi[step:]
        lo_new = np.minimum(np.maximum(lo[:-step] + tail_a, tail_lo), tail_hi)
        hi_new = np.minimum(np.maximum(hi[:-step] + tail_a, tail_lo), tail_hi)
        a[step:] = a[:-step] + tail_a
        lo[step:], hi[step:] = lo_new, hi_new
        step *= 2
    return np.minimum(np.maximum(a, lo), hi)


def deferral(cap: np.ndarray, load_mw: float, defer_h: int) -> Deferral:
    """The least curtailment of a constant ``load_mw`` (MW) whose work may wait ``defer_h``
    hours, over hours with room ``cap`` (MW): earliest deadline first.

    Every hour's work has a window of the same length, so deadlines follow arrivals and serving
    the oldest work first is earliest-deadline-first, which runs the most work that can be run
    (an exchange argument; ``tests/test_headroom.py`` checks it against a linear programme).
    The backlog left after hour k, ``V_k``, is then a capped Lindley recursion: work older than
    ``d`` hours (``max(0, V_k-1 - d L)``) is curtailed, the rest and the hour's ``L`` are served
    up to the hour's room,

        V_k = clip(V_k-1 + L - cap_k, 0, max(0, (d + 1) L - cap_k)),

    computed for all hours at once by a prefix scan; what is left at the end is curtailed.
    """
    c = np.asarray(cap, dtype=float)
    d = int(defer_h)
    if d < 0:
        raise ValueError(f"defer_h must be >= 0, got {defer_h!r}")
    L = float(load_mw)
    backlog = _clamp_scan(L - c, np.maximum((d + 1) * L - c, 0.0))
    before = np.concatenate([[0.0], backlog[:-1]])  # V_k-1
    kept = np.minimum(before, d * L)  # older work still within its deadline
    draw = kept + L - backlog  # what runs in hour k
    curtailed = float((before - kept).sum() + backlog[-1])
    deferred = float(np.minimum(draw, kept).sum())  # the oldest work runs first
    return Deferral(curtailed, deferred, draw)


def deferred_headroom_mw(cap: np.ndarray, share: float, defer_h: int) -> float:
    """The largest constant load (MW) whose work, each hour's allowed to wait ``defer_h`` hours,
    is curtailed by at most ``share`` of its energy over hours with room ``cap`` (MW).

    ``C_d(L)``, the least curtailment (:func:`deferral`), is the value of a linear programme
    whose right-hand side is linear in ``L``, so convex and piecewise linear with ``C_d(0) = 0``:
    the loads meeting the budget are ``[0, L*]``. Secant steps from two loads above ``L*`` stay
    above it and end on its linear piece; a step that would leave the bracket bisects instead.
    """
    s = _share(share)
    c = np.asarray(cap, dtype=float)
    if defer_h == 0:
        return headroom_mw(c, s)
    H = len(c)

    def excess(load: float) -> float:
        return deferral(c, load, defer_h).curtailed_mwh - s * H * load

    if stranded_hours(c, defer_h) > s * H:
        return 0.0  # F rises from 0 at once: its slope there is stranded hours - s H
    lo = headroom_mw(c, s)  # deferral only lowers curtailment: F(lo) <= 0
    hi = c.sum() / (H * (1 - s))  # what runs is at most sum(cap): F(hi) >= 0
    if hi <= lo:
        return lo
    f_hi = excess(hi)
    if f_hi <= REL_TOL * s * H * hi:
        return hi
    b, f_b = 2 * hi, excess(2 * hi)
    a, f_a = hi, f_hi
    for _ in range(200):
        step = a - f_a * (a - b) / (f_a - f_b) if f_a != f_b else lo
        x = step if lo < step < a else 0.5 * (lo + a)
        f_x = excess(x)
        if abs(f_x) <= REL_TOL * s * H * x:
            return x
        if a - lo <= REL_TOL * a:
            return lo
        if f_x < 0:
            lo = x
        else:
            a, f_a, b, f_b = x, f_x, a, f_a
    raise RuntimeError("deferred headroom: no convergence in 200 steps")  # pragma: no cover


def stranded_hours(cap: np.ndarray, defer_h: int) -> int:
    """Hours whose work has no room in its own hour nor in the ``defer_h`` after it (within the
    series): a small constant load is curtailed in exactly these, so ``C_d(L) = n L`` near 0."""
    zero = np.asarray(cap, dtype=float) <= 0.0
    start = np.arange(len(zero))
    end = np.minimum(start + int(defer_h) + 1, len(zero))  # each window h..h+d, cut at the end
    zeros = np.concatenate([[0], np.cumsum(zero)])
    return int((zeros[end] - zeros[start] == end - start).sum())


def events(draw_mw: np.ndarray, load_mw: float) -> tuple[int, int]:
    """(hours the load draws less than ``load_mw``, runs of such consecutive hours)."""
    low = np.asarray(draw_mw, dtype=float) < load_mw * (1 - 1e-12)
    starts = low & ~np.concatenate([[False], low[:-1]])
    return int(low.sum()), int(starts.sum())

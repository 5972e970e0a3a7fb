"""Every region of the dashboard's world map is labelled legibly: one label per region, and no
label covers another label, any bubble or the legend, or leaves the map. Checked on the figure
as drawn: the labels' boxes and the bubbles' circles in the figure's display coordinates."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from matplotlib.collections import PathCollection
from matplotlib.text import Annotation

from abm.dashboard import plots
from abm.dashboard.state import Dashboard


def drawn_layout(fig, n: int) -> dict:
    """The map as drawn: label texts, font sizes and boxes; bubble centres and radii (pixels);
    the map's and the legend's boxes."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    ax = fig.axes[0]
    labels = [t for t in ax.texts if isinstance(t, Annotation)]
    bubbles = [c for c in ax.collections
               if isinstance(c, PathCollection) and len(c.get_offsets()) == n]
    assert len(bubbles) == 1
    dots = bubbles[0]
    px_per_pt = fig.dpi / 72
    return {
        "texts": [t.get_text() for t in labels],
        "fontsizes": [t.get_fontsize() for t in labels],
        "boxes": np.array([t.get_bbox_patch().get_window_extent(renderer).extents
                           for t in labels]),
        "centres": ax.transData.transform(dots.get_offsets()),
        "radii": (np.sqrt(dots.get_sizes()) / 2 + dots.get_linewidths()[0] / 2) * px_per_pt,
        "frame": ax.get_window_extent(renderer).extents,
        "legend": ax.get_legend().get_window_extent(renderer).extents,
    }


def _overlap(a: np.ndarray, b: np.ndarray) -> bool:
    return bool(a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3])


def assert_legible(fig, regions: pd.DataFrame) -> None:
    layout = drawn_layout(fig, len(regions))
    names = [t.split(" ")[0] for t in layout["texts"]]
    assert sorted(names) == sorted(regions.region), "every region labelled once"
    assert min(layout["fontsizes"]) >= 7
    boxes, centres, radii = layout["boxes"], layout["centres"], layout["radii"]
    for i, box in enumerate(boxes):
        for j in range(i + 1, len(boxes)):
            assert not _overlap(box, boxes[j]), (names[i], names[j])
        nearest = np.clip(centres, box[:2], box[2:])
        covered = np.hypot(*(centres - nearest).T) < radii
        assert not covered.any(), (names[i], list(regions.region[covered]))
        assert not _overlap(box, layout["legend"]), names[i]
        frame = layout["frame"]
        assert frame[0] <= box[0] and box[2] <= frame[2], names[i]
        assert frame[1] <= box[1] and box[3] <= frame[3], names[i]


@pytest.mark.parametrize(("scenario", "hours", "carbon_price"), [
    (None, 0, 0.0), (None, 4, 500.0), ("abm/scenarios/scale.toml", 2, 0.0)],
    ids=["default-status-quo", "default-carbon-500", "scale-30-regions"])
def test_every_region_is_labelled_clear_of_labels_and_bubbles(scenario, hours, carbon_price):
    d = Dashboard(scenario)
    d.set_controls(carbon_price_usd_per_t=carbon_price)
    d.step(hours)
    regions = d.regions()
    fig = plots.map_figure(regions, d.flows(), "map", lines=d.lines(),
                           zone_xy=d.zone_locations())
    assert_legible(fig, regions)


@pytest.fixture(scope="module")
def default_regions() -> pd.DataFrame:
    return Dashboard().regions()


@settings(max_examples=8, deadline=None)
@given(st.data())
def test_any_loads_up_to_capacity_keep_labels_clear(default_regions, data):
    """Whatever the hour's loads (0 to each region's capacity), the labels stay clear."""
    shares = data.draw(st.lists(st.floats(0.0, 1.0), min_size=len(default_regions),
                                max_size=len(default_regions)))
    regions = default_regions.assign(load_mw=default_regions.capacity_mw * np.array(shares))
    assert_legible(plots.map_figure(regions, pd.DataFrame(columns=["origin", "region", "mw"]),
                                    "map"), regions)

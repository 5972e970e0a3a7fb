"""Figures written by ``abm run``: the shift figure shows only the largest flows, in order;
interconnectors on the map; one zone's generation by technology."""

from __future__ import annotations

import matplotlib.image as mpimg
import numpy as np
import pandas as pd
import pytest
from matplotlib.colors import to_hex
from matplotlib.figure import Figure

from abm.report.figures import busiest_zone, generation_figure, save, shift_figure
from abm.report.worldmap import draw_interconnectors


def test_shift_figure_shows_at_most_top_flows(tmp_path):
    flows = [{"from_zone": f"Z{i}", "to_zone": f"Y{i}", "mwh": float(i)} for i in range(800)]
    few = save(shift_figure(flows, "t", top=3), tmp_path / "few.png")
    many = save(shift_figure(flows, "t"), tmp_path / "many.png")
    h_few, h_many = mpimg.imread(few).shape[0], mpimg.imread(many).shape[0]
    # 0.35 inch per bar at 110 dpi: 12 more bars are about 460 px, not 800 bars' 30,000
    assert 300 < h_many - h_few < 600
    assert h_many < 2000


def test_interconnectors_drawn_by_mean_flow_direction_and_congestion():
    lines = pd.DataFrame({"hour": [0, 1, 0, 1], "line": ["A-B", "A-B", "B-C", "B-C"],
                          "from_zone": ["A", "A", "B", "B"], "to_zone": ["B", "B", "C", "C"],
                          "flow_mw": [100.0, -300.0, 50.0, 50.0],
                          "congested": [False, True, False, False]})
    xy = {"A": (0.0, 0.0), "B": (10.0, 0.0), "C": (20.0, 5.0)}
    fig = Figure()
    ax = fig.add_subplot()
    draw_interconnectors(ax, lines, xy, max_width=5.0)
    ab, bc = ax.patches  # in line order
    # A-B: mean flow -100 MW, so it points from B to A; congested half the hours
    assert ab._posA_posB == [xy["B"], xy["A"]]
    assert to_hex(ab.get_edgecolor()) == to_hex("tab:red")
    assert ab.get_alpha() == pytest.approx(0.35 + 0.6 * 0.5)
    assert ab.get_linewidth() == pytest.approx(0.8 + 5.0)
    assert bc._posA_posB == [xy["B"], xy["C"]]
    assert to_hex(bc.get_edgecolor()) == "#444444"
    assert bc.get_linewidth() == pytest.approx(0.8 + 5.0 * 50 / 100)


def test_generation_figure_stacks_technologies_and_marks_the_marginal_one():
    hours = pd.date_range("2024-03-01", periods=3, freq="h", tz="UTC")
    zones = pd.DataFrame({
        "time_utc": [*hours, *hours], "zone": ["Z"] * 3 + ["Y"] * 3,
        "gen_coal_mw": [50.0, 60.0, 70.0, 1.0, 1.0, 1.0], "gen_wind_mw": [10.0, 5.0, 0.0] * 2,
        "gen_oil_mw": [0.0] * 6, "net_import_mw": [5.0, 0.0, -5.0, 0, 0, 0],
        "marginal_technology": ["wind", "coal", "coal", "oil", "oil", "oil"],
        "dc_load_mw": [1.0, 1.0, 1.0, 2.0, 2.0, 2.0]})
    fig = generation_figure(zones, "Z", "t")
    ax, strip = fig.axes[:2]
    # coal and wind stacked (oil never generates), then the load line
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        "coal", "wind", "load (generation + net imports)"]
    np.testing.assert_allclose(ax.lines[0].get_ydata(), [65.0, 65.0, 65.0])
    # dates on the shared x axis: the zone's hours, UTC
    assert list(ax.lines[0].get_xdata()) == list(hours.tz_localize(None).to_numpy())
    assert strip.get_xlabel() == "time (UTC)"
    assert [t.get_text() for t in strip.get_legend().get_texts()] == ["coal", "wind"]
    assert busiest_zone(zones) == "Y"


def test_report_heat_map_numbers_are_legible_and_follow_the_spread():
    """Numbers in a report's heat map are at least 8 pt (about 11 px in a 1,180 px column;
    they were 5.5 pt) and only in cells marked as outside the spread across seeds."""
    import numpy as np
    import pandas as pd

    from abm.report.comparison import heatmap_figure

    change = pd.DataFrame([[120.0, -3.0], [0.0, 45.5]], index=["a", "b"], columns=["X", "Y"])
    shown = pd.DataFrame([[True, False], [True, True]], index=change.index,
                         columns=change.columns)
    fig = heatmap_figure(change, shown, "change")
    ax = fig.axes[0]
    numbers = [t for t in ax.texts]
    assert sorted(t.get_text() for t in numbers) == ["+120", "+46"]  # 0: too small to show
    assert min(t.get_fontsize() for t in numbers) >= 8
    assert min(t.get_fontsize() for t in ax.get_yticklabels()) >= 8
    assert np.isclose(fig.get_size_inches()[0], 11.0)

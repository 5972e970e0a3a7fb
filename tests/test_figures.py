"""Figures written by ``abm run``: the shift figure shows only the largest flows, in order."""

from __future__ import annotations

import matplotlib.image as mpimg

from abm.figures import shift_figure


def test_shift_figure_shows_at_most_top_flows(tmp_path):
    flows = [{"from_zone": f"Z{i}", "to_zone": f"Y{i}", "mwh": float(i)} for i in range(800)]
    few = shift_figure(flows, tmp_path / "few.png", "t", top=3)
    many = shift_figure(flows, tmp_path / "many.png", "t")
    h_few, h_many = mpimg.imread(few).shape[0], mpimg.imread(many).shape[0]
    # 0.35 inch per bar at 110 dpi: 12 more bars are about 460 px, not 800 bars' 30,000
    assert 300 < h_many - h_few < 600
    assert h_many < 2000

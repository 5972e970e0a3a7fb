"""The clearing's compiled loops (abm/grid/clearing_loops.py) against independent oracles: the
zones that can send power to a zone by networkx's reachability, the next unit by a plain scan,
the status quo's basis by hand."""

from __future__ import annotations

import networkx as nx
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from abm.grid import clearing_loops as loops
from abm.grid.clearing import TOLERANCE_MW


@settings(max_examples=150, deadline=None)
@given(st.integers(1, 7), st.data())
def test_cheapest_source_is_the_cheapest_zone_that_can_send(n_zones, data):
    """Lines open in either, both or no direction, parallel and opposed lines, equal offers:
    each zone's source is the least offer among the zones with a directed path of open lines to
    it (itself included), the lowest index of equals (networkx reachability)."""
    n_lines = data.draw(st.integers(0, 10))
    pairs = [data.draw(st.tuples(st.integers(0, n_zones - 1), st.integers(0, n_zones - 1))
                       .filter(lambda p: p[0] != p[1])) for _ in range(n_lines)] \
        if n_zones > 1 else []
    line_from = np.array([a for a, _ in pairs], dtype=np.int64)
    line_to = np.array([b for _, b in pairs], dtype=np.int64)
    open_fwd = np.array(data.draw(st.lists(st.booleans(), min_size=len(pairs),
                                           max_size=len(pairs))), dtype=bool)
    open_back = np.array(data.draw(st.lists(st.booleans(), min_size=len(pairs),
                                            max_size=len(pairs))), dtype=bool)
    offer = np.array(data.draw(st.lists(st.sampled_from([5.0, 20.0, 20.0, 35.0, 3000.0]),
                                        min_size=n_zones, max_size=n_zones)))
    source = np.full(n_zones, -7, dtype=np.int64)
    loops.cheapest_sources(line_from, line_to, open_fwd, open_back, offer, source)

    g: nx.DiGraph[int] = nx.DiGraph()
    g.add_nodes_from(range(n_zones))
    for k, (a, b) in enumerate(pairs):
        if open_fwd[k]:
            g.add_edge(a, b)
        if open_back[k]:
            g.add_edge(b, a)
    for z in range(n_zones):
        senders = nx.ancestors(g, z) | {z}
        assert source[z] == min(senders, key=lambda w: (offer[w], w))


def test_the_cheapest_source_reaches_over_a_chain_against_the_line_order():
    """By hand: 0 -> 1 -> 2 open only towards 2, lines listed from the far end; zone 0 is the
    cheapest, so it serves all three; with the 0-1 line closed, 1 serves 1 and 2."""
    line_from, line_to = np.array([1, 0]), np.array([2, 1])
    offer = np.array([10.0, 30.0, 50.0])
    source = np.empty(3, dtype=np.int64)
    loops.cheapest_sources(line_from, line_to, np.array([True, True]),
                           np.array([False, False]), offer, source)
    assert source.tolist() == [0, 0, 0]
    loops.cheapest_sources(line_from, line_to, np.array([True, False]),
                           np.array([False, False]), offer, source)
    assert source.tolist() == [0, 1, 1]


@settings(max_examples=100, deadline=None)
@given(st.integers(1, 4), st.integers(1, 6), st.data())
def test_next_unit_is_the_first_with_room_along_the_merit_order(n_zones, width, data):
    """A plain scan of each zone's merit order: the first valid cell whose output is more than
    1 W below its available MW, else -1 at the price cap."""
    cells = n_zones * width
    valid = np.array(data.draw(st.lists(st.booleans(), min_size=cells, max_size=cells)),
                     dtype=bool).reshape(n_zones, width)
    avail = np.array(data.draw(st.lists(st.sampled_from([0.0, 50.0, 100.0]), min_size=cells,
                                        max_size=cells))).reshape(n_zones, width)
    short = np.array(data.draw(st.lists(st.sampled_from([0.0, 0.5e-6, 2e-6, 30.0]),
                                        min_size=cells, max_size=cells))).reshape(n_zones, width)
    g_pad = np.maximum(avail - short, 0.0)
    order = np.where(valid, np.arange(cells).reshape(n_zones, width) + 100, -1)
    offer_pad = np.where(valid, np.arange(cells, dtype=float).reshape(n_zones, width), 0.0)
    unit, offer = np.empty(n_zones, dtype=np.int64), np.empty(n_zones)
    loops.next_units(order, valid, g_pad, avail, TOLERANCE_MW, offer_pad, 3000.0, unit, offer)
    for z in range(n_zones):
        room = [j for j in range(width)
                if valid[z, j] and avail[z, j] - g_pad[z, j] > TOLERANCE_MW]
        assert unit[z] == (order[z, room[0]] if room else -1)
        assert offer[z] == (offer_pad[z, room[0]] if room else 3000.0)


def test_status_quo_basis_by_hand():
    """Zone rows 0 and 1: zone 0's one unit inside its bounds is basic; zone 1 has none inside,
    so its first unit with a zero reduced cost is; a second unit inside zone 0 refuses all."""
    unit_row = np.array([0, 0, 1, 1, 1])
    inside = np.array([False, True, False, False, False])
    zero = np.array([True, False, False, True, True])
    basic = np.empty(2, dtype=np.int64)
    loops.status_quo_basic(inside, zero, unit_row, basic)
    assert basic.tolist() == [1, 3]
    loops.status_quo_basic(np.array([True, True, False, False, False]), zero, unit_row, basic)
    assert basic.tolist() == [-1, -1]
    loops.status_quo_basic(inside, np.zeros(5, dtype=bool), unit_row, basic)
    assert basic.tolist() == [1, -1]

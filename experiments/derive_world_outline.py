"""Derive abm/data/world_outline.csv (country outlines for the report's world map).

Source: Natural Earth 1:110m Admin 0 countries (public domain), as shipped by geopandas 0.14.4
in ``geopandas/datasets/naturalearth_lowres/naturalearth_lowres.shp`` (geopandas removed the
file in 1.0). Fetch the wheel with the ordinary client and point this script at the .shp:

    pip download geopandas==0.14.4 --no-deps -d /tmp/gp && cd /tmp/gp && \\
        unzip -o geopandas-0.14.4-py3-none-any.whl 'geopandas/datasets/naturalearth_lowres/*'
    python experiments/derive_world_outline.py \\
        --shp /tmp/gp/geopandas/datasets/naturalearth_lowres/naturalearth_lowres.shp

The shapefile's polygon rings are read with ``struct`` (no GIS dependency), rounded to 0.1
degree, consecutive repeats dropped, rings of fewer than 4 points dropped.
"""

from __future__ import annotations

import argparse
import itertools
import struct
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "abm" / "data" / "world_outline.csv"
HEADER = ("# Country outlines, Natural Earth 1:110m Admin 0 countries (public domain, "
          "naturalearthdata.com),\n# via geopandas 0.14.4 naturalearth_lowres; rounded to 0.1 "
          "degree. Derived by experiments/derive_world_outline.py.\n")


def rings(shp: Path) -> list[list[tuple[float, float]]]:
    """Polygon rings (lon, lat in degrees) of an ESRI shapefile of polygons (type 5)."""
    data = shp.read_bytes()
    out, pos = [], 100
    while pos < len(data):
        length = struct.unpack(">i", data[pos + 4: pos + 8])[0] * 2
        rec = data[pos + 8: pos + 8 + length]
        pos += 8 + length
        if struct.unpack("<i", rec[:4])[0] != 5:
            continue
        n_parts, n_points = struct.unpack("<2i", rec[36:44])
        parts = [*struct.unpack(f"<{n_parts}i", rec[44: 44 + 4 * n_parts]), n_points]
        base = 44 + 4 * n_parts
        pts = struct.unpack(f"<{2 * n_points}d", rec[base: base + 16 * n_points])
        for a, b in itertools.pairwise(parts):
            out.append([(pts[2 * i], pts[2 * i + 1]) for i in range(a, b)])
    return out


def main() -> None:
    """Write the rounded outline table."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--shp", type=Path, required=True, help="naturalearth_lowres.shp")
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args()
    lines, ring_id = ["ring,lon,lat"], 0
    for ring in rings(args.shp):
        kept: list[tuple[float, float]] = []
        for lon, lat in ring:
            p = (round(lon, 1), round(lat, 1))
            if not kept or p != kept[-1]:
                kept.append(p)
        if len(kept) < 4:
            continue
        lines += [f"{ring_id},{lon:g},{lat:g}" for lon, lat in kept]
        ring_id += 1
    args.out.write_text(HEADER + "\n".join(lines) + "\n")
    print(f"wrote {args.out}: {ring_id} rings, {len(lines) - 1} points")


if __name__ == "__main__":
    main()

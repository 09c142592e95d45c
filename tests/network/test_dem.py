"""Low points from a DEM (twin.network.dem), against GeoTIFFs with analytically placed sinks.

No real DEM is shipped: each test writes a small GeoTIFF over the fixture's extent, a
tilted plane (which drains off its edge: no sink) with Gaussian depressions centred on
chosen road nodes, so the expected low points are known exactly.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import rasterio
from rasterio.transform import from_origin
from typer.testing import CliRunner

from tests.network.test_derive import tunnel_town
from twin.cli import app
from twin.errors import DEMError, InputFileNotFoundError, TwinError
from twin.network import RoadNetwork, build_network, load_network, save_network
from twin.network.dem import SINK_DEPTH_M, add_dem_low_points, dem_low_points
from twin.network.layer_schema import layer_frame
from twin.network.layers import write_layer

CLIPPED = Path(__file__).resolve().parents[1] / "data" / "nanjing_xinjiekou_clipped.osm.pbf"
#: Two road nodes of the fixture with no other node within 60 m.
NODE_A = 1038879777  # three neighbours: an intersection
NODE_B = 1157145005  # a dead end: a road section
#: A node that gets a depression too shallow to count (below SINK_DEPTH_M).
NODE_SHALLOW = 4331763569
CELL_M = 2.0
SIGMA_M = 15.0


@pytest.fixture(scope="module")
def xinjiekou() -> RoadNetwork:
    """The clipped fixture with its derived layers (do not mutate)."""
    return build_network(CLIPPED, min_component_fraction=0.5, cache=False)


def write_dem(
    path: Path,
    net: RoadNetwork,
    sinks: dict[int, float],
    *,
    offset_m: tuple[float, float] = (0.0, 0.0),
    crs: str | None = "net",
    driver: str = "GTiff",
    extra_xy: list[tuple[float, float, float]] = (),  # type: ignore[assignment]
) -> Path:
    """A tilted plane with a Gaussian depression of the given depth [m] at each node.

    ``extra_xy`` adds depressions (x, y, depth) in the projected CRS, away from nodes.
    """
    x, y = net.projector.forward(net.node_lon, net.node_lat)
    x0, y1 = float(x.min()) - 300.0, float(y.max()) + 300.0
    cols = int((float(x.max()) + 300.0 - x0) / CELL_M)
    rows = int((y1 - float(y.min()) + 300.0) / CELL_M)
    cx = x0 + (np.arange(cols) + 0.5) * CELL_M
    cy = y1 - (np.arange(rows) + 0.5) * CELL_M
    X, Y = np.meshgrid(cx, cy)
    z = 20.0 + 0.002 * (X - x0) + 0.001 * (Y - y1)  # lowest at the south-west corner
    pos = {int(n): i for i, n in enumerate(net.node_ids)}
    centres = [(float(x[pos[n]]), float(y[pos[n]]), d) for n, d in sinks.items()]
    for sx, sy, depth in [*centres, *extra_xy]:
        z -= depth * np.exp(-((X - sx) ** 2 + (Y - sy) ** 2) / (2 * SIGMA_M**2))
    profile = {
        "driver": driver,
        "width": cols,
        "height": rows,
        "count": 1,
        "dtype": "float32" if driver == "GTiff" else "uint16",
        "transform": from_origin(x0 + offset_m[0], y1 + offset_m[1], CELL_M, CELL_M),
    }
    if crs is not None:
        profile["crs"] = net.projector.crs if crs == "net" else crs
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(z.astype(profile["dtype"]), 1)
    return path


def gaussian_sink(amplitude: float) -> tuple[float, float]:
    """Depth [m] and area deeper than SINK_DEPTH_M [m²] of one depression on the plane.

    Water spills over the rim on the downhill side: along the steepest line through the
    centre the surface is ``h(s) = -g s - A exp(-s²/2σ²)``, the rim its local maximum
    downhill, and the sink is the connected region below the rim level.
    """
    g = np.hypot(0.002, 0.001)
    s = np.linspace(-6 * SIGMA_M, 6 * SIGMA_M, 240_001)
    h = -g * s - amplitude * np.exp(-(s**2) / (2 * SIGMA_M**2))
    bottom = int(h.argmin())
    rim = float(h[bottom:][: int(np.argmax(np.diff(h[bottom:]) < 0)) + 1].max())
    u = np.linspace(-4 * SIGMA_M, 4 * SIGMA_M, 1601)  # along the slope, and across it
    U, V = np.meshgrid(u, u)
    surface = -g * U - amplitude * np.exp(-(U**2 + V**2) / (2 * SIGMA_M**2))
    cell = (u[1] - u[0]) ** 2
    return rim - float(h.min()), float((rim - surface > SINK_DEPTH_M).sum()) * cell


def test_sinks_give_low_points_exactly_at_their_lowest_nodes(
    xinjiekou: RoadNetwork, tmp_path: Path
) -> None:
    x, y = xinjiekou.projector.forward(xinjiekou.node_lon, xinjiekou.node_lat)
    nowhere = (float(x.min()) - 200.0, float(y.max()) + 200.0, 2.0)  # no road node in it
    dem = write_dem(
        tmp_path / "dem.tif",
        xinjiekou,
        {NODE_A: 1.5, NODE_B: 0.8, NODE_SHALLOW: 0.05},
        extra_xy=[nowhere],
    )
    low = dem_low_points(xinjiekou, dem)
    # Deepest first; the sink with no road and the too-shallow one give none.
    assert list(low["id"]) == ["lp-dem-001", "lp-dem-002"]
    assert [int(n.split()[-1]) for n in low["name"]] == [NODE_A, NODE_B]
    pos = {int(n): i for i, n in enumerate(xinjiekou.node_ids)}
    for (lon, lat), node in zip(
        zip(low.geometry.x, low.geometry.y, strict=True), [NODE_A, NODE_B], strict=True
    ):
        assert (lon, lat) == (xinjiekou.node_lon[pos[node]], xinjiekou.node_lat[pos[node]])
    assert list(low["kind"]) == ["intersection", "road_section"]
    assert (low["origin"] == "dem").all() and low["derived"].all()
    assert not low["illustrative"].any()
    depth, area = zip(*(gaussian_sink(a) for a in (1.5, 0.8)), strict=True)
    np.testing.assert_allclose(low["sink_depth_m"], depth, atol=0.01)
    np.testing.assert_allclose(low["sink_area_m2"], area, rtol=0.05)
    assert "pysheds" in low["source"].iloc[0]


def test_build_adds_them_to_the_layer_and_the_report(
    xinjiekou: RoadNetwork, tmp_path: Path
) -> None:
    dem = write_dem(tmp_path / "dem.tif", xinjiekou, {NODE_A: 1.5, NODE_B: 0.8})
    net = build_network(CLIPPED, min_component_fraction=0.5, dem=dem, cache=False)
    low = net.layers["low_points"]
    assert sorted(low["node"].tolist()) == sorted([NODE_A, NODE_B])
    assert (low["snap_distance_m"] < 0.01).all()
    assert net.meta["derived_layers"]["low_points"] == "2 from DEM sinks"
    save_network(net, tmp_path / "net")
    back = load_network(tmp_path / "net", cache=False).layers["low_points"]
    assert list(back["node"]) == list(low["node"])
    assert list(back["sink_depth_m"]) == list(low["sink_depth_m"])


def test_a_sink_at_a_tunnel_is_the_tunnel(tmp_path: Path) -> None:
    net = build_network(tunnel_town(), derive_layers=True)
    portal = int(net.layers["low_points"]["node"].iloc[0])
    dem = write_dem(tmp_path / "dem.tif", net, {portal: 1.5, 8: 1.0})
    assert add_dem_low_points(net, dem) == 1
    low = net.layers["low_points"]
    assert list(low["origin"]) == ["tunnel_edge", "dem"]
    assert list(low["node"]) == [portal, 8]
    report = net.meta["derived_layers"]["low_points"]
    assert report == (
        "1 underpasses from tunnel edges; 1 from DEM sinks (1 within 50 m of a tunnel dropped)"
    )


def test_a_user_file_replaces_dem_low_points(xinjiekou: RoadNetwork, tmp_path: Path) -> None:
    dem = write_dem(tmp_path / "dem.tif", xinjiekou, {NODE_A: 1.5})
    folder = tmp_path / "layers"
    folder.mkdir()
    pt = xinjiekou.layers["depots"].geometry.iloc[:1].tolist()
    mine = layer_frame(
        "low_points",
        [
            {
                "id": "my-dip",
                "name": "surveyed dip",
                "kind": "road_section",
                "origin": "user",
                "illustrative": False,
                "source": "survey",
            }
        ],
        pt,
    )
    write_layer(mine, folder / "low_points.geojson", layer="low_points")
    net = build_network(CLIPPED, min_component_fraction=0.5, dem=dem, layers=folder, cache=False)
    assert list(net.layers["low_points"]["id"]) == ["my-dip"]
    assert "replaced by the user file" in net.meta["derived_layers"]["low_points"]


# ---------------------------------------------------------------------------- errors


def test_dem_elsewhere_is_refused(xinjiekou: RoadNetwork, tmp_path: Path) -> None:
    dem = write_dem(tmp_path / "far.tif", xinjiekou, {}, offset_m=(50_000.0, 0.0))
    with pytest.raises(DEMError, match="does not overlap the network"):
        dem_low_points(xinjiekou, dem)


def test_not_a_geotiff(xinjiekou: RoadNetwork, tmp_path: Path) -> None:
    text = tmp_path / "dem.tif"
    text.write_text("elevation 12 m\n", encoding="utf-8")
    with pytest.raises(DEMError, match="is not a GeoTIFF"):
        dem_low_points(xinjiekou, text)
    png = write_dem(tmp_path / "dem.png", xinjiekou, {}, driver="PNG")
    with pytest.raises(DEMError, match="PNG raster, not a GeoTIFF"):
        dem_low_points(xinjiekou, png)
    with pytest.raises(InputFileNotFoundError, match="no such DEM"):
        dem_low_points(xinjiekou, tmp_path / "missing.tif")


def test_dem_without_crs(xinjiekou: RoadNetwork, tmp_path: Path) -> None:
    dem = write_dem(tmp_path / "nocrs.tif", xinjiekou, {NODE_A: 1.0}, crs=None)
    with pytest.raises(DEMError, match="no coordinate reference system") as info:
        dem_low_points(xinjiekou, dem)
    assert isinstance(info.value, TwinError) and isinstance(info.value, ValueError)
    assert "\n" not in str(info.value)


def test_cli_dem(xinjiekou: RoadNetwork, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TWIN_NO_CACHE", "1")
    dem = write_dem(tmp_path / "dem.tif", xinjiekou, {NODE_A: 1.5, NODE_B: 0.8})
    args = ["network", "build", "--osm", str(CLIPPED), "--min-component-fraction", "0.5"]
    out = tmp_path / "net"
    result = CliRunner().invoke(app, [*args, "--dem", str(dem), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "2 from DEM sinks" in result.output
    assert len(load_network(out, cache=False).layers["low_points"]) == 2
    bad = CliRunner().invoke(app, [*args, "--dem", str(CLIPPED), "--out", str(out)])
    assert bad.exit_code != 0 and isinstance(bad.exception, DEMError)

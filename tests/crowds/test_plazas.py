"""Plazas from the layer: usable area, default exits, overrides, networks."""

from __future__ import annotations

import math

import numpy as np
import pytest
import shapely
from numpy.testing import assert_allclose, assert_array_equal

from twin.crowds.config import PlazaGeometryConfig
from twin.crowds.plazas import Plazas, default_exits, load_plazas, make_plazas
from twin.errors import LayerError
from twin.network import RoadNetwork
from twin.network.build import data_dir
from twin.network.layers import read_layer

PLAZAS_FILE = data_dir() / "layers" / "plazas.geojson"


def test_bundled_plazas(plazas: Plazas) -> None:
    assert plazas.n_plazas == 5
    assert plazas.id[0] == "plaza-wulin-square"
    assert_allclose(plazas.usable_area, 0.7 * plazas.area)
    assert_allclose(plazas.walk_distance, 0.5 * np.sqrt(plazas.usable_area))
    # Rectangles of about 190×180, 290×310, 190×170, 67×67, 96×89 m: 2, 3, 2, 1, 1 exits a side.
    assert_array_equal(np.diff(plazas.exit_ptr), [8, 12, 8, 4, 4])
    assert np.all(plazas.exit_width == 4.0)
    assert plazas.exit_id[0] == "plaza-wulin-square/exit-1"
    assert np.all(plazas.node == -1)
    assert np.all(plazas.exits_open(0.0))


def test_exits_lie_on_the_outline(plazas: Plazas) -> None:
    for p in range(plazas.n_plazas):
        ring = shapely.get_exterior_ring(plazas.geometry[p])
        sl = slice(plazas.exit_ptr[p], plazas.exit_ptr[p + 1])
        pts = shapely.points(plazas.exit_lon[sl], plazas.exit_lat[sl])
        assert np.all(shapely.distance(ring, pts) < 1e-9)


def test_rule_parameters() -> None:
    square = shapely.box(120.0, 30.0, 120.002, 30.0018)  # about 192 × 200 m
    w, lon, lat = default_exits(square, PlazaGeometryConfig(exit_spacing_m=50.0, exit_width_m=3.0))
    assert w.size == 16 and np.all(w == 3.0) and lon.size == lat.size == 16
    tiny = shapely.box(120.0, 30.0, 120.0001, 30.0001)  # about 10 × 11 m
    w, _, _ = default_exits(tiny)
    assert w.size == 1


def test_overrides() -> None:
    gdf = read_layer(PLAZAS_FILE)
    gdf["exit_widths_m"] = [[6.0, 8.0, 2.5]] + [None] * 4
    gdf["usable_area_m2"] = [20_000.0] + [None] * 4
    gdf["walk_distance_m"] = [50.0] + [None] * 4
    gdf["exits"] = [None, 2, None, None, None]
    pl = load_plazas(gdf)
    assert_allclose(pl.exit_width[: pl.exit_ptr[1]], [6.0, 8.0, 2.5])
    assert pl.usable_area[0] == 20_000.0 and pl.walk_distance[0] == 50.0
    assert np.diff(pl.exit_ptr)[1] == 2
    assert pl.walk_distance[1] == pytest.approx(0.5 * math.sqrt(pl.usable_area[1]))


@pytest.mark.parametrize(
    ("props", "message"),
    [
        ({"exit_widths_m": [4.0, -1.0]}, "'exit_widths_m' must be a finite number > 0"),
        ({"exit_widths_m": []}, "non-empty list"),
        ({"exits": 0}, "'exits' must be an integer"),
        ({"exits": 3, "exit_widths_m": [4.0, 4.0]}, "does not match"),
        ({"usable_area_m2": "big"}, "'usable_area_m2' must be a finite number"),
    ],
)
def test_bad_overrides_name_the_feature(props: dict[str, object], message: str) -> None:
    gdf = read_layer(PLAZAS_FILE)
    for k, v in props.items():
        gdf[k] = [v] + [None] * (len(gdf) - 1)
    with pytest.raises(LayerError, match=message) as err:
        load_plazas(gdf)
    assert "plaza-wulin-square" in str(err.value)


def test_network_without_layer(nanjing: RoadNetwork) -> None:
    with pytest.raises(LayerError, match="no 'plazas' layer"):
        load_plazas(nanjing)


def test_snapped_to_the_network(gongshu: RoadNetwork, gongshu_fresh: RoadNetwork) -> None:
    pl = load_plazas(PLAZAS_FILE, net=gongshu)
    snap = gongshu.nearest_nodes(pl.lon, pl.lat)
    assert_array_equal(pl.node, snap.node)
    gongshu_fresh.layers["plazas"] = read_layer(PLAZAS_FILE, net=gongshu_fresh)
    from_net = load_plazas(gongshu_fresh)
    assert_array_equal(from_net.node, pl.node)
    assert_array_equal(from_net.exit_width, pl.exit_width)


def test_with_exits_tile_select(plazas: Plazas) -> None:
    more = plazas.with_exits(3, [5.0, 5.0], open_from=600.0, open_until=1200.0)
    assert more.n_exits == plazas.n_exits + 2
    assert np.diff(more.exit_ptr)[3] == 6
    assert np.all(np.diff(more.exit_plaza) >= 0)
    assert more.with_exits(3, [5.0, 5.0], open_from=600.0) is more  # same ids: unchanged
    assert more.exits_open(900.0).sum() == more.n_exits
    assert more.exits_open(0.0).sum() == plazas.n_exits
    big = plazas.tile(3)
    assert big.n_plazas == 15 and big.n_exits == 3 * plazas.n_exits
    assert big.id[5] == "plaza-wulin-square#1"
    assert_array_equal(np.diff(big.exit_ptr), np.tile(np.diff(plazas.exit_ptr), 3))
    assert_array_equal(plazas.select("kind:station_plaza"), [3, 4])
    assert_array_equal(plazas.select("*"), np.arange(5))
    with pytest.raises(KeyError, match="no plaza 'nowhere'"):
        plazas.select("nowhere")
    assert plazas.total_exit_width[1] == 48.0
    assert len(plazas.exit_table()) == plazas.n_exits


def test_make_plazas_validation() -> None:
    pl = make_plazas([100.0, 200.0], [[1.0], [2.0, 3.0]])
    assert pl.n_exits == 3 and pl.id[1] == "plaza-2"
    with pytest.raises(ValueError, match="has no exit"):
        make_plazas([100.0, 200.0], [[1.0], []])
    with pytest.raises(ValueError, match="usable_area"):
        make_plazas([0.0], [[1.0]])
    with pytest.raises(ValueError, match="2 plazas but exit widths for 1"):
        make_plazas([1.0, 2.0], [[1.0]])

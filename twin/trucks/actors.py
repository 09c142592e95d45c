"""The actors of muck-truck governance: sites, docks, companies and their trucks.

Sites and docks come from the city layers (``sites.geojson``, ``docks.geojson``; see
``data/layers/README.md``, all illustrative). A site's daily number of trips is its
spoil divided by the truck capacity, ``round(spoil_m3_per_day × scale / capacity)``,
where ``scale`` makes the total reach ``trips_per_day`` when that is set.

Each site is served by one haulage company, and each truck works for one site all day
(as trucks contracted to a site do). Trucks are shared out over a company's sites in
proportion to the truck-hours each site needs — its trips × an estimated cycle time
(loading, twice the free-flow drive to the nearest dock, unloading) — by largest
remainders, with at least one truck per site when the fleet allows.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np

from twin._types import FloatArray, IntArray, StrArray
from twin.network.build import bundled_layer
from twin.network.layer_schema import parse_hours
from twin.network.layers import read_layer
from twin.network.road_network import RoadNetwork
from twin.trucks.config import TrucksConfig
from twin.trucks.errors import TruckError

__all__ = ["Docks", "Fleet", "Sites", "assign_sites", "build_fleet", "load_docks", "load_sites"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Sites:
    """Construction sites, one entry per site in every array.

    Attributes
    ----------
    id, name
        Identifiers and names.
    node
        Node position of each site.
    lon, lat
        Coordinates [deg].
    spoil_m3
        Spoil hauled per day after scaling [m³/d].
    trips
        Truck trips per day [-].
    window
        Working hours (start, end) [h], shape (n, 2); loading starts only inside.
    """

    id: StrArray
    name: StrArray
    node: IntArray
    lon: FloatArray
    lat: FloatArray
    spoil_m3: FloatArray
    trips: IntArray
    window: FloatArray

    def __len__(self) -> int:
        return int(self.id.shape[0])

    def index(self, site_id: str) -> int:
        """Position of a site id."""
        hit = np.flatnonzero(self.id == site_id)
        if hit.size == 0:
            raise KeyError(site_id)
        return int(hit[0])


@dataclass(frozen=True)
class Docks:
    """Muck-loading docks, one entry per dock in every array.

    Attributes
    ----------
    id, name
        Identifiers and names.
    node
        Node position of each dock.
    lon, lat
        Coordinates [deg].
    berths
        Trucks unloading at once [-].
    unload_time
        Time a truck holds a berth [s].
    window
        Opening hours (start, end) [h], shape (n, 2).
    """

    id: StrArray
    name: StrArray
    node: IntArray
    lon: FloatArray
    lat: FloatArray
    berths: IntArray
    unload_time: FloatArray
    window: FloatArray

    def __len__(self) -> int:
        return int(self.id.shape[0])


@dataclass(frozen=True)
class Fleet:
    """The trucks and who they work for.

    Attributes
    ----------
    company
        Company names.
    site_company
        Company index of each site (-1: no company serves it).
    truck_company, truck_site
        Company and site index of each truck.
    """

    company: StrArray
    site_company: IntArray
    truck_company: IntArray
    truck_site: IntArray

    @property
    def n_trucks(self) -> int:
        """Number of trucks."""
        return int(self.truck_site.shape[0])


def _layer(net: RoadNetwork, which: str, source: str) -> gpd.GeoDataFrame:
    if source == "layer":
        if which in net.layers:
            return net.layers[which]
        shipped = bundled_layer(net, which)  # Gongshu without its layers attached
        if shipped is not None:
            return shipped
        # Never Gongshu's files on another network: they would snap 100+ km away.
        name = net.meta.get("name") or "this network"
        what = "muck docks" if which == "docks" else "construction sites"
        raise TruckError(
            f"trucks.{which}: {name} has no '{which}' layer ({what}). Give "
            f"trucks.{which}: FILE.geojson (the schema is in data/layers/README.md) or "
            f"put layers/{which}.geojson in the network's folder; without {what} the "
            "truck model cannot run: remove the scenario's trucks section to run without it."
        )
    return read_layer(Path(source), layer=which, net=net)


def _coords(gdf: gpd.GeoDataFrame) -> tuple[FloatArray, FloatArray]:
    geom = gdf.geometry
    return geom.x.to_numpy(dtype=np.float64), geom.y.to_numpy(dtype=np.float64)


def load_sites(net: RoadNetwork, cfg: TrucksConfig) -> Sites:
    """The construction sites of ``cfg.sites``, snapped to ``net``, with their daily trips.

    Raises
    ------
    TruckError
        If there are no sites or no spoil to haul.
    """
    gdf = _layer(net, "sites", cfg.sites)
    if len(gdf) == 0:
        raise TruckError(f"trucks.sites: {cfg.sites!r} holds no construction site")
    spoil = gdf["spoil_m3_per_day"].to_numpy(dtype=np.float64)
    cap = cfg.truck.capacity_m3
    if spoil.sum() <= 0:
        raise TruckError(f"trucks.sites: the sites of {cfg.sites!r} produce no spoil")
    if cfg.trips_per_day is not None:
        spoil = spoil * (cfg.trips_per_day * cap / spoil.sum())
    trips = np.rint(spoil / cap).astype(np.int64)
    hours = [cfg.site_hours or str(h) for h in gdf["working_hours"]]
    lon, lat = _coords(gdf)
    return Sites(
        id=gdf["id"].to_numpy(dtype=np.str_),
        name=gdf["name"].to_numpy(dtype=np.str_),
        node=net.node_position(gdf["node"].to_numpy(dtype=np.int64)),
        lon=lon,
        lat=lat,
        spoil_m3=spoil,
        trips=trips,
        window=np.array([parse_hours(h) for h in hours], dtype=np.float64),
    )


def load_docks(net: RoadNetwork, cfg: TrucksConfig) -> Docks:
    """The docks of ``cfg.docks``, snapped to ``net``.

    Raises
    ------
    TruckError
        If there is no dock.
    """
    gdf = _layer(net, "docks", cfg.docks)
    if len(gdf) == 0:
        raise TruckError(f"trucks.docks: {cfg.docks!r} holds no dock; trucks need one")
    hours = [cfg.dock_hours or str(h) for h in gdf["opening_hours"]]
    lon, lat = _coords(gdf)
    return Docks(
        id=gdf["id"].to_numpy(dtype=np.str_),
        name=gdf["name"].to_numpy(dtype=np.str_),
        node=net.node_position(gdf["node"].to_numpy(dtype=np.int64)),
        lon=lon,
        lat=lat,
        berths=gdf["berths"].to_numpy(dtype=np.int64),
        unload_time=gdf["unload_minutes"].to_numpy(dtype=np.float64) * 60.0,
        window=np.array([parse_hours(h) for h in hours], dtype=np.float64),
    )


def assign_sites(sites: Sites, cfg: TrucksConfig, need: FloatArray) -> IntArray:
    """Company index of every site (-1 where none serves it).

    Sites named in a company's ``sites`` go to it; the others, largest ``need`` first,
    go to the company (among those that list no sites) with the least need per truck so
    far. Ties go to the earlier company.

    Raises
    ------
    TruckError
        If a company lists a site id that is not a site.
    """
    out = np.full(len(sites), -1, dtype=np.int64)
    known: dict[str, int] = {str(s): i for i, s in enumerate(sites.id)}
    for c, comp in enumerate(cfg.companies):
        for s in comp.sites:
            if s not in known:
                raise TruckError(
                    f"trucks.companies[{c}] ({comp.name!r}).sites: unknown site {s!r}; known "
                    f"sites: {', '.join(sorted(known)[:12])}{'…' if len(known) > 12 else ''}"
                )
            out[known[s]] = c
    auto = [c for c, comp in enumerate(cfg.companies) if not comp.sites]
    load = np.zeros(len(cfg.companies))
    for j in np.flatnonzero(out >= 0).tolist():
        load[out[j]] += need[j]
    free = np.flatnonzero(out < 0)
    if auto:
        for j in free[np.argsort(-need[free], kind="stable")].tolist():
            best = min(auto, key=lambda k: (load[k] / cfg.companies[k].trucks, k))
            out[j] = best
            load[best] += need[j]
    elif free.size:
        logger.warning(
            "trucks: %d site(s) served by no company (every company lists its sites): %s",
            free.size, ", ".join(sites.id[free][:10]),
        )  # fmt: skip
    return out


def _largest_remainder(total: int, weight: FloatArray, minimum: int) -> IntArray:
    n = weight.shape[0]
    base = np.full(n, minimum if total >= minimum * n else 0, dtype=np.int64)
    rest = total - int(base.sum())
    if weight.sum() <= 0:
        weight = np.ones(n)
    share = weight / weight.sum() * rest
    add = np.floor(share).astype(np.int64)
    left = rest - int(add.sum())
    order = np.argsort(-(share - add), kind="stable")
    add[order[:left]] += 1
    out: IntArray = base + add
    return out


def build_fleet(sites: Sites, cfg: TrucksConfig, cycle_time: FloatArray) -> Fleet:
    """Assign sites to companies and share each company's trucks over its sites.

    Parameters
    ----------
    sites
        The sites with their trips.
    cfg
        The configuration (companies and their fleets).
    cycle_time
        Estimated time of one trip cycle from each site [s].
    """
    need = sites.trips * cycle_time
    site_company = assign_sites(sites, cfg, need)
    truck_company: list[int] = []
    truck_site: list[int] = []
    for c, comp in enumerate(cfg.companies):
        mine = np.flatnonzero((site_company == c) & (sites.trips > 0))
        if mine.size == 0:
            logger.info("trucks: company %r serves no site with spoil; its trucks stay idle",
                        comp.name)  # fmt: skip
            continue
        per_site = _largest_remainder(comp.trucks, need[mine].astype(np.float64), 1)
        for s, k in zip(mine.tolist(), per_site.tolist(), strict=True):
            truck_company += [c] * k
            truck_site += [s] * k
    return Fleet(
        company=np.array([c.name for c in cfg.companies], dtype=np.str_),
        site_company=site_company,
        truck_company=np.array(truck_company, dtype=np.int64),
        truck_site=np.array(truck_site, dtype=np.int64),
    )

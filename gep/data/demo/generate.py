#!/usr/bin/env python
"""Generate the SYNTHETIC demo data set used by ``scenarios/demo.toml``.

The landscape is modelled on Liyang (Jiangsu, China): forested southern hills
with two large reservoirs (Shahe and Daxi, together "Tianmu Lake"), low western
hills, rivers draining north and east across a paddy plain, the city in the
centre-north, ten towns, fish and crab ponds, and part of Changdang Lake in the
north-east. Nothing here is measured data: every raster and table is drawn from
smooth random fields plus land-cover dependent values, with magnitudes chosen to
be plausible for the region.

The generator is deterministic (one ``numpy.random.Generator(PCG64(20221))``,
consumed in a fixed order) and writes byte-identical files on every run:

    python gep/data/demo/generate.py [--out gep/data/demo/data]

All work is vectorised numpy/scipy; the only Python loops run over a handful of
features (towns, rivers, reservoirs, zones, classes).
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import numpy as np
import rasterio
from rasterio.crs import CRS
from rasterio.transform import from_origin
from scipy import ndimage

# --------------------------------------------------------------------------- grid
SEED = 20221
NROWS = NCOLS = 1300
SHAPE = (NROWS, NCOLS)
RES = 30.0  # m
X0, Y0 = 640000.0, 3500000.0  # upper-left corner, EPSG:32650
EPSG = 32650
TRANSFORM = from_origin(X0, Y0, RES, RES)
CELL_HA = RES * RES / 1e4  # 0.09 ha per cell

# --------------------------------------------------------------------------- land-cover legend
PADDY, DRY = 11, 12
EBF, ENF, MIX, DBF, SHRUB = 211, 212, 213, 214, 221
SPARSE, WOODLAND = 23, 24
GRASS_HI, GRASS_MED = 31, 32
RIVER, LAKE, RESERVOIR = 41, 42, 43
BOTTOMLAND, MARSH = 46, 64
URBAN, RURAL, BUILT = 51, 52, 53
BARE = 66

LEGEND = {
    PADDY: "paddy",
    DRY: "dry cropland",
    EBF: "evergreen broadleaf forest (incl. bamboo forest)",
    ENF: "evergreen needleleaf forest",
    MIX: "mixed forest",
    DBF: "deciduous broadleaf forest",
    SHRUB: "evergreen broadleaf shrub",
    SPARSE: "sparse forest",
    WOODLAND: "other woodland (tea gardens, orchards, bamboo nurseries)",
    GRASS_HI: "high-cover grassland",
    GRASS_MED: "medium-cover grassland",
    RIVER: "river/canal",
    LAKE: "lake",
    RESERVOIR: "reservoir/pond",
    BOTTOMLAND: "bottomland (river floodplain wetland)",
    MARSH: "marsh",
    URBAN: "urban",
    RURAL: "rural settlement",
    BUILT: "other construction land (roads, industry)",
    BARE: "bare rock (quarries)",
}
FOREST = [EBF, ENF, MIX, DBF]
WOODY = FOREST + [SHRUB, SPARSE, WOODLAND]
CROP = [PADDY, DRY]
GRASS = [GRASS_HI, GRASS_MED]
WATER = [RIVER, LAKE, RESERVOIR]
WETLAND = [BOTTOMLAND, MARSH]
CONSTRUCTION = [URBAN, RURAL, BUILT]

# --------------------------------------------------------------------------- zones (towns of Liyang)
# id, name, name_zh, zone seed (row, col), town centre (row, col), GDP [1e8 CNY]
ZONES = [
    (1, "Licheng", "溧城街道", (400, 560), (430, 600), 300.0),
    (2, "Kunlun", "昆仑街道", (560, 820), (470, 760), 230.0),
    (3, "Daitou", "埭头镇", (230, 1030), (250, 1010), 80.0),
    (4, "Shanghuang", "上黄镇", (120, 720), (140, 720), 70.0),
    (5, "Daibu", "戴埠镇", (960, 1010), (820, 930), 90.0),
    (6, "Tianmuhu", "天目湖镇", (990, 650), (800, 610), 140.0),
    (7, "Bieqiao", "别桥镇", (210, 420), (200, 430), 95.0),
    (8, "Shangxing", "上兴镇", (700, 220), (620, 290), 75.0),
    (9, "Zhuze", "竹箦镇", (420, 170), (410, 190), 85.0),
    (10, "Shezhu", "社渚镇", (1010, 310), (900, 380), 85.0),
]
# multiplicative distance weight of each zone seed (<1 = larger zone)
ZONE_WEIGHT = {1: 1.25, 2: 1.2, 3: 1.0, 4: 1.05, 5: 0.9, 6: 0.88, 7: 1.0, 8: 0.98, 9: 1.0, 10: 0.92}

# reservoirs: name, zone, centre (row, col), water area [cells],
# total storage [m3], flood storage [m3] (None = left empty, the engine defaults it)
RESERVOIRS = [
    ("Shahe", 6, (975, 630), 13300, 1.09e8, 3.2e7),
    ("Daxi", 5, (975, 980), 14400, 1.20e8, 3.6e7),
    ("Tangma", 8, (735, 165), 2600, 1.35e7, None),
    ("Qiansong", 10, (1045, 330), 2100, 1.05e7, None),
]


# =========================================================================== helpers
def noise(rng: np.random.Generator, sigma: float) -> np.ndarray:
    """Gaussian-filtered white noise on the grid, zero mean and unit variance.

    Large scales are drawn on a coarse grid and upsampled with cubic splines,
    which is fast and gives the same statistics as filtering at full resolution.
    """
    f = max(1, int(sigma // 4))
    pad = 4
    cy = -(-NROWS // f) + 2 * pad
    cx = -(-NCOLS // f) + 2 * pad
    w = rng.standard_normal((cy, cx))
    g = ndimage.gaussian_filter(w, sigma / f, mode="reflect")
    if f > 1:
        g = ndimage.zoom(g, f, order=3, mode="reflect")
    g = g[pad * f : pad * f + NROWS, pad * f : pad * f + NCOLS]
    g = g - g.mean()
    return g / g.std()


def fbm(rng: np.random.Generator, sigmas, weights) -> np.ndarray:
    out = sum(w * noise(rng, s) for s, w in zip(sigmas, weights))
    return (out - out.mean()) / out.std()


def smoothstep(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3.0 - 2.0 * x)


def unit(x: np.ndarray, k: float = 1.0) -> np.ndarray:
    """Map unit-variance noise smoothly to (0, 1)."""
    return 0.5 + 0.5 * np.tanh(k * x)


def take(score: np.ndarray, candidates: np.ndarray, n: int) -> np.ndarray:
    """Mask of the ``n`` candidate cells with the highest score (stable ties)."""
    idx = np.flatnonzero(candidates)
    out = np.zeros(candidates.size, dtype=bool)
    n = int(max(0, min(n, idx.size)))
    if n:
        order = np.argsort(-score.ravel()[idx], kind="stable")[:n]
        out[idx[order]] = True
    return out.reshape(candidates.shape)


def path(rng: np.random.Generator, pts, meander: float = 0.0, wavelength: float = 60.0, step: float = 0.4):
    """Densely sampled smooth path through control points (row, col), with meanders [cells]."""
    pts = np.asarray(pts, dtype=float)
    seg = np.hypot(*np.diff(pts, axis=0).T)
    s = np.r_[0.0, np.cumsum(seg)]
    t = np.arange(0.0, s[-1] + step, step)
    r = np.interp(t, s, pts[:, 0])
    c = np.interp(t, s, pts[:, 1])
    k = max(1.0, 25.0 / step)
    r = ndimage.gaussian_filter1d(r, k, mode="nearest")
    c = ndimage.gaussian_filter1d(c, k, mode="nearest")
    off = ndimage.gaussian_filter1d(rng.standard_normal(t.size), wavelength / (3.0 * step), mode="nearest")
    off = off / (off.std() + 1e-12) * meander
    dr, dc = np.gradient(r), np.gradient(c)
    n = np.hypot(dr, dc) + 1e-12
    return r + off * dc / n, c - off * dr / n


def burn(r: np.ndarray, c: np.ndarray) -> np.ndarray:
    m = np.zeros(SHAPE, dtype=bool)
    ri, ci = np.rint(r).astype(np.int64), np.rint(c).astype(np.int64)
    ok = (ri >= 0) & (ri < NROWS) & (ci >= 0) & (ci < NCOLS)
    m[ri[ok], ci[ok]] = True
    return m


def dist(mask: np.ndarray) -> np.ndarray:
    """Distance in cells to the nearest True cell."""
    if not mask.any():
        return np.full(SHAPE, 1e6)
    return ndimage.distance_transform_edt(~mask)


def isin(lc: np.ndarray, codes) -> np.ndarray:
    return np.isin(lc, list(codes))


def lut(values: dict, default: float = np.nan) -> np.ndarray:
    t = np.full(256, default, dtype=float)
    for k, v in values.items():
        t[k] = v
    return t


# =========================================================================== geography
def make_geography(rng: np.random.Generator):
    rr, cc = np.mgrid[0:NROWS, 0:NCOLS].astype(float)

    # ---- domain warp shared by the county boundary and the zones
    wr = 38.0 * noise(rng, 110) + 6.0 * noise(rng, 14)
    wc = 38.0 * noise(rng, 110) + 6.0 * noise(rng, 14)
    r_w, c_w = rr + wr, cc + wc

    # ---- county: warped super-ellipse, kept 4 cells from the rectangle's edge
    th = np.arctan2(r_w - 650.0, c_w - 650.0)
    lobes = 1.0 + 0.035 * np.cos(2 * th + 0.7) + 0.025 * np.cos(3 * th + 2.1) + 0.02 * np.cos(5 * th + 4.0)
    p = 2.8
    se = (np.abs(c_w - 650.0) / 612.0) ** p + (np.abs(r_w - 652.0) / 622.0) ** p
    county = se < lobes
    county &= (rr >= 4) & (rr < NROWS - 4) & (cc >= 4) & (cc < NCOLS - 4)
    lab, _ = ndimage.label(county)
    county = lab == lab[650, 650]
    county = ndimage.binary_fill_holes(county)

    # ---- zones: weighted Voronoi in warped coordinates
    zr, zc = rr + 0.9 * wr + 10.0 * noise(rng, 30), cc + 0.9 * wc + 10.0 * noise(rng, 30)
    best = np.full(SHAPE, np.inf)
    zones = np.zeros(SHAPE, dtype=np.uint8)
    for zid, _, _, (sr, sc), _, _ in ZONES:
        d = np.hypot(zr - sr, zc - sc) * ZONE_WEIGHT[zid]
        closer = d < best
        zones[closer] = zid
        best = np.minimum(best, d)
    zones[~county] = 0

    # ---- relief -------------------------------------------------------------
    # southern hill band (front ~row 800, irregular), low western hills (Caoshan, Tangma)
    front = rr + 60.0 * noise(rng, 90) + 20.0 * noise(rng, 25)
    band = smoothstep((front - 790.0) / 260.0)
    west = np.exp(-(((rr - 720.0) / 150.0) ** 2 + ((cc - 180.0) / 130.0) ** 2) * 1.4)
    west = 0.5 * smoothstep(west * (1.0 + 0.3 * noise(rng, 40)) * 1.5)
    hills = np.maximum(band, west)

    n1, n2, n3 = noise(rng, 34), noise(rng, 13), noise(rng, 5)
    ridge = 0.55 * (1 - np.abs(n1)) + 0.30 * (1 - np.abs(n2)) + 0.15 * (1 - np.abs(n3))
    ridge = (np.clip(ridge, -1.0, 1.0) + 1.0) / 2.0
    massif = 0.7 + 0.3 * np.tanh(noise(rng, 160) + (rr - 1050.0) / 250.0)
    z_hill = 505.0 * hills**0.9 * massif * (0.08 + 0.92 * ridge**1.5)

    north = np.clip(rr / 800.0, 0.0, 1.0)
    z_plain = 4.0 + 16.0 * north**1.6 + 2.2 * unit(noise(rng, 60)) + 0.6 * unit(noise(rng, 6))

    # ---- reservoirs: a body that follows the valleys around each site -----------------
    # score = closeness to the site + valley-ness; the body is the best `area` cells
    valley = np.abs(n1) + 0.4 * np.abs(n2)
    reservoir = np.zeros(SHAPE, dtype=bool)
    res_id = np.zeros(SHAPE, dtype=np.uint8)
    levels = []
    for k, (_, _, (sr, sc), area, *_rest) in enumerate(RESERVOIRS, start=1):
        rad = np.sqrt(area / np.pi)
        d = np.hypot(rr - sr, (cc - sc) / 1.2) / rad
        score = -d + 0.55 * valley + 0.25 * noise(rng, 8)
        n_take = area
        for _ in range(5):  # a few scalar corrections so the cleaned body has ~`area` cells
            body = take(score, (d < 3.0) & county & ~reservoir, n_take)
            body = ndimage.binary_closing(body, iterations=2) & (d < 3.0)
            lab, _ = ndimage.label(body)
            body = ndimage.binary_fill_holes(lab == np.bincount(lab[lab > 0]).argmax())
            n_take = int(round(n_take * area / body.sum()))
        reservoir |= body
        res_id[body] = k
    reservoir &= county

    dem = z_plain + z_hill
    d_res, (ir, ic) = ndimage.distance_transform_edt(~reservoir, return_indices=True)
    for k in range(1, len(RESERVOIRS) + 1):
        body = res_id == k
        # normal pool level: just above the plain at the dam, rounded to 0.1 m
        lvl = round(float(np.percentile(z_plain[body], 90)) + 4.0, 1)
        levels.append(lvl)
        near = (res_id[ir, ic] == k) & (d_res > 0) & (d_res <= 3)
        # a bank / dam crest of three cells keeps the shore above the water level
        dem = np.where(near, np.maximum(dem, lvl + 1.0 + 0.7 * d_res), dem)
        dem = np.where(body, lvl, dem)

    # ---- rivers ---------------------------------------------------------------
    # (control points (row, col), half width [cells], meander amplitude [cells], main river?)
    rivers = [
        # Nanhe: from the west through the city, leaving to the east (towards Taihu)
        ([(690, -10), (640, 230), (540, 420), (470, 600), (480, 790), (530, 1010), (575, 1310)], 1.5, 7.0, True),
        # Zhonghe
        ([(365, -10), (360, 260), (330, 560), (300, 880), (330, 1310)], 1.0, 6.0, True),
        # Beihe into Changdang Lake
        ([(140, 130), (110, 420), (85, 760), (150, 1050), (215, 1180)], 1.0, 5.0, True),
        # Dan-Jin-Li canal: straight, north from the city
        ([(470, 640), (320, 680), (160, 735), (-10, 790)], 1.0, 1.5, True),
        # outflow of Shahe to the city
        ([(890, 640), (760, 615), (620, 640), (478, 640)], 1.0, 5.0, True),
        # outflow of Daxi to Nanhe
        ([(880, 975), (740, 990), (620, 1000), (525, 1005)], 1.0, 5.0, True),
        # Shezhu river from Qiansong to Nanhe
        ([(1000, 335), (860, 330), (740, 290), (650, 225)], 1.0, 5.0, True),
        # Tangma outflow to Nanhe
        ([(700, 160), (660, 150)], 0.5, 1.0, False),
        # hill streams feeding the reservoirs (1 cell)
        ([(1310, 560), (1150, 590), (1030, 615)], 0.5, 6.0, False),
        ([(1300, 760), (1150, 720), (1040, 665)], 0.5, 6.0, False),
        ([(1310, 990), (1150, 985), (1030, 975)], 0.5, 6.0, False),
        ([(1230, 1180), (1100, 1080), (1010, 1020)], 0.5, 6.0, False),
        ([(1310, 260), (1180, 300), (1090, 330)], 0.5, 6.0, False),
    ]
    river = np.zeros(SHAPE, dtype=bool)
    main_river = np.zeros(SHAPE, dtype=bool)
    for pts, hw, mea, is_main in rivers:
        line = burn(*path(rng, pts, meander=mea))
        wide = ndimage.distance_transform_edt(~line) <= hw if hw >= 1.0 else line
        river |= wide
        if is_main:
            main_river |= wide
    river &= ~reservoir
    main_river &= ~reservoir
    # carve river beds: 2.5 m below the smoothed surroundings, gentle banks
    d_riv = dist(river)
    bed = ndimage.gaussian_filter(dem, 6) - 2.5
    dem = np.where((d_riv <= 3) & ~reservoir, np.minimum(dem, bed + 0.8 * d_riv), dem)

    # ---- Changdang Lake (north-east, cut by the county line) -------------------------
    lake = (((r_w - 225.0) / 150.0) ** 2 + ((c_w - 1275.0) / 165.0) ** 2) < 1.0
    lake &= county
    dem = np.where(lake, 3.0, dem)

    slope = np.degrees(np.arctan(np.hypot(*np.gradient(dem, RES))))
    # reservoir cells belong to the reservoir's town
    for k, (_, zid, *_rest) in enumerate(RESERVOIRS, start=1):
        zones[res_id == k] = zid

    return dict(
        rr=rr, cc=cc, county=county, zones=zones, dem=dem, hills=hills, slope=slope, ridge=ridge,
        river=river & county, main_river=main_river & county, reservoir=reservoir, res_id=res_id,
        levels=levels, lake=lake,
    )


# =========================================================================== land cover
# target shares of the county's cells
SHARE = {
    "river": 0.026,  # rivers + canal network (main rivers drawn, canals fill the rest)
    # ponds (code 43 outside the named reservoirs) fill water up to WATER_TOTAL
    "marsh": 0.010,
    "bottomland": 0.010,
    "urban": 0.055,
    "built": 0.035,
    "rural": 0.060,
    "bare": 0.0018,
    "woody": 0.280,
    "grass": 0.015,
}
WATER_TOTAL = 0.110
WOODY_SPLIT = {WOODLAND: 0.035, SPARSE: 0.010, SHRUB: 0.022, DBF: 0.015, ENF: 0.063, EBF: 0.080}  # rest MIX
DRY_FRACTION = 1.0 / 3.0  # of cropland
# urban centres: (row, col), cells, E-W stretch; the first is Liyang city (zones 1 and 2)
TOWN_CELLS = (3500, 2800, 3500, 5000, 3500, 3000, 3500, 3800)  # urban cells of the town centres of zones 3..10
URBAN_CENTRES = [((455, 660), None, 1.6)] + [(z[4], n, 1.0) for z, n in zip(ZONES[2:], TOWN_CELLS)]
# city parks: (row, col), cells, class
PARKS = [((425, 600), 260, MIX), ((470, 700), 150, GRASS_HI), ((440, 520), 120, GRASS_HI)]
# industrial parks: (row, col), cells
INDUSTRY = [((505, 880), 9000), ((575, 590), 6000), ((360, 720), 3500)] + [
    ((z[4][0] + 45, z[4][1] + 40), 1300) for z in ZONES[2:]
]
# roads: city to every town centre; two expressways (half width 1 cell)
EXPRESSWAYS = [[(-10, 300), (300, 520), (520, 700), (800, 900), (1100, 1200), (1200, 1310)],
               [(560, -10), (500, 400), (420, 700), (380, 1000), (330, 1310)]]


def make_landcover(rng: np.random.Generator, G: dict) -> np.ndarray:
    county, hills, slope, dem = G["county"], G["hills"], G["slope"], G["dem"]
    rr, cc = G["rr"], G["cc"]
    N = int(county.sum())
    lc = np.zeros(SHAPE, dtype=np.uint16)

    def free() -> np.ndarray:
        return county & (lc == 0)

    plain = hills < 0.12

    # ---- water: reservoirs, lake, rivers, canal network, ponds
    lc[G["reservoir"]] = RESERVOIR
    lc[G["lake"] & free()] = LAKE
    lc[G["river"] & free()] = RIVER
    n_canal = int(SHARE["river"] * N) - int((lc == RIVER).sum())
    cn = noise(rng, 22)
    gy, gx = np.gradient(cn)
    to_contour = np.abs(cn) / (np.hypot(gy, gx) + 1e-9)  # ~ distance [cells] to the zero contour
    lc[take(-to_contour, free() & plain & (dem < 25), n_canal)] = RIVER

    # ---- urban: Liyang city and the town centres (compact, holes filled)
    n_city = int(SHARE["urban"] * N) - sum(n for _, n, _ in URBAN_CENTRES[1:])
    # city parks first (Yanshan park, riverside green), so the city keeps some green
    for (pr, pc), n, code in PARKS:
        d = np.hypot(rr - pr, cc - pc)
        lc[take(-d, free() & (d < 40), n)] = code
    un = noise(rng, 14)
    for i, ((cr, ccol), n, stretch) in enumerate(URBAN_CENTRES):
        n = n_city if n is None else n
        d = np.hypot(rr - cr, (cc - ccol) / stretch)
        cand = free() & (d < 400) & (slope < 12)
        town = take(-d / 60.0 + (0.3 if i == 0 else 0.6) * un, cand, n)
        lc[ndimage.binary_fill_holes(town) & cand] = URBAN

    d_lake = dist(lc == LAKE)
    d_main = dist(G["main_river"])
    n_pond = int(WATER_TOTAL * N) - int(isin(lc, WATER).sum())
    pond_score = noise(rng, 3) + 0.9 * noise(rng, 70) + 1.2 * np.exp(-d_lake / 70.0) + 0.6 * np.exp(-d_main / 25.0)
    d_res = dist(G["reservoir"])
    lc[take(pond_score, free() & plain & (d_res > 40), n_pond)] = RESERVOIR

    # ---- wetlands: marsh on lake and reservoir margins, bottomland along the main rivers
    marsh_score = (np.maximum(np.exp(-d_lake / 12.0), 0.8 * np.exp(-d_res / 3.0)) + 0.25 * noise(rng, 4))
    lc[take(marsh_score, free() & ((d_lake < 40) | ((d_res < 6) & (slope < 8))), int(SHARE["marsh"] * N))] = MARSH
    bl_score = -d_main / 3.0 + 0.8 * noise(rng, 5)
    lc[take(bl_score, free() & (d_main <= 9) & plain, int(SHARE["bottomland"] * N))] = BOTTOMLAND

    # ---- construction: city and town centres, industry, roads, villages
    ind_n = noise(rng, 6)
    for (cr, ccol), n in INDUSTRY:
        d = np.hypot(rr - cr, cc - ccol)
        lc[take(-d / 25.0 + 0.6 * ind_n, free() & (d < 200) & (slope < 10), n)] = BUILT
    roads = np.zeros(SHAPE, dtype=bool)
    for pts in EXPRESSWAYS:
        roads |= ndimage.distance_transform_edt(~burn(*path(rng, pts, meander=3.0, wavelength=200))) <= 1.0
    city = URBAN_CENTRES[0][0]
    for z in ZONES[2:]:
        roads |= burn(*path(rng, [city, z[4]], meander=12.0, wavelength=120))
    lc[roads & free() & ~isin(lc, WATER)] = BUILT
    n_rest = int(SHARE["built"] * N) - int((lc == BUILT).sum())
    lc[take(noise(rng, 3) + 0.8 * noise(rng, 50) - slope / 5.0, free() & (slope < 8), n_rest)] = BUILT
    village = noise(rng, 2.5) + 0.35 * noise(rng, 40) - slope / 6.0
    lc[take(village, free() & (slope < 12), int(SHARE["rural"] * N))] = RURAL

    # ---- quarries: two sites each in the hill zones of Daibu, Tianmuhu, Shangxing, Shezhu
    n_site = int(SHARE["bare"] * N) // 8
    qn = noise(rng, 3)
    for zid in (5, 6, 8, 10):
        cand = np.flatnonzero(free() & (G["zones"] == zid) & (hills > 0.25) & (slope > 6) & (slope < 25))
        for site in rng.choice(cand, size=2, replace=False):
            sr, sc = divmod(int(site), NCOLS)
            d = np.hypot(rr - sr, cc - sc)
            lc[take(-d / 6.0 + 0.3 * qn, free() & (d < 25), n_site)] = BARE

    # ---- woody land (forest, shrub, woodland): the hills first, then plain woodlots
    woody_score = 2.0 * hills + slope / 12.0 + dem / 400.0 + 0.35 * noise(rng, 15) + 0.2 * noise(rng, 3)
    woody = take(woody_score, free(), int(SHARE["woody"] * N))
    d_open = dist(~woody & county)
    bamboo = np.exp(-(((rr - 1120.0) / 160.0) ** 2 + ((cc - 950.0) / 220.0) ** 2))  # Nanshan Bamboo Sea
    tea = np.exp(-dist(G["reservoir"] & (G["res_id"] <= 2)) / 40.0)  # tea gardens around Tianmu Lake
    scores = {
        WOODLAND: -slope / 8.0 - dem / 120.0 + 0.7 * noise(rng, 10) + 1.2 * tea,
        SPARSE: -d_open / 3.0 + 0.7 * noise(rng, 4),
        SHRUB: dem / 180.0 + slope / 15.0 + 0.8 * noise(rng, 6),
        DBF: noise(rng, 8),
        ENF: 1.6 * (dem / 500.0) + 0.8 * noise(rng, 15) + 0.6 * G["ridge"] + 0.8 * (cc < 450),
        EBF: 2.2 * bamboo + 0.8 * noise(rng, 20) + 0.5 * (1.0 - G["ridge"]),
    }
    for code, share in WOODY_SPLIT.items():
        lc[take(scores[code], woody & (lc == 0), int(share * N))] = code
    lc[woody & (lc == 0)] = MIX

    # ---- grassland at forest edges, on embankments and slopes
    d_woody = dist(isin(lc, WOODY))
    grass = take(-d_woody / 6.0 + 0.5 * noise(rng, 5) + slope / 10.0, free(), int(SHARE["grass"] * N))
    gn = noise(rng, 10)
    lc[grass & (gn >= -0.25)] = GRASS_HI
    lc[grass & (gn < -0.25)] = GRASS_MED

    # ---- cropland: the rest; dry land on higher, sloping ground near villages
    crop = free()
    d_rural = dist(lc == RURAL)
    dry_score = (np.clip(dem, 0, 60) / 40.0 + slope / 4.0 - d_rural / 20.0
                 + 0.9 * noise(rng, 15) + 0.4 * noise(rng, 3))
    dry = take(dry_score, crop, int(DRY_FRACTION * crop.sum()))
    lc[crop] = PADDY
    lc[dry] = DRY
    return lc


# =========================================================================== continuous rasters
# (low, high) per class; the value moves inside the range with smooth noise and terrain
ET_RANGE = {  # actual evapotranspiration [mm/yr]
    EBF: (780, 850), ENF: (740, 800), MIX: (760, 830), DBF: (720, 790), SHRUB: (700, 760),
    SPARSE: (690, 740), WOODLAND: (700, 760), PADDY: (690, 750), DRY: (600, 680),
    GRASS_HI: (600, 650), GRASS_MED: (570, 620), RIVER: (850, 910), LAKE: (880, 950),
    RESERVOIR: (860, 940), BOTTOMLAND: (760, 840), MARSH: (800, 880),
    URBAN: (250, 340), RURAL: (330, 400), BUILT: (260, 360), BARE: (200, 280),
}
AWC_RANGE = {  # plant available water content [mm]; open water is saturated (200, not used)
    EBF: (130, 190), ENF: (110, 170), MIX: (120, 180), DBF: (120, 180), SHRUB: (70, 120),
    SPARSE: (80, 130), WOODLAND: (120, 170), PADDY: (140, 190), DRY: (120, 170),
    GRASS_HI: (90, 140), GRASS_MED: (80, 120), RIVER: (200, 200), LAKE: (200, 200),
    RESERVOIR: (200, 200), BOTTOMLAND: (170, 200), MARSH: (180, 200),
    URBAN: (40, 60), RURAL: (50, 80), BUILT: (40, 60), BARE: (40, 50),
}
NPP_RANGE = {  # net primary productivity [gC/(m2 yr)]
    EBF: (700, 900), ENF: (600, 800), MIX: (650, 850), DBF: (580, 780), SHRUB: (450, 620),
    SPARSE: (400, 550), WOODLAND: (500, 700), PADDY: (520, 700), DRY: (450, 620),
    GRASS_HI: (380, 500), GRASS_MED: (300, 420), RIVER: (0, 20), LAKE: (10, 30),
    RESERVOIR: (5, 30), BOTTOMLAND: (400, 560), MARSH: (450, 600),
    URBAN: (30, 80), RURAL: (60, 100), BUILT: (30, 70), BARE: (0, 20),
}
FCOVER_RANGE = {  # fractional vegetation cover [-]
    EBF: (0.85, 0.95), ENF: (0.78, 0.92), MIX: (0.80, 0.95), DBF: (0.70, 0.88), SHRUB: (0.60, 0.80),
    SPARSE: (0.35, 0.55), WOODLAND: (0.55, 0.75), PADDY: (0.50, 0.70), DRY: (0.40, 0.60),
    GRASS_HI: (0.60, 0.80), GRASS_MED: (0.40, 0.60), RIVER: (0, 0), LAKE: (0, 0), RESERVOIR: (0, 0),
    BOTTOMLAND: (0.40, 0.65), MARSH: (0.55, 0.80),
    URBAN: (0.05, 0.15), RURAL: (0.12, 0.25), BUILT: (0.05, 0.15), BARE: (0.0, 0.08),
}
ET_HOT_RANGE = {  # evapotranspiration / evaporation on hot days (> 26 degC) [mm/yr]
    EBF: (210, 260), ENF: (190, 240), MIX: (200, 250), DBF: (190, 240), SHRUB: (160, 210),
    SPARSE: (150, 200), WOODLAND: (170, 220), PADDY: (190, 250), DRY: (150, 200),
    GRASS_HI: (130, 170), GRASS_MED: (120, 150), RIVER: (230, 280), LAKE: (250, 300),
    RESERVOIR: (240, 300), BOTTOMLAND: (200, 250), MARSH: (210, 260),
    URBAN: (30, 60), RURAL: (50, 80), BUILT: (30, 60), BARE: (20, 40),
}


def by_class(lc: np.ndarray, ranges: dict, u: np.ndarray) -> np.ndarray:
    """lo + (hi - lo) * u with (lo, hi) looked up from the land-cover class, u in [0, 1]."""
    lo = lut({k: v[0] for k, v in ranges.items()})[lc]
    hi = lut({k: v[1] for k, v in ranges.items()})[lc]
    return lo + (hi - lo) * np.clip(u, 0.0, 1.0)


def make_rasters(rng: np.random.Generator, G: dict, lc: np.ndarray) -> dict:
    """Return {name: (array, units, description, decimals)}."""
    dem, rr = G["dem"], G["rr"]
    south = rr / (NROWS - 1)
    high = np.clip(dem / 500.0, 0.0, 1.0)
    d_city = dist(lc == URBAN)
    heat = np.exp(-d_city / 15.0)  # urban heat island / dry urban air

    p = 1135.0 + 100.0 * smoothstep(south) + 0.22 * dem + 25.0 * noise(rng, 80) + 8.0 * noise(rng, 15)
    p = np.clip(p, 1100.0, 1400.0)
    et0 = 985.0 - 0.12 * dem - 20.0 * south + 8.0 * noise(rng, 100) + 10.0 * heat
    et0 = np.clip(et0, 900.0, 1000.0)
    et = by_class(lc, ET_RANGE, unit(0.8 * noise(rng, 10)) - 0.5 * high)
    et = np.minimum(et, np.round(et0) - 5.0)
    slope = G["slope"]
    awc = by_class(lc, AWC_RANGE, unit(0.8 * noise(rng, 20)) - slope / 40.0)
    storm = 158.0 + (p - 1100.0) / 300.0 * 150.0 + 10.0 * noise(rng, 40)
    storm = np.clip(storm, 150.0, 320.0)
    npp = by_class(lc, NPP_RANGE, unit(0.8 * noise(rng, 12)) - 0.35 * high)
    temp = 17.12 - 0.006 * dem - 0.25 * south + 0.12 * noise(rng, 150) + 0.35 * heat
    r_fac = 4150.0 + (storm - 150.0) / 170.0 * 2300.0 + 100.0 * noise(rng, 60)
    r_fac = np.clip(r_fac, 4000.0, 6500.0)
    d_main = dist(G["main_river"])
    k_fac = (0.031 + 0.0035 * noise(rng, 40) + 0.002 * noise(rng, 8) - 0.006 * G["hills"]
             + 0.005 * np.exp(-d_main / 20.0))
    k_fac = np.clip(k_fac, 0.015, 0.045)
    fcover = by_class(lc, FCOVER_RANGE, unit(0.8 * noise(rng, 8)))
    et_hot = by_class(lc, ET_HOT_RANGE, unit(0.8 * noise(rng, 30)) - 0.5 * high)
    wf = 2.8 + 7.5 * unit(0.7 * noise(rng, 200) + 1.6 * (0.45 - south)) - 0.0025 * dem
    wf = np.clip(wf, 2.0, 12.0)

    return {
        "dem": (dem, "m", "elevation above sea level", 1),
        "precipitation": (p, "mm/yr", "annual precipitation", 0),
        "et": (et, "mm/yr", "annual actual evapotranspiration", 0),
        "et0": (et0, "mm/yr", "annual reference evapotranspiration", 0),
        "awc": (awc, "mm", "plant available water content", 0),
        "storm_rainfall": (storm, "mm/yr", "annual rainfall in storm events (>= 50 mm/day)", 0),
        "npp": (npp, "gC/(m**2*yr)", "net primary productivity", 0),
        "temperature": (temp, "degC", "annual mean air temperature", 2),
        "r_factor": (r_fac, "MJ*mm/(ha*h*yr)", "RUSLE rainfall erosivity R", 0),
        "k_factor": (k_fac, "t*ha*h/(ha*MJ*mm)", "RUSLE soil erodibility K", 3),
        "fcover": (fcover, "dimensionless", "fractional vegetation cover", 3),
        "et_hot": (et_hot, "mm/yr", "evapotranspiration / evaporation on hot days (> 26 degC)", 0),
        "wind_factor": (wf, "kg/m", "RWEQ weather factor WF", 2),
    }


# =========================================================================== tables
PRODUCT_UNITS = {"rice": "t", "wheat": "t", "rapeseed": "t", "vegetables": "t", "tea": "t",
                 "bamboo_shoots": "t", "timber": "m**3", "freshwater_fish": "t", "crabs": "t",
                 "hydropower": "kWh", "water_supply": "m**3"}
PRODUCT_ECOSYSTEM = {"rice": "cropland", "wheat": "cropland", "rapeseed": "cropland", "vegetables": "cropland",
                     "tea": "forest", "bamboo_shoots": "forest", "timber": "forest",
                     "freshwater_fish": "water", "crabs": "water", "hydropower": "water", "water_supply": "water"}
BAMBOO_SHARE = {5: 0.60, 6: 0.45, 10: 0.30, 8: 0.20}  # share of evergreen broadleaf forest that is bamboo
TEA_SHARE = {6: 0.65, 5: 0.55, 10: 0.45, 8: 0.40}  # share of other woodland that is tea garden (else 0.15)
HYDRO_KWH = {6: 1.15e7, 5: 1.30e7}  # small hydropower at the Shahe and Daxi dams [kWh/yr]
WATER_SUPPLY = {6: 6.6e7, 5: 5.4e7}  # county supply drawn from Shahe and Daxi [m3/yr]
VISITORS = [  # zone, site, visits, travel time [h], wage [CNY/h], direct cost [CNY/visit]
    (6, "Tianmu Lake", 7.2e6, 3.0, 42.0, 260.0),
    (5, "Nanshan Bamboo Sea", 3.6e6, 3.2, 42.0, 230.0),
    (1, "Yanshan park", 2.4e6, 0.8, 38.0, 15.0),
    (8, "Caoshan forest park", 1.6e6, 2.2, 40.0, 90.0),
    (10, "Liyang No.1 rural highway greenway", 1.3e6, 2.0, 40.0, 60.0),
    (3, "Changdang Lake wetland", 1.2e6, 2.0, 40.0, 70.0),
    (2, "Nanhe riverside wetland park", 1.1e6, 0.9, 38.0, 20.0),
    (5, "Daxi reservoir scenic area", 0.9e6, 2.5, 40.0, 120.0),
    (10, "Wawushan forest park", 0.8e6, 2.4, 40.0, 80.0),
]
HOUSING_PREMIUM = {1: 420, 2: 380, 3: 180, 4: 150, 5: 260, 6: 560, 7: 160, 8: 170, 9: 150, 10: 190}  # CNY/m2


def zone_areas(G: dict, lc: np.ndarray) -> np.ndarray:
    """Hectares per (zone id, land-cover code)."""
    z = G["zones"].astype(np.int64)
    key = z * 256 + lc.astype(np.int64)
    ha = np.bincount(key[G["county"]], minlength=11 * 256).reshape(11, 256) * CELL_HA
    return ha


def r3(x: float) -> float:
    """Round to three significant figures."""
    if x == 0:
        return 0.0
    return float(np.round(x, -int(np.floor(np.log10(abs(x)))) + 2))


def make_tables(rng: np.random.Generator, G: dict, lc: np.ndarray) -> dict:
    ha = zone_areas(G, lc)
    zone_ids = [z[0] for z in ZONES]
    res_ha = np.bincount(G["zones"][G["reservoir"]], minlength=11) * CELL_HA  # named reservoirs
    pond_ha = ha[:, RESERVOIR] - res_ha
    crop_ha = ha[:, PADDY] + ha[:, DRY]
    forest_ha = ha[:, FOREST].sum(axis=1)
    f = 1.0 + 0.05 * rng.standard_normal((11, 12))  # town-level yield variation (+-5 %)

    production = []
    for zi in zone_ids:
        q = {
            "rice": ha[zi, PADDY] * 0.80 * 8.7 * f[zi, 0],
            "wheat": (ha[zi, PADDY] * 0.45 + ha[zi, DRY] * 0.25) * 5.6 * f[zi, 1],
            "rapeseed": (ha[zi, PADDY] * 0.12 + ha[zi, DRY] * 0.10) * 2.7 * f[zi, 2],
            "vegetables": ha[zi, DRY] * 0.40 * 32.0 * f[zi, 3],
            "tea": ha[zi, WOODLAND] * TEA_SHARE.get(zi, 0.15) * 0.75 * f[zi, 4],
            "bamboo_shoots": ha[zi, EBF] * BAMBOO_SHARE.get(zi, 0.0) * 2.0 * f[zi, 5],
            "timber": forest_ha[zi] * 0.9 * f[zi, 6],
            "freshwater_fish": (pond_ha[zi] * 6.5 + (ha[zi, LAKE] + res_ha[zi]) * 0.15) * f[zi, 7],
            "crabs": (pond_ha[zi] * 0.30 * 1.2 + ha[zi, LAKE] * 0.30) * f[zi, 8],
            "hydropower": HYDRO_KWH.get(zi, 0.0),
            "water_supply": WATER_SUPPLY.get(zi, 0.0),
        }
        for prod, val in q.items():
            if val > 0:
                production.append((zi, prod, PRODUCT_ECOSYSTEM[prod], r3(val), PRODUCT_UNITS[prod]))

    # people: 7000 per km2 of urban land, 5000 per km2 of rural settlement
    pop_u = ha[:, URBAN] / 100.0 * 7000.0
    pop_r = ha[:, RURAL] / 100.0 * 5000.0
    gdp = np.zeros(11)
    for z in ZONES:
        gdp[z[0]] = z[5]
    # loads reaching the environment [t/yr]: domestic (after treatment), cropland runoff,
    # aquaculture, industry (per 1e8 CNY GDP), quarries
    day = 365.0 / 1e6  # g/day per person -> t/yr
    loads = {
        "COD": pop_u * 9.0 * day + pop_r * 22.0 * day + crop_ha * 0.012 + pond_ha * 0.18 + gdp * 1.6,
        "NH3-N": pop_u * 1.2 * day + pop_r * 2.8 * day + crop_ha * 0.0015 + pond_ha * 0.010 + gdp * 0.12,
        "TP": pop_u * 0.15 * day + pop_r * 0.40 * day + crop_ha * 0.0006 + pond_ha * 0.004 + gdp * 0.015,
        "SO2": gdp * 1.4 + ha[:, BUILT] * 0.02,
        "NOx": gdp * 2.2 + ha[:, URBAN] * 0.25 + ha[:, BUILT] * 0.10,
        "dust": gdp * 1.2 + ha[:, BUILT] * 0.40 + ha[:, BARE] * 8.0,
    }
    emissions = [(zi, pol, r3(v[zi] * (1.0 + 0.04 * rng.standard_normal())), "t/yr")
                 for zi in zone_ids for pol, v in loads.items()]

    # residential floor area within 300 m of water or green space
    # (rivers, lakes and reservoirs; forest, grassland and wetland; not ponds or canals)
    water_green = G["main_river"] | G["reservoir"] | np.isin(lc, [LAKE] + WOODY + GRASS + WETLAND)
    near = ndimage.distance_transform_edt(~water_green) <= 10.0
    z = G["zones"]
    fa_u = np.bincount(z[near & (lc == URBAN)], minlength=11) * RES * RES * 0.55  # residential floor / land
    fa_r = np.bincount(z[near & (lc == RURAL)], minlength=11) * RES * RES * 0.20
    housing = [(zi, float(np.round((fa_u[zi] + fa_r[zi]) / 1000.0) * 1000.0), float(HOUSING_PREMIUM[zi]))
               for zi in zone_ids]

    reservoirs = [(name, zid, total, flood) for name, zid, _, _, total, flood in RESERVOIRS]
    return {"production": production, "emissions": emissions, "housing": housing, "reservoirs": reservoirs}


# =========================================================================== writers
def write_tif(path: Path, arr: np.ndarray, nodata, tags: dict, units: str | None, description: str) -> None:
    is_float = arr.dtype.kind == "f"
    profile = dict(
        driver="GTiff", height=NROWS, width=NCOLS, count=1, dtype=arr.dtype.name,
        crs=CRS.from_epsg(EPSG), transform=TRANSFORM, nodata=nodata,
        compress="deflate", zlevel=9, predictor=3 if is_float else 2,
        tiled=True, blockxsize=256, blockysize=256,
    )
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(arr, 1)
        all_tags = dict(tags)
        if units is not None:
            all_tags["units"] = units
            dst.update_tags(1, units=units)
            dst.units = (units,)
        dst.update_tags(**all_tags)
        dst.set_band_description(1, description)


def write_csv(path: Path, header: list, rows: list) -> None:
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(header)
        for row in rows:
            w.writerow(["" if v is None else fmt(v) for v in row])


def fmt(v) -> str:
    if isinstance(v, (float, np.floating)):
        v = float(v)
        return str(int(v)) if v.is_integer() and abs(v) < 1e15 else repr(round(v, 6))
    return str(v)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(Path(__file__).resolve().parent / "data"),
                    help="output directory (default: gep/data/demo/data next to this script)")
    args = ap.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    rng = np.random.Generator(np.random.PCG64(SEED))
    G = make_geography(rng)
    lc = make_landcover(rng, G)
    rasters = make_rasters(rng, G, lc)
    tables = make_tables(rng, G, lc)
    county = G["county"]

    common = {"source": "SYNTHETIC demo data modelled on Liyang (Jiangsu); not measured data",
              "generator": "scenarios/demo/generate.py", "seed": str(SEED)}
    lc_out = np.where(county, lc, 0).astype(np.uint16)
    legend = ";".join(f"{k}={v}" for k, v in sorted(LEGEND.items()))
    write_tif(out / "landcover.tif", lc_out, 0, {**common, "legend": legend}, None, "land-cover class code")
    zones_out = np.where(county, G["zones"], 0).astype(np.uint8)
    zlegend = ";".join(f"{z[0]}={z[1]}" for z in ZONES)
    write_tif(out / "zones.tif", zones_out, 0, {**common, "legend": zlegend}, None, "zone (town) id")
    for name, (arr, units, desc, dec) in rasters.items():
        a = np.round(arr, dec)
        if not np.isfinite(a[county]).all():
            raise SystemExit(f"{name}: non-finite values inside the county")
        a = np.where(county, a, np.nan).astype(np.float32)
        write_tif(out / f"{name}.tif", a, np.nan, common, units, desc)

    write_csv(out / "zones.csv", ["zone_id", "name", "name_zh", "gdp [yi_CNY]"],
              [(z[0], z[1], z[2], z[5]) for z in ZONES])
    write_csv(out / "production.csv", ["zone_id", "product", "ecosystem", "quantity", "unit"], tables["production"])
    write_csv(out / "emissions.csv", ["zone_id", "pollutant", "load", "unit"], tables["emissions"])
    write_csv(out / "visitors.csv",
              ["zone_id", "site", "visitors [visit]", "travel_time [h]", "wage [CNY/h]", "direct_cost [CNY/visit]"],
              VISITORS)
    write_csv(out / "housing.csv", ["zone_id", "floor_area [m**2]", "premium [CNY/m**2]"], tables["housing"])
    write_csv(out / "reservoirs.csv", ["name", "zone_id", "total_storage [m**3]", "flood_storage [m**3]"],
              tables["reservoirs"])
    print(f"wrote {len(rasters) + 2} rasters and 6 tables to {out}")


if __name__ == "__main__":
    main()

"""Two years of a demo retailer, simulated column-wise in numpy (no database here).

Everything is an array indexed by position: product ``p``, customer ``k``, order ``o`` (in
``placed_at`` order, so the position is also the document-number order) and line ``l`` (grouped
by order). :mod:`data.demo` turns the arrays into rows. Working in arrays is what makes a
million orders take seconds instead of the hours an order-by-order replay through the services
would need; the price is that the business rules the services enforce (totals, allowed
transitions, stock never negative) are re-stated here and checked by the tests.

Times are integer seconds. Customer-facing rhythms (opening hours, evening peaks, carrier
pick-ups) are planned in the shop's local time, then converted to UTC, the storage convention.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import numpy as np

from core.geo import PROVINCES, REGION_OF_PROVINCE
from core.services.orders import STATUSES
from data import demo_tables as T

DAY = 86_400
HOUR = 3_600
HISTORY_DAYS = 730
FUTURE_DAYS = 90  # calendar padding: deliveries and completions planned after today
EPOCH = dt.date(1970, 1, 1)
REVIEW_ABOVE_CENTS = 500_000  # the default review rule: total above 5000 → manual review
VIP_SPEND_CENTS = 500_000  # the default tagging rule: lifetime spend above 5000 → VIP
ORDER_NOTES = ("请尽快发货", "周末也可以送货", "需要开发票", "送礼用，请勿放价格单", "放快递柜即可", "到了打电话")

# Statuses are small integers here (positions in the services' own list), names in the database.
(PENDING_REVIEW, CONFIRMED, PICKING, PACKED, SHIPPED, DELIVERED, COMPLETED, BACKORDERED, CANCELLED) = (
    STATUSES.index(name) for name in ("pending_review", "confirmed", "picking", "packed", "shipped", "delivered",
                                      "completed", "backordered", "cancelled"))
RESERVING = (PENDING_REVIEW, CONFIRMED, PICKING, PACKED)  # open orders whose lines hold stock

CHANNEL_INDEX = {profile.code: i for i, profile in enumerate(T.CHANNELS)}
POS, JD, PHONE = CHANNEL_INDEX["POS"], CHANNEL_INDEX["JD"], CHANNEL_INDEX["PHONE"]
WAREHOUSE_CODES = ("SH", "GZ", "BJ", "CD")
WAREHOUSE_REGION = {"SH": "华东", "GZ": "华南", "BJ": "华北", "CD": "西南"}
SHIP_SLOTS = np.array([11, 15, 19]) * HOUR  # carrier pick-ups, local time
RECEIVING_HOURS = (7 * HOUR, 8 * HOUR + 55 * 60)  # goods in before the first pick-up of the day

# --- clock and calendar -------------------------------------------------------------------------


@dataclass(frozen=True)
class Clock:
    """The simulated window (``days`` local days ending today) and local ↔ UTC conversion."""

    now_utc: int
    first_day: dt.date
    days: int
    start_local: int  # local seconds at 00:00 of first_day
    offsets: np.ndarray  # UTC offset in seconds per local day, padded into the future

    @classmethod
    def build(cls, now: dt.datetime, tz: dt.tzinfo, days: int = HISTORY_DAYS) -> Clock:
        """``now`` is naive UTC (the storage convention); "today" is the shop's local day."""
        aware = now.replace(tzinfo=dt.UTC)
        first = aware.astimezone(tz).date() - dt.timedelta(days=days - 1)
        offsets = np.array([_utc_offset(first + dt.timedelta(days=i), tz) for i in range(days + FUTURE_DAYS)],
                           dtype=np.int64)
        return cls(int(aware.timestamp()), first, days, (first - EPOCH).days * DAY, offsets)

    @property
    def now_local(self) -> int:
        return self.now_utc + int(self.offsets[self.days - 1])

    def day_of(self, local: np.ndarray) -> np.ndarray:
        return (local - self.start_local) // DAY

    def to_utc(self, local: np.ndarray) -> np.ndarray:
        return local - self.offsets[np.clip(self.day_of(local), 0, len(self.offsets) - 1)]

    def local_day_of_utc(self, utc: np.ndarray) -> np.ndarray:
        """Local day index of UTC instants (offset of the day before, exact away from DST)."""
        approx = (utc - self.start_local) // DAY
        return self.day_of(utc + self.offsets[np.clip(approx, 0, len(self.offsets) - 1)])

    def date(self, day: int) -> dt.date:
        return self.first_day + dt.timedelta(days=int(day))


def _utc_offset(day: dt.date, tz: dt.tzinfo) -> int:
    offset = dt.datetime.combine(day, dt.time(12), tzinfo=tz).utcoffset()
    return int(offset.total_seconds()) if offset else 0


@dataclass(frozen=True)
class Calendar:
    """Per local day (window plus future padding): what drives demand and fulfilment."""

    dow: np.ndarray  # 0 = Monday
    month: np.ndarray  # 0..11
    doy: np.ndarray
    promo: np.ndarray  # demand multiplier of online promotions (1 = ordinary day)
    promo_kind: np.ndarray  # T.PROMO_*: which categories the promotion lifts
    festival: np.ndarray  # Spring Festival demand multiplier (1 = ordinary day)
    next_working: np.ndarray  # first warehouse working day at or after each day


def build_calendar(clock: Clock) -> Calendar:
    dates = [clock.date(i) for i in range(clock.days + FUTURE_DAYS)]
    promos = [_promotion(d) for d in dates]
    festival = [_festival(d) for d in dates]
    working = [w for _, w in festival]
    next_working = np.arange(len(dates))
    for i in range(len(dates) - 2, -1, -1):
        if not working[i]:
            next_working[i] = next_working[i + 1]
    return Calendar(
        dow=np.array([d.weekday() for d in dates]), month=np.array([d.month - 1 for d in dates]),
        doy=np.array([d.timetuple().tm_yday for d in dates]),
        promo=np.array([p for p, _ in promos]), promo_kind=np.array([k for _, k in promos]),
        festival=np.array([f for f, _ in festival]), next_working=next_working,
    )


def _spring_festival_offset(day: dt.date) -> int:
    """Days from the nearest Spring Festival (negative = before it)."""
    return min(((day - sf).days for sf in T.SPRING_FESTIVAL), key=abs)


def _promotion(day: dt.date) -> tuple[float, int]:
    """618 (peak on 18 June), 双11 (peak on 11 Nov), 双12, 38 and 年货节 before Spring Festival."""
    m, d = day.month, day.day
    if (m == 5 and d >= 20) or (m == 6 and d <= 18):
        return (1.25 if m == 5 else 4.0 if d == 18 else 1.5 + 0.05 * (d - 1)), T.PROMO_618
    if (m == 10 and d >= 20) or (m == 11 and d <= 11):
        return (1.3 if m == 10 else 6.0 if d == 11 else 1.8 + 0.06 * (d - 1)), T.PROMO_1111
    if m == 12 and d in (10, 11, 12):
        return (2.0 if d == 12 else 1.2), T.PROMO_1111
    if (m, d) in ((6, 19), (6, 20), (11, 12), (11, 13)):
        return 0.8, T.PROMO_NONE  # the hangover after a big promotion
    if m == 3 and d in (7, 8):
        return 1.5, T.PROMO_NONE
    delta = _spring_festival_offset(day)
    if -24 <= delta <= -4:
        return 1.2 + 0.6 * (delta + 24) / 20, T.PROMO_NEWYEAR
    return 1.0, T.PROMO_NONE


def _festival(day: dt.date) -> tuple[float, bool]:
    """Demand dip around Spring Festival, and whether warehouses and carriers work that day."""
    delta = _spring_festival_offset(day)
    dip = 0.3 if -3 <= delta <= 6 else 0.7 if 7 <= delta <= 14 else 1.0
    return dip, not (-1 <= delta <= 4)


def _hour_cdf(hours: tuple[float, ...]) -> np.ndarray:
    """Cumulative share of a day's orders at each hour boundary (25 points, 0 … 1)."""
    weights = np.asarray(hours, dtype=float)
    return np.concatenate([[0.0], np.cumsum(weights) / weights.sum()])


def _cdf_at(cdf: np.ndarray, seconds: int) -> float:
    hour = min(seconds // HOUR, 23)
    return float(cdf[hour] + (cdf[hour + 1] - cdf[hour]) * (seconds - hour * HOUR) / HOUR)


# --- catalogue ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Catalogue:
    rows: list[dict[str, Any]]  # product columns; "supplier" is an index into T.SUPPLIERS
    category: np.ndarray
    price: np.ndarray  # cents
    pack: np.ndarray
    lead: np.ndarray  # effective lead time in days (product's, else its supplier's)
    supplier: np.ndarray
    popularity: np.ndarray
    season: np.ndarray  # (products, 12) month multipliers: category × product season
    cold: np.ndarray
    bulky: np.ndarray

    @property
    def size(self) -> int:
        return len(self.rows)


def ean13(body12: str) -> str:
    """``body12`` plus its EAN-13 check digit."""
    total = sum(int(c) * (3 if i % 2 else 1) for i, c in enumerate(body12))
    return body12 + str((10 - total % 10) % 10)


def build_catalogue(rng: np.random.Generator, clock: Clock) -> Catalogue:
    """Expand the base products into colour × size SKUs with prices, costs and barcodes."""
    brands = sorted({b.brand for b in T.BASE_PRODUCTS})
    rows: list[dict[str, Any]] = []
    numeric: list[tuple[int, int, int, int, int, float, tuple[float, ...], bool, bool]] = []
    for base in T.BASE_PRODUCTS:
        price = int(Decimal(base.price) * 100)
        cost = int(round(price * base.cost_ratio * rng.uniform(0.95, 1.05)))
        for ci, colour in enumerate(base.colours or (None,)):
            for size in base.sizes or (None,):
                rows.append(_product_row(base, colour, size, len(rows), brands, price, cost, rng, clock))
                popularity = (base.popularity * T.SIZE_WEIGHT.get(size or "", 1.0) * (1.0, 0.8, 0.6)[min(ci, 2)]
                              * rng.lognormal(0.0, 0.3))
                season = tuple(c * s for c, s in zip(T.CATEGORY_MONTH[base.category],
                                                     T.SEASON_MONTH.get(base.season or "", (1.0,) * 12),
                                                     strict=True))
                lead = base.lead_time_days or T.SUPPLIERS[base.supplier][1]
                numeric.append((T.CATEGORIES.index(base.category), price, base.pack_size, lead, base.supplier,
                                popularity, season, bool(base.attributes.get("cold_chain")),
                                bool(base.attributes.get("bulky"))))
    cat, prices, pack, leads, supplier, pop, season, cold, bulky = zip(*numeric, strict=True)
    return Catalogue(rows, np.array(cat), np.array(prices, dtype=np.int64), np.array(pack), np.array(leads),
                     np.array(supplier), np.array(pop), np.array(season), np.array(cold), np.array(bulky))


def _product_row(base: T.BaseProduct, colour: str | None, size: str | None, index: int, brands: list[str],
                 price: int, cost: int, rng: np.random.Generator, clock: Clock) -> dict[str, Any]:
    variant_key = {"美妆": "shade", "食品/零食": "flavor"}.get(base.category, "color")
    attributes: dict[str, Any] = dict(base.attributes)
    if colour:
        attributes[variant_key] = T.COLOURS[colour]
    if size:
        attributes["size"] = size
    company = 10_000 + 137 * brands.index(base.brand)
    created = clock.start_local - int(rng.integers(30, 400)) * DAY + int(rng.integers(9 * HOUR, 18 * HOUR))
    return dict(
        sku="-".join(x for x in (base.code, colour, size) if x),
        barcode=ean13(f"69{company:05d}{index:05d}"),
        name=" ".join(x for x in (base.name, T.COLOURS.get(colour or ""), size) if x),
        category=base.category, brand=base.brand, attributes=attributes, unit_price=price, unit_cost=cost,
        supplier=base.supplier, pack_size=base.pack_size, lead_time_days=base.lead_time_days, active=True,
        created_at=created - int(clock.offsets[0]),
    )


# --- customers ---------------------------------------------------------------------------------


@dataclass
class Customers:
    name: list[str]
    phone: list[str]
    email: list[str | None]
    province: np.ndarray  # index into PROVINCES
    city: list[str]
    district: list[str]
    address: list[str]
    is_shop: np.ndarray  # wholesale buyers (phone orders), not people
    weight: np.ndarray  # how often this customer buys: heavy-tailed, so a few buy a lot

    @property
    def size(self) -> int:
        return len(self.name)


def unique_ints(rng: np.random.Generator, low: int, high: int, n: int) -> np.ndarray:
    """``n`` distinct integers in [low, high), drawn in a reproducible order."""
    out = np.empty(0, dtype=np.int64)
    while len(out) < n:
        draw = np.concatenate([out, rng.integers(low, high, size=n - len(out) + 16)])
        _, first = np.unique(draw, return_index=True)
        out = draw[np.sort(first)]
    return out[:n]


def build_customers(rng: np.random.Generator, n: int) -> Customers:
    shops = max(10, n // 200)
    is_shop = np.zeros(n, dtype=bool)
    is_shop[rng.choice(n, shops, replace=False)] = True
    weights = np.array([T.GEOGRAPHY[p][0] for p in PROVINCES])
    province = rng.choice(len(PROVINCES), n, p=weights / weights.sum())
    prefixes = np.array(T.MOBILE_PREFIXES)[rng.integers(0, len(T.MOBILE_PREFIXES), n)]
    phones = unique_ints(rng, 0, 10**8, n) + prefixes * 10**8  # unique within each prefix is enough
    cities, districts, addresses = _addresses(rng, province)
    names = _person_names(rng, n)
    for k in np.flatnonzero(is_shop):
        names[k] = (PROVINCES[province[k]] + T.SHOP_WORDS[int(rng.integers(len(T.SHOP_WORDS)))]
                    + T.SHOP_KINDS[int(rng.integers(len(T.SHOP_KINDS)))])
    return Customers(names, [str(p) for p in phones.tolist()], _emails(rng, n), province, cities, districts,
                     addresses, is_shop, np.minimum(rng.pareto(1.3, n) + 1.0, 40.0))


def _person_names(rng: np.random.Generator, n: int) -> list[str]:
    surnames = [s for s, _ in T.SURNAMES]
    freq = np.array([f for _, f in T.SURNAMES])
    surname = rng.choice(len(surnames), n, p=freq / freq.sum())
    chars = T.GIVEN_CHARS
    first = rng.integers(0, len(chars), n)
    second = np.where(rng.random(n) < 0.7, rng.integers(0, len(chars), n), -1)
    return [surnames[s] + chars[a] + (chars[b] if b >= 0 else "")
            for s, a, b in zip(surname.tolist(), first.tolist(), second.tolist(), strict=True)]


def _addresses(rng: np.random.Generator, province: np.ndarray) -> tuple[list[str], list[str], list[str]]:
    cities, districts, addresses = [], [], []
    r = rng.random((len(province), 9))
    for k, p in enumerate(province.tolist()):
        city_list = T.GEOGRAPHY[PROVINCES[p]][1]
        ci = 0 if len(city_list) == 1 or r[k, 0] < 0.55 else 1 + int(r[k, 1] * (len(city_list) - 1))
        city, dists = city_list[ci]
        cities.append(city)
        districts.append(dists[int(r[k, 2] * len(dists))])
        addresses.append(f"{T.STREETS[int(r[k, 3] * len(T.STREETS))]}{1 + int(r[k, 4] * 899)}号"
                         f"{T.COMMUNITIES[int(r[k, 5] * len(T.COMMUNITIES))]}{1 + int(r[k, 6] * 30)}栋"
                         f"{1 + int(r[k, 7] * 4)}单元{1 + int(r[k, 8] * 28)}0{1 + k % 4}室")
    return cities, districts, addresses


def _emails(rng: np.random.Generator, n: int) -> list[str | None]:
    """About a third leave an e-mail address; QQ mail is the most common."""
    has = (rng.random(n) < 0.35).tolist()
    numbers = unique_ints(rng, 10**7, 10**10, n).tolist()
    domain = rng.integers(0, len(T.EMAIL_DOMAINS), n).tolist()
    letters = rng.integers(0, 26, (n, 4)).tolist()
    out: list[str | None] = []
    for k in range(n):
        if not has[k]:
            out.append(None)
        elif domain[k] == 0:
            out.append(f"{numbers[k]}@qq.com")
        else:
            prefix = "".join(chr(97 + c) for c in letters[k])
            out.append(f"{prefix}{numbers[k] % 10**6}@{T.EMAIL_DOMAINS[domain[k]]}")
    return out


# --- orders ------------------------------------------------------------------------------------


@dataclass
class Flow:
    """Fulfilment of each order: UTC seconds of every step that has happened (-1 = not yet or
    never), whether it needed a manual review, and its status now."""

    review: np.ndarray
    approved: np.ndarray
    picking: np.ndarray
    packed: np.ndarray
    shipped: np.ndarray
    delivered: np.ndarray
    completed: np.ndarray
    cancelled: np.ndarray
    status: np.ndarray


@dataclass
class Orders:
    """One entry per order, sorted by placed_at (UTC seconds); money in cents."""

    day: np.ndarray  # local day index of placed_at
    channel: np.ndarray
    customer: np.ndarray
    warehouse: np.ndarray  # index into WAREHOUSE_CODES
    placed: np.ndarray
    subtotal: np.ndarray
    discount: np.ndarray
    shipping: np.ndarray
    total: np.ndarray
    cold: np.ndarray
    bulky: np.ndarray
    line_start: np.ndarray  # first line of each order (lines are grouped by order)
    flow: Flow

    @property
    def size(self) -> int:
        return len(self.day)


@dataclass
class Lines:
    order: np.ndarray
    product: np.ndarray
    qty: np.ndarray
    price: np.ndarray  # cents
    discount: np.ndarray
    total: np.ndarray

    @property
    def size(self) -> int:
        return len(self.order)


def daily_intensity(clock: Clock, cal: Calendar) -> np.ndarray:
    """Expected orders per (day, channel), up to a constant: growth, week, year, promotions,
    Spring Festival, each channel's share drifting over time (抖音直播 grows), and only the
    part of today that has already happened."""
    d = clock.days
    t = np.arange(d) / max(d - 1, 1)
    base = (1 + 0.6 * t) * (1 + 0.06 * np.cos(2 * np.pi * (cal.doy[:d] - 20) / 365.25))
    lam = np.empty((d, len(T.CHANNELS)))
    now_tod = clock.now_local - clock.start_local - (d - 1) * DAY
    for c, prof in enumerate(T.CHANNELS):
        share = prof.share_start + (prof.share_end - prof.share_start) * t
        promo = 1 + prof.promo_sensitivity * (cal.promo[:d] - 1)
        festival = 1 - prof.festival_sensitivity * (1 - cal.festival[:d])
        lam[:, c] = base * share * np.asarray(prof.weekly)[cal.dow[:d]] * promo * festival
        lam[d - 1, c] *= _cdf_at(_hour_cdf(prof.hours), now_tod)
    return lam


def place_orders(rng: np.random.Generator, clock: Clock, cal: Calendar, n: int) -> tuple[np.ndarray, ...]:
    """(day, channel, placed local seconds) of ``n`` orders, sorted by time."""
    lam = daily_intensity(clock, cal)
    counts = rng.multinomial(n, (lam / lam.sum()).ravel())
    cell = np.repeat(np.arange(lam.size), counts)
    day, channel = cell // lam.shape[1], cell % lam.shape[1]
    today = day == clock.days - 1
    now_tod = clock.now_local - clock.start_local - (clock.days - 1) * DAY
    u = rng.random(n)
    tod = np.zeros(n)
    for c, prof in enumerate(T.CHANNELS):
        mask = channel == c
        cdf = _hour_cdf(prof.hours)
        uc = np.where(today[mask], u[mask] * _cdf_at(cdf, now_tod), u[mask])
        hour = np.clip(np.searchsorted(cdf, uc, side="right") - 1, 0, 23)
        tod[mask] = (hour + (uc - cdf[hour]) / np.maximum(cdf[hour + 1] - cdf[hour], 1e-12)) * HOUR
    placed = clock.start_local + day * DAY + tod.astype(np.int64)
    placed = np.where(today, np.minimum(placed, clock.now_local - 1), placed)
    order = np.argsort(placed, kind="stable")
    return day[order], channel[order], placed[order]


def assign_customers(rng: np.random.Generator, channel: np.ndarray, customers: Customers) -> np.ndarray:
    """Phone orders come from shops, the rest from people; heavy buyers buy often (Pareto-like),
    and while there are enough orders everybody has bought at least once."""
    out = np.empty(len(channel), dtype=np.int64)
    for mask, pool in ((channel == PHONE, np.flatnonzero(customers.is_shop)),
                       (channel != PHONE, np.flatnonzero(~customers.is_shop))):
        k = int(mask.sum())
        if k == 0:
            continue
        w = customers.weight[pool]
        picks = pool[rng.choice(len(pool), k, p=w / w.sum())]
        slots = rng.permutation(k)[: min(k, len(pool))]
        picks[slots] = pool[rng.permutation(len(pool))[: len(slots)]]
        out[mask] = picks
    return out


def _product_weights(cat: Catalogue, month: int, kind: int, channel: int) -> np.ndarray:
    names = T.CATEGORIES
    promo = np.array([T.PROMO_CATEGORY.get(kind, {}).get(names[c], 1.0) for c in cat.category])
    affinity = np.array([T.CHANNELS[channel].category_affinity.get(names[c], 1.0) for c in cat.category])
    w = cat.popularity * cat.season[:, month] * promo * affinity
    return w / w.sum()


def build_lines(rng: np.random.Generator, cal: Calendar, cat: Catalogue, day: np.ndarray,
                channel: np.ndarray) -> Lines:
    """1–4 distinct products per order, chosen by month, promotion and channel taste."""
    n, n_ch = len(day), len(T.CHANNELS)
    k = np.empty(n, dtype=np.int64)
    for c, prof in enumerate(T.CHANNELS):
        mask = channel == c
        k[mask] = rng.choice(4, int(mask.sum()), p=prof.lines) + 1
    order = np.repeat(np.arange(n), k)
    key = (cal.month[day[order]] * 4 + cal.promo_kind[day[order]]) * n_ch + channel[order]
    product = np.empty(len(order), dtype=np.int64)
    by_key = np.argsort(key, kind="stable")
    groups, starts = np.unique(key[by_key], return_index=True)
    for g, s, e in zip(groups.tolist(), starts.tolist(), [*starts[1:].tolist(), len(order)], strict=True):
        w = _product_weights(cat, g // (4 * n_ch), (g // n_ch) % 4, g % n_ch)
        product[by_key[s:e]] = rng.choice(cat.size, e - s, p=w)
    srt = np.lexsort((product, order))
    order, product = order[srt], product[srt]
    keep = np.ones(len(order), dtype=bool)
    keep[1:] = (order[1:] != order[:-1]) | (product[1:] != product[:-1])
    order, product = order[keep], product[keep]
    qty = _quantities(rng, cat, product, channel[order])
    price = cat.price[product]
    discount = _line_discounts(rng, cal.promo[day[order]], channel[order], price * qty)
    return Lines(order, product, qty, price, discount, price * qty - discount)


def _quantities(rng: np.random.Generator, cat: Catalogue, product: np.ndarray, channel: np.ndarray) -> np.ndarray:
    r = rng.random(len(product))
    usual = np.searchsorted(np.cumsum([0.8, 0.13, 0.04, 0.02]), r, side="right") + 1
    food = np.searchsorted(np.cumsum([0.55, 0.25, 0.1, 0.05]), r, side="right") + 1
    qty = np.where(cat.category[product] == T.CATEGORIES.index("食品/零食"), food, usual)
    wholesale = rng.integers(2, 7, len(product)) * np.where(cat.price[product] < 5_000, 2, 1)
    return np.where(channel == PHONE, wholesale, qty).astype(np.int64)


def _line_discounts(rng: np.random.Generator, promo: np.ndarray, channel: np.ndarray, gross: np.ndarray) -> np.ndarray:
    """Occasional whole-yuan line discounts, more often during promotions; none on wholesale."""
    chance = np.where(promo > 1.1, 0.3, 0.08)
    chance = np.where(channel == POS, 0.05, np.where(channel == PHONE, 0.0, chance))
    amount = (gross * rng.uniform(0.05, 0.25, len(gross)) // 100 * 100).astype(np.int64)
    return np.where((rng.random(len(gross)) < chance) & (amount < gross), amount, 0)


def price_orders(rng: np.random.Generator, cal: Calendar, cat: Catalogue, day: np.ndarray, channel: np.ndarray,
                 lines: Lines) -> tuple[np.ndarray, ...]:
    """(line_start, subtotal, discount, shipping, total, cold, bulky) per order, in cents.

    Coupons (满减), member and wholesale discounts, and a shipping fee below the free-shipping
    threshold; total = Σ line totals − discount + shipping fee, exactly.
    """
    n = len(day)
    start = np.searchsorted(lines.order, np.arange(n))
    subtotal = np.add.reduceat(lines.total, start)
    cold = np.maximum.reduceat(cat.cold[lines.product].astype(np.int8), start).astype(bool)
    bulky = np.maximum.reduceat(cat.bulky[lines.product].astype(np.int8), start).astype(bool)
    promo = cal.promo[day] > 1.1
    online = np.isin(channel, [CHANNEL_INDEX[c] for c in ("TMALL", "JD", "DOUYIN", "WECHAT")])
    u = rng.random(n)
    coupon = np.where(promo, subtotal // 30_000 * 5_000,  # 每满300减50
                      np.select([subtotal >= 29_900, subtotal >= 19_900, subtotal >= 9_900], [3_000, 2_000, 1_000], 0))
    discount = np.where(online & (u < np.where(promo, 0.65, 0.15)), coupon, 0)
    discount = np.where((channel == POS) & (u < 0.2), subtotal * 5 // 100, discount)  # member price
    discount = np.where(channel == PHONE, subtotal * rng.integers(3, 9, n) // 100 // 100 * 100, discount)
    discount = np.minimum(discount, subtotal)
    net = subtotal - discount
    fee = np.where(cold & (net < 19_900), 1_800, np.where((net < 9_900) & (u < 0.6), 800, 0))
    fee = np.where(online & ~bulky, fee, 0)
    fee = np.where(channel == PHONE, np.where(net < 50_000, 3_000, 0), fee)
    return start, subtotal, discount, fee, net + fee, cold, bulky


def build_orders(rng: np.random.Generator, clock: Clock, cal: Calendar, cat: Catalogue, customers: Customers,
                 n: int) -> tuple[Orders, Lines]:
    day, channel, placed_local = place_orders(rng, clock, cal, n)
    customer = assign_customers(rng, channel, customers)
    province = np.array(PROVINCES)[customers.province[customer]]
    warehouse = np.array([WAREHOUSE_CODES.index(T.WAREHOUSE_OF_PROVINCE[p]) for p in PROVINCES])[
        customers.province[customer]]
    lines = build_lines(rng, cal, cat, day, channel)
    start, subtotal, discount, shipping, total, cold, bulky = price_orders(rng, cal, cat, day, channel, lines)
    placed, flow = plan_lifecycle(rng, clock, cal, day, channel, warehouse, province, placed_local, total, bulky)
    orders = Orders(day, channel, customer, warehouse, placed, subtotal, discount, shipping, total, cold, bulky,
                    start, flow)
    return orders, lines


# --- fulfilment --------------------------------------------------------------------------------


def _business_start(clock: Clock, local: np.ndarray) -> np.ndarray:
    """The first moment at or after ``local`` inside customer-service hours (09:00–21:00)."""
    day = clock.day_of(local)
    tod = local - clock.start_local - day * DAY
    day = np.where(tod > 21 * HOUR, day + 1, day)
    return np.where((tod < 9 * HOUR) | (tod > 21 * HOUR), clock.start_local + day * DAY + 9 * HOUR, local)


def _next_pickup(rng: np.random.Generator, clock: Clock, cal: Calendar, ready: np.ndarray) -> np.ndarray:
    """The first carrier pick-up slot after ``ready`` on a day the warehouse works."""
    day = clock.day_of(ready)
    tod = ready - clock.start_local - day * DAY
    slot = np.searchsorted(SHIP_SLOTS, tod, side="left")
    day = np.where(slot == len(SHIP_SLOTS), day + 1, day)
    slot = np.where(slot == len(SHIP_SLOTS), 0, slot)
    working = cal.next_working[np.minimum(day, len(cal.next_working) - 1)]
    slot = np.where(working != day, 0, slot)
    return clock.start_local + working * DAY + SHIP_SLOTS[slot] + rng.integers(0, 45 * 60, len(ready))


def _transit_days(rng: np.random.Generator, province: np.ndarray, warehouse: np.ndarray, bulky: np.ndarray
                  ) -> np.ndarray:
    """1–2 days inside the warehouse's region, 2–4 elsewhere, longer to the far west and north."""
    region = np.array([REGION_OF_PROVINCE[p] for p in province])
    home = np.array([WAREHOUSE_REGION[c] for c in WAREHOUSE_CODES])[warehouse]
    far = np.isin(province, list(T.FAR_PROVINCES))
    distance = np.where(far, 2, np.where(region == home, 0, 1))
    return (np.array([1, 2, 4])[distance] + rng.poisson(np.array([0.4, 0.8, 1.2])[distance])
            + bulky.astype(np.int64))


def _deliveries(rng: np.random.Generator, clock: Clock, cal: Calendar, shipped: np.ndarray, transit: np.ndarray
                ) -> np.ndarray:
    day = np.minimum(clock.day_of(shipped) + transit, len(cal.next_working) - 1)
    day = cal.next_working[day]
    return clock.start_local + day * DAY + rng.integers(9 * HOUR, 20 * HOUR, len(shipped))


def _load_factor(clock: Clock, cal: Calendar, day: np.ndarray) -> np.ndarray:
    """Warehouse backlog: on a peak day (双11) picking takes several times longer."""
    per_day = daily_intensity(clock, cal).sum(axis=1)
    return np.clip((per_day / np.median(per_day)) ** 0.7, 1.0, 6.0)[day]


def plan_lifecycle(rng: np.random.Generator, clock: Clock, cal: Calendar, day: np.ndarray, channel: np.ndarray,
                   warehouse: np.ndarray, province: np.ndarray, placed: np.ndarray, total: np.ndarray,
                   bulky: np.ndarray) -> tuple[np.ndarray, Flow]:
    """(placed_at in UTC, Flow): every order's planned review, picking, packing, carrier
    pick-up, delivery and completion (local rhythms), some cancellations, and its status now
    (the last step whose time has passed)."""
    n = len(day)
    pos = channel == POS
    review = ((total > REVIEW_ABOVE_CENTS) | (rng.random(n) < 0.01)) & ~pos
    approved = np.where(review, _business_start(clock, placed) + rng.integers(HOUR // 3, 4 * HOUR, n), placed)
    handling = (rng.lognormal(math.log(5 * HOUR), 0.8, n) * _load_factor(clock, cal, day)).astype(np.int64)
    shipped = _next_pickup(rng, clock, cal, approved + handling + HOUR)
    shift_start = clock.start_local + clock.day_of(shipped) * DAY + 7 * HOUR  # the pick-up slots are later
    picking = np.maximum(approved + 60, np.maximum(shipped - rng.integers(HOUR, 5 * HOUR, n), shift_start))
    packed = picking + ((shipped - picking) * rng.uniform(0.4, 0.9, n)).astype(np.int64)
    delivered = _deliveries(rng, clock, cal, shipped, _transit_days(rng, province, warehouse, bulky))
    confirm_after = np.where(rng.random(n) < 0.7, rng.integers(7 * DAY, 10 * DAY, n),
                             rng.integers(DAY // 3, 5 * DAY, n))
    steps = [approved, picking, packed, shipped, delivered, delivered + confirm_after]
    # at the shop counter everything happens within a few minutes
    steps = [np.where(pos, placed + 30 * k, t) for k, t in enumerate(steps)]
    cancel_at = clock.to_utc(placed + ((steps[1] - placed) * rng.uniform(0.05, 0.9, n)).astype(np.int64))
    rates = np.array([p.cancel_rate for p in T.CHANNELS])[channel]
    cancelled = np.where((rng.random(n) < rates) & (cancel_at <= clock.now_utc), cancel_at, -1)
    return clock.to_utc(placed), _flow(clock.now_utc, review, [clock.to_utc(t) for t in steps], cancelled)


def _flow(now: int, review: np.ndarray, steps: list[np.ndarray], cancelled: np.ndarray) -> Flow:
    is_cancelled = cancelled >= 0
    reached = [(t <= now) & ~is_cancelled for t in steps]
    reached[0] |= is_cancelled & (steps[0] < cancelled)  # approved before it was cancelled
    times = [np.where(r, t, -1) for r, t in zip(reached, steps, strict=True)]
    status = np.full(len(review), PENDING_REVIEW, dtype=np.int8)
    for code, r in zip((CONFIRMED, PICKING, PACKED, SHIPPED, DELIVERED, COMPLETED), reached, strict=True):
        status[r] = code
    status[is_cancelled] = CANCELLED
    approved, picking, packed, shipped, delivered, completed = times
    return Flow(review, approved, picking, packed, shipped, delivered, completed, cancelled, status)


# --- returns -----------------------------------------------------------------------------------


@dataclass
class Returns:
    """Closed returns (goods received back, refund paid), sorted by creation time."""

    order: np.ndarray
    created: np.ndarray  # UTC seconds
    closed: np.ndarray
    reason: np.ndarray  # index into T.RETURN_REASONS
    line: np.ndarray  # per returned line: order line index
    line_return: np.ndarray  # per returned line: index of its return
    qty: np.ndarray
    restocked: np.ndarray
    refund: np.ndarray  # cents

    @property
    def size(self) -> int:
        return len(self.order)


RETURN_RATE = {"服装/T恤": 0.08, "服装/卫衣": 0.08, "服装/外套": 0.1, "鞋靴": 0.1, "家居": 0.03, "美妆": 0.02,
               "食品/零食": 0.01, "小家电": 0.03, "数码配件": 0.03}


def build_returns(rng: np.random.Generator, clock: Clock, cat: Catalogue, o: Orders, lines: Lines) -> Returns:
    """A few per cent of delivered lines come back within the return window; most are resellable
    and go back on the shelf (a ``return_restock`` movement), damaged ones are not restocked."""
    rate = np.array([RETURN_RATE[c] for c in T.CATEGORIES])[cat.category[lines.product]]
    channel = o.channel[lines.order]
    rate = rate * np.where(channel == POS, 0.2, np.where(channel == PHONE, 0.3, 1.0))
    delivered = o.flow.delivered[lines.order]
    chosen = (delivered >= 0) & (rng.random(lines.size) < rate)
    orders = np.unique(lines.order[chosen])
    created = o.flow.delivered[orders] + rng.integers(DAY // 2, 6 * DAY, len(orders))
    closed = created + rng.integers(2 * DAY, 5 * DAY, len(orders))
    keep = closed <= clock.now_utc
    orders, created, closed = orders[keep], created[keep], closed[keep]
    by_time = np.argsort(created, kind="stable")
    orders, created, closed = orders[by_time], created[by_time], closed[by_time]
    rank = np.full(o.size, -1)
    rank[orders] = np.arange(len(orders))
    line = np.flatnonzero(chosen & (rank[lines.order] >= 0))
    line = line[np.argsort(rank[lines.order[line]], kind="stable")]
    qty = np.where(rng.random(len(line)) < 0.6, 1, lines.qty[line])
    resellable = rng.random(len(line)) < 0.85
    line_return = rank[lines.order[line]]
    reason = rng.integers(0, len(T.RETURN_REASONS) - 1, len(orders))  # the last one, damaged, is set below
    first_cat = cat.category[lines.product[line[np.searchsorted(line_return, np.arange(len(orders)))]]]
    sized = first_cat <= T.CATEGORIES.index("鞋靴")
    reason = np.where(sized & (rng.random(len(orders)) < 0.5), 0, reason)
    damaged_any = np.zeros(len(orders), dtype=bool)
    np.logical_or.at(damaged_any, line_return, ~resellable)
    reason = np.where(damaged_any, len(T.RETURN_REASONS) - 1, reason)
    return Returns(orders, created, closed, reason, line, line_return, qty, np.where(resellable, qty, 0),
                   lines.total[line] * qty // lines.qty[line])


# --- customers after the fact ------------------------------------------------------------------


def customer_history(o: Orders, n_customers: int, refunds: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(first order time or -1, VIP flag, priority per order).

    A customer becomes VIP once lifetime spend passes 5000 (the default tagging rule); orders
    placed after that carry the VIP priority (the default review rule).
    """
    spend = np.where(o.flow.status == CANCELLED, 0, o.total - refunds)
    by_customer = np.argsort(o.customer, kind="stable")  # stable: chronological within a customer
    cust_sorted = o.customer[by_customer]
    running = np.cumsum(spend[by_customer])
    group_start = np.searchsorted(cust_sorted, cust_sorted)
    before = running - spend[by_customer] - (running[group_start] - spend[by_customer][group_start])
    priority = np.zeros(o.size, dtype=np.int64)
    priority[by_customer] = np.where(before > VIP_SPEND_CENTS, 10, 0)
    lifetime = np.bincount(o.customer, weights=spend, minlength=n_customers)
    first = np.full(n_customers, -1, dtype=np.int64)
    buyers, first_order = np.unique(o.customer, return_index=True)  # orders are chronological
    first[buyers] = o.placed[first_order]
    return first, lifetime > VIP_SPEND_CENTS, priority

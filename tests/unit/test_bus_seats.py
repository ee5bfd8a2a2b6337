"""The pure parts of seat decisions: overlapping trips, stops, the start-date cut-off."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from services.bus.models import Trip
from services.bus.seats import overlaps, start_of, stops_at


def trip(departs: datetime, hours: float, cities: list[str] | None = None) -> Trip:
    return Trip(
        id="t",
        departs_at=departs,
        arrives_at=departs + timedelta(hours=hours),
        destination_city_codes=cities or ["3205"],
    )


def test_trips_overlap_when_their_windows_intersect() -> None:
    start = datetime(2026, 12, 1, 0, tzinfo=UTC)
    first = trip(start, 20)
    assert overlaps(first, trip(start + timedelta(hours=19), 10))
    assert overlaps(trip(start - timedelta(hours=5), 6), first)
    assert overlaps(first, first)
    assert not overlaps(first, trip(start + timedelta(hours=20), 10))  # arrives as the next leaves
    assert not overlaps(trip(start - timedelta(hours=6), 6), first)


def test_a_start_date_is_a_beijing_date() -> None:
    cut = start_of(date(2026, 12, 10))
    assert cut == datetime(2026, 12, 9, 16, tzinfo=UTC)
    evening_before = datetime(2026, 12, 9, 15, 59, tzinfo=UTC)  # 23:59 in Beijing
    assert evening_before < cut < evening_before + timedelta(minutes=2)


def test_stops() -> None:
    bus = trip(datetime(2026, 12, 1, tzinfo=UTC), 20, ["3201", "3205"])
    assert stops_at(bus, "3201") and stops_at(bus, "3205") and not stops_at(bus, "3202")

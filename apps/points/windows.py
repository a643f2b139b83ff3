"""Themed windows (主题兑换期, e.g. 感恩回馈月): HQ may limit exchanging points for coupons,
or paying with points at checkout, to chosen dates. The windows are reference data
(apps.core.reference): a checkout reads them from the cache, not the database."""

from dataclasses import dataclass
from datetime import date

from django.utils import timezone

from apps.core.reference import reference_get
from apps.points.errors import PointsWindowClosed, PointsWindowNoneAhead
from apps.points.models import PointsWindow

REFERENCE = "points_windows"


@dataclass(frozen=True)
class WindowState:
    """Whether a use of points is open today; while limited, when the open window closes or
    the next one opens (None: no window ahead), and its name."""

    use: str
    limited: bool
    open: bool
    closes_on: date | None = None
    next_opens_on: date | None = None
    name: str = ""

    def as_data(self) -> dict:
        return {
            "limited": self.limited,
            "open": self.open,
            "closes_on": self.closes_on.isoformat() if self.closes_on else None,
            "next_opens_on": self.next_opens_on.isoformat() if self.next_opens_on else None,
            "name": self.name,
        }


def _windows() -> list[tuple[str, date, date, str]]:
    return list(
        PointsWindow.objects.filter(active=True)
        .order_by("starts_on", "pk")
        .values_list("use", "starts_on", "ends_on", "name")
    )


def points_window_state(use: str, today: date | None = None) -> WindowState:
    today = today or timezone.localdate()
    windows = [w for w in reference_get(REFERENCE, _windows) if w[0] == use]
    if not windows:
        return WindowState(use=use, limited=False, open=True)
    for _use, starts_on, ends_on, name in windows:
        if starts_on <= today <= ends_on:
            return WindowState(use=use, limited=True, open=True, closes_on=ends_on, name=name)
    ahead = [w for w in windows if w[1] > today]
    if ahead:
        _use, starts_on, _ends_on, name = ahead[0]
        return WindowState(use=use, limited=True, open=False, next_opens_on=starts_on, name=name)
    return WindowState(use=use, limited=True, open=False)


def points_window_check(use: str, today: date | None = None) -> None:
    """Refuses a use of points outside its windows, saying when the next one opens."""
    state = points_window_state(use, today)
    if state.open:
        return
    label = PointsWindow.Use(use).label
    if state.next_opens_on is None:
        raise PointsWindowNoneAhead(use=label)
    raise PointsWindowClosed(use=label, opens_on=state.next_opens_on.isoformat())


def points_windows_data(today: date | None = None) -> dict:
    """What the member centre and the API show: each use's window state."""
    return {use: points_window_state(use, today).as_data() for use in PointsWindow.Use.values}

"""The as-of date that forecasting, replenishment and the customer scores take (default today).

One check for all of them, so the CLI, the pages and the services refuse the same inputs with
the same message: a date, not after the shop's today (nothing is known about a future day).
"""

from __future__ import annotations

import datetime as dt

from core.errors import FieldIssue, ValidationError
from core.timeutil import local_today


def check_as_of(as_of: object) -> dt.date:
    """``as_of`` as the date to use: today when None; refuses a non-date or a future day."""
    today = local_today()
    if as_of is None:
        return today
    if not isinstance(as_of, dt.date) or isinstance(as_of, dt.datetime):
        raise ValidationError([FieldIssue("as_of", "asof.issue_not_a_date", value=str(as_of))])
    if as_of > today:
        raise ValidationError([FieldIssue("as_of", "asof.issue_future", value=as_of.isoformat(),
                                          params={"as_of": as_of.isoformat(), "today": today.isoformat()})])
    return as_of


def parse_as_of(text: str | None) -> dt.date:
    """``YYYY-MM-DD`` typed on a command line (None: today), checked like any as-of date."""
    if text is None:
        return check_as_of(None)
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        raise ValidationError([FieldIssue("as_of", "asof.issue_not_a_date", value=text)]) from None
    return check_as_of(day)

"""Two costs of a Prophet fit that buy nothing, removed without changing what is fitted.

Profiled on the demo's Prophet series (docs/planning.md), a fit spent ~38 % of its CPU writing
the Stan data file and ~20 % building holiday columns — against ~11 % in Stan's optimizer:

- **The data file.** cmdstanpy writes the data through stanio, which uses ``ujson`` when it is
  installed and otherwise the standard library's *pure-Python* streaming encoder (one Python
  call per number of the T × K feature matrix). :class:`FastJsonBackend` writes the same JSON
  with ``json.dumps`` (the C encoder: same numbers, same text) and hands cmdstanpy the file's
  path — its documented ``data=`` argument, which Prophet's ``fit(**kwargs)`` passes through.
- **Holidays the window never sees.** Prophet makes a column per holiday (and window offset)
  for every row of the holiday table, even for holidays outside the training days. Such a
  column is zero on every training day, so its coefficient stays at its prior's mode, 0, and it
  adds nothing to any forecast. :func:`holidays_seen` keeps only the holidays with a day inside
  the training days, and of their rows only those that touch the training or forecast days.
"""

from __future__ import annotations

import json
import os
import tempfile
from typing import Any

import pandas as pd
from prophet.models import CmdStanPyBackend


class FastJsonBackend(CmdStanPyBackend):
    """Prophet's cmdstanpy backend, with the data file written by the C JSON encoder."""

    def fit(self, stan_init: dict[str, Any], stan_data: dict[str, Any], **kwargs: Any) -> Any:
        _init, data = self.prepare_data(stan_init, stan_data)
        handle, path = tempfile.mkstemp(prefix="oms-prophet-", suffix=".json")
        try:
            with os.fdopen(handle, "w") as out:
                out.write(json.dumps(data, default=_plain))
            return super().fit(stan_init, stan_data, **{"data": path, **kwargs})
        finally:
            os.remove(path)


def _plain(value: Any) -> Any:
    """numpy scalars (Prophet's T, K, S…) as the Python numbers stanio would write."""
    return value.item()


def holidays_seen(holidays: pd.DataFrame | None, train_ds: pd.Series, future_ds: pd.Series) -> pd.DataFrame | None:
    """The rows of ``holidays`` that can change the fit or the forecast (see the module
    docstring); None when none can."""
    if holidays is None or holidays.empty or train_ds.empty:
        return None
    first, last_train = train_ds.min(), train_ds.max()
    last = future_ds.max() if not future_ds.empty else last_train
    ds = pd.to_datetime(holidays["ds"])
    low = ds + pd.to_timedelta(holidays["lower_window"], unit="D")
    high = ds + pd.to_timedelta(holidays["upper_window"], unit="D")
    in_train = (high >= first) & (low <= last_train)
    seen = set(holidays.loc[in_train, "holiday"])
    keep = holidays["holiday"].isin(seen) & (high >= first) & (low <= last)
    return holidays.loc[keep].reset_index(drop=True) if keep.any() else None

"""Demand forecasting, backtesting, model selection, replenishment and allocation.

Everything here is pure: arrays and DataFrames in, arrays and DataFrames out (the run that
reads and stores them is :mod:`core.services.forecast_pipeline`), no sessions and no Streamlit, so each piece is tested on synthetic series
with known answers and the same per-series function runs in a process pool or on Dask.
"""

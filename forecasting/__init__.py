"""Demand forecasting, backtesting, model selection, replenishment and allocation.

Everything here except :mod:`forecasting.pipeline` is pure: arrays and DataFrames in, arrays
and DataFrames out, no sessions and no Streamlit, so each piece is tested on synthetic series
with known answers and the same per-series function runs in a process pool or on Dask.
"""

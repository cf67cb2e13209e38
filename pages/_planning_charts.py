"""Plotly figures for the planning pages (no Streamlit here; the page passes translated labels)."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

HISTORY_COLOUR = "#4c78a8"
FORECAST_COLOUR = "#f58518"
BAND_COLOUR = "rgba(245, 133, 24, 0.18)"


def forecast_figure(frame: pd.DataFrame, labels: dict[str, str]) -> go.Figure:
    """History (units ordered per day), forecast and its 80 % band from
    :func:`core.analytics.planning.series_chart`'s frame; ``labels`` names the traces/axes
    (keys ``history``, ``forecast``, ``band``, ``day``, ``units``)."""
    history = frame[frame["kind"] == "history"]
    forecast = frame[frame["kind"] == "forecast"]
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=history["day"], y=history["qty"], name=labels["history"], mode="lines",
                             line={"color": HISTORY_COLOUR, "width": 1.5}))
    if not forecast.empty:
        fig.add_trace(go.Scatter(
            x=[*forecast["day"], *forecast["day"][::-1]], y=[*forecast["upper"], *forecast["lower"][::-1]],
            fill="toself", fillcolor=BAND_COLOUR, line={"width": 0}, name=labels["band"], hoverinfo="skip"))
        fig.add_trace(go.Scatter(x=forecast["day"], y=forecast["qty"], name=labels["forecast"], mode="lines",
                                 line={"color": FORECAST_COLOUR, "width": 2}))
    fig.update_layout(height=300, margin={"l": 10, "r": 10, "t": 10, "b": 10}, xaxis_title=labels["day"],
                      yaxis_title=labels["units"], legend={"orientation": "h", "y": -0.25})
    return fig


def allocation_figure(table: pd.DataFrame, labels: dict[str, str]) -> go.Figure:
    """Per warehouse: what it needs, its safety-stock floor and what the split gives it."""
    fig = go.Figure()
    for column, colour in (("need", "#bab0ac"), ("floor", "#e45756"), ("allocated", "#54a24b")):
        fig.add_trace(go.Bar(x=table["warehouse"], y=table[column], name=labels[column], marker_color=colour))
    fig.update_layout(barmode="group", height=280, margin={"l": 10, "r": 10, "t": 10, "b": 10},
                      yaxis_title=labels["units"], legend={"orientation": "h", "y": -0.25})
    return fig


def accuracy_figure(models: pd.DataFrame, labels: dict[str, str]) -> go.Figure:
    """Pooled WAPE per model (weekly and lead-time total) from ``model_accuracy``."""
    fig = go.Figure()
    for column, colour in (("wape_weekly", HISTORY_COLOUR), ("wape_lead_time", FORECAST_COLOUR)):
        fig.add_trace(go.Bar(x=models["model"], y=models[column], name=labels[column], marker_color=colour))
    fig.update_layout(barmode="group", height=280, margin={"l": 10, "r": 10, "t": 10, "b": 10},
                      yaxis_tickformat=".0%", legend={"orientation": "h", "y": -0.25})
    return fig

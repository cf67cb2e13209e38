"""The SQL core of the OMS: models, database access, domain services, analytics and the CLI.

Nothing in this package imports Streamlit (except ``core.webui``, the one adapter module), so
everything here is testable with plain pytest and reusable from the CLI.
"""

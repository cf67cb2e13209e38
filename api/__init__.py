"""The open API: the services over HTTP (FastAPI + uvicorn, ``oms api serve``); docs/api.md."""

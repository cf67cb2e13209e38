"""Great Expectations suites kept as code, and the runner that applies them.

``imports`` holds the suites every import validates its staged rows with; ``database`` the
suites ``oms dq run`` validates the database itself with. ``runner`` is the only module that
imports GX (lazily: importing it costs ~2 s).
"""

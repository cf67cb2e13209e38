"""Domain services: one public function per user action, one transaction per call.

Each takes an :class:`core.permissions.Actor`, checks permissions and input first, writes,
records the audit row and commits — or raises an :class:`core.errors.OMSError` having
written nothing. Services return frozen dataclasses or DataFrames, never ORM objects.
"""

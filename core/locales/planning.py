"""Label prefixes of the planning pages (forecast, replenishment, purchase orders, allocation):
what the pages pass to ``show_table`` / ``labels`` for code → name look-ups. The texts
themselves are in the ``planning`` catalogs (``core/locales/<lang>/LC_MESSAGES/planning.po``)."""

COLUMNS = "plan.col"
KIND = "plan.kind"
PO_STATUS = "plan.po_status"
BACKEND = "plan.backend"

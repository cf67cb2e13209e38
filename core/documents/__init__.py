"""Printable documents as PDF: order slip, packing slip, pick list, purchase order, RMA label.

Each module renders one document from what a service already returns (``OrderDetail``,
``PickListDoc``, ``PODetail``, ``RMADetail``) plus the shop's :class:`Letterhead`, in the
reader's language. Pages call them from download buttons; nothing here reads the database.
"""

"""UI string catalogs, one module per feature area; ``core.i18n`` merges them all."""

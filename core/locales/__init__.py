"""UI message catalogs as gettext ``.po`` files, one domain per feature area:
``core/locales/<lang>/LC_MESSAGES/<area>.po``. The message ids are the codes services and
pages use; ``core.i18n`` reads every domain of each language (docs/i18n.md)."""

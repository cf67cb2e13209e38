"""The job kinds: one name per kind of long work, shared by the services that start them, the
worker's handlers and the pages that show them."""

from __future__ import annotations

FORECAST = "forecast.run"  # core.services.forecast_pipeline.run_forecast
REPLENISH = "replenish.suggest"  # core.services.replenishment.generate_suggestions
IMPORT = "import.run"  # core.services.imports.run_import (files above OMS_IMPORT_JOB_MB)
SUMMARY = "summary.refresh"  # core.analytics.summary.refresh (periodic, and after imports)
BACKUP = "backup.scheduled"  # core.services.backup_schedule.run_scheduled (periodic, and the Backup page)
JOURNAL = "finance.export_journal"  # core.services.accounting_export.start_export (ranges above JOB_DAYS)
NAMES = "names.convert"  # core.services.customer_names.convert_names (the setting switched on or off)

"""How much of an uploaded file the reader will look at before refusing it.

Every upload is treated as hostile: the process that reads it also serves every other user,
so a file must be refused in seconds and in bounded memory, never after the machine has
swapped. The limits are generous for real channel exports (Excel's own sheet limits, a few
hundred columns) and each can be raised per installation with an environment variable:

======================  ==============================  ===========  ====================================
limit                   environment variable            default      why
======================  ==============================  ===========  ====================================
file size               ``OMS_IMPORT_MAX_MB``           40 MB        pandas needs ~10× a file in memory
XLSX unpacked size      ``OMS_IMPORT_MAX_UNZIPPED_MB``  400 MB       all zip members together
XLSX compression ratio  ``OMS_IMPORT_MAX_RATIO``        100 : 1      a zip bomb (Apache POI's threshold)
XLSX zip members        –                               1 000        a sheet file per sheet, not more
XLSX shared strings     ``OMS_IMPORT_MAX_STRINGS_MB``   128 MB       openpyxl parses this part whole
rows                    ``OMS_IMPORT_MAX_ROWS``         1 048 576    Excel's sheet limit
columns                 ``OMS_IMPORT_MAX_COLUMNS``      1 000        real exports have < 200
cells (rows × columns)  ``OMS_IMPORT_MAX_CELLS``        20 000 000   ~2 GB as Python strings
characters per cell     ``OMS_IMPORT_MAX_CELL_CHARS``   32 767       Excel's cell limit
characters per line     ``OMS_IMPORT_MAX_LINE_CHARS``   1 048 576    CSV/text lines
seconds of parsing      ``OMS_IMPORT_MAX_SECONDS``      120          a last resort against slow input
======================  ==============================  ===========  ====================================

The XLSX ratio is checked while the members are inflated (after the first megabyte), so a
bomb is refused after inflating at most ``ratio ×`` its compressed size, not gigabytes.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

from core.importing.issues import ImportFileError

MB = 1024 * 1024
DEFAULT_MAX_MB = 40  # the same as Streamlit's maxUploadSize (.streamlit/config.toml)


def _env(name: str, default: float) -> float:
    raw = os.environ.get(name)
    return float(raw) if raw not in (None, "") else default


@dataclass(frozen=True)
class ReadLimits:
    """The bounds one read works under (see the module docstring for the defaults)."""

    max_bytes: int = DEFAULT_MAX_MB * MB
    max_unzipped_bytes: int = 400 * MB
    max_ratio: float = 100.0
    ratio_grace_bytes: int = MB  # small members (styles, one short sheet) may compress better
    max_zip_members: int = 1000
    max_shared_strings_bytes: int = 128 * MB
    max_rows: int = 1_048_576
    max_columns: int = 1000
    max_cells: int = 20_000_000
    max_cell_chars: int = 32_767
    max_line_chars: int = MB
    max_seconds: float = 120.0

    @classmethod
    def from_env(cls) -> ReadLimits:
        """The defaults, overridden by the ``OMS_IMPORT_MAX_*`` environment variables."""
        base = cls()
        return cls(
            max_bytes=int(_env("OMS_IMPORT_MAX_MB", DEFAULT_MAX_MB) * MB),
            max_unzipped_bytes=int(_env("OMS_IMPORT_MAX_UNZIPPED_MB", base.max_unzipped_bytes / MB) * MB),
            max_ratio=_env("OMS_IMPORT_MAX_RATIO", base.max_ratio),
            max_shared_strings_bytes=int(_env("OMS_IMPORT_MAX_STRINGS_MB", base.max_shared_strings_bytes / MB) * MB),
            max_rows=int(_env("OMS_IMPORT_MAX_ROWS", base.max_rows)),
            max_columns=int(_env("OMS_IMPORT_MAX_COLUMNS", base.max_columns)),
            max_cells=int(_env("OMS_IMPORT_MAX_CELLS", base.max_cells)),
            max_cell_chars=int(_env("OMS_IMPORT_MAX_CELL_CHARS", base.max_cell_chars)),
            max_line_chars=int(_env("OMS_IMPORT_MAX_LINE_CHARS", base.max_line_chars)),
            max_seconds=_env("OMS_IMPORT_MAX_SECONDS", base.max_seconds),
        )


class Budget:
    """Counts rows and cells of one file against its limits, and the time spent on it.

    Parsing loops call :meth:`row` once per record; the clock is read every 4096 rows (a
    monotonic duration, not a date), so the check costs nothing measurable.
    """

    def __init__(self, name: str, limits: ReadLimits) -> None:
        self.name, self.limits = name, limits
        self.rows = self.cells = 0
        self._started = time.monotonic()

    def row(self, width: int) -> None:
        """Account for one more record of ``width`` fields (the header counts as row 1)."""
        self.rows += 1
        self.cells += width
        limits = self.limits
        if width > limits.max_columns:
            raise ImportFileError("hf.too_many_columns", self.name, row=self.rows, columns=width,
                                  limit=limits.max_columns)
        if self.rows > limits.max_rows:
            raise ImportFileError("hf.too_many_rows", self.name, limit=limits.max_rows)
        if self.cells > limits.max_cells:
            raise ImportFileError("hf.too_many_cells", self.name, row=self.rows, limit=limits.max_cells)
        if self.rows % 4096 == 0:
            self.check_time()

    def check_time(self) -> None:
        """Refuse once reading has taken longer than the limit allows."""
        if time.monotonic() - self._started > self.limits.max_seconds:
            raise ImportFileError("hf.too_slow", self.name, row=self.rows, limit=f"{self.limits.max_seconds:g}")

    def cell_text(self, text: str, row: int, column: int) -> None:
        """Refuse a cell longer than Excel itself could hold."""
        if len(text) > self.limits.max_cell_chars:
            raise ImportFileError("hf.cell_too_long", self.name, row=row, column=column, chars=len(text),
                                  limit=self.limits.max_cell_chars)

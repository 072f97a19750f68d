"""A labels CSV of `file,label` rows, read as spreadsheets save it (data.labels_csv)."""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import DataError


def _csv_rows(path: Path) -> list[list[str]]:
    """The rows of a CSV as spreadsheets save it: UTF-8 with or without a byte-order mark, `,`, `;` or
    tab between cells, quoted cells, any line ends; empty cells at a row's end dropped."""
    import csv
    import io

    try:
        text = path.read_text(encoding="utf-8-sig")  # Excel's "CSV UTF-8" starts with a byte-order mark
    except UnicodeDecodeError:
        raise DataError(f"{path}: not UTF-8 text (save it as 'CSV UTF-8')") from None
    except OSError as e:
        raise DataError(f"{path}: cannot read it ({e.strerror or e})") from None
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:  # one column, or too few rows to tell: commas
        dialect = csv.excel
    rows, reader = [], csv.reader(io.StringIO(text, newline=""), dialect)
    try:
        for row in reader:
            while row and not row[-1].strip():
                row.pop()
            rows.append(row)
    except csv.Error as e:  # a cell longer than the csv module reads, a stray NUL byte
        raise DataError(f"{path}, line {reader.line_num}: not a readable CSV row ({e})") from None
    return rows


def read_labels_csv(path: Path, folder: Path) -> dict[str, str]:
    """{absolute image path: class name} from a CSV of `file,label` rows (file relative to `folder`; a header
    row `file,label` is allowed). A row naming a file outside `folder`, or a file listed twice with two
    labels, is a DataError naming it."""
    if not path.is_file():
        raise DataError(f"labels CSV not found: {path}")
    root = os.path.abspath(folder)
    labels, lines = {}, {}
    for n, row in enumerate(_csv_rows(path), 1):
        if not row or (n == 1 and [c.strip().lower() for c in row] == ["file", "label"]):
            continue
        if len(row) != 2 or not row[1].strip():
            raise DataError(f"{path}, line {n}: expected 'file,label', got {row!r}")
        file, label = os.path.abspath(os.path.join(root, row[0].strip())), row[1].strip()
        if os.path.commonpath([root, file]) != root:
            raise DataError(f"{path}, line {n}: {row[0].strip()} is not an image file under data.path ({root})")
        if not os.path.isfile(file):
            header = " (a header row, if any, must be 'file,label')" if n == 1 else ""
            raise DataError(f"{path}, line {n}: no such image {file}{header}")
        if labels.get(file, label) != label:
            raise DataError(
                f"{path}, line {n}: {row[0].strip()} is listed twice with different labels "
                f"({labels[file]!r} on line {lines[file]}, {label!r} here)"
            )
        labels[file], lines[file] = label, n
    if not labels:
        raise DataError(f"{path}: no labelled files")
    return labels

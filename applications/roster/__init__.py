"""Roster import (名册导入): a village's spreadsheet of applicants becomes
households and draft applications, all or nothing or only the valid rows.

read.py turns a file into rows, columns.py finds which column is which,
cells.py reads one cell, check.py plans the import (the preview), write.py
carries the plan out in one transaction, report.py writes the result sheet.
"""

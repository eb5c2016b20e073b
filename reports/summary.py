"""The campaign summary (工作总结 figures) as PDF and .xlsx."""

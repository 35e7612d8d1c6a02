"""Services between the views and storage: rendered items and export formats."""

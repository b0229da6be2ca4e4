"""The staff console: a FastAPI service with the staff API (CONTRACT.md §6) and the /console pages."""

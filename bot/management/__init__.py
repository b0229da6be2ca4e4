"""Written reports for management: the weekly summary and the report on one major-urgent complaint (seed 003)."""

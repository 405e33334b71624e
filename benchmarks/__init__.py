"""Side-by-side speed runs that print tables (never timed assertions in tests)."""

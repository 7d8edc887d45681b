"""`%pyvariant install`: plan, recipes, the installer run, and locks."""

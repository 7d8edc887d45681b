"""Package indexes: a simple-API client and the variant-aware view served to installers."""

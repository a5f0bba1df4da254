"""Modal screens: the add-jobs dialog and the key help."""

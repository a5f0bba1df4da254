"""Output files of finished jobs: access links, fetching, rendering."""

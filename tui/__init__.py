"""batchmon: a terminal monitor for Daily's Batch Processor jobs."""

__version__ = "0.2.0"

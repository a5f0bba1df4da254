"""The Batch Processor API: client, models, request budget and error tree."""

from tui.api.budget import RequestBudget
from tui.api.client import DEFAULT_API_URL, BatchClient, with_retries
from tui.api.models import TERMINAL_STATUSES, AccessLinks, Job, JobListPage, JobSummary, OutputRef

__all__ = [
    "DEFAULT_API_URL",
    "TERMINAL_STATUSES",
    "AccessLinks",
    "BatchClient",
    "Job",
    "JobListPage",
    "JobSummary",
    "OutputRef",
    "RequestBudget",
    "with_retries",
]

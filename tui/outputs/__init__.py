"""Output links, reading and downloading of transcripts, summaries and SOAP notes (Textual-free)."""

from tui.outputs.errors import DownloadExists, OutputError, SaveError
from tui.outputs.fetch import PREVIEW_CAP, Fetched, Outputs, Progress
from tui.outputs.links import OutputLink, main_output
from tui.outputs.save import download_folder

__all__ = [
    "PREVIEW_CAP",
    "DownloadExists",
    "Fetched",
    "OutputError",
    "OutputLink",
    "Outputs",
    "Progress",
    "SaveError",
    "download_folder",
    "main_output",
]

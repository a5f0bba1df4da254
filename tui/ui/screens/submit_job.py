"""The submit form: fields checked before sending, the server's refusal shown in place, nothing typed lost."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.suggester import SuggestFromList
from textual.widgets import Button, Checkbox, Input, Label, Select, Static

from tui.api import errors
from tui.api.models import SubmitRequest
from tui.api.outcomes import Submitted
from tui.api.submission import LANGUAGES, PRESETS, SubmitForm, preview_template, template_problem
from tui.present.text import shown

OTHER = "other"  # the preset choice that reveals a free-text field
FIELDS = ("preset", "source", "language", "model", "template")  # fields with an error line under them
SEND_AGAIN = "Send again (ctrl+s) sends it once more"

Send = Callable[[SubmitRequest], Awaitable[Submitted]]


class SubmitScreen(ModalScreen[Submitted | None]):
    """Returns what became of the submit (a job id, perhaps found after a lost answer), or None."""

    DEFAULT_CSS = """
    SubmitScreen { align: center middle; }
    #submit-dialog { width: 84; max-width: 100%; height: auto; max-height: 100%; }
    #submit-dialog VerticalScroll { height: auto; max-height: 100%; }
    #submit-dialog .row { height: auto; margin-top: 1; }
    #submit-dialog .sub { height: auto; }
    #submit-dialog Label { width: 14; }
    #submit-dialog Input, #submit-dialog Select { width: 1fr; }
    #submit-dialog .field-error { color: $text-error; height: auto; padding-left: 14; }
    #submit-dialog .note { color: $text-muted; height: auto; padding-left: 14; }
    #submit-dialog #preset-other { display: none; margin-left: 14; }
    #submit-dialog #preset-other.shown { display: block; }
    #submit-dialog .checks { height: auto; padding-left: 14; margin-top: 1; }
    #submit-dialog .checks Checkbox { margin-right: 2; }
    #form-error { color: $text-error; height: auto; margin-top: 1; }
    #submit-dialog .buttons { height: 1; margin-top: 1; }
    #submit-dialog .buttons .keys { width: 1fr; color: $text-muted; }
    #submit-dialog .buttons Button { margin-left: 1; }
    """

    BINDINGS = [
        Binding("escape", "cancel", "Cancel"),
        Binding("ctrl+s", "send", "Submit", priority=True),
    ]

    def __init__(self, send: Send) -> None:
        super().__init__()
        self._send_request = send
        self.sending = False

    def compose(self) -> ComposeResult:
        with Vertical(id="submit-dialog", classes="dialog") as dialog:
            dialog.border_title = "Submit a job"
            with VerticalScroll():
                with Horizontal(classes="row"):
                    yield Label("Preset")
                    options = [(name, name) for name in PRESETS] + [("other…", OTHER)]
                    yield Select(options, value=PRESETS[0], allow_blank=False, id="preset", compact=True)
                yield Input(placeholder="a preset name Daily added later", id="preset-other", compact=True)
                yield Static(classes="field-error", id="preset-error")
                with Horizontal(classes="row"):
                    yield Label("Source")
                    sources = [("recording id", "recordingId"), ("URI (http/https)", "uri")]
                    yield Select(sources, value="recordingId", allow_blank=False, id="source-type", compact=True)
                with Horizontal(classes="sub"):
                    yield Label("")
                    yield Input(placeholder="the recording id", id="source", compact=True)
                yield Static(classes="field-error", id="source-error")
                with Horizontal(classes="row"):
                    yield Label("Language")
                    suggester = SuggestFromList(LANGUAGES, case_sensitive=False)
                    yield Input(
                        placeholder="en (default); e.g. en-GB, pt-BR", suggester=suggester, id="language", compact=True
                    )
                yield Static(classes="field-error", id="language-error")
                yield Static(classes="note", id="language-note")
                with Horizontal(classes="row"):
                    yield Label("Model")
                    yield Input(placeholder="transcript model, e.g. nova-2 (optional)", id="model", compact=True)
                yield Static(classes="field-error", id="model-error")
                with Horizontal(classes="checks"):
                    yield Checkbox("punctuate", id="punctuate", compact=True)
                    yield Checkbox("profanity filter", id="profanity_filter", compact=True)
                    yield Checkbox("redact", id="redact", compact=True)
                with Horizontal(classes="row"):
                    yield Label("Output name")
                    yield Input(
                        placeholder="output; tokens {epoch_time} {domain_name} {job_id}", id="template", compact=True
                    )
                yield Static(classes="field-error", id="template-error")
                yield Static(classes="note", id="template-preview")
            yield Static(id="form-error")
            with Horizontal(classes="buttons"):
                yield Static("ctrl+s submit · esc cancel", classes="keys")
                yield Button("Submit", variant="primary", id="send", compact=True)
                yield Button("Cancel", id="cancel", compact=True)

    def on_mount(self) -> None:
        for line in self.query(".field-error, .note, #form-error"):
            line.display = False
        self._show_preview()
        self.query_one("#source", Input).focus()

    # -- reading the form -------------------------------------------------------------------------

    def _value(self, selector: str) -> str:
        return self.query_one(selector, Input).value

    def form(self) -> SubmitForm:
        preset = self.query_one("#preset", Select).value
        source_type = self.query_one("#source-type", Select).value
        options: dict[str, object] = {}
        model = self._value("#model").strip()
        if model:
            options["model"] = model
        for name in ("punctuate", "profanity_filter", "redact"):
            if self.query_one(f"#{name}", Checkbox).value:
                options[name] = True  # unticked: left to Daily's default
        return SubmitForm(
            preset=self._value("#preset-other") if preset == OTHER else str(preset),
            source_type=str(source_type),
            source=self._value("#source"),
            language=self._value("#language"),
            template=self._value("#template"),
            options=options,
        )

    # -- live feedback ----------------------------------------------------------------------------

    @on(Select.Changed, "#preset")
    def _preset_changed(self, event: Select.Changed) -> None:
        other = self.query_one("#preset-other", Input)
        other.set_class(event.value == OTHER, "shown")
        if event.value == OTHER:
            other.focus()
        self._show_preview()

    @on(Select.Changed, "#source-type")
    def _source_type_changed(self, event: Select.Changed) -> None:
        placeholder = "https://… (an audio or video file)" if event.value == "uri" else "the recording id"
        self.query_one("#source", Input).placeholder = placeholder

    @on(Input.Changed)
    def _input_changed(self, event: Input.Changed) -> None:
        field = (event.input.id or "").removesuffix("-other")
        if field in FIELDS:
            self._error(field, "")  # the user is fixing it
        if event.input.id == "template":
            self._show_preview()
        if event.input.id == "language":
            notes = [note for note in self.form().notes() if "documented list" in note]
            self._say("#language-note", notes[0] if notes else "")

    def _show_preview(self) -> None:
        template = self._value("#template").strip()
        problem = template_problem(template)
        if problem:
            self._error("template", problem)
            self._say("#template-preview", "")
            return
        self._error("template", "")
        preset = self.query_one("#preset", Select).value
        folder = "summary" if preset == "summarize" else "transcript"
        name = preview_template(template, job_id="JOB-ID", domain="DOMAIN")
        self._say("#template-preview", f"→ DOMAIN/JOB-ID/{folder}/{name}.…")

    def _error(self, field: str, message: str) -> None:
        self._say(f"#{field}-error", message)

    def _form_error(self, message: str) -> None:
        self._say("#form-error", message)

    def _say(self, selector: str, message: str) -> None:
        """Show a line under a field (or the form); an empty one takes no room."""
        line = self.query_one(selector, Static)
        line.update(Text(shown(message)))
        line.display = bool(message)

    # -- sending ----------------------------------------------------------------------------------

    def action_send(self) -> None:
        if self.sending:
            return
        form = self.form()
        problems = form.problems()
        for field in FIELDS:
            self._error(field, problems.get(field, ""))
        if problems:
            self._form_error("Fix the fields marked above; nothing was sent.")
            first = next(field for field in FIELDS if field in problems)
            target = "#preset-other" if first == "preset" and self.query_one("#preset", Select).value == OTHER else None
            self.query_one(target or f"#{first}").focus()
            return
        self._form_error("")
        self._send(form.request())

    @work(exit_on_error=False, group="submit")
    async def _send(self, request: SubmitRequest) -> None:
        self.sending = True
        self.query_one("#send", Button).disabled = True
        self._form_error("Sending…")
        try:
            result = await self._send_request(request)
        except errors.BadRequest as exc:
            self._form_error(f"Daily refused the job: {exc}. Nothing was created; fix and submit again.")
            return
        except errors.ApiError as exc:
            self._form_error(f"The submit failed: {errors.describe(exc)}")
            return
        finally:
            self.sending = False
            self.query_one("#send", Button).disabled = False
        if not result.lost or result.job_id is not None:
            self.dismiss(result)
            return
        self.query_one("#send", Button).label = "Send again"  # the user's call, never automatic
        if result.checked:
            self._form_error(
                f"The answer was lost ({result.problem}) and no matching job appeared, so it was most likely "
                f"not created. {SEND_AGAIN}."
            )
        else:
            self._form_error(
                f"The answer was lost ({result.problem}) and the job list could not be read: whether the job "
                f"exists is unknown: check the job list first. {SEND_AGAIN}."
            )

    def action_cancel(self) -> None:
        if self.sending:
            self.notify("The submit is on its way; wait for its answer.", severity="warning", timeout=3)
            return
        self.dismiss(None)

    @on(Input.Submitted)
    def _enter(self) -> None:
        self.action_send()

    @on(Button.Pressed)
    def _button(self, event: Button.Pressed) -> None:
        if event.button.id == "send":
            self.action_send()
        else:
            self.action_cancel()

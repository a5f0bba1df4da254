"""Widgets of the main screen; they render JobViews and never hold the HTTP client."""

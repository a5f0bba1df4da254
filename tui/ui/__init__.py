"""The Textual App: factory, screens, widgets, keymap, palette, clipboard and browser mode."""

"""The App's actions, as mixins by what they act on: jobs at Daily, outputs, copying, the API key."""

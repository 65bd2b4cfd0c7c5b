"""The application: its factory (`wxapp.app`), the domain areas and the adapters.

Nothing is imported here, so importing a pure module (say `wxapp.progress.core`) loads
no framework. docs/architecture.md maps the packages.
"""

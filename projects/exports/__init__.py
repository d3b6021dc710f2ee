"""Exports in standard mask formats, and the project archive (the portable project state)."""

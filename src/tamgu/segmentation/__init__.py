"""Separating what matters from the rest of a frame: `background` (the person, or what moves)."""

"""Object identification: `detectors` (faces, text, people, template search, background removal)."""

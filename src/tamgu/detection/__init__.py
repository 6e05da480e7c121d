"""Object identification: `faces`, `text`, `objects` (people and objects), `search` (a template inside images),
all run by `core.run_detector` over the one frame loop; `models` finds the deep models offline; `tracking`
gives objects on video an id."""

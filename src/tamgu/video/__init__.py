"""Practice data from videos: `frames` (videos -> a labelled, deduplicated image dataset) and `clips`
(writing and reading test clips)."""

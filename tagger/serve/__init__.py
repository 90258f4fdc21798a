"""``tagger serve``: an HTTP API over a loaded tagger, with micro-batching and a page that shows the entities."""

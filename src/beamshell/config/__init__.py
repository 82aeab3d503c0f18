"""Configuration: YAML tree, object factory, persisted settings, the embedded Redis server."""

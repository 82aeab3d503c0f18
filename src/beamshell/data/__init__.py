"""The Redis data model: publishing scan nodes and reading them from any process."""

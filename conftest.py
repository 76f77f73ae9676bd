"""Repository-level conftest: nothing to configure; the plugin is loaded via its entry point."""

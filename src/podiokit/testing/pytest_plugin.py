"""pytest plugin: fixtures for testing against the Podio emulator (in progress)."""

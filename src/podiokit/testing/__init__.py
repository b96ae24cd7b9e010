"""The Podio emulator: a stateful fake Podio API (in progress)."""

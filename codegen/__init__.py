"""The podiokit code generator: reads `spec/`, writes the generated modules.

Run from the repository root: `python -m codegen` (write), `python -m codegen --check`
(fail on drift), `python -m codegen --list` (one line per operation).
"""

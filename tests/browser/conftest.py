"""Browser fixtures live in tests/conftest.py, shared with other folders' browser tests."""

"""The Windows 6.0 servicing knowledge base (``data/servicing.toml``): typed loader and schema."""

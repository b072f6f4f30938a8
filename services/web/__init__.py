"""The web pages (Chinese first): server-rendered, on the same use cases and read models as the API."""

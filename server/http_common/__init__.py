"""HTTP concerns shared by the API and the web pages (which may not import each other)."""

"""Renderers of verification results: JSON, Markdown, HTML, LaTeX, JUnit XML."""

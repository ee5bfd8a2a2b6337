"""eastwest."""

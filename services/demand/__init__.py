"""demand: workers (personal data), demand lists, employment status and early warnings."""

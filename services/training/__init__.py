"""training: training bases, order-based programmes, enrolments and completions."""

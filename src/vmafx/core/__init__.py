"""Pure domain: values and rules, no I/O."""

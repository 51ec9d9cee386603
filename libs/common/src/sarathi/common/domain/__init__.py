"""Domain types: money and prices, instruments, calendar, charges. Pure: no I/O."""

"""sarathi.signals: 5-minute bars from index ticks, indicators, and the trend signal."""

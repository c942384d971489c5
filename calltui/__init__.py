"""calltui: why call-tracking Tasks did or did not become Marketo Measure touchpoints."""

__version__ = "0.1.0"

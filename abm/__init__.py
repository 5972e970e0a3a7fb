"""GeoInference ABM: AI inference as latency-constrained, relocatable electricity demand."""

__version__ = "0.1.0"

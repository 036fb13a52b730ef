"""hookbin: a local webhook catcher that records every request and answers as you choose."""

__version__ = "0.1.0"

"""The client side of hookbin: talking to other people's receivers (the sender simulator)."""

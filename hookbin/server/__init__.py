"""The network side of hookbin: the catcher, the loopback control API, and running them."""

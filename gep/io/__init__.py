"""Readers and writers: the only code in gep that touches the disk."""

"""Jobs: every command that writes a manifest, as load -> compute -> write."""

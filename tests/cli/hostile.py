"""The hostile numbers of issue 14, for the tests of every place a number enters.

An exponent of 7 and of 8 digits (with and without a unit), a 5,000-digit integer, and
1e1000000 (which cost 26 s of CPU before it was refused): each must be refused in one
line, at once, before any conversion.
"""

#: The issue's strings, as a user would type them.
HOSTILE = ["1e9999999 t", "1e99999999", "9" * 5000, "1e1000000"]
#: The same without a unit (for plain numbers and file cells).
HOSTILE_PLAIN = [v for v in HOSTILE if " " not in v]

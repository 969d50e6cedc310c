"""The parser version is half of every checkpoint key.

Bump it whenever the output of :func:`tasks.extract.parse_filing` changes for any input (a new
field, a fixed value, a renamed column): every cached result is then recomputed on the next
run. Nothing else about the code (its source text, the run, the file's path) is in the key.
"""

PARSER_VERSION = "2"

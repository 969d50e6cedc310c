"""The parser version is half of every checkpoint key; the digest says what it vouches for.

Bump ``PARSER_VERSION`` whenever the output of :func:`tasks.extract.parse_filing` changes for
any input (a new field, a fixed value, a renamed column, a column's type): every cached result
is then recomputed on the next run. Nothing else about the code (its source text, the run, the
file's path) is in the key. ``OUTPUT_DIGEST`` is :func:`tasks.output_digest.output_digest` of
the real corpus at this version: a test fails when the output changes and it does not.
"""

PARSER_VERSION = "2"
# python -m tasks.output_digest ../shared/form3-corpus
OUTPUT_DIGEST = "3ffcc1582495bca7100ea51a4f72e754adcb3f2d930450ffc869368551a9291c"

"""Streaming cores: read and write datasets larger than memory (bounded memory, same bytes as in memory).

The public entry points are `api.stream` and `api.write_stream` (re-exported as `picsellia_formats.stream`
and `picsellia_formats.write_stream`); `convert(..., stream=)` and `convert --stream` use them.
"""

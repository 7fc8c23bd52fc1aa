"""Streaming cores: read and write datasets larger than memory (bounded memory, same bytes as in memory).

Not yet wired into the readers, writers or the CLI (see `coco_source` and `coco_sink`).
"""

"""One image into its Example: the hot-path encoder equals the generic one."""

from __future__ import annotations

import struct

import numpy as np
import pytest

from picsellia_formats.formats.tfrecord.example import encode_example
from picsellia_formats.report import Report
from picsellia_formats.tfod.labelmap import label_map_items

F32 = np.float32


def _f32(x: float) -> float:
    return struct.unpack("<f", struct.pack("<f", x))[0]



@pytest.mark.parametrize("masks", [False, True])
@pytest.mark.parametrize("pascal", [False, True])
@pytest.mark.parametrize("classes", [False, True])
def test_direct_record_encoder_equals_the_generic_one(synthetic, masks, pascal, classes):
    """The hot-path encoder (fixed key order) writes exactly encode_example(job_features(...))."""
    from picsellia_formats.formats.tfrecord.encode import EncodeOptions, encode_record, job_features
    from picsellia_formats.formats.tfrecord.jobs import build_jobs
    from picsellia_formats.formats.tfrecord.write import image_source
    from picsellia_formats.image_header import read_header as sniff

    dataset, images = synthetic
    jobs, _, _ = build_jobs(dataset, label_map_items(dataset.labels), masks=masks, report=Report())
    options = EncodeOptions(image_source(images), masks, pascal, classes)
    for job in jobs:
        data = options.images.fetch(job.file_name, job.source_id, job.split).data
        info = sniff(data)
        assert encode_record(job, data, info, options, {}) == encode_example(job_features(job, data, info, options, {}))

"""The TF OD API tests share TensorFlow and the synthetic data set with the TFRecord tests."""

from __future__ import annotations

from tests.formats.tfrecord.conftest import synthetic, tf  # noqa: F401 - fixtures

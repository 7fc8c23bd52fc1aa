"""Pre-upload validation: find every defect a user would regret uploading, and fix the safe ones.

`validate` runs the rules of `RULES` (structure, geometry, images, Q&A, dataset) and returns a
`ValidationReport`; `fix` returns a corrected copy and the list of every change.

Example:
    >>> import picsellia_formats as pf
    >>> report = pf.validate("fixtures/voc_toy_cats/gts_coco_format/toy_example_coco.JSON",
    ...                      images="fixtures/voc_toy_cats/images")
    >>> report.summary()
    '3 info'
"""

from .context import Options, Source
from .findings import Finding, ValidationReport
from .fixes import Change, FixLog, fix
from .rules import CATEGORIES, RULES, SEVERITIES, Rule, select
from .run import validate

__all__ = [
    "CATEGORIES",
    "RULES",
    "SEVERITIES",
    "Change",
    "Finding",
    "FixLog",
    "Options",
    "Rule",
    "Source",
    "ValidationReport",
    "fix",
    "select",
    "validate",
]

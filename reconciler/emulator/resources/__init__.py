"""Resource modules. Importing this package fills the tables in ``registry``."""

from . import campaigns, datasets, generic, job_output, others, recommenders, solutions
from .registry import DELETE_CHECKS, HANDLERS, ON_REMOVE, ON_STATUS, ON_UPDATE_ACTIVE, UPDATE_FIELDS

__all__ = [
    "DELETE_CHECKS",
    "HANDLERS",
    "ON_REMOVE",
    "ON_STATUS",
    "ON_UPDATE_ACTIVE",
    "UPDATE_FIELDS",
    "campaigns",
    "datasets",
    "generic",
    "job_output",
    "others",
    "recommenders",
    "solutions",
]

"""A local Amazon Personalize (control plane, runtime and events) behind real boto3 clients.

``PersonalizeEmulator`` answers all 71 operations of botocore's ``personalize`` model (AWS JSON 1.1) with
the service's lifecycles in virtual time, its dependency rules, quotas, model-driven input validation,
documented ARN formats, S3-backed import jobs that keep every row (``emulator.data``, columnar numpy arrays,
persisted beside ``--state``), realistic training failures, automatic training, small real models per
recipe family (``emulator.models``: popularity, trending, item co-occurrence, implicit ALS; performHPO
searches the solution's ranges) and offline metrics computed on the documented 90/10 user split.
``personalize-runtime`` and ``personalize-events`` are answered from those models and data
(``reconciler.emulator.dataplane``: filters applied to the data, PutEvents counting for a user's next
answer). Timestamps are the clock's; a ``ScaledClock`` keeps the host's time and shortens durations.
Reach it in-process with ``emulated_client``/``attach``
(a botocore ``before-send`` hook on the sentinel endpoint, so moto keeps serving S3/IAM/STS), or through
``wire_call`` from an HTTP server. Tests drive time with ``VirtualClock`` and faults with ``.control``.

Usage (tests)::

    clock = VirtualClock()
    emulator = PersonalizeEmulator(clock=clock)  # realistic DurationProfile(); .instant() for unit tests
    personalize = emulated_client(emulator, "eu-west-1")  # a real boto3 client; moto may mock S3 meanwhile
    personalize.create_dataset_group(name="retail")
    clock.advance(3600)  # every pending transition completes, in time order
    emulator.control.fail_next("solution_version", "my-solution", "Out of memory")
    emulator.control.inject_fault("CreateCampaign", "ThrottlingException", count=2)

``PersonalizeEmulator(strict=True)`` checks every response and error against botocore's model and raises
``ContractViolation`` on a mismatch (the test fixtures use it). Quotas are a table (``DEFAULT_QUOTAS``,
``control.set_quota``). ``snapshot()``/``restore()`` carry the whole state as JSON-able data.

What it does NOT emulate:

* runtime details: ``context`` moves user-personalization and ranking answers by a stand-in (each item's lift
  under the given values, ``models.context_weights``), not the service's contextual model; UP-v2 ``reason``
  lists, impressions and recommendationId attribution are not modelled; anonymous sessionId events are not
  joined to a user at the next training; the 100-most-recent-per-event-type window of Interactions filters,
  the up-to-20-minute delay before filters see PutItems/PutUsers records, the domain use cases' automatic
  exclusion of purchased items and the runtime request quotas are not applied; Trending-Now sees events
  recorded after training only at its next training, not at each trend-discovery interval as the service does;
* the service's own algorithms: models are small stand-ins (see ``reconciler.emulator.models``), so metric
  values differ from AWS's for the same data; aws-similar-items, aws-vod-more-like-x and
  aws-semantic-similarity use item co-occurrence (plus shared metadata for items without events);
  Next-Best-Action ranks by global take rates; themed batch output is a labelled template ("Items like
  <name>"); trend prediction accuracy, average_rewards_at_k and the Next-Best-Action metrics are not
  computed; trainingHours is an estimate from the row count; training runs when a version becomes ACTIVE,
  inside the request that notices it (about 30 s of CPU for user-personalization on 1M interactions);
* IAM beyond what an import or data deletion job checks (the role exists and trusts
  personalize.amazonaws.com; the bucket policy lets that principal get and list the data): role permission
  policies, KMS key policies and the write permissions of export and batch output are not evaluated;
* UP-v2's per-item ``reason`` lists are not written in batch output;
* data limits (no 1000-record minimum per import job, no size limits beyond ``max_rows`` per dataset, no
  textual or categorical limits), and the Avro schema beyond record/fields/names/types;
* AutoML search (it picks the first listed recipe); User-Personalization's 2-hourly in-place model
  refreshes; billing;
* eventual consistency and control-plane rate limits (inject them with ``control.inject_fault``);
* metric attribution reports; CreateDataInsightsJob and other operations newer than botocore's model.
"""

from __future__ import annotations

from .clock import Clock, ScaledClock, SystemClock, VirtualClock
from .core import NOT_IMPLEMENTED, Call, PersonalizeEmulator, is_mutating
from .errors import ContractViolation, EmulatorError, InjectedConnectionReset
from .faults import Control
from .hook import SENTINEL_ENDPOINT, attach, emulated_client
from .kinds import STATUSES
from .profile import DEFAULT_QUOTAS, DurationProfile
from .shapes import check_shape, service_model
from .wire import wire_call

__all__ = [
    "DEFAULT_QUOTAS",
    "NOT_IMPLEMENTED",
    "SENTINEL_ENDPOINT",
    "STATUSES",
    "Call",
    "Clock",
    "ContractViolation",
    "Control",
    "DurationProfile",
    "EmulatorError",
    "InjectedConnectionReset",
    "PersonalizeEmulator",
    "ScaledClock",
    "SystemClock",
    "VirtualClock",
    "attach",
    "check_shape",
    "emulated_client",
    "is_mutating",
    "service_model",
    "wire_call",
]

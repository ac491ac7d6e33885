"""Event tracker handler.

API ops: CreateEventTracker, DescribeEventTracker, ListEventTrackers, DeleteEventTracker; tags via
Tag/UntagResource. Updatable fields: tags only; a replacement issues a new trackingId (PutEvents clients must
be reconfigured). The ARN carries a service-generated id, so it is never predicted.
"""

from __future__ import annotations

from dataclasses import dataclass

from reconciler.model.address import Kind
from reconciler.model.spec import EventTrackerSpec
from reconciler.resources.base import Ops, TableHandler


@dataclass(frozen=True)
class EventTrackerHandler(TableHandler):
    def arn_for(
        self,
        physical_name: str,
        region: str,
        account: str,
        *,
        group_name: str | None = None,
        dataset_type: str | None = None,
    ) -> str | None:
        return None


HANDLER = EventTrackerHandler(
    kind=Kind.EVENT_TRACKER,
    spec_model=EventTrackerSpec,
    ops=Ops(
        create="create_event_tracker",
        describe="describe_event_tracker",
        delete="delete_event_tracker",
        list="list_event_trackers",
        list_key="eventTrackers",
        arn_key="eventTrackerArn",
        describe_key="eventTracker",
        parent_param="datasetGroupArn",
    ),
    arn_type="event-tracker",
    delete_rank=5,
    depends_on=(Kind.DATASET_GROUP, Kind.DATASET),
    references={"datasetGroup": Kind.DATASET_GROUP},
    parent_field="datasetGroup",
    spec_fields=("datasetGroup",),
    serves_traffic=True,
    waits_for_group_data=True,
)

"""CreateFilter through a real boto3 client: a condition on interactions data may only name EVENT_TYPE.

"If you are filtering based on item or action interactions data, you can only filter based on event type.
You can't filter based on other interaction metadata" (dg/filter-expression-guidelines-requirements). Before,
the emulator took ``Interactions.ITEM_ID`` (or ``Interactions.DISCOUNT``) and the filter silently never
matched, for ItemID and UserID filters alike."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError
from conftest import Env


@pytest.mark.parametrize(
    "expression",
    [
        'EXCLUDE ItemID WHERE Interactions.ITEM_ID IN ("i1")',
        "INCLUDE ItemID WHERE Interactions.ITEM_ID IN ($SEEN)",
        'INCLUDE UserID WHERE Interactions.ITEM_ID IN ("i1")',
        'EXCLUDE UserID WHERE Interactions.item_id IN ("i1")',
        'INCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("click") AND Interactions.DISCOUNT IN ("Yes")',
    ],
)
def test_a_filter_on_an_interactions_field_other_than_event_type_is_refused(
    env: Env, expression: str
) -> None:
    group = env.trainable_group()
    with pytest.raises(ClientError) as info:
        env.client.create_filter(name="f", datasetGroupArn=group, filterExpression=expression)
    error = info.value.response["Error"]
    assert error["Code"] == "InvalidInputException"
    field = "DISCOUNT" if "DISCOUNT" in expression else "item_id" if "item_id" in expression else "ITEM_ID"
    assert f"Interactions.{field}" in error["Message"] and "only EVENT_TYPE" in error["Message"]
    assert env.client.list_filters(datasetGroupArn=group)["Filters"] == []


def test_event_type_filters_are_still_taken(env: Env) -> None:
    group = env.trainable_group()
    for n, target in enumerate(("ItemID", "UserID")):
        env.client.create_filter(
            name=f"f{n}",
            datasetGroupArn=group,
            filterExpression=f'EXCLUDE {target} WHERE Interactions.event_type IN ("click")',
        )
    assert len(env.client.list_filters(datasetGroupArn=group)["Filters"]) == 2

"""How fast the police react: per unit and finished month, the median and 90th percentile of the
hours to read a report and to verify it, and the share within KMZB's deadlines. Open data, from
open.response_times: every figure over at least k reports."""

from datetime import date

import strawberry
from strawberry.types import Info

from gateway.graphql.errors import BadInput
from store import response_times as store_response_times


@strawberry.type(description="One police unit's response times in one finished month.")
class ResponseTime:
    police_unit_id: strawberry.ID
    police_unit_name: str
    month: date
    reports: int = strawberry.field(description="Reports the unit was responsible for (at least k).")
    read: int | None = strawberry.field(description="Of them, opened by an officer (null below k).")
    read_median_hours: float | None
    read_p90_hours: float | None
    read_in_time_percent: float | None = strawberry.field(
        description="Share of the reports read within the deadline (KMZB: 2 days).")
    verified: int | None = strawberry.field(description="Of them, given a verdict (null below k).")
    verify_median_hours: float | None
    verify_p90_hours: float | None
    verified_in_time_percent: float | None = strawberry.field(
        description="Share of the reports verified within the deadline (KMZB: 5 days).")


def _first_of_month(value: date | None) -> date | None:
    return value.replace(day=1) if value else None


@strawberry.type
class ResponseTimeQuery:
    @strawberry.field(description="How fast the police read and verify reports, per unit and "
                                  "finished month (a voivodeship unit: with its county units).")
    async def response_times(self, info: Info, police_unit_id: strawberry.ID | None = None,
                             month_from: date | None = None, month_to: date | None = None
                             ) -> list[ResponseTime]:
        start, end = _first_of_month(month_from), _first_of_month(month_to)
        if start and end and start > end:
            raise BadInput("monthFrom is after monthTo.", argument="monthFrom")
        rows = await store_response_times.response_times(
            info.context.runtime.public_pool,
            store_response_times.ResponseTimesFilter(
                police_unit_id=str(police_unit_id) if police_unit_id is not None else None,
                month_from=start, month_to=end))
        return [ResponseTime(**{key: float(value) if key.endswith(("hours", "percent")) and value is not None
                                else value for key, value in row.items()}) for row in rows]

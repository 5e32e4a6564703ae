"""Runs MetaApi's own Python SDK (metaapi-cloud-sdk, unpatched) against a Tidemark agent.

Started by Tests/IntegrationTests/MetaApiSDKTests.swift with the venv that scripts/setup makes.
Only the test harness is adapted, never the SDK:
- name resolution: the SDK's hosts (mt-provisioning-api-v1.DOMAIN and
  risk-management-api-v1.REGION.DOMAIN) resolve to the loopback address the agent serves HTTPS on,
  port 443 as the SDK always asks (httpx connects to the port of the URL, whatever resolution
  says, so the test gives each agent a loopback address of its own rather than a port);
- trust: SSL_CERT_FILE names the test's own CA (httpx reads it).

Environment: TIDEMARK_SDK_DOMAIN, TIDEMARK_SDK_REGION, TIDEMARK_SDK_ADDRESS, TIDEMARK_SDK_TOKEN,
TIDEMARK_SDK_ACCOUNT (server:login), SSL_CERT_FILE.

Prints one JSON object per line: {"step": "listening"} once the tracker event listener waits (the
test then drives ticks into the agent), and at the end {"step": "done", ...} with what the SDK
returned. Exits 1 with {"step": "failed", "error": ...} on any error, 2 when no event arrives.
"""

import asyncio
import json
import os
import socket
import sys

DOMAIN = os.environ["TIDEMARK_SDK_DOMAIN"]
REGION = os.environ["TIDEMARK_SDK_REGION"]
ADDRESS = os.environ["TIDEMARK_SDK_ADDRESS"]
TOKEN = os.environ["TIDEMARK_SDK_TOKEN"]
ACCOUNT = os.environ["TIDEMARK_SDK_ACCOUNT"]
EVENT_DEADLINE_SECONDS = 90

SDK_HOSTS = {f"mt-provisioning-api-v1.{DOMAIN}", f"risk-management-api-v1.{REGION}.{DOMAIN}"}
resolved_hosts = set()
_system_getaddrinfo = socket.getaddrinfo


def _test_getaddrinfo(host, port, *args, **kwargs):
    """The SDK's hosts are the agent's loopback address; any other name is refused."""
    name = host.decode() if isinstance(host, bytes) else host
    if name in SDK_HOSTS and int(port) == 443:
        resolved_hosts.add(name)
        return _system_getaddrinfo(ADDRESS, 443, *args, **kwargs)
    raise socket.gaierror(socket.EAI_NONAME, f"the test resolves only {sorted(SDK_HOSTS)} on port 443, not {name}:{port}")


socket.getaddrinfo = _test_getaddrinfo

import httpx  # noqa: E402  (after the resolver is in place)
from metaapi_cloud_sdk import RiskManagement  # noqa: E402
from metaapi_cloud_sdk.risk_management.clients.equity_tracking.tracker_event_listener import TrackerEventListener  # noqa: E402
from metaapi_cloud_sdk.clients.error_handler import NotFoundException  # noqa: E402


def say(step, **fields):
    print(json.dumps({"step": step, **fields}), flush=True)


class BreachListener(TrackerEventListener):
    """Keeps the first event and wakes the main task."""

    def __init__(self, account_id, tracker_id):
        super().__init__(account_id, tracker_id)
        self.received = asyncio.Event()
        self.event = None
        self.errors = []

    async def on_tracker_event(self, tracker_event):
        if self.event is None and tracker_event.get("trackerId") == self.tracker_id:
            self.event = tracker_event
            self.received.set()

    async def on_error(self, error):
        self.errors.append(f"{type(error).__name__}: {error}")


async def register_account():
    """The firm registers the account (Tidemark's own route: MetaApi's account API is not risk management)."""
    server, login = ACCOUNT.rsplit(":", 1)
    async with httpx.AsyncClient() as client:
        response = await client.post(
            f"https://risk-management-api-v1.{REGION}.{DOMAIN}/users/current/accounts",
            headers={"auth-token": TOKEN},
            json={"login": int(login), "server": server, "platform": "mt5"},
        )
        if response.status_code not in (201, 409):
            raise RuntimeError(f"registering the account: {response.status_code} {response.text}")


async def main():
    await register_account()
    # Exactly what an existing MetaApi program does, with only the domain option changed.
    risk_management = RiskManagement(TOKEN, {"domain": DOMAIN})
    api = risk_management.risk_management_api

    drawdown = await api.create_tracker(ACCOUNT, {"name": "drawdown 5", "period": "lifetime", "absoluteDrawdownThreshold": 5})
    profit = await api.create_tracker(ACCOUNT, {"name": "profit 5", "period": "day", "absoluteProfitThreshold": 5})
    listed = await api.get_trackers(ACCOUNT)
    by_name = await api.get_tracker_by_name(ACCOUNT, "drawdown 5")
    await api.update_tracker(ACCOUNT, drawdown["id"], {"name": "drawdown five"})
    renamed = await api.get_tracker(ACCOUNT, drawdown["id"])
    await api.delete_tracker(ACCOUNT, profit["id"])
    try:
        await api.get_tracker(ACCOUNT, profit["id"])
        deleted_status = "still there"
    except NotFoundException:
        deleted_status = "not found"
    after_delete = await api.get_trackers(ACCOUNT)

    listener = BreachListener(ACCOUNT, drawdown["id"])
    listener_id = api.add_tracker_event_listener(listener, ACCOUNT, drawdown["id"])
    say("listening", trackerId=drawdown["id"])
    try:
        await asyncio.wait_for(listener.received.wait(), EVENT_DEADLINE_SECONDS)
    except asyncio.TimeoutError:
        api.remove_tracker_event_listener(listener_id)
        say("failed", error=f"no tracker event within {EVENT_DEADLINE_SECONDS} s", listenerErrors=listener.errors)
        sys.exit(2)
    api.remove_tracker_event_listener(listener_id)

    by_broker_time = await api.get_tracker_events(
        "2019-02-04 00:00:00.000", "2019-02-05 00:00:00.000", ACCOUNT, drawdown["id"])
    statistics = await api.get_tracking_statistics(ACCOUNT, drawdown["id"], real_time=True)
    statistics_before = await api.get_tracking_statistics(ACCOUNT, drawdown["id"], start_time="2019-02-04 23:59:59.999", limit=5)
    chart = await api.get_equity_chart(ACCOUNT, "2019-02-04 00:00:00", "2019-02-04 23:59:59", real_time=True)

    say("done",
        created=[drawdown, profit],
        listed=[tracker["name"] for tracker in listed],
        byName=by_name["_id"],
        renamed=renamed["name"],
        deleted=deleted_status,
        afterDelete=[tracker["_id"] for tracker in after_delete],
        event=listener.event,
        listenerErrors=listener.errors,
        eventsByBrokerTime=by_broker_time,
        statistics=statistics,
        statisticsBefore=statistics_before,
        chart=chart,
        resolvedHosts=sorted(resolved_hosts))


try:
    asyncio.run(main())
except SystemExit:
    raise
except BaseException as error:  # the test prints this line when it fails
    say("failed", error=f"{type(error).__name__}: {error}")
    sys.exit(1)

#!/usr/bin/env python3
"""Runs one harness scenario: the EA (built by mql/test/run) in the fake terminal against the real
`tidemark agent`, then checks what the agent made of it.

A scenario is a JSON file in mql/test/scenarios/:
  ea            "mq5" or "mq4"
  recording     a recording (protocol/examples/…): the terminal's account history. Each message
                becomes what a terminal would see (the snapshot its starting state, ticks its quotes,
                deals its history, positions its trade tab, reports its account figures), followed
                by a timer pass; the EA publishes it as it would on a real terminal.
  messages      play only the first N messages of the recording.
  afterCrash    the terminal crashes after the script (no OnDeinit; global variables not flushed are
                lost) and starts again with the recording's snapshot state, then these lines.
  before, after extra terminal-script lines (mql/test/shim/terminal.cpp) run before the EA starts /
                after the recording; "at" lines (`{"atSeq": N, "lines": [...]}`) run after message N.
  rules         declarations for the agent (ACCOUNT stands for the recording's account); default:
                protocol/examples/demo-rules.json for that account.
  agentFlags    extra `tidemark agent` arguments.
  curve         {"allowed": bool}: the agent runs with CURVE and an allow-list that holds the EA's key
                (read by the EA from a `tidemark keys` certificate in its Files folder) or not.
  expect        "sameAsRecording": the agent's replay of what it received from the EA (equity,
                  trackers, challenge, competition statistics) equals the replay of the recording
                  itself, and its account API shows the same balance and equity;
                "comment": text the chart comment must show; "noAlert": no modal Alert;
                "account": the agent's account API shows the recording's final balance and equity;
                "otherAccounts": {accountId: {field: value}} the account API must show;
                "trackerEvents": tracker events the agent must report ({trackerId, brokerTime});
                "journal": texts the EA's journal (Print) must contain;
                "recordedSymbols", "quotedSymbols": how many symbols the agent received specifications
                  of, and new quotes of after the snapshot;
                "positionsReceived": how many positions the agent received, each once (in the snapshot
                  or a POSITION opened frame).
                "positionCount": the position count (N) the first snapshot announced;
                "noTrackerEvents": the agent reports no tracker event for the account.

Usage: scenario.py SCENARIO.json EA-BINARY AGENT-BINARY WORKDIR
"""
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MARGIN_MODES = {"retail_netting": 0, "exchange": 1, "retail_hedging": 2}
MT5_CALC_MODES = ["forex", "forex_no_leverage", "futures", "cfd", "cfd_index", "cfd_leverage", "exch_stocks",
                  "exch_futures", "exch_futures_forts", "exch_options", "exch_options_margin", "exch_bonds",
                  "exch_stocks_moex", "exch_bonds_moex", "serv_collateral"]
MT4_CALC_MODES = ["forex", "cfd", "futures"]


def fail(message: str) -> None:
    print(f"FAIL: {message}")
    sys.exit(1)


def number(value) -> str:
    return repr(value) if isinstance(value, float) else str(value)


def terminal_script(scenario: dict, recording: list) -> list:
    """The fake terminal's script for a recording (format: terminal.cpp)."""
    mt4 = scenario["ea"] == "mq4"
    calc_modes = MT4_CALC_MODES if mt4 else MT5_CALC_MODES
    at = {entry["atSeq"]: entry["lines"] for entry in scenario.get("at", [])}
    lines = []
    started = False
    for message in recording[:scenario.get("messages", len(recording))]:
        kind = message["type"]
        if kind == "hello":
            h = message["hello"]
            lines.append(["account", h["login"], h["server"], h["company"], h["currency"], h["currencyDigits"],
                          h["leverage"], MARGIN_MODES[h["marginMode"]], h["brokerUTCOffsetSeconds"]])
        elif kind == "snapshot":
            s = message["snapshot"]
            a = s["account"]
            lines.append(["time", a["time"]])
            lines.append(["funds", a["balance"], a["credit"], a["equity"], a["margin"]])
            for y in s["symbols"]:
                lines.append(["symbol", y["name"], y["digits"], calc_modes.index(y["calcMode"]), y["contractSize"],
                              y["tickSize"], y["tickValue"], y["profitCurrency"], y["marginCurrency"],
                              y["baseCurrency"], 0.01])
            for q in s["quotes"]:
                lines.append(["quote", q["symbol"], q["time"], q["bid"], q["ask"]])
            for p in s["positions"]:
                lines.append(["open", p["ticket"], p["symbol"], p["side"], p["volume"], p["openPrice"], p["openTime"],
                              p["swap"], p["commission"]])
            lines.extend(scenario.get("before", []))
            lines.append(["init"])
            lines.append(["settle", 20000])
            started = True
        elif kind == "ticks":
            for q in message["ticks"]:
                lines.append(["quote", q["symbol"], q["time"], q["bid"], q["ask"]])
                if mt4:
                    lines.append(["timer"])  # MT4 has no tick history: the EA sees each quote by polling
            if not mt4:
                lines.append(["timer"])
        elif kind == "deal":
            d = message["deal"]
            lines.append(["time", d["time"]])
            lines.append(["deal", d["ticket"], d["time"], d["type"], d["entry"], d["symbol"], d["volume"], d["price"],
                          d["profit"], d["commission"], d["swap"], d["fee"], d["positionID"], d["comment"]])
            lines.append(["timer"])
        elif kind == "position":
            change = message["position"]["change"]
            p = message["position"]["position"]
            lines.append(["time", message["position"]["time"]])
            if change == "closed":
                lines.append(["close", p["ticket"]])
            else:
                lines.append(["open", p["ticket"], p["symbol"], p["side"], p["volume"], p["openPrice"], p["openTime"],
                              p["swap"], p["commission"]])
            lines.append(["timer"])
        elif kind == "report":
            a = message["report"]
            lines.append(["time", a["time"]])
            lines.append(["funds", a["balance"], a["credit"], a["equity"], a["margin"]])
            lines.append(["report"])
            lines.append(["timer"])
        elif kind == "heartbeat":
            lines.append(["time", message["time"]])
            lines.append(["expect_frame", "HEARTBEAT", 10000])
        if started and message.get("seq") in at:
            lines.extend(at[message["seq"]])
    lines.extend(scenario.get("after", [["settle", 20000]]))
    lines.append(["deinit", 1])
    return ["\t".join(number(field) for field in line) for line in lines]


def mt4_view(recording: list) -> list:
    """The recording as an MT4 terminal can report it: quote times in whole seconds (MODE_TIME)."""
    out = []
    for message in recording:
        message = json.loads(json.dumps(message))
        quotes = message.get("ticks", []) + message.get("snapshot", {}).get("quotes", [])
        for q in quotes:
            q["time"] = q["time"] // 1000 * 1000
        out.append(message)
    return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Agent:
    """The real agent on a fixed port, so that a restarted agent is where the EA reconnects."""

    def __init__(self, binary: str, workdir: str, flags: list):
        self.binary, self.workdir, self.flags = binary, workdir, flags
        self.port = free_port()
        self.record = os.path.join(workdir, "record")
        self.log = open(os.path.join(workdir, "agent.log"), "a")
        self.start()

    def start(self) -> None:
        self.process = subprocess.Popen(
            [self.binary, "agent", "--bridge", f"tcp://127.0.0.1:{self.port}", "--http", "127.0.0.1:0", "--data",
             os.path.join(self.workdir, "data"), "--record", self.record, "--heartbeat-ms", "1000", *self.flags],
            stdout=subprocess.PIPE, stderr=self.log, text=True, env={**os.environ, "TIDEMARK_ADMIN_TOKEN": TOKEN})
        self.endpoint = self.http = None
        deadline = time.time() + 60
        while (self.endpoint is None or self.http is None) and time.time() < deadline:
            line = self.process.stdout.readline()
            if not line:
                break
            if line.startswith("bridge listening on "):
                self.endpoint = line.split()[-1]
            if line.startswith("http listening on "):
                self.http = line.split()[-1]
        if self.endpoint is None or self.http is None:
            self.stop()
            fail("the agent did not start (see agent.log)")

    def get(self, path: str):
        request = urllib.request.Request(f"http://{self.http}{path}", headers={"auth-token": TOKEN})
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())

    def kill(self) -> None:
        self.process.kill()
        self.process.wait()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


TOKEN = "harness-" + "0123456789abcdef" * 2


def public_key(certificate: str) -> str:
    with open(certificate) as f:
        for line in f:
            if "public-key" in line:
                return line.split('"')[1]
    fail(f"no public key in {certificate}")


def curve_setup(binary: str, workdir: str, allowed: bool, env: dict) -> list:
    """Keys from `tidemark keys`: the agent's, the EA's (its secret certificate in the fake terminal's
    Files folder, named by InpClientKeyFile) and, when the EA is not to be allowed, another EA's that
    is the only one on the allow-list."""
    keys = os.path.join(workdir, "keys")
    files = os.path.join(workdir, "Files")
    os.makedirs(files, exist_ok=True)
    os.makedirs(keys, exist_ok=True)
    for name in ("agent", "ea", "other"):
        subprocess.run([binary, "keys", "--out", keys, "--name", name], check=True, capture_output=True)
    os.replace(os.path.join(keys, "ea.key_secret"), os.path.join(files, "ea.key_secret"))
    allow = os.path.join(workdir, "allow-keys")
    with open(allow, "w") as f:
        f.write(public_key(os.path.join(keys, "ea.key" if allowed else "other.key")) + "\n")
    env["TIDEMARK_FILES_DIR"] = files
    env["TIDEMARK_INPUT_InpAgentPublicKey"] = public_key(os.path.join(keys, "agent.key"))
    env["TIDEMARK_INPUT_InpClientKeyFile"] = "ea.key_secret"
    return ["--curve-secret-key", os.path.join(keys, "agent.key_secret"), "--allow-keys", allow]


def replay(binary: str, recording_path: str, rules_path: str) -> dict:
    run = subprocess.run([binary, "replay", recording_path, "--rules", rules_path, "--compact"],
                         capture_output=True, text=True, timeout=120)
    if run.returncode != 0:
        fail(f"tidemark replay {recording_path}: {run.stderr}")
    return json.loads(run.stdout)


def differences(expected, actual, path="") -> list:
    if isinstance(expected, dict) and isinstance(actual, dict):
        out = []
        for key in sorted(set(expected) | set(actual)):
            out += differences(expected.get(key), actual.get(key), f"{path}.{key}")
        return out
    if isinstance(expected, list) and isinstance(actual, list):
        if len(expected) != len(actual):
            return [f"{path}: {len(expected)} entries expected, {len(actual)} received"]
        out = []
        for i, (e, a) in enumerate(zip(expected, actual)):
            out += differences(e, a, f"{path}[{i}]")
        return out
    return [] if expected == actual else [f"{path}: expected {expected!r}, got {actual!r}"]


def run_terminal(ea_binary: str, script_path: str, env: dict, log_path: str, agent) -> tuple:
    """Runs the EA in the fake terminal on one script, doing the harness actions it asks for."""
    with open(log_path, "a") as ea_log:
        ea = subprocess.Popen([ea_binary, script_path], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              stderr=ea_log, text=True, env=env)
        stdout = ""
        watchdog = threading.Timer(180, ea.kill)  # a hung EA ends the scenario (as a failure)
        watchdog.start()
        for line in ea.stdout:
            if line.startswith("HARNESS "):
                action = line.split()[1]
                if action == "kill_agent":
                    agent.kill()
                elif action == "stop_agent":
                    agent.stop()
                elif action == "start_agent":
                    agent.start()
                else:
                    fail(f"unknown harness action {action}")
                ea.stdin.write("done\n")
                ea.stdin.flush()
            else:
                stdout += line
        returncode = ea.wait()
        watchdog.cancel()
    return stdout, returncode


def main() -> None:
    scenario_path, ea_binary, agent_binary, workdir = sys.argv[1:5]
    os.makedirs(workdir, exist_ok=True)
    with open(scenario_path) as f:
        scenario = json.load(f)
    with open(os.path.join(ROOT, scenario["recording"])) as f:
        recording = [json.loads(line) for line in f if line.strip()]
    account = recording[0]["account"]
    if "rules" in scenario:
        rules = json.dumps({"declarations": scenario["rules"]}).replace('"ACCOUNT"', json.dumps(account))
    else:
        with open(os.path.join(ROOT, "protocol/examples/demo-rules.json")) as f:
            rules = f.read().replace("Tidemark-Sim:1000001", account)
    rules_path = os.path.join(workdir, "rules.json")
    with open(rules_path, "w") as f:
        f.write(rules)

    script_path = os.path.join(workdir, "terminal.script")
    with open(script_path, "w") as f:
        f.write("\n".join(terminal_script(scenario, recording)) + "\n")
    runs = [script_path]
    if "afterCrash" in scenario:
        # The terminal crashes at the end of the first script and starts again: the account as the
        # recording's snapshot has it, then the afterCrash lines.
        restart = {**scenario, "messages": 2, "before": scenario.get("beforeRestart", []), "at": [],
                   "after": scenario["afterCrash"]}
        restart_path = os.path.join(workdir, "terminal-after-crash.script")
        with open(restart_path, "w") as f:
            f.write("\n".join(terminal_script(restart, recording)) + "\n")
        runs.append(restart_path)

    flags = scenario.get("agentFlags", []) + ["--rules", rules_path]
    env = dict(os.environ)
    if "curve" in scenario:
        flags += curve_setup(agent_binary, workdir, scenario["curve"]["allowed"], env)
    agent = Agent(agent_binary, workdir, flags)
    env["TIDEMARK_INPUT_InpAgentEndpoint"] = agent.endpoint
    env["TIDEMARK_GLOBALS_FILE"] = os.path.join(workdir, "globals")
    if os.path.exists(env["TIDEMARK_GLOBALS_FILE"]):
        os.remove(env["TIDEMARK_GLOBALS_FILE"])
    for name, value in scenario.get("inputs", {}).items():
        env[f"TIDEMARK_INPUT_{name}"] = str(value)
    try:
        ea_log_path = os.path.join(workdir, "ea.log")
        open(ea_log_path, "w").close()
        for number, path in enumerate(runs):
            stdout, returncode = run_terminal(ea_binary, path, env, ea_log_path, agent)
            with open(ea_log_path) as f:
                ea_journal = f.read()
            crashed = number < len(runs) - 1
            if returncode != (3 if crashed else 0) or (crashed and "crashed" not in stdout):
                fail(f"the EA's run {os.path.basename(path)} failed ({returncode}):\n{ea_journal[-3000:]}")
        comment = stdout.split("comment: ", 1)[-1]
        expect = scenario["expect"]
        if "comment" in expect and expect["comment"] not in comment:
            fail(f"chart comment lacks {expect['comment']!r}: {comment!r}")
        if expect.get("noAlert") and "[Alert]" in ea_journal:
            fail("the EA raised a modal Alert")
        if expect.get("sameAsRecording") or expect.get("account"):
            accounts = agent.get("/users/current/accounts/" + urllib.request.quote(account))
        for other, figures in expect.get("otherAccounts", {}).items():
            try:
                shown = agent.get("/users/current/accounts/" + urllib.request.quote(other))
            except urllib.error.HTTPError as error:
                fail(f"the agent shows no account {other} (HTTP {error.code})")
            for key, value in figures.items():
                if shown.get(key) != value:
                    fail(f"the agent shows {other} with {key} {shown.get(key)!r}, expected {value!r}")
        wanted = expect.get("trackerEvents", [])
        if wanted:
            events = agent.get("/users/current/tracker-events/by-broker-time?accountId=" + urllib.request.quote(account))
            for want in wanted:
                if not any(e.get("trackerId") == want["trackerId"] and e.get("brokerTime") == want["brokerTime"]
                           for e in events):
                    fail(f"no {want['trackerId']} event at {want['brokerTime']}; the agent reports: {events}")
        if expect.get("noTrackerEvents"):
            events = agent.get("/users/current/tracker-events/by-broker-time?accountId=" + urllib.request.quote(account))
            if events:
                fail(f"the agent reported tracker events, expected none: {events}")
        for text in expect.get("journal", []):
            if text not in ea_journal:
                fail(f"the EA's journal never says {text!r}")
        # Every frame the EA sent decoded, and none made a gap (SPEC §6.2, §7).
        request = urllib.request.Request(f"http://{agent.http}/metrics", headers={"auth-token": TOKEN})
        with urllib.request.urlopen(request, timeout=10) as response:
            metrics = response.read().decode()
        for line in metrics.splitlines():
            if line.startswith(("tidemark_decode_errors_total", "tidemark_resyncs_total")) and float(line.split()[-1]) > 0:
                fail(f"the agent refused or lost frames of the EA: {line}")
    finally:
        agent.stop()

    if "recordedSymbols" in expect:
        with open(os.path.join(agent.record, account + ".jsonl")) as f:
            received = [json.loads(line) for line in f if line.strip()]
        names = {y["name"] for m in received for y in m.get("snapshot", {}).get("symbols", [])}
        names |= {m["symbol"]["name"] for m in received if m.get("type") == "symbol"}
        quoted = {q["symbol"] for m in received for q in m.get("ticks", [])}
        if len(names) != expect["recordedSymbols"] or len(quoted) != expect.get("quotedSymbols", len(quoted)):
            fail(f"the agent received {len(names)} symbol specifications and new quotes of {len(quoted)} symbols, "
                 f"expected {expect['recordedSymbols']} and {expect.get('quotedSymbols')}")
    if "positionsReceived" in expect:
        # Every position once: in the snapshot or in a POSITION opened frame right after it.
        with open(os.path.join(agent.record, account + ".jsonl")) as f:
            received = [json.loads(line) for line in f if line.strip()]
        tickets = [p["ticket"] for m in received for p in m.get("snapshot", {}).get("positions", [])]
        tickets += [m["position"]["position"]["ticket"] for m in received
                    if m.get("type") == "position" and m["position"]["change"] == "opened"]
        if len(tickets) != expect["positionsReceived"] or len(set(tickets)) != len(tickets):
            fail(f"the agent received {len(tickets)} positions ({len(set(tickets))} tickets), "
                 f"expected {expect['positionsReceived']} once each")
        counts = [m["snapshot"].get("positionCount") for m in received if m.get("type") == "snapshot"]
        if "positionCount" in expect and counts[:1] != [expect["positionCount"]]:
            fail(f"the snapshot announced {counts[:1]} positions, expected {expect['positionCount']}")
    if expect.get("account"):
        last = replay(agent_binary, os.path.join(ROOT, scenario["recording"]), rules_path)["accounts"][0]["equity"]
        if abs(accounts.get("balance", 0) - last["lastBalance"]) > 1e-9 or \
                abs(accounts.get("equity", 0) - last["lastEquity"]) > 1e-9:
            fail(f"the account API shows balance {accounts.get('balance')} equity {accounts.get('equity')}, "
                 f"the recording {last['lastBalance']} / {last['lastEquity']}")
    if expect.get("sameAsRecording"):
        received_path = os.path.join(agent.record, account + ".jsonl")
        if not os.path.exists(received_path):
            fail("the agent recorded nothing for " + account)
        expected_recording = mt4_view(recording) if scenario["ea"] == "mq4" else recording
        expected_path = os.path.join(workdir, "expected.jsonl")
        with open(expected_path, "w") as f:
            f.write("\n".join(json.dumps(m) for m in expected_recording) + "\n")
        expected = replay(agent_binary, expected_path, rules_path)
        actual = replay(agent_binary, received_path, rules_path)
        # linesRead counts heartbeats (the EA sends its own) and recording names the file.
        for report in (expected, actual):
            report.pop("linesRead", None)
            report.pop("recording", None)
        found = differences(expected, actual)
        if found:
            fail("the agent's state from the EA differs from the recording's:\n  " + "\n  ".join(found[:40]))
        last = expected["accounts"][0]["equity"]
        if abs(accounts.get("balance", 0) - last["lastBalance"]) > 1e-9 or \
                abs(accounts.get("equity", 0) - last["lastEquity"]) > 1e-9:
            fail(f"the account API shows balance {accounts.get('balance')} equity {accounts.get('equity')}, "
                 f"the recording {last['lastBalance']} / {last['lastEquity']}")
    print("ok")


if __name__ == "__main__":
    main()

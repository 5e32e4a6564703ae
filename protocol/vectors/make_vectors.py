# Writes valid.json and invalid.json: the wire test vectors of protocol/SPEC.md.
# The vectors are data written from the spec, independently of the Swift codec; run this after
# changing a vector, and commit both JSON files.  python3 protocol/vectors/make_vectors.py
import json, os
HERE = os.path.dirname(os.path.abspath(__file__))
from decimal import Decimal as D

def num(x):
    d = D(x)
    if d == d.to_integral_value():
        return str(int(d))
    return repr(float(d))

class Num:
    def __init__(self, s): self.s = s

def dumps(o):
    if isinstance(o, Num): return num(o.s)
    if isinstance(o, bool): return 'true' if o else 'false'
    if isinstance(o, int): return str(o)
    if isinstance(o, str): return json.dumps(o, ensure_ascii=False)
    if isinstance(o, list): return '[' + ','.join(dumps(x) for x in o) + ']'
    if isinstance(o, dict):
        return '{' + ','.join(json.dumps(k) + ':' + dumps(o[k]) for k in sorted(o)) + '}'
    raise TypeError(o)

ACC = "Demo-Server:12345"
SID = "a1b2c3"
def frame(t, seq, records, sid=SID, version=1):
    lines = ["\t".join(["TM%d" % version, t, sid, str(seq)])] + ["\t".join(r) for r in records]
    return "".join(l + "\n" for l in lines)

def A(time, bal, cred, eq, mar): return (["A", str(time), bal, cred, eq, mar],
    {"time": time, "balance": Num(bal), "credit": Num(cred), "equity": Num(eq), "margin": Num(mar)})
def S(name, digits, mode, cs, ts, tv, pc, mc, bc): return (["S", name, str(digits), mode, cs, ts, tv, pc, mc, bc],
    {"name": name, "digits": digits, "calcMode": mode, "contractSize": Num(cs), "tickSize": Num(ts), "tickValue": Num(tv),
     "profitCurrency": pc, "marginCurrency": mc, "baseCurrency": bc})
def P(ticket, sym, side, vol, price, t, swap, comm): return (["P", str(ticket), sym, side, vol, price, str(t), swap, comm],
    {"ticket": ticket, "symbol": sym, "side": side, "volume": Num(vol), "openPrice": Num(price), "openTime": t,
     "swap": Num(swap), "commission": Num(comm)})
def Q(sym, t, bid, ask): return (["Q", sym, str(t), bid, ask], {"symbol": sym, "time": t, "bid": Num(bid), "ask": Num(ask)})
def Dl(ticket, t, typ, entry, sym, vol, price, profit, comm, swap, fee, pid, comment):
    return (["D", str(ticket), str(t), typ, entry, sym, vol, price, profit, comm, swap, fee, str(pid), comment],
        {"ticket": ticket, "time": t, "type": typ, "entry": entry, "symbol": sym, "volume": Num(vol), "price": Num(price),
         "profit": Num(profit), "commission": Num(comm), "swap": Num(swap), "fee": Num(fee), "positionID": pid, "comment": comment})

valid = []
def term(name, t, seq, records, rtype, payload_key, payload, decode_only=False, version=1):
    obj = {"account": ACC, "session": SID, "seq": seq, "type": rtype}
    obj[payload_key] = payload
    entry = {"name": name, "direction": "terminal", "wire": frame(t, seq, records, version=version), "json": dumps(obj)}
    if decode_only: entry["decodeOnly"] = True
    valid.append(entry)
def agent(name, t, seq, records, rtype, fields):
    obj = {"session": SID, "seq": seq, "type": rtype}; obj.update(fields)
    valid.append({"name": name, "direction": "agent", "wire": frame(t, seq, records), "json": dumps(obj)})

T0 = 1549274400000  # 2019-02-04 10:00:00.000 broker time
def hello(platform, build, login, server, company, cur, digits, mode, lev, ea, off):
    rec = ["I", platform, str(build), str(login), server, company, cur, str(digits), mode, str(lev), ea, str(off)]
    js = {"platform": platform, "terminalBuild": build, "login": login, "server": server, "company": company, "currency": cur,
          "currencyDigits": digits, "marginMode": mode, "leverage": lev, "eaVersion": ea, "brokerUTCOffsetSeconds": off, "sessionID": SID}
    return rec, js
r, j = hello("mt5", 4755, 12345, "Demo-Server", "Démo Broker Ltd", "USD", 2, "retail_hedging", 500, "1.00", 7200)
term("hello mt5 hedging", "HELLO", 1, [r], "hello", "hello", j)
r, j = hello("mt4", 1420, 12345, "Demo-Server", "Demo Broker/Ltd", "EUR", 2, "retail_hedging", 100, "1.00", -18000)
term("hello mt4, negative UTC offset", "HELLO", 1, [r], "hello", "hello", j)
r, j = hello("mt5", 4755, 12345, "Demo-Server", "", "JPY", 0, "retail_netting", 25, "", 0)
term("hello mt5 netting (decodes; the bridge rejects it)", "HELLO", 1, [r], "hello", "hello", j)

a = A(T0, "10000", "0", "10012.5", "229.06")
s1 = S("EURUSD", 5, "forex", "100000", "0.00001", "1", "USD", "EUR", "EUR")
s2 = S("USDJPY", 3, "forex", "100000", "0.001", "0.9", "JPY", "USD", "USD")
p1 = P(1001, "EURUSD", "buy", "0.2", "1.14512", T0 - 3600000, "-0.35", "0")
p2 = P(1002, "USDJPY", "sell", "0.1", "109.5", T0 - 7200000, "0", "0")
q1 = Q("EURUSD", T0, "1.14575", "1.14577")
q2 = Q("USDJPY", T0 - 500, "109.48", "109.483")
term("snapshot with symbols, positions and quotes", "SNAPSHOT", 2, [a[0], s1[0], s2[0], p1[0], p2[0], q1[0], q2[0]], "snapshot", "snapshot",
     {"account": a[1], "symbols": [s1[1], s2[1]], "positions": [p1[1], p2[1]], "quotes": [q1[1], q2[1]]})
a0 = A(T0, "0", "0", "0", "0")
term("snapshot of an empty account", "SNAPSHOT", 2, [a0[0]], "snapshot", "snapshot", {"account": a0[1], "symbols": [], "positions": [], "quotes": []})
a3 = A(T0, "-12.5", "500", "487.5", "0")
term("snapshot with negative balance and credit, records interleaved", "SNAPSHOT", 7, [a3[0], q1[0], s1[0]], "snapshot", "snapshot",
     {"account": a3[1], "symbols": [s1[1]], "positions": [], "quotes": [q1[1]]}, decode_only=True)
# Version 2: a split snapshot (SPEC §6.8) announces its positions in all with one N record.
term("snapshot split over frames, with its position count (TM2)", "SNAPSHOT", 2, [a[0], s1[0], p1[0], q1[0], ["N", "2"]],
     "snapshot", "snapshot", {"account": a[1], "symbols": [s1[1]], "positions": [p1[1]], "quotes": [q1[1]], "positionCount": 2},
     version=2)
term("snapshot with its position count first (TM2)", "SNAPSHOT", 2, [a0[0], ["N", "0"]], "snapshot", "snapshot",
     {"account": a0[1], "symbols": [], "positions": [], "quotes": [], "positionCount": 0}, version=2)
s3 = S("US30.cash", 1, "cfd_index", "1", "0.1", "0.1", "USD", "", "")
term("symbol cfd index, empty currencies", "SYMBOL", 3, [s3[0]], "symbol", "symbol", s3[1])
q = Q("EURUSD", T0 + 123, "1.14512", "1.14515")
term("ticks, one quote", "TICKS", 4, [q[0]], "ticks", "ticks", [q[1]])
qs = [Q("EURUSD", T0 + 245, "1.14513", "1.14516"), Q("USDJPY", T0 + 245, "109.481", "109.484"), Q("EURUSD", T0 + 246, "1.14514", "1.14517")]
term("ticks, several symbols", "TICKS", 5, [x[0] for x in qs], "ticks", "ticks", [x[1] for x in qs])
qx = Q("EURUSD", T0 + 300, "1.1452", "1.14518")
term("ticks, slightly crossed quote passes through", "TICKS", 6, [qx[0]], "ticks", "ticks", [qx[1]])
qb = Q("XAUUSD", T0, "1314.2500", "1314.55000000")
term("ticks, trailing zeros accepted (DoubleToString output)", "TICKS", 6, [qb[0]], "ticks", "ticks", [qb[1]], decode_only=True)
a4 = A(T0, "-0.00", "0.50", "0.5", "0")
term("report with -0.00 balance", "REPORT", 6, [a4[0]], "report", "report", a4[1], decode_only=True)
p3 = P(1003, "EURUSD", "sell", "1", "1.14512", T0 + 1000, "0", "0")
term("position opened", "POSITION", 8, [["C", "opened", str(T0 + 1000)], p3[0]], "position", "position", {"change": "opened", "time": T0 + 1000, "position": p3[1]})
p4 = P(1001, "EURUSD", "buy", "0.1", "1.14512", T0 - 3600000, "-0.7", "-0.5")
term("position changed (partial close, mt4-style commission)", "POSITION", 9, [["C", "changed", str(T0 + 2000)], p4[0]], "position", "position", {"change": "changed", "time": T0 + 2000, "position": p4[1]})
term("position closed", "POSITION", 10, [["C", "closed", str(T0 + 3000)], p3[0]], "position", "position", {"change": "closed", "time": T0 + 3000, "position": p3[1]})
d = Dl(5001, T0 + 1000, "sell", "in", "EURUSD", "1", "1.14512", "0", "-3.5", "0", "0", 1003, "")
term("deal entry in with commission", "DEAL", 11, [d[0]], "deal", "deal", d[1])
d = Dl(5002, T0 + 3000, "buy", "out", "EURUSD", "1", "1.14412", "100", "-3.5", "-1.2", "0", 1003, "tp 1.14412")
term("deal entry out with profit", "DEAL", 12, [d[0]], "deal", "deal", d[1])
d = Dl(5003, T0 + 4000, "balance", "in", "", "0", "0", "5000", "0", "0", "0", 0, "Deposit")
term("deal balance deposit", "DEAL", 13, [d[0]], "deal", "deal", d[1])
d = Dl(5004, T0 + 5000, "balance", "in", "", "0", "0", "-250.75", "0", "0", "0", 0, "Withdrawal")
term("deal balance withdrawal", "DEAL", 14, [d[0]], "deal", "deal", d[1])
d = Dl(5005, T0 + 6000, "commission_daily", "out_by", "", "0", "0", "0", "-1.25", "0", "-0.1", 0, "")
term("deal commission_daily with fee", "DEAL", 15, [d[0]], "deal", "deal", d[1])
d = Dl(5006, T0 + 7000, "credit", "in", "", "0", "0", "500", "0", "0", "0", 0, "bonus credit")
term("deal credit", "DEAL", 16, [d[0]], "deal", "deal", d[1])
a = A(T0 + 8000, "14752.75", "500", "15265.25", "114.51")
term("report", "REPORT", 17, [a[0]], "report", "report", a[1])
term("heartbeat", "HEARTBEAT", 18, [["H", str(T0 + 9000)]], "heartbeat", "time", T0 + 9000)
term("bye", "BYE", 19, [["B", "deinit reason 1"]], "bye", "reason", "deinit reason 1")
term("bye with empty reason", "BYE", 19, [["B", ""]], "bye", "reason", "")
term("command acknowledgement, succeeded", "CMDACK", 20, [["K", "7", str(T0 + 9500), "1", "done"]], "command_ack", "ack",
     {"commandID": 7, "time": T0 + 9500, "succeeded": True, "detail": "done"})
term("command acknowledgement, failed", "CMDACK", 21, [["K", "8", str(T0 + 9600), "0", "TRADE_RETCODE_MARKET_CLOSED"]], "command_ack", "ack",
     {"commandID": 8, "time": T0 + 9600, "succeeded": False, "detail": "TRADE_RETCODE_MARKET_CLOSED"})

agent("welcome", "WELCOME", 1, [["W", "5000", "0.1.0"]], "welcome", {"heartbeatIntervalMilliseconds": 5000, "agentVersion": "0.1.0"})
for reason in ["netting_account", "exchange_account", "unsupported_version", "expected_hello", "not_allowed", "protocol_violation"]:
    agent("reject " + reason, "REJECT", 1, [["R", reason, "refused: " + reason]], "reject", {"reason": reason, "message": "refused: " + reason})
agent("resync", "RESYNC", 2, [["Y", "41", "gap: expected 42, got 44"]], "resync", {"lastSequence": 41, "reason": "gap: expected 42, got 44"})
agent("resync from nothing", "RESYNC", 2, [["Y", "0", "agent restarted"]], "resync", {"lastSequence": 0, "reason": "agent restarted"})
agent("ack", "ACK", 3, [["N", "100"]], "ack", {"sequence": 100})
for i, kind in enumerate(["close_all", "disable_trading", "enable_trading"]):
    agent("command " + kind, "COMMAND", 4 + i, [["X", str(7 + i), kind, "daily loss limit breached"]], "command",
          {"command": {"id": 7 + i, "kind": kind, "reason": "daily loss limit breached"}})
agent("heartbeat (no record)", "HEARTBEAT", 9, [], "heartbeat", {})

json.dump(valid, open(HERE + "/valid.json", "w"), indent=2, ensure_ascii=False)
open(HERE + "/valid.json", "a").write("\n")

# ---- invalid
invalid = []
def bad(name, error, wire=None, hexbytes=None, direction="terminal"):
    e = {"name": name, "direction": direction, "error": error}
    if wire is not None: e["wire"] = wire
    if hexbytes is not None: e["wireHex"] = hexbytes
    invalid.append(e)
tick = lambda *f: frame("TICKS", 5, [["Q"] + list(f)])
bad("empty frame", "truncated", "")
bad("no final line feed", "truncated", frame("TICKS", 5, [["Q", "EURUSD", "1", "1.1", "1.2"]])[:-1])
bad("header only, no line feed", "truncated", "TM1\tTICKS\ta1b2c3\t5")
bad("version 3", "unsupported_version", frame("HELLO", 1, [], version=3))
bad("version 3 with another layout", "unsupported_version", "TM3\t{\"whatever\":1}\n")
bad("version 10", "unsupported_version", "TM10\tHELLO\ta1b2c3\t1\n")
bad("not a Tidemark frame", "bad_header", "{\"type\":\"hello\"}\n")
bad("version without tab", "bad_header", "TM1 HELLO a1b2c3 1\n")
bad("header with three fields", "bad_header", "TM1\tTICKS\t5\nQ\tEURUSD\t1\t1.1\t1.2\n")
bad("header with five fields", "bad_header", "TM1\tTICKS\ta1b2c3\t5\textra\nQ\tEURUSD\t1\t1.1\t1.2\n")
bad("sequence zero", "bad_header", frame("HEARTBEAT", 0, [["H", "1"]]))
bad("sequence not a number", "bad_header", "TM1\tHEARTBEAT\ta1b2c3\tfive\nH\t1\n")
bad("sequence negative", "bad_header", "TM1\tHEARTBEAT\ta1b2c3\t-5\nH\t1\n")
bad("empty session id", "bad_header", "TM1\tHEARTBEAT\t\t5\nH\t1\n")
bad("session id longer than 64 bytes", "bad_header", "TM1\tHEARTBEAT\t" + "s" * 65 + "\t5\nH\t1\n")
bad("empty type", "bad_header", "TM1\t\ta1b2c3\t5\nH\t1\n")
bad("unknown type", "unknown_type", frame("ORDERS", 5, [["O", "1"]]))
bad("lower-case type", "unknown_type", frame("ticks", 5, [["Q", "EURUSD", "1", "1.1", "1.2"]]))
bad("agent type sent by a terminal", "unknown_type", frame("WELCOME", 1, [["W", "5000", "x"]]))
bad("terminal type sent by the agent", "unknown_type", frame("TICKS", 1, [["Q", "EURUSD", "1", "1.1", "1.2"]]), direction="agent")
bad("invalid UTF-8 in a symbol", "not_utf8", hexbytes=frame("TICKS", 5, [["Q", "EUR@USD", "1", "1.1", "1.2"]]).encode().hex().replace("40", "ff"))
bad("truncated UTF-8 sequence", "not_utf8", hexbytes=frame("BYE", 5, [["B", "ab@"]]).encode().hex().replace("40", "c3"))
bad("overlong UTF-8", "not_utf8", hexbytes=frame("BYE", 5, [["B", "ab@"]]).encode().hex().replace("40", "c0af"))
bad("UTF-16 surrogate in UTF-8", "not_utf8", hexbytes=frame("BYE", 5, [["B", "ab@"]]).encode().hex().replace("40", "eda080"))
bad("NUL byte", "not_utf8", frame("BYE", 5, [["B", "a\u0000b"]]))
bad("ticks without records", "missing_record", frame("TICKS", 5, []))
bad("hello without its record", "missing_record", frame("HELLO", 1, []))
bad("position without P record", "missing_record", frame("POSITION", 5, [["C", "opened", "1"]]))
bad("empty line instead of a record", "missing_record", "TM1\tTICKS\ta1b2c3\t5\n\n")
bad("ticks with a P record", "unexpected_record", frame("TICKS", 5, [["Q", "EURUSD", "1", "1.1", "1.2"], ["P", "1", "EURUSD", "buy", "1", "1.1", "1", "0", "0"]]))
bad("heartbeat with two records", "unexpected_record", frame("HEARTBEAT", 5, [["H", "1"], ["H", "2"]]))
bad("snapshot without A first", "unexpected_record", frame("SNAPSHOT", 2, [["Q", "EURUSD", "1", "1.1", "1.2"], ["A", "1", "0", "0", "0", "0"]]))
bad("snapshot position count in version 1", "unexpected_record", frame("SNAPSHOT", 2, [["A", "1", "0", "0", "0", "0"], ["N", "0"]]))
bad("snapshot with two position counts", "unexpected_record", frame("SNAPSHOT", 2, [["A", "1", "0", "0", "0", "0"], ["N", "0"], ["N", "0"]], version=2))
bad("snapshot position count below its positions", "absurd_value", frame("SNAPSHOT", 2, [["A", "1", "0", "0", "0", "0"], ["P", "1", "EURUSD", "buy", "1", "1.1", "1", "0", "0"], ["N", "0"]], version=2))
bad("snapshot negative position count", "absurd_value", frame("SNAPSHOT", 2, [["A", "1", "0", "0", "0", "0"], ["N", "-1"]], version=2))
bad("snapshot position count with two fields", "field_count", frame("SNAPSHOT", 2, [["A", "1", "0", "0", "0", "0"], ["N", "1", "2"]], version=2))
bad("snapshot with a second A", "unexpected_record", frame("SNAPSHOT", 2, [["A", "1", "0", "0", "0", "0"], ["A", "1", "0", "0", "0", "0"]]))
bad("two-letter tag", "unexpected_record", frame("TICKS", 5, [["QQ", "EURUSD", "1", "1.1", "1.2"]]))
bad("agent heartbeat with a record", "unexpected_record", frame("HEARTBEAT", 5, [["H", "1"]]), direction="agent")
bad("quote with three fields", "field_count", tick("EURUSD", "1", "1.1"))
bad("quote with five fields", "field_count", tick("EURUSD", "1", "1.1", "1.2", "9"))
bad("quote with trailing tab", "field_count", tick("EURUSD", "1", "1.1", "1.2", ""))
bad("deal with twelve fields", "field_count", frame("DEAL", 5, [["D", "1", "1", "buy", "in", "EURUSD", "1", "1.1", "0", "0", "0", "0", "1"]]))
bad("bid NaN", "bad_field", tick("EURUSD", "1", "NaN", "1.2"))
bad("bid with exponent", "bad_field", tick("EURUSD", "1", "1.1e0", "1.2"))
bad("bid with plus sign", "bad_field", tick("EURUSD", "1", "+1.1", "1.2"))
bad("bid with comma", "bad_field", tick("EURUSD", "1", "1,1", "1.2"))
bad("bid with nine fractional digits", "bad_field", tick("EURUSD", "1", "1.123456789", "1.2"))
bad("bid out of range", "bad_field", tick("EURUSD", "1", "99999999999", "1.2"))
bad("bid empty", "bad_field", tick("EURUSD", "1", "", "1.2"))
bad("bid with trailing point", "bad_field", tick("EURUSD", "1", "1.", "1.2"))
bad("ask with CR (CRLF line end)", "bad_field", "TM1\tTICKS\ta1b2c3\t5\nQ\tEURUSD\t1\t1.1\t1.2\r\n")
bad("header with CRLF line end", "bad_header", "TM1\tTICKS\ta1b2c3\t5\r\nQ\tEURUSD\t1\t1.1\t1.2\r\n")
bad("time with fraction", "bad_field", tick("EURUSD", "1.5", "1.1", "1.2"))
bad("time overflows Int64", "bad_field", tick("EURUSD", "9223372036854775808", "1.1", "1.2"))
bad("empty symbol", "bad_field", tick("", "1", "1.1", "1.2"))
bad("unknown side", "bad_field", frame("POSITION", 5, [["C", "opened", "1"], ["P", "1", "EURUSD", "long", "1", "1.1", "1", "0", "0"]]))
bad("unknown position change", "bad_field", frame("POSITION", 5, [["C", "modified", "1"], ["P", "1", "EURUSD", "buy", "1", "1.1", "1", "0", "0"]]))
bad("unknown deal type", "bad_field", frame("DEAL", 5, [["D", "1", "1", "deposit", "in", "", "0", "0", "100", "0", "0", "0", "0", ""]]))
bad("unknown calc mode", "bad_field", frame("SYMBOL", 5, [["S", "EURUSD", "5", "FOREX", "100000", "0.00001", "1", "USD", "EUR", "EUR"]]))
bad("unknown margin mode", "bad_field", frame("HELLO", 1, [["I", "mt5", "4755", "12345", "Demo-Server", "", "USD", "2", "hedging", "500", "1.00", "7200"]]))
bad("unknown platform", "bad_field", frame("HELLO", 1, [["I", "mt6", "4755", "12345", "Demo-Server", "", "USD", "2", "retail_hedging", "500", "1.00", "7200"]]))
bad("boolean 2", "bad_field", frame("CMDACK", 5, [["K", "7", "1", "2", ""]]))
bad("unknown reject reason", "bad_field", frame("REJECT", 1, [["R", "banned", "x"]]), direction="agent")
bad("unknown command kind", "bad_field", frame("COMMAND", 1, [["X", "1", "close_everything", "x"]]), direction="agent")
bad("ack sequence negative", "bad_field", frame("ACK", 1, [["N", "-1"]]), direction="agent")
bad("bid zero", "absurd_value", tick("EURUSD", "1", "0", "1.2"))
bad("ask negative", "absurd_value", tick("EURUSD", "1", "1.1", "-1.2"))
bad("bid above ask by more than 1%", "absurd_value", tick("EURUSD", "1", "1.2", "1.1"))
bad("bid above ask by 1% and a bit", "absurd_value", tick("EURUSD", "1", "1.01001", "1"))
bad("negative time", "absurd_value", tick("EURUSD", "-1", "1.1", "1.2"))
bad("position volume zero", "absurd_value", frame("POSITION", 5, [["C", "opened", "1"], ["P", "1", "EURUSD", "buy", "0", "1.1", "1", "0", "0"]]))
bad("position volume negative", "absurd_value", frame("POSITION", 5, [["C", "opened", "1"], ["P", "1", "EURUSD", "buy", "-0.1", "1.1", "1", "0", "0"]]))
bad("snapshot position ticket zero", "absurd_value", frame("SNAPSHOT", 2, [["A", "1", "0", "0", "0", "0"], ["P", "0", "EURUSD", "buy", "1", "1.1", "1", "0", "0"]]))
bad("trade deal volume zero", "absurd_value", frame("DEAL", 5, [["D", "1", "1", "buy", "in", "EURUSD", "0", "1.1", "0", "0", "0", "0", "1", ""]]))
bad("deal volume negative", "absurd_value", frame("DEAL", 5, [["D", "1", "1", "balance", "in", "", "-1", "0", "100", "0", "0", "0", "0", ""]]))
bad("contract size zero", "absurd_value", frame("SYMBOL", 5, [["S", "EURUSD", "5", "forex", "0", "0.00001", "1", "USD", "EUR", "EUR"]]))
bad("digits 9", "absurd_value", frame("SYMBOL", 5, [["S", "EURUSD", "9", "forex", "100000", "0.00001", "1", "USD", "EUR", "EUR"]]))
bad("negative margin", "absurd_value", frame("REPORT", 5, [["A", "1", "100", "0", "100", "-1"]]))
bad("UTC offset beyond a day", "absurd_value", frame("HELLO", 1, [["I", "mt5", "4755", "12345", "Demo-Server", "", "USD", "2", "retail_hedging", "500", "1.00", "90000"]]))
bad("login zero", "absurd_value", frame("HELLO", 1, [["I", "mt5", "4755", "0", "Demo-Server", "", "USD", "2", "retail_hedging", "500", "1.00", "7200"]]))
bad("welcome heartbeat interval zero", "absurd_value", frame("WELCOME", 1, [["W", "0", "x"]]), direction="agent")
json.dump(invalid, open(HERE + "/invalid.json", "w"), indent=2, ensure_ascii=False)
open(HERE + "/invalid.json", "a").write("\n")
print(len(valid), len(invalid))

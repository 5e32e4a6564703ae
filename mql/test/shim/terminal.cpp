// The fake terminal: the terminal functions of mql.h over FakeTerminal's state, and main(), which runs
// a scenario script (made by mql/test/scenario.py) against the EA's event handlers.
//
// Script: one command a line, fields separated by TAB.
//   account LOGIN SERVER COMPANY CURRENCY DIGITS LEVERAGE MARGINMODE(0 netting, 1 exchange, 2 hedging) UTCOFFSET
//   funds BALANCE CREDIT EQUITY MARGIN          time MS (server time: the last quote's)
//   symbol NAME DIGITS CALCMODE CONTRACT TICKSIZE TICKVALUE PROFITCCY MARGINCCY BASECCY VOLUMESTEP
//   quote SYMBOL MS BID ASK                     (appended to the tick history; the current quote)
//   open TICKET SYMBOL buy|sell VOLUME PRICE OPENMS SWAP COMMISSION
//   open_many COUNT FIRSTTICKET SYMBOL buy|sell VOLUME PRICE OPENMS   (COUNT positions, consecutive tickets)
//   modify TICKET VOLUME SWAP COMMISSION        close TICKET
//   deal TICKET MS TYPE ENTRY SYMBOL VOLUME PRICE PROFIT COMMISSION SWAP FEE POSITION COMMENT
//        (MT5: added to the deal history and announced by OnTradeTransaction DEAL_ADD; MT4: a balance
//         or credit entry, or the closed order POSITION with this ticket, in the history tab)
//   history_entry TICKET TYPE MS PROFIT          (MT4: a balance/credit entry already in the history tab)
//   history_from MS                             (MT4 history-tab filter: older entries are not loaded)
//   init | timer | tick | deinit REASON | crash (the process dies: no OnDeinit, unflushed globals lost)
//   report                                      (the clock jumps one report period: the next timer reports)
//   advance MS                                  (the monotonic clock jumps MS)
//   link down|up                                (frames sent while down are lost; nothing is received)
//   queue full|free                             (while full, every send fails with EAGAIN)
//   trade_result RETCODE                        (the next trade request's answer; default done)
//   settle TIMEOUTMS                            (timer passes until the agent acknowledged every frame)
//   expect_comment TEXT TIMEOUTMS               (timer passes until the chart comment contains TEXT)
//   expect_frame TYPE TIMEOUTMS                 (timer passes until the EA sends a frame of TYPE)
//   harness ACTION                              (the scenario runner acts: stop_agent, kill_agent, start_agent)
//   market_watch N                              (N more Market Watch symbols M0001…, each quoted)
//   market_ticks MS                             (MS later, a new quote for each of them)
//   fifo on|off                                 (FIFO account: closing a position older ones of its symbol precede is refused)
//   expect_sent TEXT TIMEOUTMS                  (timer passes until a frame the EA sends contains TEXT; \t = TAB)
//   expect_requests_per_pass_at_most N          expect_timer_pass_under_ms MS     expect_open_positions N
//   expect_no_alert                             (no Alert was raised so far)
#include "terminal.h"

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

int OnInit();
void OnDeinit(const int reason);
void OnTimer();
void OnTick();
#ifdef __MQL5__
void OnTradeTransaction(const MqlTradeTransaction &trans, const MqlTradeRequest &request, const MqlTradeResult &result);
#endif

FakeTerminal &FakeTerminal::instance() {
  static FakeTerminal terminal;
  return terminal;
}

static FakeTerminal &T() { return FakeTerminal::instance(); }
static int lastError = 0;
static int alerts = 0;
static bool verbose = std::getenv("TIDEMARK_SHIM_VERBOSE") != nullptr;

FakeSymbol *FakeTerminal::symbol(const std::string &name) {
  auto found = symbolIndex.find(name);
  return found == symbolIndex.end() ? nullptr : &symbols[found->second];
}

static void addSymbol(const FakeSymbol &s) {
  if (FakeSymbol *known = T().symbol(s.name)) {
    FakeSymbol updated = s;
    updated.ticks = known->ticks;
    updated.selected = known->selected;
    *known = updated;
    return;
  }
  T().symbolIndex[s.name] = T().symbols.size();
  T().symbols.push_back(s);
}

// The last position found or listed is checked first: an EA reading every position's properties in
// turn then costs one lookup each, not a scan of the list (accounts with 20,000 positions).
FakeOrder *FakeTerminal::openOrder(long ticket) {
  if (openHint < open.size() && open[openHint].ticket == ticket) return &open[openHint];
  for (size_t i = 0; i < open.size(); i++)
    if (open[i].ticket == ticket) {
      openHint = i;
      return &open[i];
    }
  return nullptr;
}

static std::vector<std::string> splitFields(const std::string &text, char separator) {
  std::vector<std::string> parts;
  std::string part;
  std::istringstream in(text);
  while (std::getline(in, part, separator)) parts.push_back(part);
  if (!text.empty() && text.back() == separator) parts.push_back("");
  return parts;
}

void FakeTerminal::noteSentFrame(const std::string &frame) {
  auto header = splitFields(frame.substr(0, frame.find('\n')), '\t');
  if (header.size() == 4) lastSentSequence = std::atol(header[3].c_str());
  framesSent++;
  sentFrames.push_back(frame);
  if (verbose) std::cerr << "  EA> " << frame.substr(0, frame.find('\n')) << "\n";
}

void FakeTerminal::noteLostFrame(const std::string &frame) {
  framesLost++;
  if (verbose) std::cerr << "  EA> (lost, link down) " << frame.substr(0, frame.find('\n')) << "\n";
}

void FakeTerminal::noteReceivedFrame(const std::string &frame) {
  auto lines = splitFields(frame, '\n');
  if (lines.size() < 2) return;
  auto header = splitFields(lines[0], '\t');
  auto record = splitFields(lines[1], '\t');
  if (verbose) std::cerr << "  <agent " << lines[0] << " | " << lines[1] << "\n";
  if (header.size() == 4 && header[1] == "ACK" && record.size() == 2)
    lastAckedSequence = std::max(lastAckedSequence, std::atol(record[1].c_str()));
  if (header.size() == 4 && header[1] == "REJECT" && record.size() >= 2) lastRejectReason = record[1];
}

// ---------------------------------------------------------------------------------------------
// Journal, clock, errors, timers, program and terminal properties.
// ---------------------------------------------------------------------------------------------
void MqlJournal(const char *kind, const std::string &line) {
  if (std::strcmp(kind, "Comment") == 0) {
    T().comment = line;
    return;
  }
  if (std::strcmp(kind, "Alert") == 0) alerts++;
  std::cerr << "  [" << kind << "] " << line << "\n";
}

static const auto processStart = std::chrono::steady_clock::now();
ulong GetMicrosecondCount() {
  auto elapsed = std::chrono::steady_clock::now() - processStart;
  return (ulong)(std::chrono::duration_cast<std::chrono::microseconds>(elapsed).count() + T().clockOffsetUs);
}
uint GetTickCount() { return (uint)(GetMicrosecondCount() / 1000); }
void Sleep(int milliseconds) { std::this_thread::sleep_for(std::chrono::milliseconds(milliseconds)); }
int GetLastError() { return lastError; }
void ResetLastError() { lastError = 0; }
bool EventSetMillisecondTimer(int milliseconds) { return milliseconds > 0; }
void EventKillTimer() {}
int MQLInfoInteger(ENUM_MQL_INFO_INTEGER property_id) {
  return property_id == MQL_DLLS_ALLOWED ? 1 : (T().tradeAllowed ? 1 : 0);
}
int TerminalInfoInteger(ENUM_TERMINAL_INFO_INTEGER property_id) {
  switch (property_id) {
  case TERMINAL_BUILD: return (int)T().build;
  case TERMINAL_CONNECTED: return T().connected ? 1 : 0;
  case TERMINAL_TRADE_ALLOWED: return T().tradeAllowed ? 1 : 0;
  }
  return 0;
}
datetime TimeCurrent() { return datetime(T().serverMs / 1000); }
datetime TimeTradeServer() { return datetime(T().serverMs / 1000); }
datetime TimeGMT() { return datetime(T().serverMs / 1000 - T().utcOffsetSeconds); }
datetime TimeLocal() { return datetime((long)std::time(nullptr)); }

bool GlobalVariableCheck(const string &name) { return T().globals.count(name.utf8()) > 0; }
double GlobalVariableGet(const string &name) {
  auto found = T().globals.find(name.utf8());
  return found == T().globals.end() ? 0.0 : found->second;
}
datetime GlobalVariableSet(const string &name, double value) {
  T().globals[name.utf8()] = value;
  return TimeCurrent();
}
bool GlobalVariableDel(const string &name) { return T().globals.erase(name.utf8()) > 0; }
// The terminal keeps global variables in memory and writes them to disk at a normal shutdown or on
// GlobalVariablesFlush; a crash loses what was not written. The fake's disk is TIDEMARK_GLOBALS_FILE.
void GlobalVariablesFlush() {
  const char *path = std::getenv("TIDEMARK_GLOBALS_FILE");
  if (!path) return;
  std::ofstream out(path);
  for (auto &entry : T().globals) out << entry.first << "\t" << std::to_string(entry.second) << "\n";
}
static void loadGlobals() {
  const char *path = std::getenv("TIDEMARK_GLOBALS_FILE");
  if (!path) return;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    size_t tab = line.find('\t');
    if (tab != std::string::npos) T().globals[line.substr(0, tab)] = std::atof(line.c_str() + tab + 1);
  }
}

// ---------------------------------------------------------------------------------------------
// Symbols and quotes.
// ---------------------------------------------------------------------------------------------
long SymbolInfoInteger(const string &name, ENUM_SYMBOL_INFO_INTEGER prop_id) {
  long value = 0;
  SymbolInfoInteger(name, prop_id, value);
  return value;
}
bool SymbolInfoInteger(const string &name, ENUM_SYMBOL_INFO_INTEGER prop_id, long &value) {
  FakeSymbol *s = T().symbol(name.utf8());
  if (!s) return false;
  value = prop_id == SYMBOL_DIGITS ? s->digits : s->calcMode;
  return true;
}
double SymbolInfoDouble(const string &name, ENUM_SYMBOL_INFO_DOUBLE prop_id) {
  double value = 0;
  SymbolInfoDouble(name, prop_id, value);
  return value;
}
bool SymbolInfoDouble(const string &name, ENUM_SYMBOL_INFO_DOUBLE prop_id, double &value) {
  FakeSymbol *s = T().symbol(name.utf8());
  if (!s) return false;
  switch (prop_id) {
  case SYMBOL_VOLUME_STEP: value = s->volumeStep; break;
  case SYMBOL_TRADE_CONTRACT_SIZE: value = s->contractSize; break;
  case SYMBOL_TRADE_TICK_SIZE: value = s->tickSize; break;
  case SYMBOL_TRADE_TICK_VALUE: value = s->tickValue; break;
  }
  return true;
}
string SymbolInfoString(const string &name, ENUM_SYMBOL_INFO_STRING prop_id) {
  string value;
  SymbolInfoString(name, prop_id, value);
  return value;
}
bool SymbolInfoString(const string &name, ENUM_SYMBOL_INFO_STRING prop_id, string &value) {
  FakeSymbol *s = T().symbol(name.utf8());
  if (!s) return false;
  const std::string &text = prop_id == SYMBOL_CURRENCY_BASE ? s->baseCurrency
                          : prop_id == SYMBOL_CURRENCY_PROFIT ? s->profitCurrency : s->marginCurrency;
  value = string(text.c_str());
  return true;
}
int SymbolsTotal(bool selected) {
  int count = 0;
  for (auto &s : T().symbols) if (!selected || s.selected) count++;
  return count;
}
string SymbolName(int pos, bool selected) {
  int index = 0;
  for (auto &s : T().symbols) {
    if (selected && !s.selected) continue;
    if (index++ == pos) return string(s.name.c_str());
  }
  return string();
}
bool SymbolSelect(const string &name, bool select) {
  FakeSymbol *s = T().symbol(name.utf8());
  if (!s) return false;
  s->selected = select;
  return true;
}
bool SymbolInfoTick(const string &symbol, MqlTick &tick) {
  FakeSymbol *s = T().symbol(symbol.utf8());
  if (!s || s->ticks.empty()) return false;
  tick = s->ticks.back();
  return true;
}
#ifdef __MQL5__
int CopyTicks(const string &symbol, MqlArray<MqlTick> &ticks_array, uint, ulong from, uint count) {
  FakeSymbol *s = T().symbol(symbol.utf8());
  if (!s) return -1;
  ticks_array.items.clear();
  for (auto &tick : s->ticks) {
    if ((ulong)tick.time_msc < from) continue;
    if (count > 0 && ticks_array.items.size() >= count) break;
    ticks_array.items.push_back({tick});
  }
  return (int)ticks_array.items.size();
}
#endif

// ---------------------------------------------------------------------------------------------
// Account.
// ---------------------------------------------------------------------------------------------
long AccountInfoInteger(ENUM_ACCOUNT_INFO_INTEGER property_id) {
  switch (property_id) {
  case ACCOUNT_LOGIN: return T().login;
  case ACCOUNT_LEVERAGE: return T().leverage;
  case ACCOUNT_MARGIN_MODE: return T().marginMode;
  case ACCOUNT_CURRENCY_DIGITS: return T().currencyDigits;
  }
  return 0;
}
double AccountInfoDouble(ENUM_ACCOUNT_INFO_DOUBLE property_id) {
  switch (property_id) {
  case ACCOUNT_BALANCE: return T().balance;
  case ACCOUNT_CREDIT: return T().credit;
  case ACCOUNT_EQUITY: return T().equity;
  case ACCOUNT_MARGIN: return T().margin;
  }
  return 0;
}
string AccountInfoString(ENUM_ACCOUNT_INFO_STRING property_id) {
  switch (property_id) {
  case ACCOUNT_SERVER: return string(T().server.c_str());
  case ACCOUNT_CURRENCY: return string(T().currency.c_str());
  case ACCOUNT_COMPANY: return string(T().company.c_str());
  case ACCOUNT_NAME: return "Scenario"_mql;
  }
  return string();
}

// A trade request closing `order` at `price`: the scripted answer, or done (the order leaves the
// open list; the deal's figures are the scenario's to script, so the fill adds no deal here).
static uint executeClose(long ticket) {
  T().tradeRequests++;
  T().requestsThisPass++;
  T().maxRequestsPerPass = std::max(T().maxRequestsPerPass, T().requestsThisPass);
  if (T().fifo) {
    // FIFO (NFA rule): a position may close only when no older one of its symbol is open.
    const FakeOrder *order = T().openOrder(ticket);
    for (auto &other : T().open)
      if (order && other.symbol == order->symbol &&
          (other.openMs < order->openMs || (other.openMs == order->openMs && other.ticket < order->ticket)))
#ifdef __MQL5__
        return TRADE_RETCODE_FIFO_CLOSE;
#else
        return ERR_TRADE_PROHIBITED_BY_FIFO;
#endif
  }
  uint answer = 0;
  if (!T().tradeResults.empty()) {
    answer = T().tradeResults.front();
    T().tradeResults.pop_front();
  }
  if (answer != 0) return answer;
  for (size_t i = 0; i < T().open.size(); i++)
    if (T().open[i].ticket == ticket) {
      T().open.erase(T().open.begin() + (long)i);
      break;
    }
  return 0;
}

#ifdef __MQL5__
// ---------------------------------------------------------------------------------------------
// MQL5 positions, history and trading.
// ---------------------------------------------------------------------------------------------
int PositionsTotal() { return (int)T().open.size(); }
ulong PositionGetTicket(int index) {
  if (index < 0 || index >= (int)T().open.size()) return 0;
  T().selectedPosition = T().open[(size_t)index].ticket;
  T().openHint = (size_t)index;
  return (ulong)T().selectedPosition;
}
bool PositionSelectByTicket(ulong ticket) {
  if (!T().openOrder((long)ticket)) return false;
  T().selectedPosition = (long)ticket;
  return true;
}
long PositionGetInteger(ENUM_POSITION_PROPERTY_INTEGER property_id) {
  FakeOrder *o = T().openOrder(T().selectedPosition);
  if (!o) return 0;
  switch (property_id) {
  case POSITION_TICKET: case POSITION_IDENTIFIER: return o->ticket;
  case POSITION_TYPE: return o->type;
  case POSITION_TIME_MSC: return o->openMs;
  }
  return 0;
}
double PositionGetDouble(ENUM_POSITION_PROPERTY_DOUBLE property_id) {
  FakeOrder *o = T().openOrder(T().selectedPosition);
  if (!o) return 0;
  switch (property_id) {
  case POSITION_VOLUME: return o->volume;
  case POSITION_PRICE_OPEN: return o->openPrice;
  case POSITION_SWAP: return o->swap;
  case POSITION_PROFIT: return o->profit;
  }
  return 0;
}
string PositionGetString(ENUM_POSITION_PROPERTY_STRING property_id) {
  FakeOrder *o = T().openOrder(T().selectedPosition);
  if (!o) return string();
  return string((property_id == POSITION_SYMBOL ? o->symbol : o->comment).c_str());
}

bool HistorySelect(datetime from_date, datetime to_date) {
  T().historySelection.clear();
  for (auto &d : T().deals)
    if (d.timeMs / 1000 >= from_date.seconds && d.timeMs / 1000 <= to_date.seconds) T().historySelection.push_back(d.ticket);
  return true;
}
int HistoryDealsTotal() { return (int)T().historySelection.size(); }
ulong HistoryDealGetTicket(int index) {
  if (index < 0 || index >= (int)T().historySelection.size()) return 0;
  return (ulong)T().historySelection[(size_t)index];
}
bool HistoryDealSelect(ulong ticket) {
  for (auto &d : T().deals)
    if (d.ticket == (long)ticket) {
      T().historySelection.assign(1, d.ticket);
      return true;
    }
  return false;
}
// Only deals in the current selection can be read (HistorySelect / HistoryDealSelect).
static const FakeDeal *selectedDeal(ulong ticket) {
  bool inSelection = false;
  for (long t : T().historySelection) inSelection = inSelection || t == (long)ticket;
  if (!inSelection) return nullptr;
  for (auto &d : T().deals) if (d.ticket == (long)ticket) return &d;
  return nullptr;
}
long HistoryDealGetInteger(ulong ticket_number, ENUM_DEAL_PROPERTY_INTEGER property_id) {
  const FakeDeal *d = selectedDeal(ticket_number);
  if (!d) return 0;
  switch (property_id) {
  case DEAL_TICKET: return d->ticket;
  case DEAL_TYPE: return d->type;
  case DEAL_ENTRY: return d->entry;
  case DEAL_TIME_MSC: return d->timeMs;
  case DEAL_POSITION_ID: return d->positionId;
  }
  return 0;
}
double HistoryDealGetDouble(ulong ticket_number, ENUM_DEAL_PROPERTY_DOUBLE property_id) {
  const FakeDeal *d = selectedDeal(ticket_number);
  if (!d) return 0;
  switch (property_id) {
  case DEAL_VOLUME: return d->volume;
  case DEAL_PRICE: return d->price;
  case DEAL_PROFIT: return d->profit;
  case DEAL_COMMISSION: return d->commission;
  case DEAL_SWAP: return d->swap;
  case DEAL_FEE: return d->fee;
  }
  return 0;
}
string HistoryDealGetString(ulong ticket_number, ENUM_DEAL_PROPERTY_STRING property_id) {
  const FakeDeal *d = selectedDeal(ticket_number);
  if (!d) return string();
  return string((property_id == DEAL_SYMBOL ? d->symbol : d->comment).c_str());
}
bool OrderSend(MqlTradeRequest &request, MqlTradeResult &result) {
  result = MqlTradeResult{};
  uint answer = executeClose((long)request.position);
  result.retcode = answer == 0 ? TRADE_RETCODE_DONE : answer;
  return answer == 0;
}
bool OrderSendAsync(MqlTradeRequest &request, MqlTradeResult &result) {
  bool done = OrderSend(request, result);
  if (done) result.retcode = TRADE_RETCODE_PLACED;
  return done;
}
#endif

#ifdef __MQL4__
// ---------------------------------------------------------------------------------------------
// MQL4 account, market information and orders.
// ---------------------------------------------------------------------------------------------
int AccountNumber() { return (int)T().login; }
string AccountServer() { return string(T().server.c_str()); }
string AccountCompany() { return string(T().company.c_str()); }
string AccountCurrency() { return string(T().currency.c_str()); }
int AccountLeverage() { return (int)T().leverage; }
double AccountBalance() { return T().balance; }
double AccountCredit() { return T().credit; }
double AccountEquity() { return T().equity; }
double AccountMargin() { return T().margin; }
bool IsConnected() { return T().connected; }
bool IsTradeContextBusy() { return false; }
bool RefreshRates() { return true; }

double MarketInfo(const string &symbol, int type) {
  FakeSymbol *s = T().symbol(symbol.utf8());
  if (!s) { lastError = 4106; return 0; }
  const MqlTick *tick = s->ticks.empty() ? nullptr : &s->ticks.back();
  switch (type) {
  case MODE_TIME: return tick ? (double)(tick->time_msc / 1000) : 0;  // MT4 quote times are whole seconds
  case MODE_BID: return tick ? tick->bid : 0;
  case MODE_ASK: return tick ? tick->ask : 0;
  case MODE_DIGITS: return s->digits;
  case MODE_LOTSIZE: return s->contractSize;
  case MODE_TICKVALUE: return s->tickValue;
  case MODE_TICKSIZE: return s->tickSize;
  case MODE_PROFITCALCMODE: return s->calcMode;
  }
  return 0;
}

static std::vector<FakeOrder *> loadedHistory() {
  std::vector<FakeOrder *> loaded;
  for (auto &o : T().history) {
    long when = o.type >= 6 ? o.openMs : o.closeMs;
    if (when >= T().historyFromMs) loaded.push_back(&o);
  }
  return loaded;
}
static FakeOrder *selected() {
  if (T().selectedOrder < 0) return nullptr;
  if (T().selectedFromHistory) {
    auto loaded = loadedHistory();
    return T().selectedOrder < (int)loaded.size() ? loaded[(size_t)T().selectedOrder] : nullptr;
  }
  return T().selectedOrder < (int)T().open.size() ? &T().open[(size_t)T().selectedOrder] : nullptr;
}
int OrdersTotal() { return (int)T().open.size(); }
int OrdersHistoryTotal() { return (int)loadedHistory().size(); }
bool OrderSelect(int index, int select, int pool) {
  if (select == SELECT_BY_TICKET) {
    for (size_t i = 0; i < T().open.size(); i++)
      if (T().open[i].ticket == index) { T().selectedOrder = (int)i; T().selectedFromHistory = false; return true; }
    auto loaded = loadedHistory();
    for (size_t i = 0; i < loaded.size(); i++)
      if (loaded[i]->ticket == index) { T().selectedOrder = (int)i; T().selectedFromHistory = true; return true; }
    return false;
  }
  int total = pool == MODE_HISTORY ? OrdersHistoryTotal() : OrdersTotal();
  if (index < 0 || index >= total) return false;
  T().selectedOrder = index;
  T().selectedFromHistory = pool == MODE_HISTORY;
  return true;
}
int OrderTicket() { FakeOrder *o = selected(); return o ? (int)o->ticket : 0; }
int OrderType() { FakeOrder *o = selected(); return o ? o->type : 0; }
string OrderSymbol() { FakeOrder *o = selected(); return o ? string(o->symbol.c_str()) : string(); }
double OrderLots() { FakeOrder *o = selected(); return o ? o->volume : 0; }
double OrderOpenPrice() { FakeOrder *o = selected(); return o ? o->openPrice : 0; }
datetime OrderOpenTime() { FakeOrder *o = selected(); return datetime(o ? o->openMs / 1000 : 0); }
double OrderClosePrice() { FakeOrder *o = selected(); return o ? o->closePrice : 0; }
datetime OrderCloseTime() { FakeOrder *o = selected(); return datetime(o ? o->closeMs / 1000 : 0); }
double OrderProfit() { FakeOrder *o = selected(); return o ? o->profit : 0; }
double OrderCommission() { FakeOrder *o = selected(); return o ? o->commission : 0; }
double OrderSwap() { FakeOrder *o = selected(); return o ? o->swap : 0; }
string OrderComment() { FakeOrder *o = selected(); return o ? string(o->comment.c_str()) : string(); }
bool OrderClose(int ticket, double, double, int, color) {
  uint answer = executeClose(ticket);
  lastError = (int)answer;
  return answer == 0;
}
#endif

// ---------------------------------------------------------------------------------------------
// The scenario runner.
// ---------------------------------------------------------------------------------------------
static int runTimer() {
  T().requestsThisPass = 0;
  auto start = std::chrono::steady_clock::now();
  OnTimer();
  long us = (long)std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - start).count();
  T().longestTimerPassUs = std::max(T().longestTimerPassUs, us);
  return 0;
}

// Runs timer passes (every 20 ms of real time) until done() or the deadline; false on timeout.
template <typename Done> static bool pumpUntil(Done done, long timeoutMs) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeoutMs);
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    runTimer();
    if (done()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return true;
}

static void applyDeal(const std::vector<std::string> &f) {
  FakeDeal d;
  d.ticket = std::atol(f[1].c_str());
  d.timeMs = std::atol(f[2].c_str());
  const std::string &type = f[3], &entry = f[4];
  static const char *types[] = {"buy", "sell", "balance", "credit", "charge", "correction", "bonus", "commission"};
  for (int i = 0; i < 8; i++) if (type == types[i]) d.type = i;
  d.entry = entry == "in" ? 0 : entry == "out" ? 1 : entry == "inout" ? 2 : 3;
  d.symbol = f[5];
  d.volume = std::atof(f[6].c_str());
  d.price = std::atof(f[7].c_str());
  d.profit = std::atof(f[8].c_str());
  d.commission = std::atof(f[9].c_str());
  d.swap = std::atof(f[10].c_str());
  d.fee = std::atof(f[11].c_str());
  d.positionId = std::atol(f[12].c_str());
  d.comment = f.size() > 13 ? f[13] : "";
  // The account follows its deals: balance operations and closed results (MT5 books entry
  // commission at the deal too; MT4 books an order's commission and swap when it closes).
  if (d.type == 3) T().credit += d.profit;
  else T().balance += d.profit + d.commission + d.swap + d.fee;
#ifdef __MQL5__
  T().deals.push_back(d);
  MqlTradeTransaction transaction{};
  transaction.type = TRADE_TRANSACTION_DEAL_ADD;
  transaction.deal = (ulong)d.ticket;
  transaction.position = (ulong)d.positionId;
  MqlTradeRequest request{};
  MqlTradeResult result{};
  OnTradeTransaction(transaction, request, result);
#else
  FakeOrder entryOrder;
  entryOrder.ticket = d.ticket;
  entryOrder.comment = d.comment;
  entryOrder.profit = d.profit;
  if (d.type == 2 || d.type == 3) {
    entryOrder.type = d.type == 2 ? 6 : 7;
    entryOrder.openMs = d.timeMs;
  } else {
    // An MT4 close: the order POSITION leaves the trade tab for the history tab under its own ticket,
    // with the lots closed (a partial close reopens the rest under a new ticket: an `open` line).
    FakeOrder *o = T().openOrder(d.positionId);
    entryOrder.ticket = d.positionId;
    entryOrder.type = d.type == 1 ? 0 : 1;  // a sell deal closes a buy order
    entryOrder.symbol = d.symbol;
    entryOrder.volume = d.volume;
    entryOrder.openPrice = o ? o->openPrice : d.price;
    entryOrder.openMs = o ? o->openMs : d.timeMs;
    entryOrder.closePrice = d.price;
    entryOrder.closeMs = d.timeMs;
    entryOrder.commission = d.commission;
    entryOrder.swap = d.swap;
    for (size_t i = 0; i < T().open.size(); i++)
      if (T().open[i].ticket == d.positionId) { T().open.erase(T().open.begin() + (long)i); break; }
  }
  T().history.push_back(entryOrder);
#endif
}

static bool runCommand(const std::vector<std::string> &f, int lineNumber) {
  const std::string &c = f[0];
  FakeTerminal &t = T();
  auto fail = [&](const std::string &why) {
    std::cerr << "scenario line " << lineNumber << " (" << c << "): " << why << "\n";
    return false;
  };
  if (c == "account") {
    t.login = std::atol(f[1].c_str()); t.server = f[2]; t.company = f[3]; t.currency = f[4];
    t.currencyDigits = std::atol(f[5].c_str()); t.leverage = std::atol(f[6].c_str());
    t.marginMode = std::atoi(f[7].c_str()); t.utcOffsetSeconds = std::atol(f[8].c_str());
  } else if (c == "funds") {
    t.balance = std::atof(f[1].c_str()); t.credit = std::atof(f[2].c_str());
    t.equity = std::atof(f[3].c_str()); t.margin = std::atof(f[4].c_str());
  } else if (c == "time") {
    t.serverMs = std::max(t.serverMs, std::atol(f[1].c_str()));
  } else if (c == "symbol") {
    FakeSymbol s;
    s.name = f[1]; s.digits = std::atoi(f[2].c_str()); s.calcMode = std::atoi(f[3].c_str());
    s.contractSize = std::atof(f[4].c_str()); s.tickSize = std::atof(f[5].c_str()); s.tickValue = std::atof(f[6].c_str());
    s.profitCurrency = f[7]; s.marginCurrency = f[8]; s.baseCurrency = f[9]; s.volumeStep = std::atof(f[10].c_str());
    addSymbol(s);
  } else if (c == "quote") {
    FakeSymbol *s = t.symbol(f[1]);
    if (!s) return fail("unknown symbol " + f[1]);
    MqlTick tick{};
    tick.time_msc = std::atol(f[2].c_str());
    tick.time = datetime(tick.time_msc / 1000);
    tick.bid = std::atof(f[3].c_str());
    tick.ask = std::atof(f[4].c_str());
    s->ticks.push_back(tick);
    t.serverMs = std::max(t.serverMs, tick.time_msc);
  } else if (c == "open") {
    FakeOrder o;
    o.ticket = std::atol(f[1].c_str()); o.symbol = f[2]; o.type = f[3] == "buy" ? 0 : 1;
    o.volume = std::atof(f[4].c_str()); o.openPrice = std::atof(f[5].c_str()); o.openMs = std::atol(f[6].c_str());
    o.swap = std::atof(f[7].c_str()); o.commission = std::atof(f[8].c_str());
    if (FakeOrder *known = t.openOrder(o.ticket)) *known = o;
    else t.open.push_back(o);
  } else if (c == "open_many") {
    // COUNT positions alike: open_many COUNT FIRST-TICKET SYMBOL SIDE VOLUME OPEN-PRICE OPEN-MS (tickets consecutive).
    long count = std::atol(f[1].c_str());
    long first = std::atol(f[2].c_str());
    for (long i = 0; i < count; i++) {
      FakeOrder o;
      o.ticket = first + i; o.symbol = f[3]; o.type = f[4] == "buy" ? 0 : 1;
      o.volume = std::atof(f[5].c_str()); o.openPrice = std::atof(f[6].c_str()); o.openMs = std::atol(f[7].c_str());
      t.open.push_back(o);
    }
  } else if (c == "modify") {
    FakeOrder *o = t.openOrder(std::atol(f[1].c_str()));
    if (!o) return fail("no open position " + f[1]);
    o->volume = std::atof(f[2].c_str()); o->swap = std::atof(f[3].c_str()); o->commission = std::atof(f[4].c_str());
  } else if (c == "close") {
    long ticket = std::atol(f[1].c_str());
    for (size_t i = 0; i < t.open.size(); i++)
      if (t.open[i].ticket == ticket) { t.open.erase(t.open.begin() + (long)i); break; }
  } else if (c == "deal") {
    if (f.size() < 13) return fail("a deal has 13 fields");
    applyDeal(f);
  } else if (c == "history_entry") {
#ifdef __MQL4__
    // An entry the history tab holds already (no effect on the balance): TICKET TYPE(6 balance, 7 credit) MS PROFIT.
    FakeOrder o;
    o.ticket = std::atol(f[1].c_str()); o.type = std::atoi(f[2].c_str()); o.openMs = std::atol(f[3].c_str());
    o.profit = std::atof(f[4].c_str()); o.comment = "old entry";
    t.history.push_back(o);
#endif
  } else if (c == "history_from") {
    t.historyFromMs = std::atol(f[1].c_str());
  } else if (c == "init") {
    if (OnInit() != INIT_SUCCEEDED) return fail("OnInit failed");
  } else if (c == "timer") {
    runTimer();
  } else if (c == "tick") {
    OnTick();
  } else if (c == "deinit") {
    OnDeinit(std::atoi(f[1].c_str()));
    GlobalVariablesFlush();  // a normal terminal shutdown writes its global variables
  } else if (c == "crash") {
    std::cout << "crashed" << std::endl;
    std::_Exit(3);  // the terminal dies: no OnDeinit, no flush
  } else if (c == "report") {
    // The clock jumps; a frame from the agent waiting on the socket keeps the jump from reading as
    // an agent silent for the whole period (which starts a new session, as it should on a real pause).
    if (!FakeAgentFrameWaiting(5000)) return fail("no frame from the agent within 5 s");
    t.clockOffsetUs += 1000L * 1000L * std::max(1, MqlInput<int>("InpReportSeconds", 10));
  } else if (c == "advance") {
    t.clockOffsetUs += 1000L * std::atol(f[1].c_str());
  } else if (c == "link") {
    t.linkDown = f[1] == "down";
  } else if (c == "queue") {
    t.queueFull = f[1] == "full";
  } else if (c == "trade_result") {
    t.tradeResults.push_back((uint)std::atol(f[1].c_str()));
  } else if (c == "settle") {
    long timeout = std::atol(f[1].c_str());
    // A REJECT ends the session: nothing more will be acknowledged.
    if (!pumpUntil([&] { return !t.lastRejectReason.empty() || t.comment.find("REJECTED") != std::string::npos ||
                                (t.lastSentSequence > 0 && t.lastAckedSequence >= t.lastSentSequence); }, timeout))
      return fail("the agent acknowledged " + std::to_string(t.lastAckedSequence) + " of " +
                  std::to_string(t.lastSentSequence) + " frames within " + f[1] + " ms");
  } else if (c == "expect_comment") {
    if (!pumpUntil([&] { return t.comment.find(f[1]) != std::string::npos; }, std::atol(f[2].c_str())))
      return fail("chart comment never contained \"" + f[1] + "\"; it reads: " + t.comment);
  } else if (c == "expect_frame") {
    size_t before = t.sentFrames.size();
    auto sent = [&] {
      for (size_t i = before; i < t.sentFrames.size(); i++)
        if (t.sentFrames[i].compare(4, f[1].size() + 1, f[1] + "\t") == 0) return true;
      return false;
    };
    if (!pumpUntil(sent, std::atol(f[2].c_str()))) return fail("the EA sent no " + f[1] + " within " + f[2] + " ms");
  } else if (c == "harness") {
    // Asks the scenario runner to act (stop, kill or start the agent) and waits until it has.
    std::cout << "HARNESS " << f[1] << std::endl;
    std::string answer;
    if (!std::getline(std::cin, answer) || answer != "done") return fail("the harness did not do " + f[1]);
  } else if (c == "market_watch") {
    // N more symbols in Market Watch (price-source terminals): M0001… quoted in USD, each with a quote.
    long count = std::atol(f[1].c_str());
    for (long i = 1; i <= count; i++) {
      FakeSymbol s;
      char name[16];
      std::snprintf(name, sizeof name, "M%04ld", i);
      s.name = name; s.digits = 5; s.profitCurrency = "USD"; s.marginCurrency = name; s.baseCurrency = name;
      s.selected = true;
      MqlTick tick{};
      tick.time_msc = t.serverMs;
      tick.time = datetime(t.serverMs / 1000);
      tick.bid = 1.0 + (double)i / 10000.0;
      tick.ask = tick.bid + 0.0002;
      s.ticks.push_back(tick);
      addSymbol(s);
    }
  } else if (c == "market_ticks") {
    // A new quote, MS later, for every Market Watch symbol M0001….
    t.serverMs += std::atol(f[1].c_str());
    for (auto &s : t.symbols) {
      if (s.name[0] != 'M' || s.ticks.empty()) continue;
      MqlTick tick = s.ticks.back();
      tick.time_msc = t.serverMs;
      tick.time = datetime(t.serverMs / 1000);
      tick.bid += 0.00001;
      tick.ask += 0.00001;
      s.ticks.push_back(tick);
    }
  } else if (c == "fifo") {
    t.fifo = f[1] == "on";
  } else if (c == "expect_sent") {
    // Timer passes until a frame the EA sends contains TEXT (\t in TEXT stands for a TAB).
    std::string text = f[1];
    for (size_t at; (at = text.find("\\t")) != std::string::npos;) text.replace(at, 2, "\t");
    size_t before = 0;
    auto sent = [&] {
      for (size_t i = before; i < t.sentFrames.size(); i++)
        if (t.sentFrames[i].find(text) != std::string::npos) return true;
      return false;
    };
    if (!pumpUntil(sent, std::atol(f[2].c_str()))) return fail("the EA sent no frame containing \"" + f[1] + "\"");
  } else if (c == "expect_requests_per_pass_at_most") {
    if (t.maxRequestsPerPass > std::atol(f[1].c_str()))
      return fail("a timer pass sent " + std::to_string(t.maxRequestsPerPass) + " trade requests");
  } else if (c == "expect_timer_pass_under_ms") {
    if (t.longestTimerPassUs > 1000 * std::atol(f[1].c_str()))
      return fail("a timer pass took " + std::to_string(t.longestTimerPassUs / 1000) + " ms");
  } else if (c == "expect_open_positions") {
    if ((long)t.open.size() != std::atol(f[1].c_str()))
      return fail(std::to_string(t.open.size()) + " positions are open");
  } else if (c == "expect_no_alert") {
    if (alerts > 0) return fail(std::to_string(alerts) + " Alert(s) were raised");
  } else {
    return fail("unknown command");
  }
  return true;
}

int main(int argc, char **argv) {
  if (argc != 2) {
    std::cerr << "usage: " << argv[0] << " SCENARIO-SCRIPT\n";
    return 2;
  }
  std::ifstream in(argv[1]);
  if (!in) {
    std::cerr << "cannot read " << argv[1] << "\n";
    return 2;
  }
  loadGlobals();
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    number++;
    if (line.empty() || line[0] == '#') continue;
    if (!runCommand(splitFields(line, '\t'), number)) return 1;
  }
  std::cerr << "  frames sent " << T().framesSent << ", acknowledged up to " << T().lastAckedSequence
            << ", lost while the link was down " << T().framesLost << "; longest timer pass "
            << T().longestTimerPassUs / 1000.0 << " ms; trade requests " << T().tradeRequests << " (at most "
            << T().maxRequestsPerPass << " in a pass)\n";
  std::cout << "comment: " << T().comment << "\n";
  return 0;
}

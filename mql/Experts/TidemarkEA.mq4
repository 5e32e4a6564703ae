//+------------------------------------------------------------------+
//| TidemarkEA.mq4                                                   |
//| Publishes this MetaTrader 4 account to the Tidemark agent over   |
//| ZeroMQ (wire protocol TM1, protocol/SPEC.md): HELLO + SNAPSHOT   |
//| on connect, then quotes, positions (market orders), closed       |
//| orders and balance operations as deals, periodic reports and     |
//| heartbeats; executes the agent's close_all / disable_trading /   |
//| enable_trading commands.                                         |
//|                                                                  |
//| MT4 has no deals and no trade events: every timer pass compares  |
//| OrdersTotal / OrdersHistoryTotal with what was sent (SPEC §4.2,  |
//| D: a closed order is a DEAL out, order types 6 and 7 are         |
//| balance and credit operations).                                  |
//+------------------------------------------------------------------+
#property copyright   "Tidemark"
#property version     "1.00"
#property description "Publishes this account to the Tidemark agent (ZeroMQ, protocol TM1)."
#property description "Needs libzmq.dll (and libsodium.dll for CURVE) in MQL4\\Libraries and 'Allow DLL imports'."
#property strict

#include <Tidemark\Session.mqh>

// Sent in HELLO; keep equal to #property version.
#define TM_EA_VERSION          "1.00"
// At most one snapshot per second, however many RESYNCs arrive (SPEC §6.2: coalesce).
#define TM_SNAPSHOT_MIN_GAP_MS 1000
// A snapshot carries price-source symbols only while it stays under this size (the agent refuses
// frames over its ZMQ_MAXMSGSIZE, 1 MiB by default; SPEC §2); the rest follow in SYMBOL frames, at
// most TM_ANNOUNCE_PER_PASS a timer pass.
#define TM_SNAPSHOT_MAX_BYTES   524288
#define TM_ANNOUNCE_PER_PASS    500
// close_all: at most this many close requests per timer pass, and an answer within this time.
#define TM_CLOSES_PER_PASS      5
#define TM_CLOSE_ALL_TIMEOUT_MS 30000
// While trading is disabled, its terminal global variable is rewritten this often (see DisabledKey).
#define TM_DISABLED_REFRESH_MS 3600000
// A fresh snapshot once this many frames followed the last one and the agent acknowledged them all:
// it keeps the resume journal short (SPEC §6.7).
#define TM_JOURNAL_COMPACT_FRAMES 2000
// Watched symbols are re-checked (new Market Watch symbols, specifications that were not ready).
#define TM_WATCH_REFRESH_MS    5000
// MT4 order types 6 and 7 (no named constants in MQL4): balance and credit operations in the history.
#define TM_MT4_BALANCE         6
#define TM_MT4_CREDIT          7
// MT4 accounts report no currency digits: money goes out with 2 (SPEC §4.2, I).
#define TM_MT4_MONEY_DIGITS    2

input string InpAgentEndpoint         = "tcp://127.0.0.1:5555"; // Agent endpoint (tcp://host:port)
input string InpAgentPublicKey        = "";    // CURVE: agent public key (Z85, 40 chars; empty = no CURVE)
input string InpClientPublicKey       = "";    // CURVE: this EA's public key (Z85)
input string InpClientSecretKey       = "";    // CURVE: this EA's secret key (Z85); better: InpClientKeyFile
input string InpClientKeyFile         = "";    // CURVE: this EA's tidemark keys secret certificate in the Files folder
input int    InpTimerMilliseconds     = 200;   // Timer period, ms (50..5000)
input int    InpReportSeconds         = 10;    // REPORT (balance, equity, margin) every N seconds
input bool   InpPriceSource           = false; // Price source: publish every Market Watch symbol
input int    InpCloseSlippagePoints   = 50;    // Max slippage when closing on command, points
input int    InpByeLingerMilliseconds = 500;   // On removal: wait up to this long for BYE to leave

CTidemarkLink    g_link;
CTmPositionBook  g_book;               // market orders as last sent
CTmTicketSet     g_seenHistory;        // history tickets already sent or covered by a snapshot
CTmTicketSet     g_keptWhileDisabled;  // orders open when trading was disabled
CTmCommandLog    g_commands;
CTmPairCache     g_pairs;              // conversion symbols found (or not) per currency pair
CTmTimedBatch    g_batch;
TmWatchedSymbol  g_watch[];
bool             g_snapshotDue = false;
ulong            g_lastSnapshotMs = 0;
ulong            g_lastReportMs = 0;
ulong            g_lastWatchRefreshMs = 0;
ulong            g_lastEnforceMs = 0;
int              g_lastHistoryTotal = -1;
long             g_snapshotServerMs = 0;  // server time (ms) of the last snapshot: older history is in its balance
int              g_moneyDigits = TM_MT4_MONEY_DIGITS;
string           g_currency = "";
bool             g_tradingDisabled = false;
long             g_disabledAtMs = 0;   // server time (ms) trading was disabled; orders opened later are closed
bool             g_disabledLoaded = false;
int              g_watchNeeded = 0;    // g_watch[0 .. g_watchNeeded) are the positions' symbols and their conversions
int              g_lastMarketWatchCount = -1;
ulong            g_lastMarketWatchScanMs = 0;
long             g_closeAllIds[];      // close_all commands being carried out (answered when done)
int              g_closeAllInitial = 0;
int              g_closeAllRequests = 0;
ulong            g_closeAllDeadlineMs = 0;
string           g_closeAllLastError = "";
ulong            g_lastDisabledRefreshMs = 0;
long             g_refusedQuotes = 0;
string           g_lastComment = "";

//+------------------------------------------------------------------+
//| Small helpers                                                    |
//+------------------------------------------------------------------+
long NowServerMs()
  {
   return TmTimeMs(TimeCurrent());
  }

int ReportPeriodMs()
  {
   int seconds = InpReportSeconds;
   if(seconds < 1)
      seconds = 1;
   return seconds * 1000;
  }

bool AccountReady()
  {
   return AccountNumber() > 0 && StringLen(AccountServer()) > 0 && StringLen(AccountCurrency()) > 0 &&
          IsConnected();
  }

bool IsMarketOrder(const int type)
  {
   return type == OP_BUY || type == OP_SELL;
  }

// Terminal global variable that keeps "trading disabled" across terminal restarts and crashes (one per
// server and login: two brokers may reuse a login); its value is the server time (ms) at which trading
// was disabled. The terminal deletes a global variable 4 weeks after its last access and writes them
// to disk only at shutdown or on GlobalVariablesFlush (MQL reference, "Global Variables of the
// Client Terminal"): the EA flushes on every change and refreshes the variable while it holds.
string DisabledKey()
  {
   return "Tidemark.TradingDisabled." + AccountServer() + "." + IntegerToString(AccountNumber());
  }

void LoadDisabledState()
  {
   if(g_disabledLoaded || AccountNumber() <= 0)
      return;
   g_disabledLoaded = true;
   g_disabledAtMs = 0;
   if(GlobalVariableCheck(DisabledKey()))
      g_disabledAtMs = (long)GlobalVariableGet(DisabledKey());
   g_tradingDisabled = (g_disabledAtMs > 0);
   g_keptWhileDisabled.Clear();
   if(g_tradingDisabled)
      Print("Tidemark: trading stays disabled (set by the agent before this restart); orders opened since are closed");
  }

// Sends a frame whose loss would leave the agent's state wrong; a loss is repaired with a snapshot.
void SendState(const string type, const string records, const ulong now)
  {
   if(!g_link.Send(type, records, now))
      g_snapshotDue = true;
  }

void UpdateComment()
  {
   string text = g_link.Status();
   if(g_tradingDisabled)
      text = text + "\ntrading DISABLED by the agent (new orders are closed)";
   if(text != g_lastComment)
     {
      Comment(text);
      g_lastComment = text;
     }
  }

//+------------------------------------------------------------------+
//| Records from the terminal                                        |
//+------------------------------------------------------------------+
string HelloRecord()
  {
   // MT4 accounts are always hedging accounts (SPEC §4.2, I).
   return TmRecordHello("mt4", TerminalInfoInteger(TERMINAL_BUILD), AccountNumber(), AccountServer(),
                        AccountCompany(), g_currency, g_moneyDigits, "retail_hedging", AccountLeverage(),
                        TM_EA_VERSION, TmBrokerUtcOffsetSeconds(TimeTradeServer(), TimeGMT()));
  }

string AccountRecord()
  {
   return TmRecordAccount(NowServerMs(), AccountBalance(), AccountCredit(), AccountEquity(), AccountMargin(),
                          g_moneyDigits);
  }

// MT4 has no profit/base currency functions of its own: SymbolInfoString where the build has them,
// else the 6-letter name (EURUSD -> EUR / USD) (SPEC §4.1, S).
string BaseCurrency(const string name)
  {
   string currency = SymbolInfoString(name, SYMBOL_CURRENCY_BASE);
   if(StringLen(currency) == 0 && StringLen(name) >= 6)
      currency = StringSubstr(name, 0, 3);
   return currency;
  }

string ProfitCurrency(const string name)
  {
   string currency = SymbolInfoString(name, SYMBOL_CURRENCY_PROFIT);
   if(StringLen(currency) == 0 && StringLen(name) >= 6)
      currency = StringSubstr(name, 3, 3);
   return currency;
  }

string MarginCurrency(const string name)
  {
   string currency = SymbolInfoString(name, SYMBOL_CURRENCY_MARGIN);
   if(StringLen(currency) == 0)
      currency = BaseCurrency(name);
   return currency;
  }

string SymbolRecord(const string name)
  {
   return TmRecordSymbol(name, (int)MarketInfo(name, MODE_DIGITS),
                         TmMt4CalcModeName((int)MarketInfo(name, MODE_PROFITCALCMODE)),
                         MarketInfo(name, MODE_LOTSIZE), MarketInfo(name, MODE_TICKSIZE),
                         MarketInfo(name, MODE_TICKVALUE), ProfitCurrency(name), MarginCurrency(name),
                         BaseCurrency(name));
  }

// The P record of the order selected with OrderSelect (a market order). MT4 keeps the commission on
// the order until it closes, so it goes in P.commission (SPEC §4.1, P).
string OrderPositionRecord(string &symbol)
  {
   symbol = OrderSymbol();
   string side = (OrderType() == OP_BUY) ? "buy" : "sell";
   return TmRecordPosition(OrderTicket(), symbol, side, OrderLots(), TmSymbolVolumeDigits(symbol),
                           OrderOpenPrice(), TmSymbolPriceDigits(symbol), TmTimeMs(OrderOpenTime()),
                           OrderSwap(), OrderCommission(), g_moneyDigits);
  }

// The DEAL record for the history entry selected with OrderSelect(..., MODE_HISTORY), or "" for
// entries that are not deals (deleted pending orders). timeMs is the deal's time, for ordering.
string HistoryDealRecord(long &timeMs)
  {
   int type = OrderType();
   long ticket = OrderTicket();
   timeMs = 0;
   if(IsMarketOrder(type))
     {
      if(OrderCloseTime() == 0)
         return "";
      string symbol = OrderSymbol();
      timeMs = TmTimeMs(OrderCloseTime());
      // A closed order is one exit deal: ticket and positionID are the order's ticket, and closing a
      // buy is a sell (SPEC §4.2, D). Commission and swap are the order's whole figures.
      string dealType = (type == OP_BUY) ? "sell" : "buy";
      return TmRecordDeal(ticket, timeMs, dealType, "out", symbol, OrderLots(), TmSymbolVolumeDigits(symbol),
                          OrderClosePrice(), TmSymbolPriceDigits(symbol), OrderProfit(), OrderCommission(),
                          OrderSwap(), 0.0, g_moneyDigits, ticket, OrderComment());
     }
   if(type == TM_MT4_BALANCE || type == TM_MT4_CREDIT)
     {
      timeMs = TmTimeMs(OrderOpenTime());
      string operation = (type == TM_MT4_BALANCE) ? "balance" : "credit";
      return TmRecordDeal(ticket, timeMs, operation, "in", "", 0.0, 2, 0.0, 2, OrderProfit(), 0.0, 0.0, 0.0,
                          g_moneyDigits, 0, OrderComment());
     }
   return "";
  }

//+------------------------------------------------------------------+
//| Watched symbols: order symbols, the symbols that convert their   |
//| profit and margin currencies to the account currency, and (price |
//| source) every Market Watch symbol.                               |
//+------------------------------------------------------------------+
int Watch(const string name)
  {
   bool added = false;
   int index = TmWatchAdd(g_watch, name, TmSymbolPriceDigits(name), added);
   if(added)
      SymbolSelect(name, true);   // quotes flow only for symbols selected in Market Watch
   return index;
  }

string FindPair(const string a, const string b, const bool marketWatchOnly)
  {
   int total = SymbolsTotal(marketWatchOnly);
   for(int i = 0; i < total; i++)
     {
      string name = SymbolName(i, marketWatchOnly);
      string base = BaseCurrency(name);
      string profit = ProfitCurrency(name);
      if((base == a && profit == b) || (base == b && profit == a))
         return name;
     }
   return "";
  }

string FindConversionSymbol(const string a, const string b)
  {
   string key = (a < b) ? a + "/" + b : b + "/" + a;
   string name = "";
   if(g_pairs.Find(key, name))
      return name;
   name = FindPair(a, b, true);
   if(StringLen(name) == 0)
      name = FindPair(a, b, false);
   g_pairs.Put(key, name);
   return name;
  }

void WatchConversion(const string from, const string to)
  {
   if(StringLen(from) == 0 || StringLen(to) == 0 || from == to)
      return;
   string direct = FindConversionSymbol(from, to);
   if(StringLen(direct) > 0)
     {
      Watch(direct);
      return;
     }
   if(from != "USD" && to != "USD")
     {
      string first = FindConversionSymbol(from, "USD");
      string second = FindConversionSymbol("USD", to);
      if(StringLen(first) > 0 && StringLen(second) > 0)
        {
         Watch(first);
         Watch(second);
         return;
        }
     }
   Print("Tidemark: no symbol converts ", from, " to ", to);
  }

void WatchWithConversions(const string symbol)
  {
   Watch(symbol);
   WatchConversion(ProfitCurrency(symbol), g_currency);
   WatchConversion(MarginCurrency(symbol), g_currency);
  }

void RebuildWatchList()
  {
   ArrayResize(g_watch, 0);
   // The symbols the orders need come first: a snapshot always carries them (SendSnapshot).
   int orders = OrdersTotal();
   for(int o = 0; o < orders; o++)
     {
      if(!OrderSelect(o, SELECT_BY_POS, MODE_TRADES) || !IsMarketOrder(OrderType()))
         continue;
      WatchWithConversions(OrderSymbol());
     }
   g_watchNeeded = ArraySize(g_watch);
   if(InpPriceSource)
     {
      int marketWatch = SymbolsTotal(true);
      for(int i = 0; i < marketWatch; i++)
         Watch(SymbolName(i, true));
     }
  }


// Sets a watched symbol's cursor to its current quote and returns that quote's Q record ("" if none).
// MT4 quote times have a resolution of one second: MarketInfo(MODE_TIME) × 1000 (SPEC §4.1, Q).
string StartCursor(const int index)
  {
   string name = g_watch[index].name;
   double bid = MarketInfo(name, MODE_BID);
   double ask = MarketInfo(name, MODE_ASK);
   long msc = TmTimeMs((datetime)MarketInfo(name, MODE_TIME));
   g_watch[index].lastMsc = msc;
   g_watch[index].sentAtLastMsc = 1;
   g_watch[index].lastBid = bid;
   g_watch[index].lastAsk = ask;
   return TmRecordQuote(name, msc, bid, ask, g_watch[index].digits);
  }

// A symbol added after the snapshot: SYMBOL, then its current quote.
void AnnounceWatched(const int index, const ulong now)
  {
   string spec = SymbolRecord(g_watch[index].name);
   g_watch[index].specValid = (StringLen(spec) > 0);
   g_watch[index].announced = true;
   if(g_watch[index].specValid)
      SendState("SYMBOL", spec, now);
   else
      Print("Tidemark: ", g_watch[index].name, ": specification not usable yet, will retry");
   string quote = StartCursor(index);
   if(StringLen(quote) > 0)
      g_link.Send("TICKS", quote, now);
  }

void AnnounceSymbol(const string symbol, const ulong now)
  {
   int before = ArraySize(g_watch);
   WatchWithConversions(symbol);
   int after = ArraySize(g_watch);
   for(int i = before; i < after; i++)
      AnnounceWatched(i, now);
  }

// Watched symbols the snapshot left out (too large): SYMBOL + TICKS, at most
// TM_ANNOUNCE_PER_PASS a timer pass.
void AnnouncePending(const ulong now)
  {
   int count = ArraySize(g_watch);
   int announced = 0;
   for(int i = g_watchNeeded; i < count && announced < TM_ANNOUNCE_PER_PASS; i++)
     {
      if(g_watch[i].announced)
         continue;
      AnnounceWatched(i, now);
      announced++;
     }
  }

void RefreshWatch(const ulong now)
  {
   g_lastWatchRefreshMs = now;
   int before = ArraySize(g_watch);
   int marketWatch = InpPriceSource ? SymbolsTotal(true) : 0;
   // A full rescan costs a lookup per Market Watch symbol: only when its size changed, or once a minute.
   if(InpPriceSource && (marketWatch != g_lastMarketWatchCount || now >= g_lastMarketWatchScanMs + 60000))
     {
      g_lastMarketWatchCount = marketWatch;
      g_lastMarketWatchScanMs = now;
      for(int i = 0; i < marketWatch; i++)
         Watch(SymbolName(i, true));
     }
   int after = ArraySize(g_watch);
   for(int n = before; n < after; n++)
      AnnounceWatched(n, now);
   for(int j = 0; j < before; j++)
     {
      if(g_watch[j].specValid || !g_watch[j].announced)
         continue;   // announced ones whose specification was not usable; the others are AnnouncePending's
      string spec = SymbolRecord(g_watch[j].name);
      if(StringLen(spec) == 0)
         continue;
      g_watch[j].specValid = true;
      SendState("SYMBOL", spec, now);
     }
  }

//+------------------------------------------------------------------+
//| Session start and snapshot                                       |
//+------------------------------------------------------------------+
// Every history entry the terminal holds is covered by the snapshot's balance: never send it as a DEAL.
void MarkHistorySeen()
  {
   int total = OrdersHistoryTotal();
   for(int i = 0; i < total; i++)
      if(OrderSelect(i, SELECT_BY_POS, MODE_HISTORY))
         g_seenHistory.Add(OrderTicket());
   g_lastHistoryTotal = total;
  }

// SNAPSHOT: A, then S and Q for every watched symbol that fits, P for every market order that fits;
// the orders beyond follow at once in POSITION frames (SPEC §6.8); N, how many there are in all.
void SendSnapshot(const ulong now)
  {
   g_lastSnapshotMs = now;
   RefreshRates();
   RebuildWatchList();
   string records = AccountRecord();
   int count = ArraySize(g_watch);
   for(int i = 0; i < g_watchNeeded; i++)
     {
      string spec = SymbolRecord(g_watch[i].name);
      g_watch[i].specValid = (StringLen(spec) > 0);
      g_watch[i].announced = true;
      if(g_watch[i].specValid)
         records += spec;
      else
         Print("Tidemark: ", g_watch[i].name, ": specification not usable yet, will retry");
     }
   for(int q = 0; q < g_watchNeeded; q++)
      records += StartCursor(q);
   // Positions while the frame stays under TM_SNAPSHOT_MAX_BYTES; the others follow it at once as
   // POSITION opened frames (SPEC §6.8), so that no frame exceeds the agent's limit however many
   // positions the account holds.
   string spilled[];
   int spilledCount = 0;
   int positionCount = 0;
   g_book.Clear();
   int orders = OrdersTotal();
   for(int o = 0; o < orders; o++)
     {
      if(!OrderSelect(o, SELECT_BY_POS, MODE_TRADES) || !IsMarketOrder(OrderType()))
         continue;
      string symbol = "";
      string record = OrderPositionRecord(symbol);
      if(StringLen(record) == 0)
        {
         Print("Tidemark: order #", OrderTicket(), " has values the agent would refuse; left out");
         continue;
        }
      g_book.Append(OrderTicket(), symbol, record);
      positionCount++;
      if(spilledCount == 0 && StringLen(records) + StringLen(record) <= TM_SNAPSHOT_MAX_BYTES)
         records += record;
      else
        {
         ArrayResize(spilled, spilledCount + 1, 1024);
         spilled[spilledCount] = record;
         spilledCount++;
        }
     }
   // Price-source symbols while the frame stays under TM_SNAPSHOT_MAX_BYTES; the others follow as
   // SYMBOL + TICKS frames over the next timer passes (AnnouncePending).
   int pending = 0;
   for(int w = g_watchNeeded; w < count; w++)
     {
      g_watch[w].announced = false;
      g_watch[w].specValid = false;
      if(pending > 0 || spilledCount > 0 || StringLen(records) > TM_SNAPSHOT_MAX_BYTES)
        {
         pending++;
         continue;
        }
      string spec = SymbolRecord(g_watch[w].name);
      if(StringLen(spec) == 0)
        {
         pending++;   // not usable yet: AnnouncePending and RefreshWatch try again
         continue;
        }
      records += spec + StartCursor(w);
      g_watch[w].announced = true;
      g_watch[w].specValid = true;
     }
   if(pending > 0)
      Print("Tidemark: ", pending, " more symbols follow the snapshot in SYMBOL frames (it would exceed ",
            TM_SNAPSHOT_MAX_BYTES, " bytes)");
   // The whole count, those that follow included: the agent folds the snapshot once all are in.
   records += TmRecordPositionCount(positionCount);
   MarkHistorySeen();
   g_snapshotServerMs = NowServerMs();
   if(!g_link.Send("SNAPSHOT", records, now))
      return;
   g_snapshotDue = false;
   if(spilledCount > 0)
      Print("Tidemark: ", spilledCount, " more orders follow the snapshot in POSITION frames (it would exceed ",
            TM_SNAPSHOT_MAX_BYTES, " bytes)");
   long openedAt = NowServerMs();
   for(int n = 0; n < spilledCount; n++)
      if(!g_link.SendSnapshotPart("POSITION", TmRecordChange("opened", openedAt) + spilled[n], now))
        {
         g_snapshotDue = true;   // the agent's state would lack the rest: a fresh snapshot, in full
         break;
        }
  }

void StartSessionIfPossible()
  {
   ulong now = TmNowMs();
   if(!AccountReady() || !g_link.MayBegin(now))
      return;
   g_currency = AccountCurrency();
   g_moneyDigits = TM_MT4_MONEY_DIGITS;
   if(!g_link.Begin(AccountNumber(), now))
      return;
   string hello = HelloRecord();
   if(StringLen(hello) == 0 || !g_link.Send("HELLO", hello, now))
     {
      Print("Tidemark: HELLO could not be sent (account information incomplete?); retrying in 5 s");
      g_link.End("", false, 0, now);
      g_link.RetryAfter(now + TM_OPEN_RETRY_MS);
      return;
     }
   // Resume where the agent may have lost us (SPEC §6.7), unless the state sent is known to be
   // incomplete (a snapshot was due) or there is nothing to resume from.
   if(g_snapshotDue || !g_link.Resume(now))
     {
      g_snapshotDue = true;
      SendSnapshot(now);
     }
   g_lastReportMs = now;
   g_lastWatchRefreshMs = now;
  }

//+------------------------------------------------------------------+
//| History: closed orders and balance/credit operations as DEALs.   |
//| Scanned when OrdersHistoryTotal changes, and at every report     |
//| interval in case an entry replaced another.                      |
//+------------------------------------------------------------------+
void PublishHistory(const ulong now, const bool force)
  {
   int total = OrdersHistoryTotal();
   if(!force && total == g_lastHistoryTotal)
      return;
   g_lastHistoryTotal = total;
   g_batch.Clear();
   for(int i = 0; i < total; i++)
     {
      if(!OrderSelect(i, SELECT_BY_POS, MODE_HISTORY))
         continue;
      long ticket = OrderTicket();
      if(g_seenHistory.Contains(ticket))
         continue;
      g_seenHistory.Add(ticket);
      long timeMs = 0;
      string record = HistoryDealRecord(timeMs);
      // Older than the snapshot: its balance holds it. Such entries appear when the user widens the
      // history tab's period (OrdersHistoryTotal follows that filter), never as new deals.
      if(StringLen(record) > 0 && timeMs < g_snapshotServerMs)
         continue;
      if(StringLen(record) == 0)
        {
         if(IsMarketOrder(OrderType()) || OrderType() == TM_MT4_BALANCE || OrderType() == TM_MT4_CREDIT)
           {
            Print("Tidemark: history entry #", ticket, " has values the agent would refuse; sending a snapshot instead");
            g_snapshotDue = true;
           }
         continue;
        }
      g_batch.Add(timeMs, record);
     }
   // The history tab may be sorted any way: send in time order.
   g_batch.SortByTime();
   int deals = g_batch.Count();
   for(int d = 0; d < deals; d++)
      SendState("DEAL", g_batch.LineAt(d), now);
  }

//+------------------------------------------------------------------+
//| Positions: compare the open market orders with the book.         |
//| A partial close leaves a new ticket for the remainder: it reads  |
//| as DEAL out (history), POSITION closed (old), POSITION opened    |
//| (new) - the order SPEC §4.2 asks for.                            |
//+------------------------------------------------------------------+
void SendPositionChange(const string change, const string record, const ulong now)
  {
   SendState("POSITION", TmRecordChange(change, NowServerMs()) + record, now);
  }

// hint: the index the ticket probably has (the book follows the terminal's order), checked first.
int IndexOfTicket(const long &tickets[], const int count, const long ticket, const int hint)
  {
   if(hint >= 0 && hint < count && tickets[hint] == ticket)
      return hint;
   for(int i = 0; i < count; i++)
      if(tickets[i] == ticket)
         return i;
   return -1;
  }

void PublishPositionChanges(const ulong now)
  {
   long tickets[];
   string symbols[];
   string records[];
   int count = 0;
   int total = OrdersTotal();
   ArrayResize(tickets, total);
   ArrayResize(symbols, total);
   ArrayResize(records, total);
   for(int i = 0; i < total; i++)
     {
      if(!OrderSelect(i, SELECT_BY_POS, MODE_TRADES) || !IsMarketOrder(OrderType()))
         continue;
      string symbol = "";
      string record = OrderPositionRecord(symbol);
      if(StringLen(record) == 0)
         continue;
      tickets[count] = OrderTicket();
      symbols[count] = symbol;
      records[count] = record;
      count++;
     }
   for(int b = g_book.Count() - 1; b >= 0; b--)
     {
      if(IndexOfTicket(tickets, count, g_book.TicketAt(b), b) >= 0)
         continue;
      SendPositionChange("closed", g_book.RecordAt(b), now);
      g_book.RemoveAt(b);
     }
   for(int c = 0; c < count; c++)
     {
      int known = g_book.Find(tickets[c], c);
      if(known >= 0 && g_book.RecordAt(known) == records[c])
         continue;
      if(known < 0)
        {
         if(TmWatchFind(g_watch, symbols[c]) < 0)
            AnnounceSymbol(symbols[c], now);
         SendPositionChange("opened", records[c], now);
        }
      else
         SendPositionChange("changed", records[c], now);
      g_book.Put(tickets[c], symbols[c], records[c], known);
     }
  }

//+------------------------------------------------------------------+
//| Quotes: the latest bid/ask of every watched symbol, when changed |
//| (MT4 has no tick history to read from).                          |
//+------------------------------------------------------------------+
void CollectQuote(const int index)
  {
   string name = g_watch[index].name;
   double bid = MarketInfo(name, MODE_BID);
   double ask = MarketInfo(name, MODE_ASK);
   if(bid == g_watch[index].lastBid && ask == g_watch[index].lastAsk)
      return;
   long msc = TmTimeMs((datetime)MarketInfo(name, MODE_TIME));
   if(msc < g_watch[index].lastMsc)
      msc = g_watch[index].lastMsc;   // keep each symbol's times in order
   g_watch[index].lastMsc = msc;
   g_watch[index].lastBid = bid;
   g_watch[index].lastAsk = ask;
   string line = TmRecordQuote(name, msc, bid, ask, g_watch[index].digits);
   if(StringLen(line) > 0)
      g_batch.Add(msc, line);
   else
      g_refusedQuotes++;
  }

void PublishQuotes(const ulong now)
  {
   RefreshRates();
   g_batch.Clear();
   int count = ArraySize(g_watch);
   for(int i = 0; i < count; i++)
      if(g_watch[i].announced)   // else its SYMBOL (and first quote) has not gone out yet
         CollectQuote(i);
   int quotes = g_batch.Count();
   if(quotes == 0)
      return;
   g_batch.SortByTime();
   string records = "";
   int inFrame = 0;
   for(int q = 0; q < quotes; q++)
     {
      records += g_batch.LineAt(q);
      inFrame++;
      if(inFrame == TM_MAX_QUOTES_PER_FRAME || q == quotes - 1)
        {
         // A lost TICKS frame needs no repair: the next quotes supersede it.
         g_link.Send("TICKS", records, now);
         records = "";
         inFrame = 0;
        }
     }
  }

//+------------------------------------------------------------------+
//| Commands                                                         |
//+------------------------------------------------------------------+
bool TradingPermitted(string &why)
  {
   if(TerminalInfoInteger(TERMINAL_TRADE_ALLOWED) == 0)
     {
      why = "automated trading is disabled in the terminal";
      return false;
     }
   if(MQLInfoInteger(MQL_TRADE_ALLOWED) == 0)
     {
      why = "live trading is not allowed in this EA's properties";
      return false;
     }
   return true;
  }

// Sends one close request for the market order; the MT4 error code (ERR_NO_ERROR when it is closed,
// or gone already). A busy trade context is not waited for: it is an answer like any other, retried
// on a later timer pass. why describes a failure.
int CloseOrder(const int ticket, string &why)
  {
   if(!OrderSelect(ticket, SELECT_BY_TICKET) || OrderCloseTime() != 0)
      return ERR_NO_ERROR;   // already closed
   int type = OrderType();
   if(!IsMarketOrder(type))
      return ERR_NO_ERROR;
   if(IsTradeContextBusy())
     {
      why = "#" + IntegerToString(ticket) + ": trade context busy";
      return ERR_TRADE_CONTEXT_BUSY;
     }
   RefreshRates();
   string symbol = OrderSymbol();
   double price = (type == OP_BUY) ? MarketInfo(symbol, MODE_BID) : MarketInfo(symbol, MODE_ASK);
   int digits = (int)MarketInfo(symbol, MODE_DIGITS);
   ResetLastError();
   if(OrderClose(ticket, OrderLots(), NormalizeDouble(price, digits), InpCloseSlippagePoints, clrNONE))
      return ERR_NO_ERROR;
   int error = GetLastError();
   why = "#" + IntegerToString(ticket) + ": error " + IntegerToString(error);
   return error == ERR_NO_ERROR ? ERR_COMMON_ERROR : error;
  }

// Answers worth a retry on a later pass (MQL4 reference, trade server errors): common error, server
// busy, no connection, price changed, off quotes, requote, too frequent requests, trade context busy.
bool IsTransientError(const int error)
  {
   return error == ERR_COMMON_ERROR || error == ERR_SERVER_BUSY || error == ERR_NO_CONNECTION ||
          error == ERR_PRICE_CHANGED || error == ERR_OFF_QUOTES || error == ERR_REQUOTE ||
          error == ERR_TOO_MANY_REQUESTS || error == ERR_TRADE_CONTEXT_BUSY;
  }

int OpenMarketOrders(int &tickets[])
  {
   ArrayResize(tickets, 0);
   int count = 0;
   int total = OrdersTotal();
   for(int i = 0; i < total; i++)
     {
      if(!OrderSelect(i, SELECT_BY_POS, MODE_TRADES) || !IsMarketOrder(OrderType()))
         continue;
      ArrayResize(tickets, count + 1, 16);
      tickets[count] = OrderTicket();
      count++;
     }
   return count;
  }

// Open market orders, oldest first (open time, then ticket): the order a FIFO account accepts.
int OpenMarketOrdersOldestFirst(int &tickets[])
  {
   int count = OpenMarketOrders(tickets);
   datetime times[];
   ArrayResize(times, count);
   for(int i = 0; i < count; i++)
     {
      int ticket = tickets[i];
      datetime time = OrderSelect(ticket, SELECT_BY_TICKET) ? OrderOpenTime() : (datetime)0;
      int at = i;
      while(at > 0 && (times[at - 1] > time || (times[at - 1] == time && tickets[at - 1] > ticket)))
        {
         times[at] = times[at - 1];
         tickets[at] = tickets[at - 1];
         at--;
        }
      times[at] = time;
      tickets[at] = ticket;
     }
   return count;
  }

// Starts a close_all. It runs over the next timer passes (ContinueCloseAll), at most
// TM_CLOSES_PER_PASS requests a pass, so heartbeats, polling and quotes go on meanwhile; the CMDACK
// goes out when it ends, with what really happened. False (answered at once) when trading is off.
bool BeginCloseAll(const long commandId, string &detail, const ulong now)
  {
   if(!TradingPermitted(detail))
      return false;
   int count = ArraySize(g_closeAllIds);
   for(int i = 0; i < count; i++)
      if(g_closeAllIds[i] == commandId)
         return true;
   ArrayResize(g_closeAllIds, count + 1, 4);
   g_closeAllIds[count] = commandId;
   if(count == 0)
     {
      int open[];
      g_closeAllInitial = OpenMarketOrders(open);
      g_closeAllDeadlineMs = now + TM_CLOSE_ALL_TIMEOUT_MS;
      g_closeAllLastError = "";
      g_closeAllRequests = 0;
     }
   return true;
  }

void FinishCloseAll(const int left, const ulong now)
  {
   string detail = "closed " + IntegerToString(MathMax(0, g_closeAllInitial - left)) + " of " +
                   IntegerToString(g_closeAllInitial) + " orders in " + IntegerToString(g_closeAllRequests) + " requests";
   if(left > 0)
      detail = detail + "; " + IntegerToString(left) + " still open after " +
               IntegerToString(TM_CLOSE_ALL_TIMEOUT_MS / 1000) + " s: " + g_closeAllLastError;
   int count = ArraySize(g_closeAllIds);
   for(int i = 0; i < count; i++)
     {
      g_commands.Add(g_closeAllIds[i], left == 0, detail);
      Print("Tidemark: command ", g_closeAllIds[i], (left == 0 ? " done: " : " failed: "), detail);
      g_link.Send("CMDACK", TmRecordCommandAck(g_closeAllIds[i], NowServerMs(), left == 0, detail), now);
     }
   ArrayResize(g_closeAllIds, 0);
  }

// One pass of a running close_all: up to TM_CLOSES_PER_PASS orders, oldest first. A requote, a busy
// trade context or server ends the pass (the same order is tried again on the next one); so does a
// FIFO refusal (an older order of the symbol must go first, and it is first in line).
void ContinueCloseAll(const ulong now)
  {
   if(ArraySize(g_closeAllIds) == 0)
      return;
   int tickets[];
   int count = OpenMarketOrdersOldestFirst(tickets);
   if(count == 0 || now >= g_closeAllDeadlineMs)
     {
      FinishCloseAll(count, now);
      return;
     }
   string why = "";
   if(!TradingPermitted(why))
     {
      g_closeAllLastError = why;
      return;
     }
   int sent = 0;
   int closed = 0;
   for(int i = 0; i < count && sent < TM_CLOSES_PER_PASS; i++)
     {
      string error = "";
      int code = CloseOrder(tickets[i], error);
      sent++;
      g_closeAllRequests++;
      if(code == ERR_NO_ERROR)
        {
         closed++;
         continue;
        }
      g_closeAllLastError = error;
      if(IsTransientError(code) || code == ERR_TRADE_PROHIBITED_BY_FIFO)
         break;
     }
   if(closed == count)
      FinishCloseAll(0, now);
  }

void KeepOpenOrders()
  {
   g_keptWhileDisabled.Clear();
   int tickets[];
   int count = OpenMarketOrders(tickets);
   for(int i = 0; i < count; i++)
      g_keptWhileDisabled.Add(tickets[i]);
  }

bool DisableTrading(string &detail)
  {
   // A repeated disable keeps the first list and time: orders opened since are not legitimised.
   if(!g_tradingDisabled)
     {
      KeepOpenOrders();
      g_disabledAtMs = NowServerMs();
      GlobalVariableSet(DisabledKey(), (double)g_disabledAtMs);
      GlobalVariablesFlush();   // a crash must not forget it
     }
   g_tradingDisabled = true;
   detail = "trading disabled; " + IntegerToString(g_keptWhileDisabled.Count()) +
            " open orders kept, new ones are closed";
   return true;
  }

bool EnableTrading(string &detail)
  {
   g_tradingDisabled = false;
   g_disabledAtMs = 0;
   g_keptWhileDisabled.Clear();
   GlobalVariableDel(DisabledKey());
   GlobalVariablesFlush();
   detail = "trading enabled";
   return true;
  }

// Closes market orders opened while trading is disabled (at most one pass a second): orders that were
// not open when the command came and whose open time is later than it (the time test alone decides
// after a terminal restart, when the kept list is gone).
void EnforceTradingDisabled(const ulong now)
  {
   LoadDisabledState();
   if(!g_tradingDisabled || now < g_lastEnforceMs + 1000)
      return;
   g_lastEnforceMs = now;
   if(now >= g_lastDisabledRefreshMs + TM_DISABLED_REFRESH_MS)
     {
      // Accessing the variable restarts its 4-week lifetime; writing it back also restores it if the
      // user deleted it by hand while trading is disabled.
      g_lastDisabledRefreshMs = now;
      GlobalVariableSet(DisabledKey(), (double)g_disabledAtMs);
      GlobalVariablesFlush();
     }
   int open[];
   int total = OpenMarketOrders(open);
   int offenders[];
   int count = 0;
   for(int i = 0; i < total; i++)
     {
      if(g_keptWhileDisabled.Contains(open[i]))
         continue;
      if(!OrderSelect(open[i], SELECT_BY_TICKET) || TmTimeMs(OrderOpenTime()) <= g_disabledAtMs)
         continue;
      ArrayResize(offenders, count + 1, 8);
      offenders[count] = open[i];
      count++;
     }
   if(count == 0)
      return;
   string why = "";
   if(!TradingPermitted(why))
     {
      Print("Tidemark: trading is disabled but ", count, " new order(s) cannot be closed: ", why);
      return;
     }
   for(int j = 0; j < count; j++)
     {
      string error = "";
      if(CloseOrder(offenders[j], error) == ERR_NO_ERROR)
         Print("Tidemark: closed order #", offenders[j], " opened while trading is disabled");
      else
         Print("Tidemark: could not close order #", offenders[j], ": ", error);
     }
  }

void HandleCommand(const TmAgentMessage &message, const ulong now)
  {
   bool succeeded = false;
   string detail = "";
   int known = g_commands.Find(message.commandId);
   if(known >= 0)
     {
      // At most once per id: a repeated COMMAND gets the first outcome again.
      succeeded = g_commands.SucceededAt(known);
      detail = g_commands.DetailAt(known);
     }
   else
     {
      Print("Tidemark: command ", message.commandId, " ", message.commandKind, " (", message.text, ")");
      if(message.commandKind == "close_all")
        {
         if(BeginCloseAll(message.commandId, detail, now))
            return;   // answered when it ends (FinishCloseAll)
        }
      else if(message.commandKind == "disable_trading")
         succeeded = DisableTrading(detail);
      else if(message.commandKind == "enable_trading")
         succeeded = EnableTrading(detail);
      else
         detail = "unsupported command";
      g_commands.Add(message.commandId, succeeded, detail);
      Print("Tidemark: command ", message.commandId, (succeeded ? " done: " : " failed: "), detail);
     }
   g_link.Send("CMDACK", TmRecordCommandAck(message.commandId, NowServerMs(), succeeded, detail), now);
  }

//+------------------------------------------------------------------+
//| The timer pass                                                   |
//+------------------------------------------------------------------+
void DrainAgent(const ulong now)
  {
   TmAgentMessage message;
   for(int i = 0; i < 200; i++)
     {
      int result = g_link.Poll(message, now);
      if(result == TM_POLL_NONE || result == TM_POLL_CLOSED)
         break;
      if(result == TM_POLL_SKIPPED)
         continue;
      if(message.type == "RESYNC")
        {
         if(!g_snapshotDue)
            Print("Tidemark: agent asks for a snapshot (it has up to ", message.lastSequence, "): ", message.text);
         g_snapshotDue = true;   // several RESYNCs before the snapshot leaves make one snapshot
        }
      else if(message.type == "COMMAND")
         HandleCommand(message, now);
      else if(message.type == "REJECT")
        {
         // The reason is in the journal and the chart comment. Only a refusal that needs the
         // user (a netting or exchange account, an EA too old) raises an Alert; an agent restart
         // (expected_hello) or a busy agent is routine.
         if(CTidemarkLink::RejectIsFinal(message.rejectReason))
            Alert("Tidemark: the agent refused this account (", message.rejectReason, "): ", message.text);
         break;
        }
     }
  }

void Publish(const ulong now)
  {
   // The resume journal is bounded by a fresh snapshot once the agent has everything.
   if(g_link.IsWelcomed() && g_link.JournalCount() >= TM_JOURNAL_COMPACT_FRAMES &&
      g_link.LastAck() == g_link.LastSentSequence())
      g_snapshotDue = true;
   if(g_snapshotDue && now >= g_lastSnapshotMs + TM_SNAPSHOT_MIN_GAP_MS)
      SendSnapshot(now);
   // While a snapshot is due the agent ignores updates; the snapshot will carry them.
   if(!g_snapshotDue)
     {
      bool reportDue = (now >= g_lastReportMs + (ulong)ReportPeriodMs());
      PublishHistory(now, reportDue);
      PublishPositionChanges(now);
      AnnouncePending(now);
      if(now >= g_lastWatchRefreshMs + TM_WATCH_REFRESH_MS)
         RefreshWatch(now);
      PublishQuotes(now);
      if(reportDue)
        {
         g_link.Send("REPORT", AccountRecord(), now);
         g_lastReportMs = now;
        }
     }
   if(g_link.HeartbeatDue(now))
      g_link.Send("HEARTBEAT", TmRecordHeartbeat(NowServerMs()), now);
  }

//+------------------------------------------------------------------+
//| Event handlers                                                   |
//+------------------------------------------------------------------+
int OnInit()
  {
   if(MQLInfoInteger(MQL_DLLS_ALLOWED) == 0)
     {
      Alert("Tidemark EA needs DLL imports: enable 'Allow DLL imports' in the EA's properties.");
      return INIT_FAILED;
     }
   int period = InpTimerMilliseconds;
   if(period < 50)
      period = 50;
   if(period > 5000)
      period = 5000;
   MathSrand((uint)GetTickCount() ^ (uint)TimeLocal());
   // Globals keep their values when only the chart's symbol or period changes: reset what matters.
   ArrayResize(g_watch, 0);
   g_book.Clear();
   g_pairs.Clear();
   g_seenHistory.Clear();   // the session's snapshot marks the history again (another account's tickets must not)
   ArrayResize(g_closeAllIds, 0);
   g_lastMarketWatchCount = -1;
   g_snapshotDue = false;
   g_lastSnapshotMs = 0;
   g_lastHistoryTotal = -1;
   g_lastComment = "";
   string publicKey = InpClientPublicKey;
   string secretKey = InpClientSecretKey;
   if(StringLen(InpClientKeyFile) > 0)
     {
      string keyError = "";
      if(!TmReadCurveCertificate(InpClientKeyFile, publicKey, secretKey, keyError))
        {
         Print("Tidemark: ", keyError);
         Comment("Tidemark: ", keyError);
         return INIT_PARAMETERS_INCORRECT;
        }
     }
   g_link.Configure(InpAgentEndpoint, InpAgentPublicKey, publicKey, secretKey, 20000);
   g_tradingDisabled = false;
   g_disabledLoaded = false;
   LoadDisabledState();
   Print("Tidemark EA ", TM_EA_VERSION, " (protocol TM1), libzmq ", ZmqVersionText(), ", agent ", InpAgentEndpoint);
   if(!EventSetMillisecondTimer(period))
     {
      Print("Tidemark: EventSetMillisecondTimer failed, error ", GetLastError());
      return INIT_FAILED;
     }
   StartSessionIfPossible();
   UpdateComment();
   return INIT_SUCCEEDED;
  }

void OnDeinit(const int reason)
  {
   EventKillTimer();
   g_link.Shutdown("deinit " + IntegerToString(reason), InpByeLingerMilliseconds, TmNowMs());
   Comment("");
  }

void OnTimer()
  {
   ulong now = TmNowMs();
   EnforceTradingDisabled(now);
   ContinueCloseAll(now);   // also while the agent is unreachable
   if(!g_link.IsActive())
     {
      StartSessionIfPossible();
      if(!g_link.IsActive())
        {
         UpdateComment();
         return;
        }
     }
   DrainAgent(now);
   if(!g_link.IsActive())
      StartSessionIfPossible();   // REJECT expected_hello: the agent restarted, a new session at once
   if(g_link.IsActive())
     {
      Publish(now);
      if(g_link.TimedOut(now))
        {
         Print("Tidemark: no answer from the agent; starting a new session");
         g_link.End("", false, 0, now);
         StartSessionIfPossible();
        }
     }
   UpdateComment();
  }

// Quotes of every watched symbol (not only the chart's) are read from the timer.
void OnTick()
  {
  }
//+------------------------------------------------------------------+

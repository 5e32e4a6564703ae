//+------------------------------------------------------------------+
//| TidemarkEA.mq5                                                   |
//| Publishes this MetaTrader 5 account to the Tidemark agent over   |
//| ZeroMQ (wire protocol TM1, protocol/SPEC.md): HELLO + SNAPSHOT   |
//| on connect, then ticks, positions, deals, periodic reports and   |
//| heartbeats; executes the agent's close_all / disable_trading /   |
//| enable_trading commands.                                         |
//|                                                                  |
//| Hedging accounts only: on netting and exchange accounts the EA   |
//| still says HELLO, and shows the agent's REJECT reason.           |
//+------------------------------------------------------------------+
#property copyright   "Tidemark"
#property version     "1.00"
#property description "Publishes this account to the Tidemark agent (ZeroMQ, protocol TM1)."
#property description "Needs libzmq.dll (and libsodium.dll for CURVE) in MQL5\\Libraries and 'Allow DLL imports'."

#include <Trade\Trade.mqh>
#include <Tidemark\Session.mqh>

// Sent in HELLO; keep equal to #property version.
#define TM_EA_VERSION          "1.00"
// CopyTicks cursor value meaning "every tick at lastMsc was already sent" (set from a snapshot quote).
#define TM_CURSOR_ALL          1000000
// At most this many ticks per symbol are read per timer event; the rest come on the next one.
#define TM_TICKS_PER_SYMBOL    1000
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

input string InpAgentEndpoint         = "tcp://127.0.0.1:5555"; // Agent endpoint (tcp://host:port)
input string InpAgentPublicKey        = "";    // CURVE: agent public key (Z85, 40 chars; empty = no CURVE)
input string InpClientPublicKey       = "";    // CURVE: this EA's public key (Z85)
input string InpClientSecretKey       = "";    // CURVE: this EA's secret key (Z85); better: InpClientKeyFile
input string InpClientKeyFile         = "";    // CURVE: this EA's tidemark keys secret certificate in the Files folder
input int    InpTimerMilliseconds     = 200;   // Timer period, ms (50..5000)
input int    InpReportSeconds         = 10;    // REPORT (balance, equity, margin) every N seconds
input bool   InpPriceSource           = false; // Price source: publish every Market Watch symbol
input bool   InpEveryTick             = true;  // Every tick (CopyTicks); false = latest quote per timer
input int    InpCloseDeviationPoints  = 50;    // Max price deviation when closing on command, points
input int    InpByeLingerMilliseconds = 500;   // On removal: wait up to this long for BYE to leave

CTidemarkLink    g_link;
CTmPositionBook  g_book;               // positions as last sent
CTmTicketSet     g_seenDeals;          // deals already sent or covered by a snapshot
CTmTicketSet     g_keptWhileDisabled;  // positions open when trading was disabled
CTmCommandLog    g_commands;
CTmPairCache     g_pairs;              // conversion symbols found (or not) per currency pair
CTmTimedBatch    g_quotes;
TmWatchedSymbol  g_watch[];
CTrade           g_trade;
ulong            g_pendingDeals[];     // from OnTradeTransaction, sent on the next pass
bool             g_snapshotDue = false;
ulong            g_lastSnapshotMs = 0;
ulong            g_lastReportMs = 0;
ulong            g_lastDealScanMs = 0;
ulong            g_lastWatchRefreshMs = 0;
ulong            g_lastEnforceMs = 0;
int              g_moneyDigits = 2;
string           g_currency = "";
bool             g_tradingDisabled = false;
long             g_disabledAtMs = 0;   // server time (ms) trading was disabled; positions opened later are closed
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
   return AccountInfoInteger(ACCOUNT_LOGIN) > 0 &&
          StringLen(AccountInfoString(ACCOUNT_SERVER)) > 0 &&
          StringLen(AccountInfoString(ACCOUNT_CURRENCY)) > 0 &&
          TerminalInfoInteger(TERMINAL_CONNECTED) != 0;
  }

// Terminal global variable that keeps "trading disabled" across terminal restarts and crashes (one per
// server and login: two brokers may reuse a login); its value is the server time (ms) at which trading
// was disabled. The terminal deletes a global variable 4 weeks after its last access and writes them
// to disk only at shutdown or on GlobalVariablesFlush (MQL reference, "Global Variables of the
// Client Terminal"): the EA flushes on every change and refreshes the variable while it holds.
string DisabledKey()
  {
   return "Tidemark.TradingDisabled." + AccountInfoString(ACCOUNT_SERVER) + "." + IntegerToString(AccountInfoInteger(ACCOUNT_LOGIN));
  }

// Reads the persisted disable state once the account is known.
void LoadDisabledState()
  {
   if(g_disabledLoaded || AccountInfoInteger(ACCOUNT_LOGIN) <= 0)
      return;
   g_disabledLoaded = true;
   g_disabledAtMs = 0;
   if(GlobalVariableCheck(DisabledKey()))
      g_disabledAtMs = (long)GlobalVariableGet(DisabledKey());
   g_tradingDisabled = (g_disabledAtMs > 0);
   g_keptWhileDisabled.Clear();
   if(g_tradingDisabled)
      Print("Tidemark: trading stays disabled (set by the agent before this restart); positions opened since are closed");
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
      text = text + "\ntrading DISABLED by the agent (new positions are closed)";
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
   ENUM_ACCOUNT_MARGIN_MODE marginMode = (ENUM_ACCOUNT_MARGIN_MODE)AccountInfoInteger(ACCOUNT_MARGIN_MODE);
   return TmRecordHello("mt5", TerminalInfoInteger(TERMINAL_BUILD), AccountInfoInteger(ACCOUNT_LOGIN),
                        AccountInfoString(ACCOUNT_SERVER), AccountInfoString(ACCOUNT_COMPANY), g_currency,
                        g_moneyDigits, TmMarginModeName(marginMode), AccountInfoInteger(ACCOUNT_LEVERAGE),
                        TM_EA_VERSION, TmBrokerUtcOffsetSeconds(TimeTradeServer(), TimeGMT()));
  }

string AccountRecord()
  {
   return TmRecordAccount(NowServerMs(), AccountInfoDouble(ACCOUNT_BALANCE), AccountInfoDouble(ACCOUNT_CREDIT),
                          AccountInfoDouble(ACCOUNT_EQUITY), AccountInfoDouble(ACCOUNT_MARGIN), g_moneyDigits);
  }

string SymbolRecord(const string name)
  {
   ENUM_SYMBOL_CALC_MODE calcMode = (ENUM_SYMBOL_CALC_MODE)SymbolInfoInteger(name, SYMBOL_TRADE_CALC_MODE);
   return TmRecordSymbol(name, (int)SymbolInfoInteger(name, SYMBOL_DIGITS), TmCalcModeName(calcMode),
                         SymbolInfoDouble(name, SYMBOL_TRADE_CONTRACT_SIZE),
                         SymbolInfoDouble(name, SYMBOL_TRADE_TICK_SIZE),
                         SymbolInfoDouble(name, SYMBOL_TRADE_TICK_VALUE),
                         SymbolInfoString(name, SYMBOL_CURRENCY_PROFIT),
                         SymbolInfoString(name, SYMBOL_CURRENCY_MARGIN),
                         SymbolInfoString(name, SYMBOL_CURRENCY_BASE));
  }

// The P record of the position selected by PositionGetTicket/PositionSelectByTicket.
string PositionRecord(string &symbol)
  {
   symbol = PositionGetString(POSITION_SYMBOL);
   ENUM_POSITION_TYPE type = (ENUM_POSITION_TYPE)PositionGetInteger(POSITION_TYPE);
   string side = (type == POSITION_TYPE_BUY) ? "buy" : "sell";
   int priceDigits = TmSymbolPriceDigits(symbol);
   int volumeDigits = TmSymbolVolumeDigits(symbol);
   // MT5 books commission to the balance through deals: P.commission is always 0 (SPEC §4.1).
   return TmRecordPosition(PositionGetInteger(POSITION_TICKET), symbol, side, PositionGetDouble(POSITION_VOLUME),
                           volumeDigits, PositionGetDouble(POSITION_PRICE_OPEN), priceDigits,
                           PositionGetInteger(POSITION_TIME_MSC), PositionGetDouble(POSITION_SWAP), 0.0,
                           g_moneyDigits);
  }

//+------------------------------------------------------------------+
//| Watched symbols: position symbols, the symbols that convert      |
//| their profit and margin currencies to the account currency, and  |
//| (price source) every Market Watch symbol.                        |
//+------------------------------------------------------------------+
int Watch(const string name)
  {
   bool added = false;
   int index = TmWatchAdd(g_watch, name, TmSymbolPriceDigits(name), added);
   if(added)
      SymbolSelect(name, true);   // quotes flow only for symbols selected in Market Watch
   return index;
  }

// A symbol quoting a against b or b against a (by currency, so suffixes like ".r" do not matter).
string FindPair(const string a, const string b, const bool marketWatchOnly)
  {
   int total = SymbolsTotal(marketWatchOnly);
   for(int i = 0; i < total; i++)
     {
      string name = SymbolName(i, marketWatchOnly);
      string base = SymbolInfoString(name, SYMBOL_CURRENCY_BASE);
      string profit = SymbolInfoString(name, SYMBOL_CURRENCY_PROFIT);
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
   WatchConversion(SymbolInfoString(symbol, SYMBOL_CURRENCY_PROFIT), g_currency);
   WatchConversion(SymbolInfoString(symbol, SYMBOL_CURRENCY_MARGIN), g_currency);
  }

void RebuildWatchList()
  {
   ArrayResize(g_watch, 0);
   // The symbols the positions need come first: a snapshot always carries them (SendSnapshot).
   int positions = PositionsTotal();
   for(int p = 0; p < positions; p++)
     {
      if(PositionGetTicket(p) == 0)
         continue;
      WatchWithConversions(PositionGetString(POSITION_SYMBOL));
     }
   g_watchNeeded = ArraySize(g_watch);
   if(InpPriceSource)
     {
      int marketWatch = SymbolsTotal(true);
      for(int i = 0; i < marketWatch; i++)
         Watch(SymbolName(i, true));
     }
  }


// Sets a watched symbol's tick cursor to its current quote and returns that quote's Q record ("" if none).
string StartCursor(const int index)
  {
   MqlTick tick;
   if(!SymbolInfoTick(g_watch[index].name, tick))
      return "";
   g_watch[index].lastMsc = tick.time_msc;
   g_watch[index].sentAtLastMsc = TM_CURSOR_ALL;
   g_watch[index].lastBid = tick.bid;
   g_watch[index].lastAsk = tick.ask;
   return TmRecordQuote(g_watch[index].name, tick.time_msc, tick.bid, tick.ask, g_watch[index].digits);
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
// Every deal in recent history is covered by the snapshot's balance: never send it as a DEAL.
void MarkDealHistorySeen()
  {
   datetime server = TimeCurrent();
   if(!HistorySelect((datetime)((long)server - 2 * 86400), (datetime)((long)server + 86400)))
      return;
   int total = HistoryDealsTotal();
   for(int i = 0; i < total; i++)
     {
      ulong ticket = HistoryDealGetTicket(i);
      if(ticket > 0)
         g_seenDeals.Add((long)ticket);
     }
  }

// SNAPSHOT: A, then S and Q for every watched symbol that fits, P for every position that fits; the
// positions beyond follow at once in POSITION frames (SPEC §6.8); N, how many there are in all.
// It re-bases the agent's state, so the position book, tick cursors and seen deals re-base with it.
void SendSnapshot(const ulong now)
  {
   g_lastSnapshotMs = now;
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
   int positions = PositionsTotal();
   for(int p = 0; p < positions; p++)
     {
      ulong ticket = PositionGetTicket(p);
      if(ticket == 0)
         continue;
      string symbol = "";
      string record = PositionRecord(symbol);
      if(StringLen(record) == 0)
        {
         Print("Tidemark: position #", ticket, " has values the agent would refuse; left out");
         continue;
        }
      g_book.Append((long)ticket, symbol, record);
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
   MarkDealHistorySeen();
   ArrayResize(g_pendingDeals, 0);
   if(!g_link.Send("SNAPSHOT", records, now))
      return;
   g_snapshotDue = false;
   if(spilledCount > 0)
      Print("Tidemark: ", spilledCount, " more positions follow the snapshot in POSITION frames (it would exceed ",
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
   g_currency = AccountInfoString(ACCOUNT_CURRENCY);
   g_moneyDigits = TmMoneyDigits(AccountInfoInteger(ACCOUNT_CURRENCY_DIGITS));
   if(!g_link.Begin(AccountInfoInteger(ACCOUNT_LOGIN), now))
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
   g_lastDealScanMs = now;
   g_lastWatchRefreshMs = now;
  }

//+------------------------------------------------------------------+
//| Deals                                                            |
//+------------------------------------------------------------------+
// Returns false only when the deal is not in the terminal's history yet (try again later).
bool SendDealIfNew(const ulong ticket, const ulong now)
  {
   if(ticket == 0 || g_seenDeals.Contains((long)ticket))
      return true;
   // HistoryDealSelect replaces the history selection with this one deal (MQL5 reference), so callers
   // that walk a HistorySelect list collect tickets first.
   if(!HistoryDealSelect(ticket))
      return false;
   g_seenDeals.Add((long)ticket);
   ENUM_DEAL_TYPE type = (ENUM_DEAL_TYPE)HistoryDealGetInteger(ticket, DEAL_TYPE);
   ENUM_DEAL_ENTRY entry = (ENUM_DEAL_ENTRY)HistoryDealGetInteger(ticket, DEAL_ENTRY);
   string typeName = TmDealTypeName(type);
   string entryName = TmDealEntryName(entry);
   if(StringLen(typeName) == 0 || StringLen(entryName) == 0)
     {
      Print("Tidemark: deal #", ticket, " has type ", (int)type, " / entry ", (int)entry,
            ", which protocol TM1 cannot carry; sending a snapshot instead");
      g_snapshotDue = true;
      return true;
     }
   string symbol = HistoryDealGetString(ticket, DEAL_SYMBOL);
   // Balance operations have no symbol: their volume and price are 0 whatever the digits.
   int priceDigits = TmSymbolPriceDigits(symbol);
   int volumeDigits = TmSymbolVolumeDigits(symbol);
   string record = TmRecordDeal((long)ticket, HistoryDealGetInteger(ticket, DEAL_TIME_MSC), typeName, entryName,
                                symbol, HistoryDealGetDouble(ticket, DEAL_VOLUME), volumeDigits,
                                HistoryDealGetDouble(ticket, DEAL_PRICE), priceDigits,
                                HistoryDealGetDouble(ticket, DEAL_PROFIT), HistoryDealGetDouble(ticket, DEAL_COMMISSION),
                                HistoryDealGetDouble(ticket, DEAL_SWAP), HistoryDealGetDouble(ticket, DEAL_FEE),
                                g_moneyDigits, HistoryDealGetInteger(ticket, DEAL_POSITION_ID),
                                HistoryDealGetString(ticket, DEAL_COMMENT));
   if(StringLen(record) == 0)
     {
      Print("Tidemark: deal #", ticket, " has values the agent would refuse; sending a snapshot instead");
      g_snapshotDue = true;
      return true;
     }
   SendState("DEAL", record, now);
   return true;
  }

void PublishPendingDeals(const ulong now)
  {
   int count = ArraySize(g_pendingDeals);
   if(count == 0)
      return;
   ulong tickets[];
   ArrayResize(tickets, count);
   for(int i = 0; i < count; i++)
      tickets[i] = g_pendingDeals[i];
   ArrayResize(g_pendingDeals, 0);
   int waiting = 0;
   for(int j = 0; j < count; j++)
     {
      if(SendDealIfNew(tickets[j], now) || waiting >= 1000)
         continue;
      // Not in the history yet: next pass (the periodic scan covers it in any case).
      ArrayResize(g_pendingDeals, waiting + 1, 16);
      g_pendingDeals[waiting] = tickets[j];
      waiting++;
     }
  }

// Safety net for deals that produced no DEAL_ADD transaction while the EA listened (e.g. balance
// operations booked while the terminal was reconnecting).
void ScanRecentDeals(const ulong now)
  {
   g_lastDealScanMs = now;
   datetime server = TimeCurrent();
   if(!HistorySelect((datetime)((long)server - 86400), (datetime)((long)server + 86400)))
      return;
   int total = HistoryDealsTotal();
   ulong fresh[];
   int count = 0;
   for(int i = 0; i < total; i++)
     {
      ulong ticket = HistoryDealGetTicket(i);
      if(ticket == 0 || g_seenDeals.Contains((long)ticket))
         continue;
      ArrayResize(fresh, count + 1, 16);
      fresh[count] = ticket;
      count++;
     }
   for(int j = 0; j < count; j++)
      SendDealIfNew(fresh[j], now);
   // Whatever was still waiting is either sent now or not in recent history at all.
   ArrayResize(g_pendingDeals, 0);
  }

//+------------------------------------------------------------------+
//| Positions: compare the terminal's list with the book.            |
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
   int total = PositionsTotal();
   ArrayResize(tickets, total);
   ArrayResize(symbols, total);
   ArrayResize(records, total);
   for(int i = 0; i < total; i++)
     {
      ulong ticket = PositionGetTicket(i);
      if(ticket == 0)
         continue;
      string symbol = "";
      string record = PositionRecord(symbol);
      if(StringLen(record) == 0)
         continue;
      tickets[count] = (long)ticket;
      symbols[count] = symbol;
      records[count] = record;
      count++;
     }
   // Closed first (with the last state sent), then changed and opened: an MT4-style partial close
   // reads "closed old ticket, opened new ticket" (SPEC §4.2, D).
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

void PublishTradeChanges(const ulong now)
  {
   PublishPendingDeals(now);
   if(now >= g_lastDealScanMs + (ulong)ReportPeriodMs())
      ScanRecentDeals(now);
   PublishPositionChanges(now);
  }

//+------------------------------------------------------------------+
//| Quotes                                                           |
//+------------------------------------------------------------------+
// Moves the symbol's cursor past this quote and queues it (a quote the agent would refuse - zero or
// crossed by more than 1 % - is counted and skipped; SPEC §4.1, Q).
void AddQuote(const int index, const long msc, const double bid, const double ask)
  {
   if(msc == g_watch[index].lastMsc)
      g_watch[index].sentAtLastMsc++;
   else
     {
      g_watch[index].lastMsc = msc;
      g_watch[index].sentAtLastMsc = 1;
     }
   g_watch[index].lastBid = bid;
   g_watch[index].lastAsk = ask;
   string line = TmRecordQuote(g_watch[index].name, msc, bid, ask, g_watch[index].digits);
   if(StringLen(line) > 0)
      g_quotes.Add(msc, line);
   else
      g_refusedQuotes++;
  }

void CollectLatest(const int index)
  {
   MqlTick tick;
   if(!SymbolInfoTick(g_watch[index].name, tick))
      return;
   if(tick.time_msc < g_watch[index].lastMsc)
      return;
   if(tick.time_msc == g_watch[index].lastMsc && tick.bid == g_watch[index].lastBid &&
      tick.ask == g_watch[index].lastAsk)
      return;
   AddQuote(index, tick.time_msc, tick.bid, tick.ask);
  }

// Every bid/ask tick since the cursor (CopyTicks returns ticks with time >= from, oldest first).
void CollectTicks(const int index)
  {
   long fromMsc = g_watch[index].lastMsc;
   int alreadySent = g_watch[index].sentAtLastMsc;
   if(fromMsc <= 0)
     {
      CollectLatest(index);
      return;
     }
   // CopyTicks only when the symbol has a tick past the cursor: with a large Market Watch most
   // symbols have none in a given pass, and SymbolInfoTick is the cheap question.
   MqlTick latest;
   if(SymbolInfoTick(g_watch[index].name, latest) && latest.time_msc == fromMsc &&
      latest.bid == g_watch[index].lastBid && latest.ask == g_watch[index].lastAsk)
      return;
   MqlTick ticks[];
   int copied = CopyTicks(g_watch[index].name, ticks, COPY_TICKS_INFO, (ulong)fromMsc, (uint)TM_TICKS_PER_SYMBOL);
   if(copied <= 0)
     {
      CollectLatest(index);   // tick history still synchronising: fall back to the current quote
      return;
     }
   int skippedAtFrom = 0;
   for(int t = 0; t < copied; t++)
     {
      long msc = ticks[t].time_msc;
      if(msc < fromMsc)
         continue;
      if(msc == fromMsc && skippedAtFrom < alreadySent)
        {
         skippedAtFrom++;
         continue;
        }
      AddQuote(index, msc, ticks[t].bid, ticks[t].ask);
     }
  }

void PublishQuotes(const ulong now)
  {
   g_quotes.Clear();
   int count = ArraySize(g_watch);
   for(int i = 0; i < count; i++)
     {
      if(!g_watch[i].announced)
         continue;   // its SYMBOL (and first quote) has not gone out yet
      if(InpEveryTick)
         CollectTicks(i);
      else
         CollectLatest(i);
     }
   int quotes = g_quotes.Count();
   if(quotes == 0)
      return;
   g_quotes.SortByTime();
   string records = "";
   int inFrame = 0;
   for(int q = 0; q < quotes; q++)
     {
      records += g_quotes.LineAt(q);
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
      why = "algo trading is disabled in the terminal";
      return false;
     }
   if(MQLInfoInteger(MQL_TRADE_ALLOWED) == 0)
     {
      why = "live trading is not allowed in this EA's properties";
      return false;
     }
   return true;
  }

// Sends one close request for the position; its trade server return code (TRADE_RETCODE_DONE when
// it is gone already). why describes a failure.
uint ClosePosition(const ulong ticket, string &why)
  {
   if(!PositionSelectByTicket(ticket))
      return TRADE_RETCODE_DONE;   // already closed
   string symbol = PositionGetString(POSITION_SYMBOL);
   if(!g_trade.SetTypeFillingBySymbol(symbol))
      g_trade.SetTypeFilling(ORDER_FILLING_RETURN);
   bool sent = g_trade.PositionClose(ticket);
   uint code = g_trade.ResultRetcode();
   if(sent && (code == TRADE_RETCODE_DONE || code == TRADE_RETCODE_PLACED))
      return TRADE_RETCODE_DONE;
   why = "#" + IntegerToString((long)ticket) + ": " + IntegerToString((long)code) + " " +
         g_trade.ResultRetcodeDescription();
   return code == 0 ? TRADE_RETCODE_CONNECTION : code;
  }

// Answers worth a retry on a later pass (MQL5 reference, trade server return codes).
bool IsTransientRetcode(const uint code)
  {
   return code == TRADE_RETCODE_REQUOTE || code == TRADE_RETCODE_PRICE_CHANGED || code == TRADE_RETCODE_PRICE_OFF ||
          code == TRADE_RETCODE_TOO_MANY_REQUESTS || code == TRADE_RETCODE_CONNECTION;
  }

// Open positions, oldest first (open time, then ticket): the order a FIFO account accepts.
int OpenPositionsOldestFirst(ulong &tickets[])
  {
   long times[];
   int count = 0;
   int total = PositionsTotal();
   ArrayResize(tickets, total);
   ArrayResize(times, total);
   for(int i = 0; i < total; i++)
     {
      ulong ticket = PositionGetTicket(i);
      if(ticket == 0)
         continue;
      long time = PositionGetInteger(POSITION_TIME_MSC);
      int at = count;
      while(at > 0 && (times[at - 1] > time || (times[at - 1] == time && tickets[at - 1] > ticket)))
        {
         times[at] = times[at - 1];
         tickets[at] = tickets[at - 1];
         at--;
        }
      times[at] = time;
      tickets[at] = ticket;
      count++;
     }
   ArrayResize(tickets, count);
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
      g_closeAllInitial = PositionsTotal();
      g_closeAllDeadlineMs = now + TM_CLOSE_ALL_TIMEOUT_MS;
      g_closeAllLastError = "";
      g_closeAllRequests = 0;
     }
   return true;
  }

void FinishCloseAll(const ulong now)
  {
   int left = PositionsTotal();
   string detail = "closed " + IntegerToString(MathMax(0, g_closeAllInitial - left)) + " of " +
                   IntegerToString(g_closeAllInitial) + " positions in " + IntegerToString(g_closeAllRequests) +
                   " requests";
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

// One pass of a running close_all: up to TM_CLOSES_PER_PASS positions, oldest first. A requote or
// a busy server ends the pass (the same position is tried again on the next one); so does a FIFO
// refusal (an older position of the symbol must go first, and it is first in line).
void ContinueCloseAll(const ulong now)
  {
   if(ArraySize(g_closeAllIds) == 0)
      return;
   ulong tickets[];
   int count = OpenPositionsOldestFirst(tickets);
   if(count == 0 || now >= g_closeAllDeadlineMs)
     {
      FinishCloseAll(now);
      return;
     }
   string why = "";
   if(!TradingPermitted(why))
     {
      g_closeAllLastError = why;
      return;
     }
   int sent = 0;
   for(int i = 0; i < count && sent < TM_CLOSES_PER_PASS; i++)
     {
      string error = "";
      uint code = ClosePosition(tickets[i], error);
      sent++;
      g_closeAllRequests++;
      if(code == TRADE_RETCODE_DONE)
         continue;
      g_closeAllLastError = error;
      if(IsTransientRetcode(code) || code == TRADE_RETCODE_FIFO_CLOSE)
         break;
     }
   if(PositionsTotal() == 0)
      FinishCloseAll(now);
  }

void KeepOpenPositions()
  {
   g_keptWhileDisabled.Clear();
   int total = PositionsTotal();
   for(int i = 0; i < total; i++)
     {
      ulong ticket = PositionGetTicket(i);
      if(ticket > 0)
         g_keptWhileDisabled.Add((long)ticket);
     }
  }

bool DisableTrading(string &detail)
  {
   // A repeated disable keeps the first list and time: positions opened since are not legitimised.
   if(!g_tradingDisabled)
     {
      KeepOpenPositions();
      g_disabledAtMs = TmTimeMs(TimeTradeServer());
      GlobalVariableSet(DisabledKey(), (double)g_disabledAtMs);
      GlobalVariablesFlush();   // a crash must not forget it
     }
   g_tradingDisabled = true;
   detail = "trading disabled; " + IntegerToString(g_keptWhileDisabled.Count()) +
            " open positions kept, new ones are closed";
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

// Closes positions opened while trading is disabled (at most one pass a second): positions that
// were not open when the command came and whose open time is later than it. The time test alone
// decides after a terminal restart, when the kept list is gone.
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
   ulong offenders[];
   int count = 0;
   int total = PositionsTotal();
   for(int i = 0; i < total; i++)
     {
      ulong ticket = PositionGetTicket(i);
      if(ticket == 0 || g_keptWhileDisabled.Contains((long)ticket))
         continue;
      if(PositionGetInteger(POSITION_TIME_MSC) <= g_disabledAtMs)
         continue;
      ArrayResize(offenders, count + 1, 8);
      offenders[count] = ticket;
      count++;
     }
   if(count == 0)
      return;
   string why = "";
   if(!TradingPermitted(why))
     {
      Print("Tidemark: trading is disabled but ", count, " new position(s) cannot be closed: ", why);
      return;
     }
   for(int j = 0; j < count; j++)
     {
      string error = "";
      if(ClosePosition(offenders[j], error) == TRADE_RETCODE_DONE)
         Print("Tidemark: closed position #", offenders[j], " opened while trading is disabled");
      else
         Print("Tidemark: could not close position #", offenders[j], ": ", error);
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
      PublishTradeChanges(now);
      AnnouncePending(now);
      if(now >= g_lastWatchRefreshMs + TM_WATCH_REFRESH_MS)
         RefreshWatch(now);
      PublishQuotes(now);
      if(now >= g_lastReportMs + (ulong)ReportPeriodMs())
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
   ArrayResize(g_pendingDeals, 0);
   g_book.Clear();
   g_pairs.Clear();
   g_seenDeals.Clear();   // the session's snapshot marks the history again (another account's tickets must not)
   ArrayResize(g_closeAllIds, 0);
   g_lastMarketWatchCount = -1;
   g_snapshotDue = false;
   g_lastSnapshotMs = 0;
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
   g_trade.SetDeviationInPoints((ulong)(InpCloseDeviationPoints > 0 ? InpCloseDeviationPoints : 0));
   g_trade.SetAsyncMode(false);
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

// Deals arrive here first; positions and quotes are read on the next timer pass anyway.
void OnTradeTransaction(const MqlTradeTransaction &trans, const MqlTradeRequest &request, const MqlTradeResult &result)
  {
   if(trans.type != TRADE_TRANSACTION_DEAL_ADD || trans.deal == 0)
      return;
   int count = ArraySize(g_pendingDeals);
   ArrayResize(g_pendingDeals, count + 1, 16);
   g_pendingDeals[count] = trans.deal;
   if(g_link.IsActive() && !g_snapshotDue)
     {
      ulong now = TmNowMs();
      PublishPendingDeals(now);
      PublishPositionChanges(now);
     }
  }

// Quotes of every watched symbol (not only the chart's) are read from the timer.
void OnTick()
  {
  }
//+------------------------------------------------------------------+

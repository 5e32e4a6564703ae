//+------------------------------------------------------------------+
//| Tidemark/Protocol.mqh                                            |
//| Wire protocol version 2 (protocol/SPEC.md): record and frame     |
//| builders for EA -> agent messages, the parser for agent -> EA    |
//| frames, field formatting and the MetaTrader enum mappings.       |
//|                                                                  |
//| A frame is UTF-8 text; lines end with LF, fields are separated   |
//| by TAB. Every record builder below returns one complete line,    |
//| LF included, or "" when the values would make an invalid record  |
//| (the agent refuses a whole frame for one bad record and asks for |
//| a resync, so a bad record is dropped here and logged instead).   |
//+------------------------------------------------------------------+
#ifndef TIDEMARK_PROTOCOL_MQH
#define TIDEMARK_PROTOCOL_MQH

#define TM_VERSION_TAG        "TM1"
// A SNAPSHOT with the N record is version 2; every other frame is version 1 (SPEC §10).
#define TM_SNAPSHOT_VERSION_TAG "TM2"
#define TM_TAB                "\t"
#define TM_LF                 "\n"
// The agent answers within this time or the EA starts a new session (SPEC §6.1).
#define TM_HANDSHAKE_TIMEOUT_MS   10000
// Heartbeat interval until WELCOME names the agent's (SPEC §6.4).
#define TM_DEFAULT_HEARTBEAT_MS   5000
// A TICKS frame SHOULD carry at most 100 quotes (SPEC §2).
#define TM_MAX_QUOTES_PER_FRAME   100
// Decimal fields carry at most 8 fractional digits (SPEC §3).
#define TM_MAX_DECIMAL_DIGITS     8

//+------------------------------------------------------------------+
//| Field formatting                                                 |
//+------------------------------------------------------------------+

// Free text with TAB, CR and LF replaced by a space (SPEC §2).
string TmText(const string text)
  {
   string clean = text;
   if(StringLen(clean) == 0)
      return "";
   StringReplace(clean, "\t", " ");
   StringReplace(clean, "\r", " ");
   StringReplace(clean, "\n", " ");
   return clean;
  }

// A decimal field: DoubleToString never writes an exponent (unlike (string)x or %g).
// digits is clamped to 0..8; NaN and infinities become "0" (the caller validates values first).
string TmDecimal(const double value, const int digits)
  {
   int places = digits;
   if(places < 0)
      places = 0;
   if(places > TM_MAX_DECIMAL_DIGITS)
      places = TM_MAX_DECIMAL_DIGITS;
   if(!MathIsValidNumber(value))
      return "0";
   return DoubleToString(value, places);
  }

// The value as the agent will read it: rounded to `digits` places.
double TmRounded(const double value, const int digits)
  {
   int places = digits;
   if(places < 0)
      places = 0;
   if(places > TM_MAX_DECIMAL_DIGITS)
      places = TM_MAX_DECIMAL_DIGITS;
   return NormalizeDouble(value, places);
  }

string TmInt(const long value)
  {
   return IntegerToString(value);
  }

string TmBool(const bool value)
  {
   return value ? "1" : "0";
  }

// Broker time in ms from a datetime (seconds).
long TmTimeMs(const datetime time)
  {
   return (long)time * 1000;
  }

// Volumes go out with 2 fractional digits, or 8 when the symbol trades in steps below 0.01.
int TmVolumeDigits(const double volumeStep)
  {
   if(volumeStep > 0.0 && volumeStep < 0.0099999)
      return 8;
   return 2;
  }

// Money digits: the account currency's, within 0..8.
int TmMoneyDigits(const long currencyDigits)
  {
   if(currencyDigits < 0 || currencyDigits > TM_MAX_DECIMAL_DIGITS)
      return 2;
   return (int)currencyDigits;
  }

// Price digits within 0..8 (SYMBOL_DIGITS / MODE_DIGITS), or 8 when unknown.
int TmPriceDigits(const long symbolDigits)
  {
   if(symbolDigits < 0 || symbolDigits > TM_MAX_DECIMAL_DIGITS)
      return TM_MAX_DECIMAL_DIGITS;
   return (int)symbolDigits;
  }

// Broker UTC offset, rounded to a quarter hour (the server clock estimate and the PC's GMT are never
// exactly aligned); outside ±24 h (a bad PC clock) it is reported as 0, which the agent accepts.
long TmBrokerUtcOffsetSeconds(const datetime serverTime, const datetime gmtTime)
  {
   long raw = (long)serverTime - (long)gmtTime;
   long quarters = (raw >= 0) ? (raw + 450) / 900 : -((-raw + 450) / 900);
   long offset = quarters * 900;
   if(offset > 86400 || offset < -86400)
      return 0;
   return offset;
  }

//+------------------------------------------------------------------+
//| Enum mappings (raw values: SPEC §5)                              |
//+------------------------------------------------------------------+
#ifdef __MQL5__
// ENUM_SYMBOL_CALC_MODE (SymbolInfoInteger(SYMBOL_TRADE_CALC_MODE)); mql5.com/en/docs/constants/
// environment_state/marketinfoconstants#enum_symbol_calc_mode. Identifiers, not numbers: the numeric
// values differ between published tables.
string TmCalcModeName(const ENUM_SYMBOL_CALC_MODE mode)
  {
   switch(mode)
     {
      case SYMBOL_CALC_MODE_FOREX:               return "forex";
      case SYMBOL_CALC_MODE_FOREX_NO_LEVERAGE:   return "forex_no_leverage";
      case SYMBOL_CALC_MODE_FUTURES:             return "futures";
      case SYMBOL_CALC_MODE_CFD:                 return "cfd";
      case SYMBOL_CALC_MODE_CFDINDEX:            return "cfd_index";
      case SYMBOL_CALC_MODE_CFDLEVERAGE:         return "cfd_leverage";
      case SYMBOL_CALC_MODE_EXCH_STOCKS:         return "exch_stocks";
      case SYMBOL_CALC_MODE_EXCH_FUTURES:        return "exch_futures";
      case SYMBOL_CALC_MODE_EXCH_FUTURES_FORTS:  return "exch_futures_forts";
      case SYMBOL_CALC_MODE_EXCH_OPTIONS:        return "exch_options";
      case SYMBOL_CALC_MODE_EXCH_OPTIONS_MARGIN: return "exch_options_margin";
      case SYMBOL_CALC_MODE_EXCH_BONDS:          return "exch_bonds";
      case SYMBOL_CALC_MODE_EXCH_STOCKS_MOEX:    return "exch_stocks_moex";
      case SYMBOL_CALC_MODE_EXCH_BONDS_MOEX:     return "exch_bonds_moex";
      case SYMBOL_CALC_MODE_SERV_COLLATERAL:     return "serv_collateral";
      default:                                   break;
     }
   return "";
  }

// ENUM_DEAL_TYPE (HistoryDealGetInteger(DEAL_TYPE)); mql5.com/en/docs/constants/tradingconstants/
// dealproperties. Note the last three identifiers have no TYPE_ in MQL5: DEAL_DIVIDEND,
// DEAL_DIVIDEND_FRANKED, DEAL_TAX. A server may send values newer than this build knows
// (e.g. agent commission, stop-out compensation): they map to "" and the caller re-bases with a snapshot.
string TmDealTypeName(const ENUM_DEAL_TYPE type)
  {
   switch(type)
     {
      case DEAL_TYPE_BUY:                      return "buy";
      case DEAL_TYPE_SELL:                     return "sell";
      case DEAL_TYPE_BALANCE:                  return "balance";
      case DEAL_TYPE_CREDIT:                   return "credit";
      case DEAL_TYPE_CHARGE:                   return "charge";
      case DEAL_TYPE_CORRECTION:               return "correction";
      case DEAL_TYPE_BONUS:                    return "bonus";
      case DEAL_TYPE_COMMISSION:               return "commission";
      case DEAL_TYPE_COMMISSION_DAILY:         return "commission_daily";
      case DEAL_TYPE_COMMISSION_MONTHLY:       return "commission_monthly";
      case DEAL_TYPE_COMMISSION_AGENT_DAILY:   return "commission_agent_daily";
      case DEAL_TYPE_COMMISSION_AGENT_MONTHLY: return "commission_agent_monthly";
      case DEAL_TYPE_INTEREST:                 return "interest";
      case DEAL_TYPE_BUY_CANCELED:             return "buy_canceled";
      case DEAL_TYPE_SELL_CANCELED:            return "sell_canceled";
      case DEAL_DIVIDEND:                      return "dividend";
      case DEAL_DIVIDEND_FRANKED:              return "dividend_franked";
      case DEAL_TAX:                           return "tax";
      default:                                 break;
     }
   return "";
  }

// ENUM_DEAL_ENTRY (HistoryDealGetInteger(DEAL_ENTRY)).
string TmDealEntryName(const ENUM_DEAL_ENTRY entry)
  {
   switch(entry)
     {
      case DEAL_ENTRY_IN:     return "in";
      case DEAL_ENTRY_OUT:    return "out";
      case DEAL_ENTRY_INOUT:  return "inout";
      case DEAL_ENTRY_OUT_BY: return "out_by";
      default:                break;
     }
   return "";
  }

// ENUM_ACCOUNT_MARGIN_MODE (AccountInfoInteger(ACCOUNT_MARGIN_MODE)).
string TmMarginModeName(const ENUM_ACCOUNT_MARGIN_MODE mode)
  {
   switch(mode)
     {
      case ACCOUNT_MARGIN_MODE_RETAIL_HEDGING: return "retail_hedging";
      case ACCOUNT_MARGIN_MODE_RETAIL_NETTING: return "retail_netting";
      case ACCOUNT_MARGIN_MODE_EXCHANGE:       return "exchange";
      default:                                 break;
     }
   return "";
  }
#endif // __MQL5__

// MT4 MarketInfo(symbol, MODE_PROFITCALCMODE): 0 Forex, 1 CFD, 2 Futures (book.mql4.com/appendix/marketinfo).
string TmMt4CalcModeName(const int mode)
  {
   if(mode == 0)
      return "forex";
   if(mode == 1)
      return "cfd";
   if(mode == 2)
      return "futures";
   return "";
  }

//+------------------------------------------------------------------+
//| Records (SPEC §4.1, §4.2). Each returns one line with its LF.    |
//+------------------------------------------------------------------+

// I — hello (11 fields).
string TmRecordHello(const string platform, const long terminalBuild, const long login, const string server,
                     const string company, const string currency, const int currencyDigits,
                     const string marginMode, const long leverage, const string eaVersion,
                     const long brokerUtcOffsetSeconds)
  {
   if(login <= 0 || StringLen(server) == 0 || StringLen(currency) == 0 || StringLen(marginMode) == 0)
      return "";
   return "I" + TM_TAB + platform + TM_TAB + TmInt(terminalBuild) + TM_TAB + TmInt(login) + TM_TAB +
          TmText(server) + TM_TAB + TmText(company) + TM_TAB + TmText(currency) + TM_TAB +
          TmInt(currencyDigits) + TM_TAB + marginMode + TM_TAB + TmInt(leverage) + TM_TAB +
          TmText(eaVersion) + TM_TAB + TmInt(brokerUtcOffsetSeconds) + TM_LF;
  }

// A — account (5 fields): time balance credit equity margin.
string TmRecordAccount(const long timeMs, const double balance, const double credit, const double equity,
                       const double margin, const int moneyDigits)
  {
   double safeMargin = margin;
   if(safeMargin < 0.0)
      safeMargin = 0.0;
   long safeTime = timeMs;
   if(safeTime < 0)
      safeTime = 0;
   return "A" + TM_TAB + TmInt(safeTime) + TM_TAB + TmDecimal(balance, moneyDigits) + TM_TAB +
          TmDecimal(credit, moneyDigits) + TM_TAB + TmDecimal(equity, moneyDigits) + TM_TAB +
          TmDecimal(safeMargin, moneyDigits) + TM_LF;
  }

// S — symbol specification (9 fields). "" when the terminal reports values the agent would refuse
// (contract or tick size 0, e.g. a symbol whose specification has not arrived yet).
string TmRecordSymbol(const string name, const int digits, const string calcMode, const double contractSize,
                      const double tickSize, const double tickValue, const string profitCurrency,
                      const string marginCurrency, const string baseCurrency)
  {
   if(StringLen(name) == 0 || digits < 0 || digits > TM_MAX_DECIMAL_DIGITS || StringLen(calcMode) == 0 ||
      StringLen(profitCurrency) == 0)
      return "";
   if(TmRounded(contractSize, TM_MAX_DECIMAL_DIGITS) <= 0.0 || TmRounded(tickSize, TM_MAX_DECIMAL_DIGITS) <= 0.0 ||
      tickValue < 0.0 || !MathIsValidNumber(tickValue))
      return "";
   return "S" + TM_TAB + TmText(name) + TM_TAB + TmInt(digits) + TM_TAB + calcMode + TM_TAB +
          TmDecimal(contractSize, TM_MAX_DECIMAL_DIGITS) + TM_TAB + TmDecimal(tickSize, TM_MAX_DECIMAL_DIGITS) + TM_TAB +
          TmDecimal(tickValue, TM_MAX_DECIMAL_DIGITS) + TM_TAB + TmText(profitCurrency) + TM_TAB +
          TmText(marginCurrency) + TM_TAB + TmText(baseCurrency) + TM_LF;
  }

// P — position (8 fields). side is "buy" or "sell".
string TmRecordPosition(const long ticket, const string symbol, const string side, const double volume,
                        const int volumeDigits, const double openPrice, const int priceDigits,
                        const long openTimeMs, const double swap, const double commission, const int moneyDigits)
  {
   if(ticket <= 0 || StringLen(symbol) == 0 || (side != "buy" && side != "sell"))
      return "";
   if(TmRounded(volume, volumeDigits) <= 0.0 || TmRounded(openPrice, priceDigits) <= 0.0)
      return "";
   long safeTime = openTimeMs;
   if(safeTime < 0)
      safeTime = 0;
   return "P" + TM_TAB + TmInt(ticket) + TM_TAB + TmText(symbol) + TM_TAB + side + TM_TAB +
          TmDecimal(volume, volumeDigits) + TM_TAB + TmDecimal(openPrice, priceDigits) + TM_TAB +
          TmInt(safeTime) + TM_TAB + TmDecimal(swap, moneyDigits) + TM_TAB +
          TmDecimal(commission, moneyDigits) + TM_LF;
  }

// True when the agent accepts the quote: bid > 0, ask > 0 and bid <= ask × 1.01 (SPEC §4.1, Q).
bool TmQuoteIsValid(const double bid, const double ask, const int priceDigits)
  {
   double roundedBid = TmRounded(bid, priceDigits);
   double roundedAsk = TmRounded(ask, priceDigits);
   if(roundedBid <= 0.0 || roundedAsk <= 0.0)
      return false;
   return roundedBid * 100.0 <= roundedAsk * 101.0;
  }

// Q — quote (4 fields).
string TmRecordQuote(const string symbol, const long timeMs, const double bid, const double ask,
                     const int priceDigits)
  {
   if(StringLen(symbol) == 0 || timeMs < 0 || !TmQuoteIsValid(bid, ask, priceDigits))
      return "";
   return "Q" + TM_TAB + TmText(symbol) + TM_TAB + TmInt(timeMs) + TM_TAB + TmDecimal(bid, priceDigits) + TM_TAB +
          TmDecimal(ask, priceDigits) + TM_LF;
  }

// C — position change (2 fields): opened / changed / closed. Followed by the P record.
string TmRecordChange(const string change, const long timeMs)
  {
   long safeTime = timeMs;
   if(safeTime < 0)
      safeTime = 0;
   return "C" + TM_TAB + change + TM_TAB + TmInt(safeTime) + TM_LF;
  }

// D — deal (13 fields). type and entry are raw values (TmDealTypeName, TmDealEntryName, or the MT4
// mapping); "" for a deal the agent would refuse (a buy/sell deal needs a symbol, volume and price > 0).
string TmRecordDeal(const long ticket, const long timeMs, const string type, const string entry,
                    const string symbol, const double volume, const int volumeDigits, const double price,
                    const int priceDigits, const double profit, const double commission, const double swap,
                    const double fee, const int moneyDigits, const long positionId, const string comment)
  {
   if(ticket <= 0 || timeMs < 0 || StringLen(type) == 0 || StringLen(entry) == 0 || positionId < 0)
      return "";
   double safeVolume = volume;
   if(safeVolume < 0.0)
      safeVolume = 0.0;
   double safePrice = price;
   if(safePrice < 0.0)
      safePrice = 0.0;
   if(type == "buy" || type == "sell")
     {
      if(StringLen(symbol) == 0 || TmRounded(safeVolume, volumeDigits) <= 0.0 ||
         TmRounded(safePrice, priceDigits) <= 0.0)
         return "";
     }
   return "D" + TM_TAB + TmInt(ticket) + TM_TAB + TmInt(timeMs) + TM_TAB + type + TM_TAB + entry + TM_TAB +
          TmText(symbol) + TM_TAB + TmDecimal(safeVolume, volumeDigits) + TM_TAB +
          TmDecimal(safePrice, priceDigits) + TM_TAB + TmDecimal(profit, moneyDigits) + TM_TAB +
          TmDecimal(commission, moneyDigits) + TM_TAB + TmDecimal(swap, moneyDigits) + TM_TAB +
          TmDecimal(fee, moneyDigits) + TM_TAB + TmInt(positionId) + TM_TAB + TmText(comment) + TM_LF;
  }

// H — heartbeat (1 field).
string TmRecordHeartbeat(const long timeMs)
  {
   long safeTime = timeMs;
   if(safeTime < 0)
      safeTime = 0;
   return "H" + TM_TAB + TmInt(safeTime) + TM_LF;
  }

// B — bye (1 field).
string TmRecordBye(const string reason)
  {
   return "B" + TM_TAB + TmText(reason) + TM_LF;
  }

// K — command acknowledgement (4 fields).
string TmRecordCommandAck(const long commandId, const long timeMs, const bool succeeded, const string detail)
  {
   long safeTime = timeMs;
   if(safeTime < 0)
      safeTime = 0;
   return "K" + TM_TAB + TmInt(commandId) + TM_TAB + TmInt(safeTime) + TM_TAB + TmBool(succeeded) + TM_TAB +
          TmText(detail) + TM_LF;
  }

// N: how many positions the snapshot holds in all, those that follow it in POSITION frames
// included (SPEC §4.1, §6.8), so the agent folds it only once every one has arrived.
string TmRecordPositionCount(const int count)
  {
   return "N" + TM_TAB + IntegerToString(count) + TM_LF;
  }

// A whole frame: header line then the records (each already LF-terminated).
string TmFrame(const string type, const string sessionId, const long sequence, const string records)
  {
   // The lowest version that carries the frame (SPEC §10): version 2 only for a SNAPSHOT with N.
   bool countsPositions = (type == "SNAPSHOT" && StringFind(records, TM_LF + "N" + TM_TAB) >= 0);
   return (countsPositions ? TM_SNAPSHOT_VERSION_TAG : TM_VERSION_TAG) + TM_TAB + type + TM_TAB + sessionId + TM_TAB + TmInt(sequence) + TM_LF + records;
  }

//+------------------------------------------------------------------+
//| Parsing agent -> EA frames (SPEC §4.3)                           |
//+------------------------------------------------------------------+

// One decoded agent frame. Only the fields of its type are meaningful.
struct TmAgentMessage
  {
   string            type;            // WELCOME, REJECT, RESYNC, ACK, COMMAND, HEARTBEAT
   string            sessionId;       // the EA's session id, or "-"
   long              sequence;        // agent -> EA sequence
   long              heartbeatMs;     // WELCOME
   string            agentVersion;    // WELCOME
   string            rejectReason;    // REJECT (raw RejectReason)
   string            text;            // REJECT message, RESYNC reason, COMMAND reason
   long              lastSequence;    // RESYNC
   long              ackSequence;     // ACK
   long              commandId;       // COMMAND
   string            commandKind;     // COMMAND (raw CommandKind)
   string            error;           // why the frame was refused, when parsing failed

   void              Reset()
     {
      type = "";
      sessionId = "";
      sequence = 0;
      heartbeatMs = 0;
      agentVersion = "";
      rejectReason = "";
      text = "";
      lastSequence = 0;
      ackSequence = 0;
      commandId = 0;
      commandKind = "";
      error = "";
     }
  };

// Splits text on a one-character separator, keeping empty fields ("a\t\tb" -> 3 fields,
// "a\t" -> 2). Written by hand so the empty-field behaviour does not depend on StringSplit.
int TmSplit(const string text, const string separator, string &parts[])
  {
   ArrayResize(parts, 0);
   int count = 0;
   int start = 0;
   int length = StringLen(text);
   while(true)
     {
      int position = (start <= length) ? StringFind(text, separator, start) : -1;
      int end = (position < 0) ? length : position;
      ArrayResize(parts, count + 1);
      parts[count] = (end > start) ? StringSubstr(text, start, end - start) : "";
      count++;
      if(position < 0)
         break;
      start = position + 1;
     }
   return count;
  }

// A base-10 integer: optional '-', 1..19 digits.
bool TmParseInteger(const string text, long &value)
  {
   value = 0;
   int length = StringLen(text);
   if(length == 0 || length > 20)
      return false;
   int first = 0;
   if(StringGetCharacter(text, 0) == '-')
      first = 1;
   if(length - first < 1 || length - first > 19)
      return false;
   for(int i = first; i < length; i++)
     {
      ushort character = StringGetCharacter(text, i);
      if(character < '0' || character > '9')
         return false;
     }
   value = StringToInteger(text);
   return true;
  }

bool TmIsRejectReason(const string reason)
  {
   return reason == "netting_account" || reason == "exchange_account" || reason == "unsupported_version" ||
          reason == "expected_hello" || reason == "not_allowed" || reason == "protocol_violation" ||
          reason == "limit_reached";
  }

bool TmIsCommandKind(const string kind)
  {
   return kind == "close_all" || kind == "disable_trading" || kind == "enable_trading";
  }

// Reads the record line `line` and checks its tag and field count (the tag included).
bool TmRecordFields(const string line, const string tag, const int fieldCount, string &fields[], string &error)
  {
   int count = TmSplit(line, TM_TAB, fields);
   if(count < 1 || fields[0] != tag)
     {
      error = "expected a " + tag + " record";
      return false;
     }
   if(count != fieldCount)
     {
      error = "record " + tag + " has " + IntegerToString(count - 1) + " fields, expected " +
              IntegerToString(fieldCount - 1);
      return false;
     }
   return true;
  }

// Decodes one agent frame. On false, message.error says why (for the log).
bool TmParseAgentFrame(const string frame, TmAgentMessage &message)
  {
   message.Reset();
   int length = StringLen(frame);
   // The shortest valid frame is a header line; "\n" alone is refused here so that StringSubstr is never
   // asked for a zero-length piece.
   if(length < 2 || StringSubstr(frame, length - 1, 1) != TM_LF)
     {
      message.error = "truncated frame";
      return false;
     }
   string lines[];
   int lineCount = TmSplit(StringSubstr(frame, 0, length - 1), TM_LF, lines);

   string header[];
   int headerCount = TmSplit(lines[0], TM_TAB, header);
   if(headerCount != 4)
     {
      message.error = "bad header: " + IntegerToString(headerCount) + " fields";
      return false;
     }
   if(header[0] != TM_VERSION_TAG)
     {
      message.error = "unsupported version " + header[0];
      return false;
     }
   message.type = header[1];
   message.sessionId = header[2];
   if(StringLen(message.sessionId) == 0 || !TmParseInteger(header[3], message.sequence) || message.sequence < 1)
     {
      message.error = "bad header";
      return false;
     }

   string fields[];
   string error = "";
   if(message.type == "HEARTBEAT")
     {
      if(lineCount != 1)
        {
         message.error = "HEARTBEAT has no records";
         return false;
        }
      return true;
     }
   if(lineCount != 2)
     {
      message.error = message.type + " needs exactly one record";
      return false;
     }
   if(message.type == "WELCOME")
     {
      if(!TmRecordFields(lines[1], "W", 3, fields, error))
        {
         message.error = error;
         return false;
        }
      if(!TmParseInteger(fields[1], message.heartbeatMs) || message.heartbeatMs < 1)
        {
         message.error = "bad W.heartbeatIntervalMilliseconds";
         return false;
        }
      message.agentVersion = fields[2];
      return true;
     }
   if(message.type == "REJECT")
     {
      if(!TmRecordFields(lines[1], "R", 3, fields, error))
        {
         message.error = error;
         return false;
        }
      if(!TmIsRejectReason(fields[1]))
        {
         message.error = "bad R.reason " + fields[1];
         return false;
        }
      message.rejectReason = fields[1];
      message.text = fields[2];
      return true;
     }
   if(message.type == "RESYNC")
     {
      if(!TmRecordFields(lines[1], "Y", 3, fields, error))
        {
         message.error = error;
         return false;
        }
      if(!TmParseInteger(fields[1], message.lastSequence) || message.lastSequence < 0)
        {
         message.error = "bad Y.lastSequence";
         return false;
        }
      message.text = fields[2];
      return true;
     }
   if(message.type == "ACK")
     {
      if(!TmRecordFields(lines[1], "N", 2, fields, error))
        {
         message.error = error;
         return false;
        }
      if(!TmParseInteger(fields[1], message.ackSequence) || message.ackSequence < 0)
        {
         message.error = "bad N.sequence";
         return false;
        }
      return true;
     }
   if(message.type == "COMMAND")
     {
      if(!TmRecordFields(lines[1], "X", 4, fields, error))
        {
         message.error = error;
         return false;
        }
      if(!TmParseInteger(fields[1], message.commandId) || message.commandId < 0)
        {
         message.error = "bad X.id";
         return false;
        }
      if(!TmIsCommandKind(fields[2]))
        {
         message.error = "bad X.kind " + fields[2];
         return false;
        }
      message.commandKind = fields[2];
      message.text = fields[3];
      return true;
     }
   message.error = "unknown type " + message.type;
   return false;
  }

#endif // TIDEMARK_PROTOCOL_MQH

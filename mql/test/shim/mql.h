// The MQL4/MQL5 runtime as the Tidemark EAs use it, for compiling the EA sources as C++ (after
// mql2cpp.py) and running them against a scripted fake terminal (terminal.cpp).
//
// Written for this repository from the MQL reference; each declaration names the page it follows
// (MQL5: https://www.mql5.com/en/docs/…, MQL4: https://docs.mql4.com/…). Types follow the reference's
// "Data types" pages: char/short/int/long are 1/2/4/8 bytes on both platforms, strings are UTF-16,
// datetime is seconds since 1970 in 8 bytes, color is 4 bytes. __MQL4__ or __MQL5__ is defined by the
// harness exactly as MetaEditor defines it for .mq4 / .mq5 files.
#ifndef TIDEMARK_MQL_SHIM_H
#define TIDEMARK_MQL_SHIM_H

#include <climits>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#if !defined(__MQL4__) && !defined(__MQL5__)
#error "define __MQL4__ or __MQL5__"
#endif

static_assert(sizeof(long) == 8, "MQL long is 8 bytes: build on an LP64 platform");

// Integer types (https://www.mql5.com/en/docs/basis/types/integer).
typedef unsigned char uchar;
typedef unsigned short ushort;
typedef unsigned int uint;
typedef unsigned long ulong;

// ---------------------------------------------------------------------------------------------
// string (https://www.mql5.com/en/docs/basis/types/stringconst): UTF-16 code units; `+` joins;
// comparisons are by value. Literals become MQL strings through the _mql suffix (mql2cpp.py).
// ---------------------------------------------------------------------------------------------
class string {
public:
  std::u16string units;
  string() {}
  string(const char *utf8);
  string(const std::u16string &u) : units(u) {}
  std::string utf8() const;
  friend string operator+(const string &a, const string &b) { return string(a.units + b.units); }
  string &operator+=(const string &b) { units += b.units; return *this; }
  friend bool operator==(const string &a, const string &b) { return a.units == b.units; }
  friend bool operator!=(const string &a, const string &b) { return a.units != b.units; }
  friend bool operator<(const string &a, const string &b) { return a.units < b.units; }
};
string operator""_mql(const char *text, size_t length);

// datetime (https://www.mql5.com/en/docs/basis/types/integer/datetime): seconds since 1970, 8 bytes.
struct datetime {
  long seconds;
  datetime() : seconds(0) {}
  datetime(long value) : seconds(value) {}
  operator long() const { return seconds; }
};

// color (https://www.mql5.com/en/docs/basis/types/integer/color).
struct color {
  uint value;
  color(uint v = 0) : value(v) {}
};
#define clrNONE color(0xFFFFFFFFu)

// NULL, WRONG_VALUE, EMPTY_VALUE (https://www.mql5.com/en/docs/constants/namedconstants/otherconstants).
#define WRONG_VALUE (-1)

// ---------------------------------------------------------------------------------------------
// Dynamic and fixed arrays (https://www.mql5.com/en/docs/basis/variables#array): passed by
// reference only; ArrayResize grows a dynamic array; reading past the end is a critical error that
// stops the program ("array out of range"), which the shim reports and aborts on.
// ---------------------------------------------------------------------------------------------
[[noreturn]] void MqlCriticalError(const char *what, long index, long size);

template <typename T> class MqlArray {
public:
  // A slot per element: std::vector<bool> packs bits and cannot hand out a bool&.
  struct Slot { T value; };
  std::vector<Slot> items;
  T *data() { return items.empty() ? nullptr : &items[0].value; }
  bool fixed = false;
  MqlArray() {}
  static MqlArray Fixed(long size) { MqlArray a; a.items.resize((size_t)size); a.fixed = true; return a; }
  T &operator[](long index) {
    if (index < 0 || index >= (long)items.size()) MqlCriticalError("array out of range", index, (long)items.size());
    return items[(size_t)index].value;
  }
  const T &operator[](long index) const {
    if (index < 0 || index >= (long)items.size()) MqlCriticalError("array out of range", index, (long)items.size());
    return items[(size_t)index].value;
  }
};

// ArraySize (https://www.mql5.com/en/docs/array/arraysize): number of elements.
template <typename T> int ArraySize(const MqlArray<T> &array) { return (int)array.items.size(); }
// ArrayResize (https://www.mql5.com/en/docs/array/arrayresize): new size, or -1 (fixed arrays cannot
// be resized); reserve_size only pre-allocates.
template <typename T> int ArrayResize(MqlArray<T> &array, int new_size, int reserve_size = 0) {
  if (array.fixed || new_size < 0) return -1;
  if (reserve_size > 0) array.items.reserve((size_t)new_size + (size_t)reserve_size);
  array.items.resize((size_t)new_size);
  return new_size;
}

// Inputs: mql2cpp.py turns `input T name = v;` into `const T name = MqlInput<T>("name", v);`. The
// harness may set an input through the environment (TIDEMARK_INPUT_<name>), as the terminal's
// EA properties dialog does.
const char *MqlInputText(const char *name);
template <typename T> T MqlInputParse(const char *text, const T &fallback);
template <> int MqlInputParse<int>(const char *text, const int &fallback);
template <> bool MqlInputParse<bool>(const char *text, const bool &fallback);
template <> string MqlInputParse<string>(const char *text, const string &fallback);
template <typename T> T MqlInput(const char *name, const T &value) {
  const char *text = MqlInputText(name);
  return text ? MqlInputParse<T>(text, value) : value;
}

// ---------------------------------------------------------------------------------------------
// Code pages and string functions (https://www.mql5.com/en/docs/strings).
// ---------------------------------------------------------------------------------------------
#define CP_ACP 0
#define CP_UTF8 65001

int StringLen(const string &text);                                             // /strings/stringlen
string StringSubstr(const string &text, int start, int length = -1);          // /strings/stringsubstr
int StringFind(const string &text, const string &match, int start = 0);       // /strings/stringfind: -1 if not found
int StringReplace(string &text, const string &find, const string &replacement); // /strings/stringreplace: count
ushort StringGetCharacter(const string &text, int pos);                       // /strings/stringgetcharacter: 0 on error
int StringToCharArray(const string &text, MqlArray<uchar> &array, int start = 0, int count = -1,
                      uint codepage = CP_ACP);                                 // /convert/stringtochararray: bytes copied, NUL included
string CharArrayToString(const MqlArray<uchar> &array, int start = 0, int count = -1,
                         uint codepage = CP_ACP);                              // /convert/chararraytostring
string IntegerToString(long number, int str_len = 0, ushort fill_symbol = ' '); // /convert/integertostring
long StringToInteger(const string &text);                                     // /convert/stringtointeger
string DoubleToString(double value, int digits = 8);                          // /convert/doubletostring
double NormalizeDouble(double value, int digits);                             // /convert/normalizedouble
bool MathIsValidNumber(double number);                                        // /math/mathisvalidnumber
template <typename A, typename B> auto MathMax(A a, B b) -> decltype(a + b) { return a > b ? a : b; } // /math/mathmax
template <typename A, typename B> auto MathMin(A a, B b) -> decltype(a + b) { return a < b ? a : b; } // /math/mathmin
int MathRand();                                                               // /math/mathrand: 0..32767
void MathSrand(int seed);                                                     // /math/mathsrand

// ---------------------------------------------------------------------------------------------
// Output (https://www.mql5.com/en/docs/common/print, /common/alert, /common/comment): variadic,
// each argument printed as MQL prints it. The fake terminal writes them to its journal.
// ---------------------------------------------------------------------------------------------
std::string MqlText(const string &value);
std::string MqlText(const char *value);
std::string MqlText(long value);
std::string MqlText(int value);
std::string MqlText(uint value);
std::string MqlText(ulong value);
std::string MqlText(double value);
std::string MqlText(bool value);
std::string MqlText(datetime value);
void MqlJournal(const char *kind, const std::string &line);
template <typename... Args> void Print(const Args &...args) {
  std::string line;
  ((line += MqlText(args)), ...);
  MqlJournal("Print", line);
}
template <typename... Args> void Alert(const Args &...args) {
  std::string line;
  ((line += MqlText(args)), ...);
  MqlJournal("Alert", line);
}
template <typename... Args> void Comment(const Args &...args) {
  std::string line;
  ((line += MqlText(args)), ...);
  MqlJournal("Comment", line);
}

// ---------------------------------------------------------------------------------------------
// Common functions, errors, timers, program and terminal properties.
// ---------------------------------------------------------------------------------------------
ulong GetMicrosecondCount();        // /common/getmicrosecondcount: since the program started
uint GetTickCount();                // /common/gettickcount: ms since system start
void Sleep(int milliseconds);       // /common/sleep
int GetLastError();                 // /check/getlasterror
void ResetLastError();              // /common/resetlasterror
bool EventSetMillisecondTimer(int milliseconds); // /eventfunctions/eventsetmillisecondtimer
void EventKillTimer();              // /eventfunctions/eventkilltimer

#define INIT_SUCCEEDED 0            // /constants/namedconstants/enum_init_retcode
#define INIT_FAILED 1
#define INIT_PARAMETERS_INCORRECT 2

enum ENUM_MQL_INFO_INTEGER { MQL_DLLS_ALLOWED = 5, MQL_TRADE_ALLOWED = 6 }; // /constants/environment_state/mql5_programm_info
int MQLInfoInteger(ENUM_MQL_INFO_INTEGER property_id);                      // /check/mqlinfointeger
enum ENUM_TERMINAL_INFO_INTEGER { TERMINAL_BUILD = 5, TERMINAL_CONNECTED = 6, TERMINAL_TRADE_ALLOWED = 8 }; // /constants/environment_state/terminalstatus
int TerminalInfoInteger(ENUM_TERMINAL_INFO_INTEGER property_id);            // /check/terminalinfointeger

// Time (https://www.mql5.com/en/docs/dateandtime).
datetime TimeCurrent();       // last known server time (time of the last quote)
datetime TimeTradeServer();   // calculated current trade server time
datetime TimeGMT();
datetime TimeLocal();

// Global variables of the terminal (https://www.mql5.com/en/docs/globals).
bool GlobalVariableCheck(const string &name);
double GlobalVariableGet(const string &name);
datetime GlobalVariableSet(const string &name, double value); // time of the last access, 0 on error
bool GlobalVariableDel(const string &name);
void GlobalVariablesFlush();                                 // /globals/globalvariablesflush

// Files (https://www.mql5.com/en/docs/files): names are relative to the terminal's Files folder
// (the fake terminal's: TIDEMARK_FILES_DIR). FileOpen returns INVALID_HANDLE on failure; with
// FILE_TXT, FileReadString reads one line.
#define INVALID_HANDLE (-1)
#define FILE_READ 1
#define FILE_WRITE 2
#define FILE_TXT 16
#define FILE_ANSI 32
int FileOpen(const string &file_name, int open_flags, short delimiter = '\t', uint codepage = CP_ACP); // /files/fileopen
string FileReadString(int file_handle, int length = -1);                                            // /files/filereadstring
bool FileIsEnding(int file_handle);                                                                  // /files/fileisending
void FileClose(int file_handle);                                                                     // /files/fileclose

// ---------------------------------------------------------------------------------------------
// Symbols and quotes.
// ---------------------------------------------------------------------------------------------
enum ENUM_SYMBOL_INFO_INTEGER { SYMBOL_DIGITS = 17, SYMBOL_TRADE_CALC_MODE = 29 }; // /constants/environment_state/marketinfoconstants
enum ENUM_SYMBOL_INFO_DOUBLE {
  SYMBOL_VOLUME_STEP = 36, SYMBOL_TRADE_CONTRACT_SIZE = 28, SYMBOL_TRADE_TICK_SIZE = 27, SYMBOL_TRADE_TICK_VALUE = 26
};
enum ENUM_SYMBOL_INFO_STRING { SYMBOL_CURRENCY_BASE = 22, SYMBOL_CURRENCY_PROFIT = 23, SYMBOL_CURRENCY_MARGIN = 24 };
enum ENUM_SYMBOL_CALC_MODE {
  SYMBOL_CALC_MODE_FOREX, SYMBOL_CALC_MODE_FOREX_NO_LEVERAGE, SYMBOL_CALC_MODE_FUTURES, SYMBOL_CALC_MODE_CFD,
  SYMBOL_CALC_MODE_CFDINDEX, SYMBOL_CALC_MODE_CFDLEVERAGE, SYMBOL_CALC_MODE_EXCH_STOCKS,
  SYMBOL_CALC_MODE_EXCH_FUTURES, SYMBOL_CALC_MODE_EXCH_FUTURES_FORTS, SYMBOL_CALC_MODE_EXCH_OPTIONS,
  SYMBOL_CALC_MODE_EXCH_OPTIONS_MARGIN, SYMBOL_CALC_MODE_EXCH_BONDS, SYMBOL_CALC_MODE_EXCH_STOCKS_MOEX,
  SYMBOL_CALC_MODE_EXCH_BONDS_MOEX, SYMBOL_CALC_MODE_SERV_COLLATERAL
};
// SymbolInfoInteger/Double/String (https://www.mql5.com/en/docs/marketinformation/symbolinfointeger …):
// the first form returns the value (0 / "" if unknown), the second returns false for an unknown symbol.
long SymbolInfoInteger(const string &name, ENUM_SYMBOL_INFO_INTEGER prop_id);
bool SymbolInfoInteger(const string &name, ENUM_SYMBOL_INFO_INTEGER prop_id, long &value);
double SymbolInfoDouble(const string &name, ENUM_SYMBOL_INFO_DOUBLE prop_id);
bool SymbolInfoDouble(const string &name, ENUM_SYMBOL_INFO_DOUBLE prop_id, double &value);
string SymbolInfoString(const string &name, ENUM_SYMBOL_INFO_STRING prop_id);
bool SymbolInfoString(const string &name, ENUM_SYMBOL_INFO_STRING prop_id, string &value);
int SymbolsTotal(bool selected);                  // /marketinformation/symbolstotal
string SymbolName(int pos, bool selected);        // /marketinformation/symbolname
bool SymbolSelect(const string &name, bool select); // /marketinformation/symbolselect

// MqlTick (https://www.mql5.com/en/docs/constants/structures/mqltick).
struct MqlTick {
  datetime time;
  double bid, ask, last;
  ulong volume;
  long time_msc;
  uint flags;
  double volume_real;
};
bool SymbolInfoTick(const string &symbol, MqlTick &tick); // /marketinformation/symbolinfotick

#ifdef __MQL5__
#define COPY_TICKS_ALL (-1)
#define COPY_TICKS_INFO 1
#define COPY_TICKS_TRADE 2
// CopyTicks (https://www.mql5.com/en/docs/series/copyticks): ticks with time_msc >= from, oldest
// first, at most count; from == 0 means the last count ticks; -1 on error (e.g. history still
// synchronising: ERR_HISTORY_TIMEOUT).
int CopyTicks(const string &symbol, MqlArray<MqlTick> &ticks_array, uint flags = COPY_TICKS_ALL, ulong from = 0,
              uint count = 0);
#endif

// ---------------------------------------------------------------------------------------------
// Account (https://www.mql5.com/en/docs/account).
// ---------------------------------------------------------------------------------------------
enum ENUM_ACCOUNT_INFO_INTEGER {
  ACCOUNT_LOGIN = 0, ACCOUNT_LEVERAGE = 35, ACCOUNT_MARGIN_MODE = 32, ACCOUNT_CURRENCY_DIGITS = 40
};
enum ENUM_ACCOUNT_INFO_DOUBLE {
  ACCOUNT_BALANCE = 37, ACCOUNT_CREDIT = 38, ACCOUNT_EQUITY = 40, ACCOUNT_MARGIN = 41
};
enum ENUM_ACCOUNT_INFO_STRING { ACCOUNT_NAME = 1, ACCOUNT_SERVER = 3, ACCOUNT_CURRENCY = 36, ACCOUNT_COMPANY = 2 };
enum ENUM_ACCOUNT_MARGIN_MODE {
  ACCOUNT_MARGIN_MODE_RETAIL_NETTING = 0, ACCOUNT_MARGIN_MODE_EXCHANGE = 1, ACCOUNT_MARGIN_MODE_RETAIL_HEDGING = 2
};
long AccountInfoInteger(ENUM_ACCOUNT_INFO_INTEGER property_id);
double AccountInfoDouble(ENUM_ACCOUNT_INFO_DOUBLE property_id);
string AccountInfoString(ENUM_ACCOUNT_INFO_STRING property_id);

// ---------------------------------------------------------------------------------------------
// MQL5 trading: positions, history, transactions (https://www.mql5.com/en/docs/trading).
// ---------------------------------------------------------------------------------------------
#ifdef __MQL5__
enum ENUM_POSITION_PROPERTY_INTEGER { POSITION_TICKET, POSITION_TYPE, POSITION_TIME_MSC, POSITION_IDENTIFIER };
enum ENUM_POSITION_PROPERTY_DOUBLE { POSITION_VOLUME, POSITION_PRICE_OPEN, POSITION_SWAP, POSITION_PROFIT };
enum ENUM_POSITION_PROPERTY_STRING { POSITION_SYMBOL, POSITION_COMMENT };
enum ENUM_POSITION_TYPE { POSITION_TYPE_BUY, POSITION_TYPE_SELL };
int PositionsTotal();                                        // /trading/positionstotal
ulong PositionGetTicket(int index);                          // /trading/positiongetticket: 0 on error; selects it
bool PositionSelectByTicket(ulong ticket);                   // /trading/positionselectbyticket
long PositionGetInteger(ENUM_POSITION_PROPERTY_INTEGER property_id); // /trading/positiongetinteger
double PositionGetDouble(ENUM_POSITION_PROPERTY_DOUBLE property_id);
string PositionGetString(ENUM_POSITION_PROPERTY_STRING property_id);

enum ENUM_DEAL_TYPE {
  DEAL_TYPE_BUY, DEAL_TYPE_SELL, DEAL_TYPE_BALANCE, DEAL_TYPE_CREDIT, DEAL_TYPE_CHARGE, DEAL_TYPE_CORRECTION,
  DEAL_TYPE_BONUS, DEAL_TYPE_COMMISSION, DEAL_TYPE_COMMISSION_DAILY, DEAL_TYPE_COMMISSION_MONTHLY,
  DEAL_TYPE_COMMISSION_AGENT_DAILY, DEAL_TYPE_COMMISSION_AGENT_MONTHLY, DEAL_TYPE_INTEREST,
  DEAL_TYPE_BUY_CANCELED, DEAL_TYPE_SELL_CANCELED, DEAL_DIVIDEND, DEAL_DIVIDEND_FRANKED, DEAL_TAX
}; // /constants/tradingconstants/dealproperties
enum ENUM_DEAL_ENTRY { DEAL_ENTRY_IN, DEAL_ENTRY_OUT, DEAL_ENTRY_INOUT, DEAL_ENTRY_OUT_BY };
enum ENUM_DEAL_PROPERTY_INTEGER { DEAL_TICKET, DEAL_TYPE, DEAL_ENTRY, DEAL_TIME_MSC, DEAL_POSITION_ID };
enum ENUM_DEAL_PROPERTY_DOUBLE { DEAL_VOLUME, DEAL_PRICE, DEAL_PROFIT, DEAL_COMMISSION, DEAL_SWAP, DEAL_FEE };
enum ENUM_DEAL_PROPERTY_STRING { DEAL_SYMBOL, DEAL_COMMENT };
bool HistorySelect(datetime from_date, datetime to_date); // /trading/historyselect
int HistoryDealsTotal();                                  // /trading/historydealstotal
ulong HistoryDealGetTicket(int index);                    // /trading/historydealgetticket: 0 on error
bool HistoryDealSelect(ulong ticket);                     // /trading/historydealselect: replaces the selection
long HistoryDealGetInteger(ulong ticket_number, ENUM_DEAL_PROPERTY_INTEGER property_id); // /trading/historydealgetinteger
double HistoryDealGetDouble(ulong ticket_number, ENUM_DEAL_PROPERTY_DOUBLE property_id);
string HistoryDealGetString(ulong ticket_number, ENUM_DEAL_PROPERTY_STRING property_id);

// Trade requests, results and transactions (https://www.mql5.com/en/docs/constants/structures).
enum ENUM_TRADE_TRANSACTION_TYPE {
  TRADE_TRANSACTION_ORDER_ADD, TRADE_TRANSACTION_ORDER_UPDATE, TRADE_TRANSACTION_ORDER_DELETE,
  TRADE_TRANSACTION_DEAL_ADD, TRADE_TRANSACTION_DEAL_UPDATE, TRADE_TRANSACTION_DEAL_DELETE,
  TRADE_TRANSACTION_HISTORY_ADD, TRADE_TRANSACTION_HISTORY_UPDATE, TRADE_TRANSACTION_HISTORY_DELETE,
  TRADE_TRANSACTION_POSITION, TRADE_TRANSACTION_REQUEST
};
enum ENUM_ORDER_TYPE_FILLING { ORDER_FILLING_FOK, ORDER_FILLING_IOC, ORDER_FILLING_RETURN };
enum ENUM_ORDER_TYPE { ORDER_TYPE_BUY, ORDER_TYPE_SELL };
enum ENUM_TRADE_REQUEST_ACTIONS { TRADE_ACTION_DEAL = 1 };
struct MqlTradeRequest {
  ENUM_TRADE_REQUEST_ACTIONS action;
  ulong magic, order;
  string symbol;
  double volume, price;
  ulong deviation;
  ENUM_ORDER_TYPE type;
  ENUM_ORDER_TYPE_FILLING type_filling;
  ulong position;
};
struct MqlTradeResult {
  uint retcode;
  ulong deal, order;
  double volume, price, bid, ask;
  string comment;
  uint request_id;
};
struct MqlTradeTransaction {
  ulong deal, order;
  string symbol;
  ENUM_TRADE_TRANSACTION_TYPE type;
  ulong position;
};
// Return codes of the trade server (https://www.mql5.com/en/docs/constants/errorswarnings/enum_trade_return_codes).
#define TRADE_RETCODE_REQUOTE 10004
#define TRADE_RETCODE_PLACED 10008
#define TRADE_RETCODE_DONE 10009
#define TRADE_RETCODE_PRICE_CHANGED 10020
#define TRADE_RETCODE_PRICE_OFF 10021
#define TRADE_RETCODE_TOO_MANY_REQUESTS 10024
#define TRADE_RETCODE_CONNECTION 10031
#define TRADE_RETCODE_FIFO_CLOSE 10045
bool OrderSend(MqlTradeRequest &request, MqlTradeResult &result);      // /trading/ordersend
bool OrderSendAsync(MqlTradeRequest &request, MqlTradeResult &result); // /trading/ordersendasync
#endif

// ---------------------------------------------------------------------------------------------
// MQL4 account, market information and orders (https://docs.mql4.com/account, /marketinformation,
// /trading).
// ---------------------------------------------------------------------------------------------
#ifdef __MQL4__
int AccountNumber();        // https://docs.mql4.com/account/accountnumber
string AccountServer();
string AccountCompany();
string AccountCurrency();
int AccountLeverage();
double AccountBalance();
double AccountCredit();
double AccountEquity();
double AccountMargin();
bool IsConnected();         // https://docs.mql4.com/check/isconnected
bool IsTradeContextBusy();  // https://docs.mql4.com/check/istradecontextbusy
bool RefreshRates();        // https://docs.mql4.com/series/refreshrates

// MarketInfo (https://docs.mql4.com/marketinformation/marketinfo) and its MODE_ constants
// (https://docs.mql4.com/constants/environment_state/marketinfoconstants).
#define MODE_TIME 5
#define MODE_BID 9
#define MODE_ASK 10
#define MODE_DIGITS 12
#define MODE_LOTSIZE 15
#define MODE_TICKVALUE 16
#define MODE_TICKSIZE 17
#define MODE_PROFITCALCMODE 27
double MarketInfo(const string &symbol, int type);

// Orders (https://docs.mql4.com/trading): OP_ types (https://docs.mql4.com/constants/tradingconstants/orderproperties);
// history entries 6 (balance) and 7 (credit) have no named constant.
#define OP_BUY 0
#define OP_SELL 1
#define SELECT_BY_POS 0
#define SELECT_BY_TICKET 1
#define MODE_TRADES 0
#define MODE_HISTORY 1
int OrdersTotal();          // https://docs.mql4.com/trading/orderstotal
int OrdersHistoryTotal();   // https://docs.mql4.com/trading/ordershistorytotal: the history tab's filter decides what is loaded
bool OrderSelect(int index, int select, int pool = MODE_TRADES); // https://docs.mql4.com/trading/orderselect
int OrderTicket();
int OrderType();
string OrderSymbol();
double OrderLots();
double OrderOpenPrice();
datetime OrderOpenTime();
double OrderClosePrice();
datetime OrderCloseTime();
double OrderProfit();
double OrderCommission();
double OrderSwap();
string OrderComment();
// OrderClose (https://docs.mql4.com/trading/orderclose): false on failure, GetLastError says why
// (ERR_REQUOTE 138, ERR_TRADE_CONTEXT_BUSY 146; https://docs.mql4.com/constants/errorswarnings/errorcodes).
bool OrderClose(int ticket, double lots, double price, int slippage, color arrow_color = clrNONE);
#define ERR_NO_ERROR 0
#define ERR_COMMON_ERROR 2
#define ERR_SERVER_BUSY 4
#define ERR_NO_CONNECTION 6
#define ERR_PRICE_CHANGED 135
#define ERR_OFF_QUOTES 136
#define ERR_REQUOTE 138
#define ERR_TOO_MANY_REQUESTS 141
#define ERR_TRADE_CONTEXT_BUSY 146
#define ERR_TRADE_PROHIBITED_BY_FIFO 150
#endif

#endif // TIDEMARK_MQL_SHIM_H

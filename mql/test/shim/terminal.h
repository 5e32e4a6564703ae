// The scripted fake terminal behind the shim: one account, its symbols and tick history, positions
// (MT4: market orders), deal history (MT4: the history tab), trade results, the clock and the
// terminal's global variables. terminal.cpp runs a scenario script against it (format there).
#ifndef TIDEMARK_FAKE_TERMINAL_H
#define TIDEMARK_FAKE_TERMINAL_H

#include "mql.h"

#include <deque>
#include <map>
#include <string>
#include <vector>

struct FakeSymbol {
  std::string name;
  int digits = 5;
  int calcMode = 0;
  double contractSize = 100000, tickSize = 0.00001, tickValue = 1, volumeStep = 0.01;
  std::string profitCurrency, marginCurrency, baseCurrency;
  bool selected = false;
  std::vector<MqlTick> ticks;  // tick history, oldest first
};

// An open position (MT5) or order (MT4), or an MT4 history entry once closed.
struct FakeOrder {
  long ticket = 0;
  int type = 0;  // 0 buy, 1 sell; MT4 history: 6 balance, 7 credit
  std::string symbol;
  double volume = 0, openPrice = 0, closePrice = 0, swap = 0, commission = 0, profit = 0;
  long openMs = 0, closeMs = 0;
  std::string comment;
};

struct FakeDeal {
  long ticket = 0, timeMs = 0, positionId = 0;
  int type = 0, entry = 0;
  std::string symbol, comment;
  double volume = 0, price = 0, profit = 0, commission = 0, swap = 0, fee = 0;
};

class FakeTerminal {
public:
  static FakeTerminal &instance();

  // Account.
  long login = 0, leverage = 100, currencyDigits = 2, build = 4755;
  int marginMode = 2;
  std::string server, company, currency;
  double balance = 0, credit = 0, equity = 0, margin = 0;
  bool connected = true, tradeAllowed = true;
  long serverMs = 0;
  long utcOffsetSeconds = 0;

  std::vector<FakeSymbol> symbols;
  std::map<std::string, size_t> symbolIndex;  // name -> position in symbols
  std::vector<FakeOrder> open;       // positions / market orders, in opening order
  std::vector<FakeOrder> history;    // MT4 history tab (everything the terminal holds)
  long historyFromMs = 0;            // MT4 history-tab filter: entries older than this are not loaded
  std::vector<FakeDeal> deals;       // MT5 deal history
  std::vector<long> historySelection;
  std::deque<uint> tradeResults;     // scripted answers to the next trade requests (0 = done)
  bool fifo = false;                 // FIFO account: only the oldest position of a symbol may close
  long tradeRequests = 0, requestsThisPass = 0, maxRequestsPerPass = 0;
  long longestTimerPassUs = 0;
  std::map<std::string, double> globals;
  std::string comment;
  long clockOffsetUs = 0;

  // What crossed the socket.
  bool linkDown = false;
  bool queueFull = false;            // the DEALER's send queue is at its high-water mark: EAGAIN
  int lastErrno = 0;
  long lastSentSequence = 0, lastAckedSequence = 0, framesSent = 0, framesLost = 0;
  std::string lastRejectReason;
  std::vector<std::string> sentFrames;
  void noteSentFrame(const std::string &frame);
  void noteLostFrame(const std::string &frame);
  void noteReceivedFrame(const std::string &frame);

  FakeSymbol *symbol(const std::string &name);
  FakeOrder *openOrder(long ticket);
  int selectedOrder = -1;            // index into open (MODE_TRADES) or history (MODE_HISTORY)
  bool selectedFromHistory = false;
  long selectedPosition = -1;
  size_t openHint = 0;  // where openOrder last found a ticket
};

// True when a frame from the agent waits on the EA's socket (dll.cpp), within timeoutMs.
bool FakeAgentFrameWaiting(long timeoutMs);

#endif

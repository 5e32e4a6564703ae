//+------------------------------------------------------------------+
//| Tidemark/Session.mqh                                             |
//| Platform-neutral parts shared by TidemarkEA.mq4 and .mq5:        |
//|  - CTidemarkLink: one protocol session over one DEALER socket    |
//|    (session id, sequence numbers, handshake, heartbeats,         |
//|    timeouts, REJECT back-off) per protocol/SPEC.md §6;           |
//|  - small collections: ticket set, position book, command log,    |
//|    watched symbols, quote batch.                                 |
//| The EAs own everything MetaTrader-specific (what goes in a       |
//| snapshot, how positions and deals are found, trading).           |
//+------------------------------------------------------------------+
#ifndef TIDEMARK_SESSION_MQH
#define TIDEMARK_SESSION_MQH

#include "ZeroMQ.mqh"
#include "Protocol.mqh"

int TmMinInt(const int a, const int b)
  {
   return (a < b) ? a : b;
  }

// Price digits of a symbol (SYMBOL_DIGITS), or 8 when the terminal does not know the symbol: a price
// written with too few digits would be wrong, one with trailing zeros is still exact (SPEC §3).
int TmSymbolPriceDigits(const string symbol)
  {
   long digits = 0;
   if(StringLen(symbol) == 0 || !SymbolInfoInteger(symbol, SYMBOL_DIGITS, digits))
      return TM_MAX_DECIMAL_DIGITS;
   return TmPriceDigits(digits);
  }

// Volume digits of a symbol (2, or 8 for steps below 0.01 or an unknown symbol).
int TmSymbolVolumeDigits(const string symbol)
  {
   double step = 0.0;
   if(StringLen(symbol) == 0 || !SymbolInfoDouble(symbol, SYMBOL_VOLUME_STEP, step) || step <= 0.0)
      return TM_MAX_DECIMAL_DIGITS;
   return TmVolumeDigits(step);
  }

// Milliseconds from a monotonic clock (microseconds since the program started).
ulong TmNowMs()
  {
   return GetMicrosecondCount() / 1000;
  }

// Session states.
#define TM_LINK_IDLE       0   // no session: not started yet, or timed out and about to start again
#define TM_LINK_HANDSHAKE  1   // HELLO and SNAPSHOT sent, no WELCOME yet
#define TM_LINK_WELCOMED   2   // the agent accepted the session
#define TM_LINK_REJECTED   3   // REJECT received: wait (5 minutes) before a new session
#define TM_LINK_STOPPED    4   // REJECT that no retry can fix (netting, exchange, version): until restart

// Results of CTidemarkLink::Poll.
#define TM_POLL_NONE      0    // nothing waiting
#define TM_POLL_MESSAGE   1    // a valid frame for this session, in `message`
#define TM_POLL_SKIPPED   2    // a frame was dropped (bad, oversize or for an old session): poll again
#define TM_POLL_CLOSED   -1    // no socket, or a socket error: stop polling for this timer event

#define TM_REJECT_RETRY_MS   300000   // SPEC §6.1: at least 5 minutes after a REJECT
// The resume journal (SPEC §6.7): at most this many frames after the last snapshot; past it a new
// session starts from a fresh snapshot instead (what happened in between is then not replayed).
#define TM_JOURNAL_MAX_FRAMES  20000
#define TM_OPEN_RETRY_MS     5000     // socket could not be opened: try again after 5 s

//+------------------------------------------------------------------+
//| One session with the agent.                                      |
//+------------------------------------------------------------------+
class CTidemarkLink
  {
private:
   CZmqDealer        m_socket;
   string            m_endpoint;
   string            m_serverKey;
   string            m_publicKey;
   string            m_secretKey;
   int               m_sendHighWaterMark;
   int               m_state;
   string            m_sessionId;
   long              m_nextSequence;
   int               m_sessionCounter;
   ulong             m_sessionStartMs;
   ulong             m_lastSendMs;
   ulong             m_lastReceiveMs;
   ulong             m_retryAtMs;
   long              m_heartbeatMs;
   string            m_agentVersion;
   string            m_rejectReason;
   string            m_rejectMessage;
   long              m_lastAck;
   long              m_framesSent;
   long              m_sendFailures;
   long              m_badFrames;
   string            m_lastError;
   // Resume (SPEC §6.7): the last SNAPSHOT sent and every state frame after it, so that a new
   // session can rebuild exactly the state the agent had and replay what it may have missed.
   long              m_journalLogin;
   string            m_baseSnapshot;
   // The snapshot's own POSITION frames (positions that did not fit in its frame, SPEC §6.8): part
   // of the base, replayed with it, not counted as journal.
   string            m_basePartTypes[];
   string            m_basePartRecords[];
   int               m_basePartCount;
   bool              m_sendingSnapshotPart;
   string            m_journalTypes[];
   string            m_journalRecords[];
   int               m_journalCount;
   bool              m_replaying;

   void              Journal(const string type, const string records);

   void              LogBadFrame(const string why);

public:
   // A REJECT that no retry can fix: the account's margin mode or the EA's protocol version
   // (SPEC §6.1: not until the EA is restarted).
   static bool       RejectIsFinal(const string reason)
     {
      return reason == "netting_account" || reason == "exchange_account" || reason == "unsupported_version";
     }

public:
                     CTidemarkLink();
   void              Configure(const string endpoint, const string serverKey, const string publicKey,
                               const string secretKey, const int sendHighWaterMark);
   bool              MayBegin(const ulong nowMs) const;
   bool              Begin(const long login, const ulong nowMs);
   void              End(const string byeReason, const bool sendBye, const int lingerMs, const ulong nowMs);
   void              Shutdown(const string byeReason, const int lingerMs, const ulong nowMs);
   bool              Send(const string type, const string records, const ulong nowMs);
   bool              SendSnapshotPart(const string type, const string records, const ulong nowMs);
   bool              CanResume() const { return StringLen(m_baseSnapshot) > 0; }
   bool              Resume(const ulong nowMs);
   void              ForgetJournal();
   int               JournalCount() const { return m_journalCount; }
   int               Poll(TmAgentMessage &message, const ulong nowMs);
   bool              HeartbeatDue(const ulong nowMs) const;
   bool              TimedOut(const ulong nowMs) const;

   bool              IsActive() const { return m_state == TM_LINK_HANDSHAKE || m_state == TM_LINK_WELCOMED; }
   bool              IsWelcomed() const { return m_state == TM_LINK_WELCOMED; }
   bool              IsStopped() const { return m_state == TM_LINK_STOPPED; }
   int               State() const { return m_state; }
   string            SessionId() const { return m_sessionId; }
   long              LastSentSequence() const { return m_nextSequence - 1; }
   long              LastAck() const { return m_lastAck; }
   long              FramesSent() const { return m_framesSent; }
   long              SendFailures() const { return m_sendFailures; }
   long              BadFrames() const { return m_badFrames; }
   string            AgentVersion() const { return m_agentVersion; }
   string            RejectReason() const { return m_rejectReason; }
   string            RejectMessage() const { return m_rejectMessage; }
   string            LastError() const { return m_lastError; }
   bool              LastSendWouldBlock() const { return m_socket.LastSendWouldBlock(); }
   void              RetryAfter(const ulong atMs) { m_retryAtMs = atMs; }
   string            Status() const;
  };

CTidemarkLink::CTidemarkLink()
  {
   m_endpoint = "";
   m_serverKey = "";
   m_publicKey = "";
   m_secretKey = "";
   m_sendHighWaterMark = 20000;
   m_state = TM_LINK_IDLE;
   m_sessionId = "";
   m_nextSequence = 1;
   m_sessionCounter = 0;
   m_sessionStartMs = 0;
   m_lastSendMs = 0;
   m_lastReceiveMs = 0;
   m_retryAtMs = 0;
   m_heartbeatMs = TM_DEFAULT_HEARTBEAT_MS;
   m_agentVersion = "";
   m_rejectReason = "";
   m_rejectMessage = "";
   m_lastAck = 0;
   m_framesSent = 0;
   m_sendFailures = 0;
   m_badFrames = 0;
   m_lastError = "";
   m_journalLogin = 0;
   m_baseSnapshot = "";
   m_basePartCount = 0;
   m_sendingSnapshotPart = false;
   m_journalCount = 0;
   m_replaying = false;
  }

void CTidemarkLink::Configure(const string endpoint, const string serverKey, const string publicKey,
                              const string secretKey, const int sendHighWaterMark)
  {
   m_endpoint = endpoint;
   m_serverKey = serverKey;
   m_publicKey = publicKey;
   m_secretKey = secretKey;
   m_sendHighWaterMark = (sendHighWaterMark > 0) ? sendHighWaterMark : 20000;
  }

// A new session may start: none is running, no back-off is pending, and no final REJECT was received.
bool CTidemarkLink::MayBegin(const ulong nowMs) const
  {
   if(m_state == TM_LINK_IDLE || m_state == TM_LINK_REJECTED)
      return nowMs >= m_retryAtMs;
   return false;
  }

// Opens a fresh socket with a fresh session id; the next frame sent is sequence 1 (the HELLO).
bool CTidemarkLink::Begin(const long login, const ulong nowMs)
  {
   End("", false, 0, nowMs);
   if(login != m_journalLogin)
     {
      // Another account (or the first session): nothing of the old journal applies.
      ForgetJournal();
      m_journalLogin = login;
     }
   m_sessionCounter++;
   // "login-localtime-random-counter": unique per connection, at most ~45 bytes (limit 64).
   m_sessionId = IntegerToString(login) + "-" + IntegerToString((long)TimeLocal()) + "-" +
                 IntegerToString(MathRand()) + "-" + IntegerToString(m_sessionCounter);
   m_nextSequence = 1;
   m_heartbeatMs = TM_DEFAULT_HEARTBEAT_MS;
   m_agentVersion = "";
   m_lastAck = 0;
   m_rejectReason = "";
   m_rejectMessage = "";
   if(!m_socket.Open(m_endpoint, m_serverKey, m_publicKey, m_secretKey, m_sendHighWaterMark))
     {
      m_lastError = m_socket.LastError();
      Print("Tidemark: cannot open the socket: ", m_lastError);
      m_state = TM_LINK_IDLE;
      m_retryAtMs = nowMs + TM_OPEN_RETRY_MS;
      return false;
     }
   m_state = TM_LINK_HANDSHAKE;
   m_sessionStartMs = nowMs;
   m_lastSendMs = nowMs;
   m_lastReceiveMs = nowMs;
   m_retryAtMs = 0;
   Print("Tidemark: session ", m_sessionId, " -> ", m_endpoint, (StringLen(m_serverKey) > 0 ? " (CURVE)" : ""));
   return true;
  }

// Ends the session: optionally says BYE, then closes the socket (linger > 0 lets the BYE leave).
void CTidemarkLink::End(const string byeReason, const bool sendBye, const int lingerMs, const ulong nowMs)
  {
   if(sendBye && IsActive())
      Send("BYE", TmRecordBye(byeReason), nowMs);
   m_socket.Close(sendBye ? lingerMs : 0);
   if(IsActive())
      m_state = TM_LINK_IDLE;
  }

// Ends the session and releases the ZeroMQ context (OnDeinit). Blocks at most lingerMs.
void CTidemarkLink::Shutdown(const string byeReason, const int lingerMs, const ulong nowMs)
  {
   End(byeReason, true, lingerMs, nowMs);
   m_socket.Terminate();
  }

// Sends one frame with the next sequence number. A frame that could not be queued does not use up
// its sequence number, so the agent never sees a gap; the caller decides whether a snapshot is due.
bool CTidemarkLink::Send(const string type, const string records, const ulong nowMs)
  {
   if(!IsActive())
      return false;
   if(!m_replaying)
      Journal(type, records);
   string frame = TmFrame(type, m_sessionId, m_nextSequence, records);
   if(!m_socket.Send(frame))
     {
      m_sendFailures++;
      m_lastError = m_socket.LastError();
      if(m_sendFailures <= 20 || m_sendFailures % 100 == 0)
         Print("Tidemark: ", type, " not sent: ", m_lastError);
      return false;
     }
   m_nextSequence++;
   m_framesSent++;
   m_lastSendMs = nowMs;
   return true;
  }

// A frame that completes the snapshot just sent (SPEC §6.8: positions beyond its frame's size): the
// journal keeps it with the snapshot, so a resumed session sends both again and the journal's own
// count (compaction, its bound) starts after it.
bool CTidemarkLink::SendSnapshotPart(const string type, const string records, const ulong nowMs)
  {
   m_sendingSnapshotPart = true;
   bool sent = Send(type, records, nowMs);
   m_sendingSnapshotPart = false;
   return sent;
  }

// Keeps what a resumed session needs: a SNAPSHOT starts the journal afresh; frames that change the
// agent's state (ticks, deals, positions, symbols) are appended, sent or not. Heartbeats, reports,
// command answers and the HELLO/BYE of a session are not state.
void CTidemarkLink::Journal(const string type, const string records)
  {
   if(type == "SNAPSHOT")
     {
      m_baseSnapshot = records;
      m_journalCount = 0;
      ArrayResize(m_journalTypes, 0);
      ArrayResize(m_journalRecords, 0);
      m_basePartCount = 0;
      ArrayResize(m_basePartTypes, 0);
      ArrayResize(m_basePartRecords, 0);
      return;
     }
   if(m_sendingSnapshotPart)
     {
      if(!CanResume())
         return;
      ArrayResize(m_basePartTypes, m_basePartCount + 1, 1024);
      ArrayResize(m_basePartRecords, m_basePartCount + 1, 1024);
      m_basePartTypes[m_basePartCount] = type;
      m_basePartRecords[m_basePartCount] = records;
      m_basePartCount++;
      return;
     }
   if(type != "TICKS" && type != "DEAL" && type != "POSITION" && type != "SYMBOL")
      return;
   if(!CanResume())
      return;
   if(m_journalCount >= TM_JOURNAL_MAX_FRAMES)
     {
      Print("Tidemark: more than ", IntegerToString(TM_JOURNAL_MAX_FRAMES),
            " frames since the last snapshot; a new session will start from a fresh snapshot");
      ForgetJournal();
      return;
     }
   ArrayResize(m_journalTypes, m_journalCount + 1, 1024);
   ArrayResize(m_journalRecords, m_journalCount + 1, 1024);
   m_journalTypes[m_journalCount] = type;
   m_journalRecords[m_journalCount] = records;
   m_journalCount++;
  }

void CTidemarkLink::ForgetJournal()
  {
   m_baseSnapshot = "";
   m_basePartCount = 0;
   ArrayResize(m_basePartTypes, 0);
   ArrayResize(m_basePartRecords, 0);
   m_journalCount = 0;
   ArrayResize(m_journalTypes, 0);
   ArrayResize(m_journalRecords, 0);
  }

// Right after a new session's HELLO (SPEC §6.7): the last SNAPSHOT sent, then every state frame
// sent after it, in order, with this session's sequence numbers. The agent rebuilds the account as it
// was, folds into its risk core only what it had not folded yet, and so sees every tick and deal of
// an outage at its own time. False when a frame could not be queued (the caller sends a fresh
// snapshot instead).
bool CTidemarkLink::Resume(const ulong nowMs)
  {
   if(!CanResume())
      return false;
   m_replaying = true;
   bool sent = Send("SNAPSHOT", m_baseSnapshot, nowMs);
   for(int p = 0; sent && p < m_basePartCount; p++)
      sent = Send(m_basePartTypes[p], m_basePartRecords[p], nowMs);
   for(int i = 0; sent && i < m_journalCount; i++)
      sent = Send(m_journalTypes[i], m_journalRecords[i], nowMs);
   m_replaying = false;
   if(sent)
      Print("Tidemark: session ", m_sessionId, " resumed: the last snapshot and ", IntegerToString(m_journalCount),
            " frames after it sent again (the snapshot in ", IntegerToString(m_basePartCount + 1), " frames)");
   return sent;
  }

void CTidemarkLink::LogBadFrame(const string why)
  {
   m_badFrames++;
   if(m_badFrames <= 20 || m_badFrames % 100 == 0)
      Print("Tidemark: dropped an agent frame (", IntegerToString(m_badFrames), " so far): ", why);
  }

// Takes one frame from the agent. WELCOME, REJECT and ACK update the session here; every valid frame
// is also returned for the EA (RESYNC and COMMAND are the EA's to act on).
int CTidemarkLink::Poll(TmAgentMessage &message, const ulong nowMs)
  {
   message.Reset();
   if(!IsActive())
      return TM_POLL_CLOSED;
   string frame = "";
   int received = m_socket.Receive(frame);
   if(received == TM_RECEIVE_NONE)
     {
      string refusal = (m_state == TM_LINK_HANDSHAKE) ? m_socket.HandshakeRefusal() : "";
      if(refusal != "")
        {
         // The agent's ZAP handler refused our key: a REJECT not_allowed in all but name.
         m_rejectReason = "not_allowed";
         m_rejectMessage = refusal;
         m_socket.Close(0);
         m_state = TM_LINK_REJECTED;
         m_retryAtMs = nowMs + TM_REJECT_RETRY_MS;
         Print("Tidemark: REJECTED (not_allowed): ", refusal, " - retrying in 5 minutes");
        }
      return TM_POLL_NONE;
     }
   if(received == TM_RECEIVE_ERROR)
     {
      m_lastError = m_socket.LastError();
      Print("Tidemark: receive failed: ", m_lastError);
      return TM_POLL_CLOSED;
     }
   if(received == TM_RECEIVE_OVERSIZE)
     {
      LogBadFrame(m_socket.LastError());
      return TM_POLL_SKIPPED;
     }
   if(!TmParseAgentFrame(frame, message))
     {
      LogBadFrame(message.error);
      return TM_POLL_SKIPPED;
     }
   // "-": the agent could not read our session id (SPEC §2); anything else must be ours.
   if(message.sessionId != m_sessionId && message.sessionId != "-")
     {
      LogBadFrame("frame for session " + message.sessionId);
      return TM_POLL_SKIPPED;
     }
   m_lastReceiveMs = nowMs;
   if(message.type == "WELCOME")
     {
      m_state = TM_LINK_WELCOMED;
      m_heartbeatMs = message.heartbeatMs;
      m_agentVersion = message.agentVersion;
      Print("Tidemark: welcomed by agent ", m_agentVersion, ", heartbeat ", IntegerToString(m_heartbeatMs), " ms");
     }
   else if(message.type == "REJECT")
     {
      m_rejectReason = message.rejectReason;
      m_rejectMessage = message.text;
      m_socket.Close(0);
      if(message.rejectReason == "expected_hello")
        {
         // The agent restarted and no longer knows this session (SPEC §6.7): a new session at once,
         // as after a timeout; nothing is wrong with the account.
         m_state = TM_LINK_IDLE;
         m_retryAtMs = nowMs;
         Print("Tidemark: the agent no longer knows session ", m_sessionId, " (it restarted); starting a new session");
         return TM_POLL_MESSAGE;
        }
      m_state = RejectIsFinal(message.rejectReason) ? TM_LINK_STOPPED : TM_LINK_REJECTED;
      m_retryAtMs = nowMs + TM_REJECT_RETRY_MS;
      Print("Tidemark: REJECTED (", m_rejectReason, "): ", m_rejectMessage,
            m_state == TM_LINK_STOPPED ? " - not retrying until the EA is restarted" : " - retrying in 5 minutes");
     }
   else if(message.type == "ACK")
     {
      if(message.ackSequence > m_lastAck)
         m_lastAck = message.ackSequence;
     }
   return TM_POLL_MESSAGE;
  }

// Nothing sent for one heartbeat interval (SPEC §6.4).
bool CTidemarkLink::HeartbeatDue(const ulong nowMs) const
  {
   if(!IsActive())
      return false;
   return nowMs >= m_lastSendMs + (ulong)m_heartbeatMs;
  }

// No WELCOME/REJECT within 10 s of the HELLO, or nothing from the agent for 3 heartbeat intervals.
bool CTidemarkLink::TimedOut(const ulong nowMs) const
  {
   if(m_state == TM_LINK_HANDSHAKE)
      return nowMs >= m_sessionStartMs + (ulong)TM_HANDSHAKE_TIMEOUT_MS;
   if(m_state == TM_LINK_WELCOMED)
      return nowMs >= m_lastReceiveMs + (ulong)(3 * m_heartbeatMs);
   return false;
  }

// One line for the chart comment.
string CTidemarkLink::Status() const
  {
   string state = "idle";
   if(m_state == TM_LINK_HANDSHAKE)
      state = "waiting for the agent";
   else if(m_state == TM_LINK_WELCOMED)
      state = "connected to agent " + m_agentVersion;
   else if(m_state == TM_LINK_REJECTED)
      state = "REJECTED (" + m_rejectReason + "): " + m_rejectMessage + " - retrying later";
   else if(m_state == TM_LINK_STOPPED)
      state = "REJECTED (" + m_rejectReason + "): " + m_rejectMessage + " - not retrying until the EA is restarted";
   string text = "Tidemark: " + state;
   if(IsActive())
      text = text + "\nsession " + m_sessionId + ", sent " + IntegerToString(LastSentSequence()) +
             ", acknowledged " + IntegerToString(m_lastAck);
   if(m_sendFailures > 0 || m_badFrames > 0)
      text = text + "\nsend failures " + IntegerToString(m_sendFailures) + ", bad agent frames " +
             IntegerToString(m_badFrames);
   return text;
  }

//+------------------------------------------------------------------+
//| A set of tickets (deals and history entries already sent or      |
//| covered by a snapshot; positions kept while trading is           |
//| disabled). Sorted array: Contains is a binary search, so the MT4 |
//| history rescan stays O(n log n) even with tens of thousands of   |
//| entries. Nothing is ever dropped: forgetting a ticket would send |
//| an old deal again and count it twice.                            |
//+------------------------------------------------------------------+
class CTmTicketSet
  {
private:
   long              m_items[];
   int               m_count;

   int               LowerBound(const long ticket) const;

public:
                     CTmTicketSet() { m_count = 0; }
   void              Clear() { m_count = 0; ArrayResize(m_items, 0); }
   int               Count() const { return m_count; }
   bool              Contains(const long ticket) const;
   void              Add(const long ticket);
  };

// Index of the first item >= ticket.
int CTmTicketSet::LowerBound(const long ticket) const
  {
   int low = 0;
   int high = m_count;
   while(low < high)
     {
      int middle = (low + high) / 2;
      if(m_items[middle] < ticket)
         low = middle + 1;
      else
         high = middle;
     }
   return low;
  }

bool CTmTicketSet::Contains(const long ticket) const
  {
   int index = LowerBound(ticket);
   return index < m_count && m_items[index] == ticket;
  }

// Tickets mostly arrive in increasing order, so the insertion shift is usually empty.
void CTmTicketSet::Add(const long ticket)
  {
   int index = LowerBound(ticket);
   if(index < m_count && m_items[index] == ticket)
      return;
   if(ArraySize(m_items) <= m_count)
      ArrayResize(m_items, m_count + 1, 4096);
   for(int i = m_count; i > index; i--)
      m_items[i] = m_items[i - 1];
   m_items[index] = ticket;
   m_count++;
  }

//+------------------------------------------------------------------+
//| Positions as last sent: ticket, symbol and the P record line.    |
//| Comparing record lines is comparing exactly what the agent was   |
//| told (volume, price, swap, commission at their digits).          |
//+------------------------------------------------------------------+
class CTmPositionBook
  {
private:
   long              m_tickets[];
   string            m_symbols[];
   string            m_records[];
   int               m_count;

public:
                     CTmPositionBook() { m_count = 0; }
   void              Clear();
   int               Count() const { return m_count; }
   int               Find(const long ticket, const int hint) const;
   long              TicketAt(const int index) const { return m_tickets[index]; }
   string            SymbolAt(const int index) const { return m_symbols[index]; }
   string            RecordAt(const int index) const { return m_records[index]; }
   void              Put(const long ticket, const string symbol, const string record, const int hint);
   void              Append(const long ticket, const string symbol, const string record);
   void              RemoveAt(const int index);
  };

void CTmPositionBook::Clear()
  {
   m_count = 0;
   ArrayResize(m_tickets, 0);
   ArrayResize(m_symbols, 0);
   ArrayResize(m_records, 0);
  }

// hint: where the ticket probably is. The terminal lists positions in a stable order and the book
// follows it, so a pass over every position finds each at its hint and stays linear in their number.
int CTmPositionBook::Find(const long ticket, const int hint) const
  {
   if(hint >= 0 && hint < m_count && m_tickets[hint] == ticket)
      return hint;
   for(int i = 0; i < m_count; i++)
      if(m_tickets[i] == ticket)
         return i;
   return -1;
  }

void CTmPositionBook::Put(const long ticket, const string symbol, const string record, const int hint)
  {
   int index = Find(ticket, hint);
   if(index < 0)
     {
      Append(ticket, symbol, record);
      return;
     }
   m_symbols[index] = symbol;
   m_records[index] = record;
  }

// A ticket not in the book (a snapshot fills the cleared book with the terminal's list).
void CTmPositionBook::Append(const long ticket, const string symbol, const string record)
  {
   int index = m_count;
   m_count++;
   ArrayResize(m_tickets, m_count, 1024);
   ArrayResize(m_symbols, m_count, 1024);
   ArrayResize(m_records, m_count, 1024);
   m_tickets[index] = ticket;
   m_symbols[index] = symbol;
   m_records[index] = record;
  }

void CTmPositionBook::RemoveAt(const int index)
  {
   if(index < 0 || index >= m_count)
      return;
   for(int i = index; i < m_count - 1; i++)
     {
      m_tickets[i] = m_tickets[i + 1];
      m_symbols[i] = m_symbols[i + 1];
      m_records[i] = m_records[i + 1];
     }
   m_count--;
   ArrayResize(m_tickets, m_count, 1024);
   ArrayResize(m_symbols, m_count, 1024);
   ArrayResize(m_records, m_count, 1024);
  }

//+------------------------------------------------------------------+
//| Commands already executed, with their outcome: a COMMAND is      |
//| executed at most once per id; a repeat gets the same CMDACK.     |
//+------------------------------------------------------------------+
class CTmCommandLog
  {
private:
   long              m_ids[];
   bool              m_succeeded[];
   string            m_details[];
   int               m_count;

public:
                     CTmCommandLog() { m_count = 0; }
   int               Find(const long id) const;
   bool              SucceededAt(const int index) const { return m_succeeded[index]; }
   string            DetailAt(const int index) const { return m_details[index]; }
   void              Add(const long id, const bool succeeded, const string detail);
  };

int CTmCommandLog::Find(const long id) const
  {
   for(int i = 0; i < m_count; i++)
      if(m_ids[i] == id)
         return i;
   return -1;
  }

void CTmCommandLog::Add(const long id, const bool succeeded, const string detail)
  {
   if(m_count >= 256)
     {
      for(int i = 0; i < m_count - 1; i++)
        {
         m_ids[i] = m_ids[i + 1];
         m_succeeded[i] = m_succeeded[i + 1];
         m_details[i] = m_details[i + 1];
        }
      m_count--;
     }
   ArrayResize(m_ids, m_count + 1, 16);
   ArrayResize(m_succeeded, m_count + 1, 16);
   ArrayResize(m_details, m_count + 1, 16);
   m_ids[m_count] = id;
   m_succeeded[m_count] = succeeded;
   m_details[m_count] = detail;
   m_count++;
  }

//+------------------------------------------------------------------+
//| Conversion lookups already made ("EUR/USD" -> the symbol that    |
//| quotes one against the other, or ""): finding one scans every    |
//| symbol of the server, which must not happen per position and     |
//| snapshot. Cleared on account switch (another server's symbols). |
//+------------------------------------------------------------------+
class CTmPairCache
  {
private:
   string            m_keys[];
   string            m_names[];
   int               m_count;

public:
                     CTmPairCache() { m_count = 0; }
   void              Clear() { m_count = 0; ArrayResize(m_keys, 0); ArrayResize(m_names, 0); }
   bool              Find(const string key, string &name) const
     {
      for(int i = 0; i < m_count; i++)
         if(m_keys[i] == key)
           {
            name = m_names[i];
            return true;
           }
      return false;
     }
   void              Put(const string key, const string name)
     {
      ArrayResize(m_keys, m_count + 1, 16);
      ArrayResize(m_names, m_count + 1, 16);
      m_keys[m_count] = key;
      m_names[m_count] = name;
      m_count++;
     }
  };

//+------------------------------------------------------------------+
//| A symbol whose quotes are published, with its tick cursor.       |
//+------------------------------------------------------------------+
struct TmWatchedSymbol
  {
   string            name;
   int               digits;        // price digits
   bool              announced;     // its S record reached the agent (snapshot or SYMBOL)
   bool              specValid;     // the terminal gave a specification the agent accepts
   long              lastMsc;       // time of the newest quote sent (ms)
   int               sentAtLastMsc; // quotes already sent at exactly lastMsc (CopyTicks cursor)
   double            lastBid;
   double            lastAsk;
  };

int TmWatchFind(const TmWatchedSymbol &list[], const string name)
  {
   int count = ArraySize(list);
   for(int i = 0; i < count; i++)
      if(list[i].name == name)
         return i;
   return -1;
  }

// Adds name (if new) and returns its index; `added` tells whether it was new.
int TmWatchAdd(TmWatchedSymbol &list[], const string name, const int digits, bool &added)
  {
   added = false;
   int index = TmWatchFind(list, name);
   if(index >= 0)
      return index;
   index = ArraySize(list);
   ArrayResize(list, index + 1, 32);
   list[index].name = name;
   list[index].digits = digits;
   list[index].announced = false;
   list[index].specValid = false;
   list[index].lastMsc = 0;
   list[index].sentAtLastMsc = 0;
   list[index].lastBid = 0.0;
   list[index].lastAsk = 0.0;
   added = true;
   return index;
  }

//+------------------------------------------------------------------+
//| Record lines with a time, to be sent in time order: the quotes   |
//| gathered in one timer event (TICKS frames of at most 100 Q), or  |
//| the MT4 EA's new history entries (DEAL frames).                  |
//+------------------------------------------------------------------+
class CTmTimedBatch
  {
private:
   long              m_times[];
   string            m_lines[];
   int               m_count;

public:
                     CTmTimedBatch() { m_count = 0; }
   void              Clear() { m_count = 0; }
   int               Count() const { return m_count; }
   string            LineAt(const int index) const { return m_lines[index]; }
   void              Add(const long timeMs, const string line);
   void              SortByTime();
  };

void CTmTimedBatch::Add(const long timeMs, const string line)
  {
   if(StringLen(line) == 0)
      return;
   if(ArraySize(m_times) <= m_count)
     {
      ArrayResize(m_times, m_count + 1, 256);
      ArrayResize(m_lines, m_count + 1, 256);
     }
   m_times[m_count] = timeMs;
   m_lines[m_count] = line;
   m_count++;
  }

// Stable bottom-up merge sort by time (each symbol's quotes arrive already in order).
void CTmTimedBatch::SortByTime()
  {
   if(m_count < 2)
      return;
   int order[];
   int merged[];
   ArrayResize(order, m_count);
   ArrayResize(merged, m_count);
   for(int i = 0; i < m_count; i++)
      order[i] = i;
   for(int width = 1; width < m_count; width = width * 2)
     {
      for(int left = 0; left < m_count; left = left + 2 * width)
        {
         int middle = TmMinInt(left + width, m_count);
         int right = TmMinInt(left + 2 * width, m_count);
         int a = left;
         int b = middle;
         int k = left;
         while(a < middle && b < right)
           {
            if(m_times[order[b]] < m_times[order[a]])
              {
               merged[k] = order[b];
               b++;
              }
            else
              {
               merged[k] = order[a];
               a++;
              }
            k++;
           }
         while(a < middle)
           {
            merged[k] = order[a];
            a++;
            k++;
           }
         while(b < right)
           {
            merged[k] = order[b];
            b++;
            k++;
           }
        }
      for(int j = 0; j < m_count; j++)
         order[j] = merged[j];
     }
   long times[];
   string lines[];
   ArrayResize(times, m_count);
   ArrayResize(lines, m_count);
   for(int n = 0; n < m_count; n++)
     {
      times[n] = m_times[order[n]];
      lines[n] = m_lines[order[n]];
     }
   for(int m = 0; m < m_count; m++)
     {
      m_times[m] = times[m];
      m_lines[m] = lines[m];
     }
  }

#endif // TIDEMARK_SESSION_MQH

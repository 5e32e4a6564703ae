//+------------------------------------------------------------------+
//| Tidemark/ZeroMQ.mqh                                              |
//| Minimal libzmq binding for the Tidemark EAs (MT4 32-bit and      |
//| MT5 64-bit): one DEALER socket, non-blocking send and receive,   |
//| optional CURVE client keys.                                      |
//+------------------------------------------------------------------+
#ifndef TIDEMARK_ZEROMQ_MQH
#define TIDEMARK_ZEROMQ_MQH

// Pointer-sized and size_t-sized integers as the terminal passes them to a DLL.
// MT5 terminals are 64-bit only: void* and size_t are 8 bytes (long / ulong).
// MT4 terminals are 32-bit: void* and size_t are 4 bytes (int / uint).
// (__MQL4__ is defined when a *.mq4 file is compiled, __MQL5__ for *.mq5:
//  docs.mql4.com/basis/preprosessor/conditional_compilation.)
#ifdef __MQL5__
#define TM_ZMQ_HANDLE long
#define TM_ZMQ_SIZE   ulong
#else
#define TM_ZMQ_HANDLE int
#define TM_ZMQ_SIZE   uint
#endif

// Values from libzmq's zmq.h (stable since 4.0).
#define ZMQ_DEALER             5
#define ZMQ_LINGER             17
#define ZMQ_RECONNECT_IVL      18
#define ZMQ_RECONNECT_IVL_MAX  21
#define ZMQ_SNDHWM             23
#define ZMQ_RCVHWM             24
#define ZMQ_CURVE_PUBLICKEY    48
#define ZMQ_CURVE_SECRETKEY    49
#define ZMQ_CURVE_SERVERKEY    50
#define ZMQ_DONTWAIT           1
#define ZMQ_PAIR               0
// Socket monitor events (zmq_socket_monitor): a CURVE handshake the agent refused. With _AUTH the
// event's value is the ZAP status code (400: the key is not on the agent's allow-list).
#define ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL 0x0800
#define ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL  0x2000
#define ZMQ_EVENT_HANDSHAKE_FAILED_AUTH      0x4000
// errno values as libzmq reports them on Windows: EAGAIN comes from the C runtime's errno.h (11);
// libzmq's own codes start at ZMQ_HAUSNUMERO (156384712); ETERM = HAUSNUMERO + 53.
#define ZMQ_EAGAIN             11
#define ZMQ_ETERM              156384765
// A CURVE key in Z85 text is 40 characters; libzmq takes it as a 41-byte, NUL-terminated option value
// (zmq_setsockopt: "binary data or Z85 text string", size 32 or 41).
#define TM_Z85_KEY_LENGTH      40

// Arrays are passed to a DLL as a pointer to their first element; simple types passed by reference
// (int &x) as a pointer to the variable (docs.mql4.com/basis/preprosessor/import). MQL strings are UTF-16,
// so every char* argument is passed as a NUL-terminated uchar array built with StringToCharArray.
#ifdef __MQL5__
#import "libzmq.dll"
   long zmq_ctx_new();
   int  zmq_ctx_term(long context);
   long zmq_socket(long context, int type);
   int  zmq_close(long socket);
   int  zmq_setsockopt(long socket, int option, const uchar &value[], ulong size);
   int  zmq_connect(long socket, const uchar &endpoint[]);
   int  zmq_send(long socket, const uchar &buffer[], ulong size, int flags);
   int  zmq_recv(long socket, uchar &buffer[], ulong size, int flags);
   int  zmq_errno();
   long zmq_strerror(int error);
   void zmq_version(int &major, int &minor, int &patch);
   int  zmq_has(const uchar &capability[]);
   int  zmq_socket_monitor(long socket, const uchar &endpoint[], int events);
#import
// zmq_strerror returns a const char*; MQL cannot read through a pointer, so the text is copied out
// with two kernel32 functions.
#import "kernel32.dll"
   int  lstrlenA(long text);
   void RtlMoveMemory(uchar &destination[], long source, ulong size);
#import
#else
#import "libzmq.dll"
   int  zmq_ctx_new();
   int  zmq_ctx_term(int context);
   int  zmq_socket(int context, int type);
   int  zmq_close(int socket);
   int  zmq_setsockopt(int socket, int option, const uchar &value[], uint size);
   int  zmq_connect(int socket, const uchar &endpoint[]);
   int  zmq_send(int socket, const uchar &buffer[], uint size, int flags);
   int  zmq_recv(int socket, uchar &buffer[], uint size, int flags);
   int  zmq_errno();
   int  zmq_strerror(int error);
   void zmq_version(int &major, int &minor, int &patch);
   int  zmq_has(const uchar &capability[]);
   int  zmq_socket_monitor(int socket, const uchar &endpoint[], int events);
#import
#import "kernel32.dll"
   int  lstrlenA(int text);
   void RtlMoveMemory(uchar &destination[], int source, uint size);
#import
#endif

// Results of CZmqDealer::Receive.
#define TM_RECEIVE_NONE      0
#define TM_RECEIVE_FRAME     1
#define TM_RECEIVE_OVERSIZE  2
#define TM_RECEIVE_ERROR    -1

//+------------------------------------------------------------------+
//| "zmq errno N (text)" for logs.                                   |
//+------------------------------------------------------------------+
string ZmqErrorText(const int error)
  {
   string text = "";
   TM_ZMQ_HANDLE pointer = zmq_strerror(error);
   if(pointer != 0)
     {
      int length = lstrlenA(pointer);
      if(length > 0 && length < 512)
        {
         uchar buffer[];
         ArrayResize(buffer, length);
         RtlMoveMemory(buffer, pointer, (TM_ZMQ_SIZE)length);
         text = CharArrayToString(buffer, 0, length, CP_ACP);
        }
     }
   return "zmq errno " + IntegerToString(error) + " (" + text + ")";
  }

//+------------------------------------------------------------------+
//| libzmq version as "4.3.5".                                       |
//+------------------------------------------------------------------+
string ZmqVersionText()
  {
   int major = 0, minor = 0, patch = 0;
   zmq_version(major, minor, patch);
   return IntegerToString(major) + "." + IntegerToString(minor) + "." + IntegerToString(patch);
  }

//+------------------------------------------------------------------+
//| The UTF-8 bytes of text, without the terminating NUL.            |
//| StringToCharArray with count -1 copies the terminating zero too  |
//| and returns the number of bytes written, so the payload is that  |
//| count minus one (protocol/SPEC.md §3).                           |
//+------------------------------------------------------------------+
int TmUtf8Bytes(const string text, uchar &bytes[])
  {
   ArrayResize(bytes, 0);
   if(StringLen(text) == 0)
      return 0;
   int written = StringToCharArray(text, bytes, 0, -1, CP_UTF8);
   if(written <= 0)
      return 0;
   return written - 1;
  }

//+------------------------------------------------------------------+
//| One DEALER socket in one context. Never blocks: every send and   |
//| receive uses ZMQ_DONTWAIT, LINGER is 0 except for the farewell.  |
//+------------------------------------------------------------------+
class CZmqDealer
  {
private:
   TM_ZMQ_HANDLE     m_context;
   TM_ZMQ_HANDLE     m_socket;
   TM_ZMQ_HANDLE     m_monitor;        // PAIR socket receiving m_socket's handshake failures (CURVE)
   int               m_monitorCounter;
   string            m_lastError;
   bool              m_wouldBlock;
   uchar             m_receiveBuffer[];

   bool              SetIntOption(const int option, const int value);
   bool              SetKeyOption(const int option, const string key, const string name);

public:
                     CZmqDealer();
                    ~CZmqDealer();
   bool              Open(const string endpoint, const string serverKey, const string publicKey,
                          const string secretKey, const int sendHighWaterMark);
   void              Close(const int lingerMilliseconds);
   void              Terminate();
   bool              IsOpen() const { return m_socket != 0; }
   bool              Send(const string frame);
   int               Receive(string &frame);
   string            HandshakeRefusal();
   string            LastError() const { return m_lastError; }
   bool              LastSendWouldBlock() const { return m_wouldBlock; }
  };

CZmqDealer::CZmqDealer()
  {
   m_context = 0;
   m_socket = 0;
   m_monitor = 0;
   m_monitorCounter = 0;
   m_lastError = "";
   m_wouldBlock = false;
   // Agent frames are small (the largest is a REJECT with its message); anything larger is dropped.
   ArrayResize(m_receiveBuffer, 65536);
  }

CZmqDealer::~CZmqDealer()
  {
   Terminate();
  }

//+------------------------------------------------------------------+
//| An int option is a 4-byte little-endian value.                   |
//+------------------------------------------------------------------+
bool CZmqDealer::SetIntOption(const int option, const int value)
  {
   uchar bytes[4];
   bytes[0] = (uchar)(value & 0xFF);
   bytes[1] = (uchar)((value >> 8) & 0xFF);
   bytes[2] = (uchar)((value >> 16) & 0xFF);
   bytes[3] = (uchar)((value >> 24) & 0xFF);
   if(zmq_setsockopt(m_socket, option, bytes, (TM_ZMQ_SIZE)4) != 0)
     {
      m_lastError = "zmq_setsockopt(" + IntegerToString(option) + "): " + ZmqErrorText(zmq_errno());
      return false;
     }
   return true;
  }

//+------------------------------------------------------------------+
//| A CURVE key as 40 Z85 characters plus NUL (41 bytes).            |
//+------------------------------------------------------------------+
bool CZmqDealer::SetKeyOption(const int option, const string key, const string name)
  {
   if(StringLen(key) != TM_Z85_KEY_LENGTH)
     {
      m_lastError = name + " must be a 40-character Z85 key";
      return false;
     }
   uchar bytes[];
   int written = StringToCharArray(key, bytes, 0, -1, CP_ACP);
   if(written != TM_Z85_KEY_LENGTH + 1)
     {
      m_lastError = name + " is not plain ASCII";
      return false;
     }
   if(zmq_setsockopt(m_socket, option, bytes, (TM_ZMQ_SIZE)(TM_Z85_KEY_LENGTH + 1)) != 0)
     {
      m_lastError = "setting " + name + ": " + ZmqErrorText(zmq_errno());
      return false;
     }
   return true;
  }

//+------------------------------------------------------------------+
//| Creates the context (once) and a new DEALER socket connected to  |
//| endpoint. CURVE is on when serverKey is not empty.               |
//+------------------------------------------------------------------+
bool CZmqDealer::Open(const string endpoint, const string serverKey, const string publicKey,
                      const string secretKey, const int sendHighWaterMark)
  {
   Close(0);
   m_lastError = "";
   if(m_context == 0)
     {
      m_context = zmq_ctx_new();
      if(m_context == 0)
        {
         m_lastError = "zmq_ctx_new: " + ZmqErrorText(zmq_errno());
         return false;
        }
     }
   m_socket = zmq_socket(m_context, ZMQ_DEALER);
   if(m_socket == 0)
     {
      m_lastError = "zmq_socket: " + ZmqErrorText(zmq_errno());
      return false;
     }
   // LINGER 0: a socket closed on timeout or reconnect drops what it still holds (the new session
   // starts with a snapshot anyway). The send high-water mark bounds memory while the agent is away.
   if(!SetIntOption(ZMQ_LINGER, 0) ||
      !SetIntOption(ZMQ_SNDHWM, sendHighWaterMark) ||
      !SetIntOption(ZMQ_RCVHWM, 10000) ||
      !SetIntOption(ZMQ_RECONNECT_IVL, 250) ||
      !SetIntOption(ZMQ_RECONNECT_IVL_MAX, 5000))
     {
      string error = m_lastError;
      Close(0);
      m_lastError = error;
      return false;
     }
   if(StringLen(serverKey) > 0)
     {
      uchar capability[];
      StringToCharArray("curve", capability, 0, -1, CP_ACP);
      if(zmq_has(capability) == 0)
        {
         Close(0);
         m_lastError = "this libzmq.dll has no CURVE support (build it with libsodium)";
         return false;
        }
      if(!SetKeyOption(ZMQ_CURVE_SERVERKEY, serverKey, "agent public key") ||
         !SetKeyOption(ZMQ_CURVE_PUBLICKEY, publicKey, "EA public key") ||
         !SetKeyOption(ZMQ_CURVE_SECRETKEY, secretKey, "EA secret key"))
        {
         string keyError = m_lastError;
         Close(0);
         m_lastError = keyError;
         return false;
        }
      // A refused CURVE handshake is invisible on the socket itself (it just never connects): the
      // socket monitor reports it, so the EA can say "not allowed" instead of waiting forever.
      m_monitorCounter++;
      uchar monitorEndpoint[];
      StringToCharArray("inproc://tidemark-monitor-" + IntegerToString(m_monitorCounter), monitorEndpoint, 0, -1, CP_ACP);
      if(zmq_socket_monitor(m_socket, monitorEndpoint,
                            ZMQ_EVENT_HANDSHAKE_FAILED_AUTH | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
                            ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL) == 0)
        {
         m_monitor = zmq_socket(m_context, ZMQ_PAIR);
         if(m_monitor != 0 && zmq_connect(m_monitor, monitorEndpoint) != 0)
           {
            zmq_close(m_monitor);
            m_monitor = 0;
           }
        }
     }
   uchar address[];
   StringToCharArray(endpoint, address, 0, -1, CP_UTF8);
   if(zmq_connect(m_socket, address) != 0)
     {
      string connectError = "zmq_connect(" + endpoint + "): " + ZmqErrorText(zmq_errno());
      Close(0);
      m_lastError = connectError;
      return false;
     }
   return true;
  }

//+------------------------------------------------------------------+
//| Closes the socket. lingerMilliseconds > 0 lets queued frames     |
//| (the BYE) go out during the context's termination.               |
//+------------------------------------------------------------------+
void CZmqDealer::Close(const int lingerMilliseconds)
  {
   if(m_monitor != 0)
     {
      // The monitor ends with the socket it watches; its events have no reader from here on.
      zmq_close(m_monitor);
      m_monitor = 0;
     }
   if(m_socket == 0)
      return;
   if(lingerMilliseconds > 0)
      SetIntOption(ZMQ_LINGER, lingerMilliseconds);
   zmq_close(m_socket);
   m_socket = 0;
  }

//+------------------------------------------------------------------+
//| Closes the socket (if open) and terminates the context. Blocks   |
//| at most for the linger set on the socket that was last closed.   |
//+------------------------------------------------------------------+
void CZmqDealer::Terminate()
  {
   Close(0);
   if(m_context != 0)
     {
      zmq_ctx_term(m_context);
      m_context = 0;
     }
  }

//+------------------------------------------------------------------+
//| Sends one frame as one single-part message, without blocking.    |
//| On false, LastSendWouldBlock() tells a full queue (EAGAIN) from  |
//| a real error.                                                    |
//+------------------------------------------------------------------+
bool CZmqDealer::Send(const string frame)
  {
   m_wouldBlock = false;
   if(m_socket == 0)
     {
      m_lastError = "socket not open";
      return false;
     }
   uchar bytes[];
   int count = TmUtf8Bytes(frame, bytes);
   if(count <= 0)
     {
      m_lastError = "empty frame";
      return false;
     }
   int sent = zmq_send(m_socket, bytes, (TM_ZMQ_SIZE)count, ZMQ_DONTWAIT);
   if(sent < 0)
     {
      int error = zmq_errno();
      m_wouldBlock = (error == ZMQ_EAGAIN);
      m_lastError = "zmq_send: " + ZmqErrorText(error);
      return false;
     }
   return true;
  }

//+------------------------------------------------------------------+
//| Takes one waiting message, if any. Returns TM_RECEIVE_FRAME with |
//| frame set, TM_RECEIVE_NONE when nothing is waiting,              |
//| TM_RECEIVE_OVERSIZE for a message larger than the buffer (it is  |
//| dropped), TM_RECEIVE_ERROR on a socket error.                    |
//+------------------------------------------------------------------+
int CZmqDealer::Receive(string &frame)
  {
   frame = "";
   if(m_socket == 0)
      return TM_RECEIVE_ERROR;
   int capacity = ArraySize(m_receiveBuffer);
   int size = zmq_recv(m_socket, m_receiveBuffer, (TM_ZMQ_SIZE)capacity, ZMQ_DONTWAIT);
   if(size < 0)
     {
      int error = zmq_errno();
      if(error == ZMQ_EAGAIN)
         return TM_RECEIVE_NONE;
      m_lastError = "zmq_recv: " + ZmqErrorText(error);
      return TM_RECEIVE_ERROR;
     }
   // zmq_recv returns the full message size and truncates what does not fit.
   if(size > capacity)
     {
      m_lastError = "dropped a " + IntegerToString(size) + "-byte message (buffer " + IntegerToString(capacity) + ")";
      return TM_RECEIVE_OVERSIZE;
     }
   if(size > 0)
      frame = CharArrayToString(m_receiveBuffer, 0, size, CP_UTF8);
   return TM_RECEIVE_FRAME;
  }

//+------------------------------------------------------------------+
//| Why the agent refused the CURVE handshake, or "" (none so far).  |
//| Reads the monitor's events without blocking: each is two frames, |
//| 6 bytes (event id uint16, value uint32, little-endian), then the |
//| endpoint (zmq_socket_monitor).                                   |
//+------------------------------------------------------------------+
string CZmqDealer::HandshakeRefusal()
  {
   if(m_monitor == 0)
      return "";
   uchar event[];
   ArrayResize(event, 256);
   string refusal = "";
   for(int i = 0; i < 32; i++)
     {
      int size = zmq_recv(m_monitor, event, (TM_ZMQ_SIZE)256, ZMQ_DONTWAIT);
      if(size < 0)
         break;
      if(size != 6)
         continue;   // the endpoint frame
      int id = event[0] | (event[1] << 8);
      int value = event[2] | (event[3] << 8) | (event[4] << 16) | (event[5] << 24);
      if(id == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH)
         refusal = "not allowed by the agent: its CURVE allow-list does not hold this EA's public key (ZAP status " +
                   IntegerToString(value) + ")";
      else if(refusal == "")
         refusal = "the agent refused the CURVE handshake (check the agent's public key; monitor event " +
                   IntegerToString(id) + ")";
     }
   return refusal;
  }

//+------------------------------------------------------------------+
//| A CURVE key pair from a `tidemark keys` secret certificate       |
//| (NAME.key_secret: lines `public-key = "…"`, `secret-key = "…"`)  |
//| in the terminal's Files folder, so that the secret key is not an |
//| input saved in .set files and chart templates. FileOpen confines |
//| the name to MQL5\Files (MQL4\Files) (MQL reference, FileOpen). |
//+------------------------------------------------------------------+
bool TmReadCurveCertificate(const string fileName, string &publicKey, string &secretKey, string &error)
  {
   publicKey = "";
   secretKey = "";
   int handle = FileOpen(fileName, FILE_READ | FILE_TXT | FILE_ANSI);
   if(handle == INVALID_HANDLE)
     {
      error = "cannot open " + fileName + " in the terminal's Files folder (error " + IntegerToString(GetLastError()) + ")";
      return false;
     }
   for(int lines = 0; lines < 200 && !FileIsEnding(handle); lines++)
     {
      string line = FileReadString(handle);
      int equals = StringFind(line, "=");
      int open = StringFind(line, "\"", equals + 1);
      int close = (open >= 0) ? StringFind(line, "\"", open + 1) : -1;
      if(equals < 0 || close < 0)
         continue;
      string value = StringSubstr(line, open + 1, close - open - 1);
      if(StringFind(line, "public-key") >= 0 && StringFind(line, "public-key") < equals)
         publicKey = value;
      else if(StringFind(line, "secret-key") >= 0 && StringFind(line, "secret-key") < equals)
         secretKey = value;
     }
   FileClose(handle);
   if(StringLen(publicKey) != TM_Z85_KEY_LENGTH || StringLen(secretKey) != TM_Z85_KEY_LENGTH)
     {
      error = fileName + " holds no public-key and secret-key of 40 Z85 characters (make it with tidemark keys)";
      return false;
     }
   return true;
  }

#endif // TIDEMARK_ZEROMQ_MQH

import CZeroMQ

/// The socket patterns this layer supports.
public enum ZMQSocketType: Sendable, Hashable, CaseIterable {
    /// Routes by peer identity; the agent's bridge binds one.
    case router
    /// Round-robins out, fair-queues in; each EA (and the simulator) connects with one.
    case dealer
    /// Exactly one peer; inproc control pipes.
    case pair
    case push
    case pull

    var rawValue: Int32 {
        switch self {
        case .router: ZMQ_ROUTER
        case .dealer: ZMQ_DEALER
        case .pair: ZMQ_PAIR
        case .push: ZMQ_PUSH
        case .pull: ZMQ_PULL
        }
    }
}

/// An integer socket option (`zmq_setsockopt` with an `int`).
public struct ZMQIntegerOption: Sendable, Hashable {
    let code: Int32
    /// Outbound queue limit in messages (`ZMQ_SNDHWM`, default 1000).
    public static let sendHighWaterMark = Self(code: ZMQ_SNDHWM)
    /// Inbound queue limit in messages (`ZMQ_RCVHWM`, default 1000).
    public static let receiveHighWaterMark = Self(code: ZMQ_RCVHWM)
    /// Pending TCP connections the kernel queues for a bound socket before libzmq accepts them
    /// (`ZMQ_BACKLOG`, default 100; Linux caps it at `net.core.somaxconn`). When the queue is full
    /// the kernel drops the connection's handshake, and the peer retries only after a TCP
    /// retransmission timeout: a second or more.
    public static let listenBacklog = Self(code: ZMQ_BACKLOG)
    /// Milliseconds unsent messages are kept after close (`ZMQ_LINGER`); this layer sets 0.
    public static let linger = Self(code: ZMQ_LINGER)
    /// First reconnect delay in ms (`ZMQ_RECONNECT_IVL`).
    public static let reconnectInterval = Self(code: ZMQ_RECONNECT_IVL)
    /// Reconnect back-off ceiling in ms (`ZMQ_RECONNECT_IVL_MAX`; 0 = no back-off).
    public static let reconnectIntervalMax = Self(code: ZMQ_RECONNECT_IVL_MAX)
    /// ZMTP PING interval in ms (`ZMQ_HEARTBEAT_IVL`; 0 = off).
    public static let heartbeatInterval = Self(code: ZMQ_HEARTBEAT_IVL)
    /// Drop the connection after this many ms without traffic after a PING (`ZMQ_HEARTBEAT_TIMEOUT`).
    public static let heartbeatTimeout = Self(code: ZMQ_HEARTBEAT_TIMEOUT)
    /// The timeout the peer should apply to us, in ms (`ZMQ_HEARTBEAT_TTL`).
    public static let heartbeatTTL = Self(code: ZMQ_HEARTBEAT_TTL)
    /// Blocking receive timeout in ms (`ZMQ_RCVTIMEO`; -1 = forever); expiry is ``ZMQError/wouldBlock``.
    public static let receiveTimeout = Self(code: ZMQ_RCVTIMEO)
    /// Blocking send timeout in ms (`ZMQ_SNDTIMEO`; -1 = forever); expiry is ``ZMQError/wouldBlock``.
    public static let sendTimeout = Self(code: ZMQ_SNDTIMEO)
}

/// A 64-bit integer socket option (`zmq_setsockopt` with an `int64_t`).
public struct ZMQInt64Option: Sendable, Hashable {
    let code: Int32
    /// The largest inbound message in bytes (`ZMQ_MAXMSGSIZE`; -1 = no limit). A peer that sends a
    /// bigger one is disconnected by libzmq and the message never reaches the application.
    public static let maximumMessageSize = Self(code: ZMQ_MAXMSGSIZE)
}

/// A yes/no socket option.
public struct ZMQFlagOption: Sendable, Hashable {
    let code: Int32
    /// ROUTER: fail with ``ZMQError/hostUnreachable`` instead of silently dropping a message to an
    /// unknown peer (`ZMQ_ROUTER_MANDATORY`).
    public static let routerMandatory = Self(code: ZMQ_ROUTER_MANDATORY)
    /// Queue messages only to completed connections (`ZMQ_IMMEDIATE`).
    public static let immediate = Self(code: ZMQ_IMMEDIATE)
    /// Act as CURVE server (`ZMQ_CURVE_SERVER`); needs ``ZMQBytesOption/curveSecretKey``.
    public static let curveServer = Self(code: ZMQ_CURVE_SERVER)
}

/// A binary or text socket option.
public struct ZMQBytesOption: Sendable, Hashable {
    let code: Int32
    /// This socket's long-term CURVE public key, 32 bytes (`ZMQ_CURVE_PUBLICKEY`).
    public static let curvePublicKey = Self(code: ZMQ_CURVE_PUBLICKEY)
    /// This socket's long-term CURVE secret key, 32 bytes (`ZMQ_CURVE_SECRETKEY`).
    public static let curveSecretKey = Self(code: ZMQ_CURVE_SECRETKEY)
    /// Client side: the server's CURVE public key, 32 bytes (`ZMQ_CURVE_SERVERKEY`).
    public static let curveServerKey = Self(code: ZMQ_CURVE_SERVERKEY)
    /// The ZAP authentication domain (`ZMQ_ZAP_DOMAIN`).
    public static let zapDomain = Self(code: ZMQ_ZAP_DOMAIN)
    /// This socket's identity as seen by a ROUTER peer (`ZMQ_ROUTING_ID`), 1–255 bytes.
    public static let routingID = Self(code: ZMQ_ROUTING_ID)
}

/// Readiness in ``ZMQPoller``.
public struct ZMQPollEvents: OptionSet, Sendable, Hashable {
    public let rawValue: Int16
    public init(rawValue: Int16) { self.rawValue = rawValue }
    /// A message can be received without blocking.
    public static let input = ZMQPollEvents(rawValue: Int16(ZMQ_POLLIN))
    /// A message can be sent without blocking.
    public static let output = ZMQPollEvents(rawValue: Int16(ZMQ_POLLOUT))
}

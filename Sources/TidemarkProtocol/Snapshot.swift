/// The whole state needed to rebuild an account: sent after hello and after every resync request.
public struct Snapshot: Hashable, Sendable, Codable {
    /// The account's figures at the snapshot.
    public var account: AccountReport
    /// Every symbol the account trades or converts through.
    public var symbols: [SymbolSpec]
    /// Open positions only (pending orders do not move equity).
    public var positions: [Position]
    /// The last quote of each symbol in `symbols`, so equity is known at once.
    public var quotes: [Tick]
    /// How many positions the snapshot holds in all: those in `positions` and those that follow as
    /// `POSITION opened` frames when the snapshot is split (protocol/SPEC.md §6.8). Nil when the
    /// terminal does not say (a version 1 EA): then `positions` is the whole snapshot.
    public var positionCount: Int?

    /// A snapshot of the account, its symbols, its open positions and the latest quotes.
    public init(
        account: AccountReport, symbols: [SymbolSpec], positions: [Position], quotes: [Tick] = [],
        positionCount: Int? = nil
    ) {
        self.account = account
        self.symbols = symbols
        self.positions = positions
        self.quotes = quotes
        self.positionCount = positionCount
    }

    /// How many announced positions have not arrived with this frame (0 when it is whole).
    public var missingPositionCount: Int { max(0, (positionCount ?? 0) - positions.count) }

    /// The lowest protocol version that carries this snapshot: 2 when it states its position count.
    public var wireVersion: Int { positionCount == nil ? 1 : 2 }
}

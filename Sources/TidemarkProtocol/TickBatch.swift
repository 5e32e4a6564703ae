/// The quotes of one TICKS message, in order: a collection of ``Tick`` that holds a single quote
/// inline and several in an array.
///
/// Most TICKS frames carry one quote. As a `[Tick]` each of them cost a heap allocation on the
/// bridge's socket thread and a free on the consumer's thread, per frame; inline, one quote costs
/// nothing. It reads like an array (`for tick in batch`, `batch.count`, `batch.last`, `[a, b]`
/// literals), compares element by element, and codes exactly as `[Tick]` does (a JSON array), so
/// recordings are unchanged.
public struct TickBatch: RandomAccessCollection, ExpressibleByArrayLiteral, Hashable, Sendable, Codable {
    // Inlinable (with the storage visible to inlined code): the bridge and the equity engine read
    // batches per frame from other modules, where a call per `count` or element would show.
    @usableFromInline
    enum Storage: Sendable {
        case single(Tick)
        /// Zero or at least two ticks (one is always `single`).
        case multiple([Tick])
    }

    @usableFromInline
    let storage: Storage

    /// No ticks (a TICKS message must have at least one; the decoder refuses an empty one).
    public init() { storage = .multiple([]) }

    /// One tick.
    @inlinable
    public init(_ tick: Tick) { storage = .single(tick) }

    /// These ticks, in order (the array is kept as it is, not copied).
    @inlinable
    public init(_ ticks: [Tick]) {
        storage = ticks.count == 1 ? .single(ticks[0]) : .multiple(ticks)
    }

    /// These ticks, in order.
    public init(_ ticks: some Sequence<Tick>) { self.init(Array(ticks)) }

    public init(arrayLiteral ticks: Tick...) { self.init(ticks) }

    @inlinable
    public var startIndex: Int { 0 }

    @inlinable
    public var endIndex: Int {
        switch storage {
        case .single: 1
        case .multiple(let ticks): ticks.count
        }
    }

    @inlinable
    public subscript(position: Int) -> Tick {
        switch storage {
        case .single(let tick):
            precondition(position == 0, "TickBatch index out of range")
            return tick
        case .multiple(let ticks):
            return ticks[position]
        }
    }

    /// The ticks as an array.
    public var array: [Tick] {
        switch storage {
        case .single(let tick): [tick]
        case .multiple(let ticks): ticks
        }
    }

    public static func == (lhs: TickBatch, rhs: TickBatch) -> Bool { lhs.elementsEqual(rhs) }

    /// As `[Tick]` hashes: the count, then each tick.
    public func hash(into hasher: inout Hasher) {
        hasher.combine(count)
        for tick in self { hasher.combine(tick) }
    }

    /// A JSON array of ticks, as `[Tick]` decodes.
    public init(from decoder: any Decoder) throws { self.init(try [Tick](from: decoder)) }

    /// A JSON array of ticks, as `[Tick]` encodes.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.unkeyedContainer()
        for tick in self { try container.encode(tick) }
    }
}

/// Session slots by routing key (never 0): open addressing with linear probing over a power-of-two
/// table kept at most half full, and backward-shift deletion (no tombstones), so a lookup is a
/// multiply and, nearly always, one probe.
struct RoutingKeyTable: Sendable {
    /// 0 marks an empty cell (no routing key is 0).
    private var keys: [UInt64]
    private var slots: [Int]
    private(set) var count = 0

    init(capacity: Int = 64) {
        var size = 8
        while size < capacity * 2 { size *= 2 }
        keys = Array(repeating: 0, count: size)
        slots = Array(repeating: 0, count: size)
    }

    private var mask: Int { keys.count - 1 }

    /// libzmq counts its ids up in their last bytes: the multiply spreads them over the table.
    @inline(__always)
    private func home(of key: UInt64) -> Int {
        Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) >> 32) & mask
    }

    /// The cell holding `key`, or the empty cell where it would go.
    @inline(__always)
    private func cell(of key: UInt64) -> Int {
        var index = home(of: key)
        while keys[index] != 0, keys[index] != key { index = (index + 1) & mask }
        return index
    }

    subscript(key: UInt64) -> Int? {
        get {
            let index = cell(of: key)
            return keys[index] == key ? slots[index] : nil
        }
        set {
            precondition(key != 0, "routing key 0 is reserved")
            let index = cell(of: key)
            if let newValue {
                if keys[index] == key {
                    slots[index] = newValue
                    return
                }
                keys[index] = key
                slots[index] = newValue
                count += 1
                if count * 2 > keys.count { grow() }
            } else if keys[index] == key {
                remove(at: index)
            }
        }
    }

    private mutating func remove(at removed: Int) {
        count -= 1
        var hole = removed
        var index = removed
        while true {
            index = (index + 1) & mask
            let key = keys[index]
            if key == 0 { break }
            // Move the entry back into the hole unless its home lies cyclically in (hole, index].
            let wanted = home(of: key)
            let staysPut = hole <= index ? (hole < wanted && wanted <= index) : (hole < wanted || wanted <= index)
            if !staysPut {
                keys[hole] = key
                slots[hole] = slots[index]
                hole = index
            }
        }
        keys[hole] = 0
    }

    private mutating func grow() {
        let oldKeys = keys, oldSlots = slots
        keys = Array(repeating: 0, count: oldKeys.count * 2)
        slots = Array(repeating: 0, count: oldKeys.count * 2)
        for index in oldKeys.indices where oldKeys[index] != 0 {
            let cell = cell(of: oldKeys[index])
            keys[cell] = oldKeys[index]
            slots[cell] = oldSlots[index]
        }
    }
}

import Foundation
import Testing
import TidemarkProtocol

/// `TickBatch` holds one tick inline and several in an array; either way it must behave, compare,
/// hash and code exactly like the `[Tick]` it replaced in `TerminalMessage.ticks`.
@Suite("Tick batches behave like arrays of ticks")
struct TickBatchTests {
    private let first = Tick(
        symbol: "EURUSD", time: BrokerTime(milliseconds: 1_549_238_400_123), bid: "1.14512", ask: "1.14514")
    private let second = Tick(
        symbol: "GBPUSD", time: BrokerTime(milliseconds: 1_549_238_400_124), bid: "1.3", ask: "1.3002")

    @Test func oneTickAndSeveralReadLikeAnArray() {
        let one = TickBatch(first)
        #expect(one.count == 1)
        #expect(one.first == first && one.last == first)
        #expect(Array(one) == [first])
        let two: TickBatch = [first, second]
        #expect(two.count == 2)
        #expect(two[0] == first && two[1] == second)
        #expect(two.map(\.symbol) == ["EURUSD", "GBPUSD"])
        #expect(two.array == [first, second])
        #expect(TickBatch().isEmpty)
        #expect(TickBatch([]).isEmpty)
    }

    @Test func equalityAndHashDoNotDependOnTheStorage() {
        // One tick from an array literal, from an array and on its own: the same batch.
        let inline = TickBatch(first)
        let fromArray = TickBatch([first])
        let fromSequence = TickBatch([first, second].prefix(1))
        #expect(inline == fromArray && fromArray == fromSequence)
        #expect(Set([inline, fromArray, fromSequence]).count == 1)
        #expect(TerminalMessage.ticks(inline) == .ticks([first]))
        #expect(TickBatch(first) != TickBatch(second))
        #expect(TickBatch(first) != [first, first])
        #expect(TickBatch([first, second]) != [second, first])
    }

    @Test func codesExactlyAsAnArrayOfTicks() throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        for ticks in [[first], [first, second], []] {
            let asBatch = try encoder.encode(TickBatch(ticks))
            let asArray = try encoder.encode(ticks)
            #expect(asBatch == asArray)
            #expect(try JSONDecoder().decode(TickBatch.self, from: asArray) == TickBatch(ticks))
        }
    }

    @Test func theDecoderKeepsOneTickInlineAndSeveralInOrder() throws {
        let one = try WireDecoder.decodeTerminal(
            Array("TM1\tTICKS\ts\t3\nQ\tEURUSD\t1549238400123\t1.14512\t1.14514\n".utf8))
        #expect(one.message == .ticks([first]))
        // Two quotes: the batch keeps both, in order.
        let text =
            "TM1\tTICKS\ts\t4\nQ\tEURUSD\t1549238400123\t1.14512\t1.14514\nQ\tGBPUSD\t1549238400124\t1.30000000\t1.3002\n"
        let two = try WireDecoder.decodeTerminal(Array(text.utf8))
        #expect(two.message == .ticks([first, second]))
        guard case .ticks(let batch) = two.message else {
            Issue.record("not ticks")
            return
        }
        #expect(batch.count == 2 && batch.last == second)
    }
}

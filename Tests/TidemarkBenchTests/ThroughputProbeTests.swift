import Testing
import TidemarkBench

@Suite("Raw libzmq throughput probe")
struct ThroughputProbeTests {
    @Test(.timeLimit(.minutes(1))) func throughputProbeMovesMessages() throws {
        // Correctness only (all messages arrive, a positive rate); speed belongs in `tidemark bench`.
        let rate = try ZMQThroughputProbe.measureRawDealerToRouter(messageSize: 64, count: 2_000)
        #expect(rate > 0)
    }
}

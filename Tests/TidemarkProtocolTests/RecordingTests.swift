import Testing
import TidemarkProtocol

@Suite("Recording (JSON Lines) codec")
struct RecordingTests {
    @Test("a directive is passed through byte for byte, whatever its keys")
    func directivePassthrough() throws {
        let text =
            #"{"type":"declare","tracker":{"name":"daily","period":"day","absoluteDrawdownThreshold":500},"z":[1,2]}"#
        let line = try RecordingCodec.decode(Array(text.utf8))
        #expect(line == .directive(type: "declare", json: Array(text.utf8)))
        #expect(RecordingCodec.encode(line) == Array(text.utf8))
    }

    @Test("bad lines are errors with line numbers, and reading goes on")
    func badLinesAreReported() throws {
        let recording = """
            {"account":"S:1","type":"heartbeat","time":5}
            not json
            [1,2]

            {"account":"S:1","type":"ticks"}
            {"type":"ticks","ticks":[]}
            {"account":"S:1","type":"ticks","ticks":[{"symbol":"EURUSD","time":1,"bid":"x","ask":1}]}
            {"account":"S:1","kind":"ticks"}
            {"account":"S:1","type":"bye","reason":"done"}\r

            """
        let entries = Array(RecordingReader(bytes: Array(recording.utf8)))
        #expect(entries.map(\.lineNumber) == [1, 2, 3, 5, 6, 7, 8, 9])
        func code(_ entry: RecordingReader.Entry) -> String? {
            if case .failure(let error) = entry.result { return error.code }
            return nil
        }
        #expect(
            entries.map(code) == [
                nil, "not_json_object", "not_json_object", "missing_payload", "missing_account",
                "bad_payload", "missing_type", nil,
            ])
        if case .failure(let error) = entries[1].result { #expect(error.line == 2) }
        #expect(
            try entries[0].result.get()
                == .message(
                    account: AccountID("S:1"), sessionID: nil, sequence: nil,
                    .heartbeat(BrokerTime(milliseconds: 5))))
        #expect(
            try entries[7].result.get()
                == .message(account: AccountID("S:1"), sessionID: nil, sequence: nil, .bye(reason: "done")))
    }

    @Test("session and seq are optional and omitted when absent")
    func optionalEnvelope() throws {
        let line = RecordingLine.message(account: AccountID("S:1"), sessionID: nil, sequence: nil, .bye(reason: "x"))
        #expect(
            String(decoding: RecordingCodec.encode(line), as: UTF8.self)
                == #"{"account":"S:1","reason":"x","type":"bye"}"#)
    }

    @Test("decimals given as JSON strings are accepted; canonical output writes numbers")
    func decimalStrings() throws {
        let text =
            #"{"account":"S:1","ticks":[{"ask":"1.14515","bid":"1.14512","symbol":"EURUSD","time":1}],"type":"ticks"}"#
        let line = try RecordingCodec.decode(Array(text.utf8))
        #expect(
            String(decoding: RecordingCodec.encode(line), as: UTF8.self)
                == #"{"account":"S:1","ticks":[{"ask":1.14515,"bid":1.14512,"symbol":"EURUSD","time":1}],"type":"ticks"}"#
        )
    }

    @Test("a writer's output reads back to the same lines")
    func writerRoundTrip() throws {
        let lines: [RecordingLine] = [
            .directive(type: "declare", json: Array(#"{"type":"declare"}"#.utf8)),
            .message(account: AccountID("S:1"), sessionID: "s", sequence: 1, .heartbeat(BrokerTime(milliseconds: 9))),
        ]
        let read = try RecordingReader(bytes: RecordingWriter.encode(lines)).map { try $0.result.get() }
        #expect(read == lines)
    }
}

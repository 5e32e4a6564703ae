import Foundation
import Testing
import TidemarkProtocol

/// One entry of protocol/vectors/valid.json or invalid.json.
struct WireVector: Decodable, Sendable, CustomTestStringConvertible {
    var name: String
    /// `terminal` (EA → agent) or `agent` (agent → EA).
    var direction: String
    var wire: String?
    /// The frame as hex, for frames that are not valid UTF-8 text.
    var wireHex: String?
    var json: String?
    var error: String?
    /// The wire text is valid but not what the encoder writes (trailing zeros, record order).
    var decodeOnly: Bool?

    var testDescription: String { name }

    var wireBytes: [UInt8] {
        if let wireHex {
            var bytes: [UInt8] = []
            var index = wireHex.startIndex
            while index < wireHex.endIndex {
                let next = wireHex.index(index, offsetBy: 2)
                bytes.append(UInt8(wireHex[index..<next], radix: 16)!)
                index = next
            }
            return bytes
        }
        return Array(wire!.utf8)
    }
}

/// The repository's protocol/ folder, found from this file's path.
let protocolDirectory = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("protocol")

func loadVectors(_ file: String) throws -> [WireVector] {
    let data = try Data(contentsOf: protocolDirectory.appendingPathComponent("vectors").appendingPathComponent(file))
    return try JSONDecoder().decode([WireVector].self, from: data)
}

@Suite("Wire test vectors")
struct VectorTests {
    @Test("every message type of both directions has a vector")
    func coverage() throws {
        let vectors = try loadVectors("valid.json")
        var terminalTypes = Set<String>()
        var agentTypes = Set<String>()
        for vector in vectors {
            if vector.direction == "terminal" {
                terminalTypes.insert(try WireDecoder.decodeTerminal(vector.wireBytes).message.wireType)
            } else {
                agentTypes.insert(try WireDecoder.decodeAgent(vector.wireBytes).message.wireType)
            }
        }
        #expect(
            terminalTypes == [
                "HELLO", "SNAPSHOT", "SYMBOL", "TICKS", "POSITION", "DEAL", "REPORT", "HEARTBEAT", "BYE", "CMDACK",
            ])
        #expect(agentTypes == ["WELCOME", "REJECT", "RESYNC", "ACK", "COMMAND", "HEARTBEAT"])
    }

    @Test(
        "valid: wire decodes to the JSON message, and the JSON message encodes to the wire bytes",
        arguments: try loadVectors("valid.json"))
    func valid(_ vector: WireVector) throws {
        let json = Array(vector.json!.utf8)
        if vector.direction == "terminal" {
            let decoded = try WireDecoder.decodeTerminal(vector.wireBytes)
            guard case .message(let account, let sessionID, let sequence, let message) = try RecordingCodec.decode(json)
            else {
                Issue.record("the vector's JSON is not a message line")
                return
            }
            #expect(account == AccountID("Demo-Server:12345"))
            #expect(decoded == Envelope(sessionID: sessionID!, sequence: sequence!, message: message))
            // The canonical JSON round-trips byte for byte.
            #expect(
                RecordingCodec.encode(.message(account: account, sessionID: sessionID, sequence: sequence, message))
                    == json)
            if vector.decodeOnly != true {
                #expect(WireEncoder.encode(decoded) == vector.wireBytes)
            }
        } else {
            let decoded = try WireDecoder.decodeAgent(vector.wireBytes)
            let fromJSON = try RecordingCodec.decodeAgent(json)
            #expect(decoded == fromJSON)
            #expect(RecordingCodec.encode(agent: fromJSON) == json)
            if vector.decodeOnly != true {
                #expect(WireEncoder.encode(fromJSON) == vector.wireBytes)
            }
        }
    }

    @Test("invalid: decoding fails with the expected code", arguments: try loadVectors("invalid.json"))
    func invalid(_ vector: WireVector) {
        let outcome: Result<Void, WireDecodingError>
        do throws(WireDecodingError) {
            if vector.direction == "terminal" {
                _ = try WireDecoder.decodeTerminal(vector.wireBytes)
            } else {
                _ = try WireDecoder.decodeAgent(vector.wireBytes)
            }
            outcome = .success(())
        } catch {
            outcome = .failure(error)
        }
        switch outcome {
        case .success: Issue.record("decoded, expected \(vector.error!)")
        case .failure(let error): #expect(error.code == vector.error, "\(error.message)")
        }
    }

    @Test("an error names the session and sequence when the header was readable")
    func attribution() {
        let frame = Array("TM1\tTICKS\tsess-9\t42\nQ\tEURUSD\t1\t1.2\t1.1\n".utf8)
        do {
            _ = try WireDecoder.decodeTerminal(frame)
        } catch {
            #expect(error.sessionID == "sess-9")
            #expect(error.sequence == 42)
            #expect(error.line == 2)
        }
    }

    @Test("a TM3 frame is distinguishable as unsupported_version")
    func unsupportedVersion() {
        do {
            _ = try WireDecoder.decodeTerminal(Array("TM3\tHELLO\ts\t1\nI\tmt5\n".utf8))
            Issue.record("decoded")
        } catch {
            #expect(error.isUnsupportedVersion)
            #expect(error.sessionID == "s")
        }
    }
}

import Foundation
import Notifications
import Testing

@Suite("Webhook settings in the config file")
struct ConfigurationTests {
    @Test("The example config's webhooks object decodes to the documented defaults")
    func exampleConfig() throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("deploy/config.example.json")
        struct File: Decodable { var webhooks: WebhookDeliverer.Configuration }
        let decoded = try JSONDecoder().decode(File.self, from: Data(contentsOf: url)).webhooks
        #expect(decoded == WebhookDeliverer.Configuration())
        #expect(decoded.retryPolicy.maximumAge == .seconds(259_200)) // 3 × 24 × 3,600
    }

    @Test("Missing keys take the defaults; fractional seconds are kept; bad values are refused")
    func partialAndInvalid() throws {
        let partial = try JSONDecoder().decode(WebhookDeliverer.Configuration.self,
                                               from: Data(#"{"initialDelaySeconds": 0.25, "maximumAttempts": 5}"#.utf8))
        #expect(partial.retryPolicy.initialDelay == .milliseconds(250))
        #expect(partial.retryPolicy.maximumAttempts == 5)
        #expect(partial.requestTimeout == .seconds(10))
        for bad in [#"{"jitter": 1.5}"#, #"{"maximumAttempts": 0}"#, #"{"requestTimeoutSeconds": -1}"#] {
            #expect(throws: DecodingError.self) {
                try JSONDecoder().decode(WebhookDeliverer.Configuration.self, from: Data(bad.utf8))
            }
        }
    }

    @Test("Encoding and decoding give the same settings")
    func roundTrip() throws {
        let original = WebhookDeliverer.Configuration(
            retryPolicy: WebhookRetryPolicy(initialDelay: .milliseconds(500), maximumDelay: .seconds(60), jitter: 0.1,
                                            maximumAttempts: 20, maximumAge: .seconds(3600)),
            requestTimeout: .seconds(5), maximumConcurrentDeliveries: 4, pageSize: 32)
        let decoded = try JSONDecoder().decode(WebhookDeliverer.Configuration.self, from: JSONEncoder().encode(original))
        #expect(decoded == original)
    }
}

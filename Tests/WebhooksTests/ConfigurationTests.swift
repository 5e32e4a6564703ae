import Foundation
import Webhooks
import Testing

@Suite("Webhook settings in the config file")
struct ConfigurationTests {
    @Test("A complete webhooks object decodes to exactly those settings")
    func complete() throws {
        let json = #"""
            {"initialDelaySeconds": 1, "maximumDelaySeconds": 600, "jitter": 0.2, "maximumAttempts": 500,
             "maximumAgeSeconds": 259200, "requestTimeoutSeconds": 10, "maximumConcurrentDeliveries": 8, "pageSize": 64}
            """#
        let decoded = try JSONDecoder().decode(WebhookDeliverer.Configuration.self, from: Data(json.utf8))
        // The documented defaults, so equal to the default configuration.
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

import Foundation
import Hummingbird

/// The API's JSON coding: one place, so every route writes the same way.
enum APIJSON {
    /// `JSONEncoder` is thread-safe for encoding (swift-foundation declares it `Sendable`).
    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        return encoder
    }()

    static let decoder = JSONDecoder()

    /// A 200 (or other) response with a JSON body.
    static func response(_ value: some Encodable, status: HTTPResponse.Status = .ok) throws -> Response {
        let data = try encoder.encode(value)
        return Response(status: status, headers: [.contentType: "application/json; charset=utf-8"],
                        body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
    }
}

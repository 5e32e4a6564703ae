import Simulator
import Testing
import TidemarkProtocol

@Suite("Errors as values with a code and a detail")
struct TidemarkErrorTests {
    /// An error that states only its code and detail: everything else comes from the protocol.
    struct ExampleError: TidemarkError {
        var code: String
        var detail: String
    }

    struct CodeOnlyError: TidemarkError {
        var code: String { "code_only" }
    }

    @Test func messageAndDescriptionAreTheCodeThenTheDetail() {
        let error = ExampleError(code: "not_found", detail: "tracker 7")
        #expect(error.message == "not_found: tracker 7")
        #expect(error.description == "not_found: tracker 7")
        #expect("\(error)" == "not_found: tracker 7")
    }

    @Test func withoutADetailTheCodeSaysItAll() {
        #expect(CodeOnlyError().detail == "")
        #expect(CodeOnlyError().message == "code_only")
        #expect(ExampleError(code: "conflict", detail: "").description == "conflict")
    }

    @Test func adoptersGetTheDefaultsOrWordTheirOwn() {
        // RecordingBuilderError takes the default description; RecordingError words its own (with the line).
        #expect(RecordingBuilderError.noTicks.description == "no_ticks: no ticks")
        #expect(RecordingBuilderError.noTicks.message == RecordingBuilderError.noTicks.description)
        #expect(RecordingError.notJSONObject.code == "not_json_object")
        #expect(WireDecodingError.truncated.code == "truncated")
        #expect(WireDecodingError.truncated.message.hasPrefix("frame is empty"))
    }

    @Test func anyAdopterCanBeLoggedAndCountedAlike() {
        func label(_ error: some TidemarkError) -> String { error.code }
        #expect(label(WireDecodingError.badField) == "bad_field")
        #expect(label(RecordingBuilderError.noTicks) == "no_ticks")
        #expect(label(SimulatorError.emptyRecording) == "empty_recording")
    }
}

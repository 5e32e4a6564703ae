import TidemarkProtocol

/// A declaration: what the firm asks the risk core to track. Declarations are part of the core's
/// deterministic input sequence (see ``RiskStep``): the agent stores them in the same log as the
/// inputs, so a replay or a crash recovery sees them at the same place.
///
/// JSON (the payload of a recording's `declare` directive and of a rules file's entries):
/// - `{"action":"createTracker","tracker":{…TrackerDefinition…}}`
/// - `{"action":"renameTracker","accountId":"Server:123","trackerId":"t1","name":"new name"}`
/// - `{"action":"deleteTracker","accountId":"Server:123","trackerId":"t1"}`
public enum RiskCommand: Hashable, Sendable, Codable {
    /// MetaApi "create tracker". The id is chosen by the caller.
    case createTracker(TrackerDefinition)
    /// MetaApi "update tracker": only the name can change.
    case renameTracker(accountId: AccountID, trackerId: String, name: String)
    /// MetaApi "remove tracker": its open period is discarded without a record.
    case deleteTracker(accountId: AccountID, trackerId: String)

    private enum CodingKeys: String, CodingKey { case action, tracker, accountId, trackerId, name }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let action = try c.decode(String.self, forKey: .action)
        switch action {
        case "createTracker":
            self = .createTracker(try c.decode(TrackerDefinition.self, forKey: .tracker))
        case "renameTracker":
            self = .renameTracker(accountId: try c.decode(AccountID.self, forKey: .accountId),
                                  trackerId: try c.decode(String.self, forKey: .trackerId),
                                  name: try c.decode(String.self, forKey: .name))
        case "deleteTracker":
            self = .deleteTracker(accountId: try c.decode(AccountID.self, forKey: .accountId),
                                  trackerId: try c.decode(String.self, forKey: .trackerId))
        default:
            throw DecodingError.dataCorruptedError(forKey: .action, in: c, debugDescription: "unknown action \(action)")
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        switch self {
        case .createTracker(let definition):
            try c.encode("createTracker", forKey: .action)
            try c.encode(definition, forKey: .tracker)
        case .renameTracker(let accountId, let trackerId, let name):
            try c.encode("renameTracker", forKey: .action)
            try c.encode(accountId, forKey: .accountId)
            try c.encode(trackerId, forKey: .trackerId)
            try c.encode(name, forKey: .name)
        case .deleteTracker(let accountId, let trackerId):
            try c.encode("deleteTracker", forKey: .action)
            try c.encode(accountId, forKey: .accountId)
            try c.encode(trackerId, forKey: .trackerId)
        }
    }
}

/// One element of the risk core's input sequence: a declaration or an input.
public enum RiskStep: Hashable, Sendable, Codable {
    case command(RiskCommand)
    case input(RiskInput)
}

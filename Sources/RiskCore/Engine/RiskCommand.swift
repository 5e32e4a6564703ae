import TidemarkProtocol

/// A declaration: what the firm asks the risk core to track. Declarations are part of the core's
/// deterministic input sequence (see ``RiskStep``): the agent stores them in the same log as the
/// inputs, so a replay or a crash recovery sees them at the same place.
///
/// JSON (the payload of a recording's `declare` directive and of a rules file's entries):
/// - `{"action":"createTracker","tracker":{…TrackerDefinition…}}`
/// - `{"action":"renameTracker","accountId":"Server:123","trackerId":"t1","name":"new name"}`
/// - `{"action":"deleteTracker","accountId":"Server:123","trackerId":"t1"}`
/// - `{"action":"createChallenge","challenge":{…ChallengeDefinition…}}`, `{"action":"deleteChallenge","challengeId":"c1"}`
/// - `{"action":"createCompetition","competition":{…CompetitionDefinition…}}`, `{"action":"deleteCompetition","competitionId":"k1"}`
public enum RiskCommand: Hashable, Sendable, Codable {
    /// MetaApi "create tracker". The id is chosen by the caller.
    case createTracker(TrackerDefinition)
    /// MetaApi "update tracker": only the name can change.
    case renameTracker(accountId: AccountID, trackerId: String, name: String)
    /// MetaApi "remove tracker": its open period is discarded without a record.
    case deleteTracker(accountId: AccountID, trackerId: String)
    /// A prop-firm challenge on one account (see ``ChallengeDefinition``). Its id is unique.
    case createChallenge(ChallengeDefinition)
    /// Stops and forgets a challenge.
    case deleteChallenge(challengeId: String)
    /// A competition over several accounts (see ``CompetitionDefinition``). Its id is unique.
    case createCompetition(CompetitionDefinition)
    /// Stops and forgets a competition.
    case deleteCompetition(competitionId: String)

    private enum CodingKeys: String, CodingKey {
        case action, tracker, accountId, trackerId, name, challenge, challengeId, competition, competitionId
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let action = try c.decode(String.self, forKey: .action)
        switch action {
        case "createTracker":
            self = .createTracker(try c.decode(TrackerDefinition.self, forKey: .tracker))
        case "renameTracker":
            self = .renameTracker(
                accountId: try c.decode(AccountID.self, forKey: .accountId),
                trackerId: try c.decode(String.self, forKey: .trackerId),
                name: try c.decode(String.self, forKey: .name))
        case "deleteTracker":
            self = .deleteTracker(
                accountId: try c.decode(AccountID.self, forKey: .accountId),
                trackerId: try c.decode(String.self, forKey: .trackerId))
        case "createChallenge":
            self = .createChallenge(try c.decode(ChallengeDefinition.self, forKey: .challenge))
        case "deleteChallenge":
            self = .deleteChallenge(challengeId: try c.decode(String.self, forKey: .challengeId))
        case "createCompetition":
            self = .createCompetition(try c.decode(CompetitionDefinition.self, forKey: .competition))
        case "deleteCompetition":
            self = .deleteCompetition(competitionId: try c.decode(String.self, forKey: .competitionId))
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
        case .createChallenge(let definition):
            try c.encode("createChallenge", forKey: .action)
            try c.encode(definition, forKey: .challenge)
        case .deleteChallenge(let challengeId):
            try c.encode("deleteChallenge", forKey: .action)
            try c.encode(challengeId, forKey: .challengeId)
        case .createCompetition(let definition):
            try c.encode("createCompetition", forKey: .action)
            try c.encode(definition, forKey: .competition)
        case .deleteCompetition(let competitionId):
            try c.encode("deleteCompetition", forKey: .action)
            try c.encode(competitionId, forKey: .competitionId)
        }
    }
}

/// One element of the risk core's input sequence: a declaration or an input.
public enum RiskStep: Hashable, Sendable, Codable {
    case command(RiskCommand)
    case input(RiskInput)
}

import TidemarkProtocol

/// Catches messages that decode but cannot be true: they would poison the equity engine.
///
/// The wire codec already refuses what it cannot parse (NaN, exponents, more than 8 fractional
/// digits, non-numbers). This catches well-formed nonsense. A message with a problem is treated as a
/// lost frame (the session resyncs), because processing it would be wrong and skipping it silently
/// would leave a hole in the account's history.
public enum BridgeMessageValidator {
    /// A short description of what is wrong with `message`, or nil when it is plausible.
    public static func problem(in message: TerminalMessage) -> String? {
        // Nearly every message is TICKS, nearly always of one tick: checked here, reading the
        // tick in place (the general switch below copied the message and the batch first).
        if case .ticks(let ticks) = message, ticks.endIndex == 1 { return problem(in: ticks[0]) }
        switch message {
        case .hello(let hello):
            if hello.login <= 0 { return "login \(hello.login) is not positive" }
            if !(0...FixedDecimal.fractionDigits).contains(hello.currencyDigits) {
                return "currency digits \(hello.currencyDigits) out of 0...8"
            }
            if hello.leverage < 0 { return "negative leverage \(hello.leverage)" }
            if let problem = AccountID.problem(withServerName: hello.server) { return problem }
            return nil
        case .snapshot(let snapshot):
            if let problem = problem(in: snapshot.account) { return problem }
            for symbol in snapshot.symbols { if let problem = problem(in: symbol) { return problem } }
            for position in snapshot.positions { if let problem = problem(in: position) { return problem } }
            for quote in snapshot.quotes { if let problem = problem(in: quote) { return problem } }
            return nil
        case .symbol(let symbol):
            return problem(in: symbol)
        case .ticks(let ticks):
            if ticks.isEmpty { return "empty tick batch" }
            for tick in ticks { if let problem = problem(in: tick) { return problem } }
            return nil
        case .position(let update):
            if update.time.milliseconds < 0 { return "negative time" }
            return problem(in: update.position)
        case .deal(let deal):
            if deal.time.milliseconds < 0 { return "negative time" }
            if deal.volume.isNegative { return "deal \(deal.ticket): negative volume \(deal.volume)" }
            if deal.price.isNegative { return "deal \(deal.ticket): negative price \(deal.price)" }
            if deal.type.isTrade, deal.symbol.isEmpty { return "deal \(deal.ticket): trade without symbol" }
            return nil
        case .report(let report):
            return problem(in: report)
        case .heartbeat(let time):
            return time.milliseconds < 0 ? "negative time" : nil
        case .bye, .commandAcknowledgement:
            return nil
        }
    }

    static func problem(in tick: Tick) -> String? {
        if tick.symbol.isEmpty { return "tick without symbol" }
        if tick.time.milliseconds < 0 { return "\(tick.symbol): negative tick time" }
        if tick.bid.units <= 0 || tick.ask.units <= 0 {
            return "\(tick.symbol): price not positive (\(tick.bid)/\(tick.ask))"
        }
        // Crossed quotes happen briefly on real feeds: the shared rule (SPEC §4.1) lets 1 % through.
        if !tick.isPlausibleQuote {
            return "\(tick.symbol): bid \(tick.bid) above ask \(tick.ask) by more than 1%"
        }
        return nil
    }

    static func problem(in position: Position) -> String? {
        if position.symbol.isEmpty { return "position \(position.ticket) without symbol" }
        if position.volume.units <= 0 { return "position \(position.ticket): volume \(position.volume) not positive" }
        if position.openPrice.units <= 0 {
            return "position \(position.ticket): open price \(position.openPrice) not positive"
        }
        return nil
    }

    static func problem(in symbol: SymbolSpec) -> String? {
        if symbol.name.isEmpty { return "symbol without name" }
        if !(0...FixedDecimal.fractionDigits).contains(symbol.digits) {
            return "\(symbol.name): digits \(symbol.digits) out of 0...8"
        }
        if symbol.contractSize.units <= 0 { return "\(symbol.name): contract size not positive" }
        if symbol.tickSize.units <= 0 { return "\(symbol.name): tick size not positive" }
        if symbol.tickValue.isNegative { return "\(symbol.name): negative tick value" }
        return nil
    }

    static func problem(in report: AccountReport) -> String? {
        report.time.milliseconds < 0 ? "negative account time" : nil
    }
}

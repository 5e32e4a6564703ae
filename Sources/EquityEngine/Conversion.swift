import TidemarkProtocol

// Converting a profit from the symbol's profit currency to the account currency.
//
// Which rate. With profit currency P and account currency A, a symbol quoting P in A (base P,
// profit A: EURUSD for a EUR profit on a USD account) is *direct*: amount_A = amount_P × rate. A
// symbol quoting A in P (base A, profit P: USDJPY for a JPY profit on a USD account) is *inverse*:
// amount_A = amount_P ÷ rate. Both kinds are searched; a broker usually lists only one of them.
//
// Which side. MetaTrader 5 does not convert at one rate: it keeps separate tick values for winning
// and losing positions (SYMBOL_TRADE_TICK_VALUE_PROFIT / SYMBOL_TRADE_TICK_VALUE_LOSS, "calculated
// tick price for a profitable / losing position", MQL5 reference, Symbol Properties; CSymbolInfo::
// TickValueLoss), and brokers document that MT5 converts a profit at the bid and a loss at the ask
// of the cross (Exness, "How currencies are converted", via fofan.org/faq/how-currencies-are-
// converted-by-exness). That is the side on which the broker would actually exchange the money:
// turning a P gain into A means selling P, turning a P loss into A means buying P. Tidemark applies
// the same rule to both kinds, so the result is always the one less favourable to the trader:
//   direct:  gain × bid,  loss × ask
//   inverse: gain ÷ ask,  loss ÷ bid
// and to both platforms (MT4 brokers differ here; the reconciliation against the terminal's own
// equity shows any difference as drift, it is never hidden).

/// How a position's profit reaches the account currency.
enum ConversionKind: UInt8 {
    /// Profit currency is the account currency.
    case none
    /// × rate of a symbol quoting the profit currency in the account currency.
    case direct
    /// ÷ rate of a symbol quoting the account currency in the profit currency.
    case inverse
}

/// A chosen conversion symbol.
struct ConversionChoice: Equatable {
    var symbol: String
    var kind: ConversionKind
}

enum ConversionResolver {
    /// The symbol among `symbols` that converts `profitCurrency` to `accountCurrency`, or nil.
    ///
    /// Broker decorations (`EURUSD.r`, `EURUSDm`, `m.EURUSD`, `EURUSD.pro`) are resolved by the
    /// currencies each symbol declares, not by its name. Among several candidates the preference is:
    /// 1. a decoration that fits the position's own symbol (same prefix and suffix around the
    ///    `BASEPROFIT` core — `USDJPY.pro` for a position on `GBPJPY.pro`), the longest decoration
    ///    first, because brokers quote each account group on its own suffix;
    /// 2. forex calculation modes before CFDs that happen to declare the same currencies;
    /// 3. the shorter name, then the name itself (so the choice is deterministic).
    static func resolve(
        profitCurrency: String, accountCurrency: String, positionSymbol: String,
        symbols: [String: SymbolSpec]
    ) -> ConversionChoice? {
        let profit = profitCurrency.uppercased()
        let account = accountCurrency.uppercased()
        guard profit != account else { return ConversionChoice(symbol: "", kind: .none) }
        var best: (rank: Rank, choice: ConversionChoice)?
        for spec in symbols.values {
            let base = spec.baseCurrency.uppercased()
            let quote = spec.profitCurrency.uppercased()
            let kind: ConversionKind
            if base == profit, quote == account {
                kind = .direct
            } else if base == account, quote == profit {
                kind = .inverse
            } else {
                continue
            }
            let rank = Rank(spec: spec, core: base + quote, positionSymbol: positionSymbol)
            if best == nil || rank < best!.rank {
                best = (rank, ConversionChoice(symbol: spec.name, kind: kind))
            }
        }
        return best?.choice
    }

    /// Smaller is better.
    struct Rank: Comparable {
        var decorationMismatch: Int
        var negativeDecorationLength: Int
        var notForex: Int
        var nameLength: Int
        var name: String

        init(spec: SymbolSpec, core: String, positionSymbol: String) {
            let name = spec.name
            let upper = name.uppercased()
            if let range = upper.firstRange(of: core) {
                let prefix = String(upper[..<range.lowerBound])
                let suffix = String(upper[range.upperBound...])
                let target = positionSymbol.uppercased()
                let fits =
                    target.hasPrefix(prefix) && target.hasSuffix(suffix)
                    && target.count >= prefix.count + suffix.count
                decorationMismatch = fits ? 0 : 1
                negativeDecorationLength = fits ? -(prefix.count + suffix.count) : 0
            } else {
                decorationMismatch = 1
                negativeDecorationLength = 0
            }
            notForex = (spec.calcMode == .forex || spec.calcMode == .forexNoLeverage) ? 0 : 1
            nameLength = name.count
            self.name = name
        }

        static func < (lhs: Self, rhs: Self) -> Bool {
            (lhs.decorationMismatch, lhs.negativeDecorationLength, lhs.notForex, lhs.nameLength, lhs.name)
                < (rhs.decorationMismatch, rhs.negativeDecorationLength, rhs.notForex, rhs.nameLength, rhs.name)
        }
    }
}

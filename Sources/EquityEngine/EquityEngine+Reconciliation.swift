import TidemarkProtocol

extension EquityEngine {
    // MARK: - Reconciliation

    mutating func reconcile(_ report: AccountReport, account a: Int, into outputs: inout [EquityOutput]) {
        guard accounts[a].isKnown else {
            statistics.reconciliationsSkipped += 1
            return
        }
        // Out of range: no figure to compare with (the out-of-range notice stands for the drift).
        guard let reconstructed = FixedDecimal(wideUnits: accounts[a].equityUnits),
              let balance = FixedDecimal(wideUnits: accounts[a].balanceUnits),
              let credit = FixedDecimal(wideUnits: accounts[a].creditUnits)
        else {
            statistics.reconciliationsSkipped += 1
            return
        }
        statistics.reconciliations += 1
        let tolerance = configuration.driftTolerance.units(openPositions: accounts[a].positions.count, step: accounts[a].step)
        // Two in-range values of opposite sign can differ by twice the range: compare wide.
        let difference = Int128(report.equity.units) - Int128(reconstructed.units)
        guard difference.magnitude > Int128(tolerance).magnitude
            || report.balance != balance
            || report.credit != credit
        else { return }
        statistics.drifts += 1
        accounts[a].drifts += 1
        outputs.append(.drift(Drift(
            account: accounts[a].id, time: report.time, terminalEquity: report.equity,
            reconstructedEquity: reconstructed, terminalBalance: report.balance,
            reconstructedBalance: balance, terminalCredit: report.credit,
            reconstructedCredit: credit, tolerance: FixedDecimal(units: tolerance))))
    }
}

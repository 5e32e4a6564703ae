import TidemarkProtocol

extension EquityEngine {
    // MARK: - Reconciliation

    mutating func reconcile(_ report: AccountReport, account accountIndex: Int, into outputs: inout [EquityOutput]) {
        guard accounts[accountIndex].isKnown else {
            statistics.reconciliationsSkipped += 1
            return
        }
        // Out of range: no figure to compare with (the out-of-range notice stands for the drift).
        guard let reconstructed = FixedDecimal(wideUnits: accounts[accountIndex].equityUnits),
              let balance = FixedDecimal(wideUnits: accounts[accountIndex].balanceUnits),
              let credit = FixedDecimal(wideUnits: accounts[accountIndex].creditUnits)
        else {
            statistics.reconciliationsSkipped += 1
            return
        }
        statistics.reconciliations += 1
        let tolerance = configuration.driftTolerance.units(openPositions: accounts[accountIndex].positions.count, step: accounts[accountIndex].step)
        // Two in-range values of opposite sign can differ by twice the range: compare wide.
        let difference = Int128(report.equity.units) - Int128(reconstructed.units)
        guard difference.magnitude > Int128(tolerance).magnitude
            || report.balance != balance
            || report.credit != credit
        else { return }
        statistics.drifts += 1
        accounts[accountIndex].drifts += 1
        outputs.append(.drift(Drift(
            account: accounts[accountIndex].id, time: report.time, terminalEquity: report.equity,
            reconstructedEquity: reconstructed, terminalBalance: report.balance,
            reconstructedBalance: balance, terminalCredit: report.credit,
            reconstructedCredit: credit, tolerance: FixedDecimal(units: tolerance))))
    }
}

// The RiskCore room; see README "Architecture".

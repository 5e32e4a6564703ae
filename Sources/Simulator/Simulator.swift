// The Simulator room; see README "Architecture".

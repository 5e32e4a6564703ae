// The Bridge room; see README "Architecture".

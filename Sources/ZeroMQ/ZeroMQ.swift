// The ZeroMQ room; see README "Architecture".
import CZeroMQ

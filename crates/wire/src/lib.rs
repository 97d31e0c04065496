//! `lookout-wire`: the relay <-> page protocol.
